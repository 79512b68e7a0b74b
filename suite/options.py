"""The command line's options (`build_parser`): what `python run_suite.py --help` prints.

Apart from `suite.cli` so that the options, their help and examples are read in one place, and the
command's steps in another.
"""

from __future__ import annotations

import argparse

BACKENDS = ("tensorflow", "jax", "torch")
EXIT_USAGE = 2

EPILOG = """\
examples:
  python run_suite.py                          every study, quick profile, report in reports/
  python run_suite.py --list                   the registered studies and tasks
  python run_suite.py --studies locality --seeds 5
  python run_suite.py --archs mlp,cnn --sizes 100,300,full
  python run_suite.py --profile smoke --output /tmp/smoke     seconds: checks the plumbing
  python run_suite.py --report-only            rebuild reports/index.html from the database
  python run_suite.py --tasks-module my_study.py --studies my_study
  python run_suite.py --backend tensorflow     same models on TensorFlow, one fit() per run
  python run_suite.py --learning-rates none    no learning-rate tuning: each model's default rate
  python run_suite.py --executor ray --address auto    on the Ray cluster started here (ray start --head)
  python run_suite.py --data my.csv --target label     your own table: which model, from how many rows
  python run_suite.py --data photos/ --image-size 32   your own images, one sub-folder per class

Results go to OUTPUT/results.sqlite as each run finishes; rerunning the same
command skips finished runs, so an interrupted suite resumes where it stopped.
One process at a time trains into an OUTPUT folder (OUTPUT/.lock): a second
refuses at once (exit code 2) and names the first; --report-only and --plan
only read, and may run meanwhile.
"""


class Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2 (argparse's usage block is noise here)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see --help)\n")


def build_parser() -> argparse.ArgumentParser:
    p = Parser(
        prog="run_suite.py",
        description="Inductive-bias benchmark suite: trains each registered architecture on "
        "data its bias matches and data it does not, over growing training-set sizes and "
        "several seeds, stores every result in SQLite and writes an HTML report with "
        "learning curves and a verdict on each claim.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--list", action="store_true", help="list studies and tasks, then exit")
    p.add_argument("--studies", metavar="A,B", help="comma-separated studies to run (default: all)")
    p.add_argument("--archs", metavar="A,B", help="only these architectures (e.g. mlp,cnn)")
    p.add_argument("--datasets", metavar="A,B",
                   help="these datasets instead of the profile's (e.g. digits, tfds_mnist)")
    p.add_argument("--sizes", metavar="N,M", help="training-set sizes instead of the profile's; "
                   "integers or 'full' (the whole training pool)")
    p.add_argument("--seeds", metavar="K|S1,S2",
                   help="number of seeds (e.g. 5 -> seeds 0-4), or a comma-separated list of seeds")
    p.add_argument("--profile", default="quick", metavar="NAME",
                   help="smoke (seconds, for tests) | quick (default, CPU minutes) | full (GPU)")
    p.add_argument("--output", default="reports", metavar="DIR",
                   help="where results.sqlite and index.html go (default: reports/); one process at a time "
                        "trains into it")
    p.add_argument("--plan", action="store_true",
                   help="print the runs the options select (tuning included) and the time they would take on "
                        "each device that OUTPUT's database has step times from; train nothing")
    p.add_argument("--report-only", action="store_true",
                   help="rebuild the report from the database without training")
    p.add_argument("--fresh", action="store_true",
                   help="ignore earlier results: rerun the selected runs and replace their rows")
    p.add_argument("--backend", metavar="NAME",
                   help=f"Keras backend: {' | '.join(BACKENDS)} (default: $KERAS_BACKEND, else jax where it "
                        f"is installed, else tensorflow)")
    p.add_argument("--data-dir", metavar="DIR",
                   help="tensorflow-datasets data directory, for the tfds_* datasets")
    p.add_argument("--tasks-module", metavar="PATH", action="append", default=[],
                   help="a Python file that registers studies/tasks of your own (repeatable)")
    p.add_argument("--trainer", default="auto", metavar="NAME",
                   help="auto (default) or population: on the jax backend, train the runs of a task "
                   "together through one compiled program wherever possible | fit: one run at a time (the "
                   "only choice on tensorflow and torch)")
    p.add_argument("--learning-rates", metavar="A,B|none",
                   help="the grid every architecture's learning rate is chosen from, on the validation split "
                        "and on seeds of its own (e.g. 1e-3,3e-3; a choice at its edge extends it by half-decade "
                        "steps, within 1e-5 to 1); 'none': no tuning, each model's default rate, and no sweep "
                        "of the GAN recipes' rates (default: the profile's grid: quick 3e-4,1e-3,3e-3,1e-2; full "
                        "adds 1e-4; smoke none)")
    p.add_argument("--no-checks", action="store_true",
                   help="after the evaluation runs, do not train the models still improving on a claim's metric "
                        "again at twice the budget (their verdicts then say 'under-trained: ... not checked at a "
                        "longer budget')")
    p.add_argument("--time-budget", metavar="DURATION",
                   help="a first look within a wall-clock budget, e.g. 15m, 90s or 1h30m: no learning-rate tuning "
                        "(each model's default rate, unless --learning-rates is given), the first round of seeds "
                        "of every claim, then more seeds for the claims still undecided, the closest to a decision "
                        "first, until the budget ends; then the report, which marks the verdicts a longer run "
                        "would complete")
    p.add_argument("--all-tasks", action="store_true",
                   help="train every task of the selected studies, also those no claim or figure reads (by default "
                        "a task nothing reads is not trained: in the tabular study, the variants of the models "
                        "that no claim compares); --plan lists them")
    p.add_argument("--workers", type=int, metavar="N",
                   help="training processes in parallel (default: one per core, at most 2, on a "
                   "CPU; 1 on a GPU)")
    p.add_argument("--executor", default="local", metavar="NAME",
                   help="local (default): worker processes on this machine | ray: Ray tasks, on a Ray cluster "
                        "(--address) or on a Ray instance started here (pip install ray)")
    p.add_argument("--address", metavar="HOST:PORT|auto",
                   help="with --executor ray: the cluster's head (`ray start --head` prints it); auto: the "
                        "cluster started on this machine (default: a Ray instance of its own)")
    p.add_argument("--gpus-per-task", type=float, default=0.0, metavar="F",
                   help="with --executor ray: GPUs each unit of work asks for, e.g. 0.25 to share a GPU "
                        "between four (default 0)")
    p.add_argument("--single-page", action="store_true",
                   help="write the whole report into index.html (to mail it), not an index and a page per study")
    p.add_argument("--export", metavar="PATH",
                   help="also write the results (one row per run and metric) to PATH: .csv or .parquet "
                        "(needs pyarrow); OUTPUT/results.csv is written with every report anyway")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    mine = p.add_argument_group("your own data (the file never leaves this machine; the database keeps its "
                                "name, hash, shape and column names)")
    mine.add_argument("--data", metavar="PATH",
                      help="a .csv or .parquet table, an .npz with arrays x and y, or a folder of images with one "
                           "sub-folder per class: runs every model that applies to it, on it and on versions "
                           "of it with one structure destroyed, and reports which to use at which size")
    mine.add_argument("--target", metavar="COLUMN", help="the column of a table to predict")
    mine.add_argument("--kind", metavar="NAME", help="image | sequence | table: how to read an .npz's x "
                      "(default: from its shape: (N, features) a table, (N, H, W[, C]) with H = W images, "
                      "(N, T, F) sequences)")
    mine.add_argument("--task", metavar="NAME", help="classification | regression (default: classification "
                      "for a text target or one of at most 20 integers, else regression)")
    mine.add_argument("--image-size", type=int, metavar="N",
                      help="resize a folder's images to N x N pixels (default 32)")
    return p
