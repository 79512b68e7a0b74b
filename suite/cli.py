"""Command line: `python run_suite.py [options]`.

Parses and validates everything before Keras is imported, because the
backend (KERAS_BACKEND) must be chosen before the first import. Bad usage is
one line naming the bad value and the valid ones, and exit code 2.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import sys
import time
from pathlib import Path

from suite import UsageError
from suite.registry import unknown_name_error
from suite.studies import PROFILES, REGISTRY, load_builtin_studies, load_task_module
from suite.text import format_duration

from suite.options import BACKENDS, EXIT_USAGE, build_parser

EXIT_INTERRUPTED = 130


def _split(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


def _check_names(kind: str, names: list[str], valid) -> list[str]:
    for name in names:
        if name not in valid:
            raise unknown_name_error(kind, name, valid)
    return names


def parse_sizes(text: str) -> list:
    sizes = []
    for token in _split(text):
        if token == "full":
            sizes.append("full")
        elif token.isdigit() and int(token) > 0:
            sizes.append(int(token))
        else:
            raise UsageError(f"bad size {token!r} in --sizes; valid: positive integers or 'full'")
    if not sizes:
        raise UsageError("--sizes is empty; valid: positive integers or 'full', comma-separated")
    return sizes


def parse_seeds(text: str) -> list[int]:
    tokens = _split(text)
    if not tokens or not all(t.isdigit() for t in tokens):
        raise UsageError(f"bad --seeds {text!r}; valid: a count (e.g. 3) or a list of "
                         f"non-negative integers (e.g. 0,1,7)")
    if "," not in text:
        count = int(tokens[0])
        if count < 1:
            raise UsageError(f"bad --seeds {text!r}; a count must be at least 1")
        return list(range(count))
    seeds = [int(t) for t in tokens]
    repeated = sorted({s for s in seeds if seeds.count(s) > 1})
    if repeated:
        raise UsageError(f"bad --seeds {text!r}; seed {repeated[0]} is listed twice (each seed runs once)")
    return sorted(seeds)


def parse_duration(text: str) -> float:
    """A wall-clock duration in seconds from "15m", "90s", "1h30m" or "2h" (a bare number: minutes)."""
    import re

    match = re.fullmatch(r"\s*(?:(\d+(?:\.\d+)?)h)?\s*(?:(\d+(?:\.\d+)?)m)?\s*(?:(\d+(?:\.\d+)?)s)?\s*", text)
    if text.strip().replace(".", "", 1).isdigit():
        seconds = float(text) * 60
    elif match and any(match.groups()):
        h, m, s = (float(g) if g else 0.0 for g in match.groups())
        seconds = 3600 * h + 60 * m + s
    else:
        seconds = 0.0
    if seconds < 60:
        raise UsageError(f"bad --time-budget {text!r}; valid: a duration of at least a minute, e.g. 15m, 90s, "
                         f"1h30m")
    return seconds


def report_reserve(budget: float) -> float:
    """The seconds of a time budget kept for writing the report: 5% of it, between 20 s and 2 minutes."""
    return min(120.0, max(20.0, 0.05 * budget))


def parse_rates(text: str) -> tuple[float, ...]:
    """A learning-rate grid: positive numbers, comma-separated, or 'none' (no tuning)."""
    if text.strip().lower() == "none":
        return ()
    rates = []
    for token in _split(text):
        try:
            rate = float(token)
        except ValueError:
            rate = -1.0
        if not 0 < rate < 1:
            raise UsageError(f"bad learning rate {token!r} in --learning-rates; valid: numbers between 0 and 1 "
                             f"(e.g. 3e-4,1e-3), or 'none'")
        rates.append(rate)
    if not rates:
        raise UsageError("--learning-rates is empty; valid: numbers between 0 and 1, comma-separated, or 'none'")
    return tuple(sorted(set(rates)))


def check_executor(args) -> None:
    """--executor, --address and --gpus-per-task, checked before any training (an unreachable cluster included)."""
    from suite.training.runner import EXECUTORS

    if args.executor not in EXECUTORS:
        raise unknown_name_error("executor", args.executor, EXECUTORS)
    if args.executor != "ray":
        for flag, value in (("--address", args.address), ("--gpus-per-task", args.gpus_per_task)):
            if value:
                raise UsageError(f"{flag} needs --executor ray (the executor is {args.executor!r})")
        return
    if importlib.util.find_spec("ray") is None:
        raise UsageError("--executor ray needs Ray: pip install ray (or -r requirements.txt); valid executors "
                         "without it: local")
    if not 0 <= args.gpus_per_task <= 8:
        raise UsageError(f"bad --gpus-per-task {args.gpus_per_task:g}; valid: 0 to 8 (fractions share a GPU)")
    from suite.training.ray_executor import check_address

    check_address(args.address)


def default_backend() -> str:
    """jax where it is installed (it trains the runs of a task together: the default run is faster,
    see README, "Performance"), else tensorflow."""
    return "jax" if importlib.util.find_spec("jax") is not None else "tensorflow"


def select_backend(name: str | None) -> str:
    """Sets KERAS_BACKEND before Keras is imported; checks it is installed."""
    backend = name or os.environ.get("KERAS_BACKEND") or default_backend()
    if backend not in BACKENDS:
        raise unknown_name_error("backend", backend, BACKENDS)
    if "keras" in sys.modules:
        current = sys.modules["keras"].backend.backend()
        if current != backend:
            raise UsageError(f"Keras is already loaded with backend {current!r}; cannot switch to {backend!r}")
    elif importlib.util.find_spec(backend) is None:
        raise UsageError(f"backend {backend!r} is not installed (pip install {backend}); "
                         f"valid backends: {', '.join(BACKENDS)}")
    os.environ["KERAS_BACKEND"] = backend
    from suite.backend import import_keras_quietly

    import_keras_quietly()  # the registries need Keras; its C++ start-up lines would bury our messages
    return backend


def list_registry(studies) -> str:
    lines = []
    tasks = [t for study in studies for t in REGISTRY.tasks(study.name)]
    # columns as wide as their longest entry
    w_name, w_arch, w_data = (max((len(getattr(t, f)) for t in tasks), default=0)
                              for f in ("name", "arch", "dataset"))
    for study in studies:
        lines.append(f"{study.name}: {study.question}")
        for task in REGISTRY.tasks(study.name):
            flag = f"  [skipped: {task.skip}]" if task.skip else ""
            matched = "matched" if task.matched else "mismatched"
            lines.append(f"  {task.name:<{w_name}} {task.arch:<{w_arch}} {task.dataset:<{w_data}} {matched}{flag}")
    return "\n".join(lines)


def _write_report(store, path: Path, export: str | None = None, single_page: bool = False) -> Path:
    """The report (the index and a page per study, or one page), `results.csv` beside it (the tidy
    results for pandas, R or a spreadsheet), and the `--export` file if one was asked for."""
    from suite.report import write_report

    try:
        store.export_results(path.parent / "results.csv")
        if export:
            store.export_results(export)
        return write_report(store, path, single_page)
    except OSError as e:  # the results are safe in the database; only the files could not be written
        raise UsageError(f"cannot write {e.filename or str(path)!r} ({e.strerror or e}); the results are in "
                         f"{str(store.path)!r}: rerun with --report-only --output pointing there") from None


def _print_plan(args, studies, backend, archs, datasets, sizes, seeds, grid, db_path) -> int:
    """`--plan`: the runs and their estimated time, nothing trained or written."""
    from suite.reads import unread_line
    from suite.store.read import Reader
    from suite.training import first_round, plan_runs
    from suite.training.devices import configure_device, default_workers
    from suite.training.estimate import describe_plan, recorded_rates
    from suite.training.population import trainer_policy
    from suite.training.tuning import TUNE_SEEDS, sensitivity_runs, tunable, tuned_groups, tuning_of, tuning_runs

    plan = plan_runs(REGISTRY, studies, args.profile, backend, archs=archs, datasets=datasets, sizes=sizes,
                     seeds=seeds, data_dir=args.data_dir, trainer_for=trainer_policy(args.trainer, backend),
                     every_task=args.all_tasks)
    for note in plan.notes:
        print(f"note: {note}", file=sys.stderr)
    tune = tuning_runs(plan.runs, plan.studies, grid, args.profile)
    first, rounds = first_round(plan.runs, studies, args.profile, seeds)  # the later rounds depend on the results
    runs = first + tune
    if grid:
        runs += sensitivity_runs(plan.runs, plan.studies)
    device = configure_device()
    workers = args.workers or default_workers(device)
    print(f"plan: {', '.join(s.name for s in studies)} ({args.profile} profile, {backend} backend, this machine: "
          f"{device})")
    if db_path.exists():
        with Reader(db_path) as store:
            lines = describe_plan(runs, store, device, workers, recorded_rates())
    else:
        lines = describe_plan(runs, None, device, workers, recorded_rates())
    from suite.training.checks import CHECK_FACTOR, CHECK_SEEDS

    lines += rounds
    if plan.unread:
        lines.append(unread_line(plan.unread))
    if not args.no_checks:
        lines.append(f"then: the models still improving on a claim's metric when their budget ends train again at "
                     f"{CHECK_FACTOR}x the budget on {CHECK_SEEDS[args.profile]} seed(s) (decided from the results; "
                     f"not counted above)")
    print("\n".join(lines))
    if tune:
        tasks = {s.task.name for s in plan.runs if tunable(s) and tuning_of(s.task, plan.studies) == "validation"}
        groups = len(tuned_groups(plan.runs, plan.studies))
        print(f"learning rates: {groups} chosen for {len(tasks)} tasks (each structure-destroying variant trains at "
              f"its natural variant's), {len(grid)} rates x {TUNE_SEEDS[args.profile]} seeds each; these are the "
              f"first round: a choice at an edge of the grid adds the next rate beyond it ({TUNE_SEEDS[args.profile]} "
              f"runs more per step) until it is interior or at a bound")
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser().parse_args(argv)
    try:
        return _main(args, argv)
    except UsageError as e:
        print(f"run_suite.py: error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"\ninterrupted: finished runs are saved in {Path(args.output) / 'results.sqlite'}; "
              f"run the same command again to resume", file=sys.stderr)
        return EXIT_INTERRUPTED


def _main(args, argv) -> int:
    from suite.data import DATASETS

    if args.profile not in PROFILES:
        raise unknown_name_error("profile", args.profile, PROFILES)
    # compiled programs are kept beside the results, so a rerun and every worker reuse them (JAX reads
    # this when it is first imported, hence before the backend is loaded)
    os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", str(Path(args.output).resolve() / ".jax_cache"))
    os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")
    # on a GPU, JAX would take 75% of its memory in every process: workers (and Ray tasks) share it
    os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
    backend = select_backend(args.backend)
    load_builtin_studies()
    for path in args.tasks_module:
        try:
            load_task_module(path)
        except UsageError:
            raise
        except Exception as e:
            raise UsageError(f"--tasks-module {path!r} failed to load: {type(e).__name__}: {e}") from None
    from suite.userdata import register_user_data, setup_worker
    from suite.userfile import UserData

    user = UserData.from_args(args)
    mine = register_user_data(user) if user else None  # read and checked here, before any training

    names = _check_names("study", _split(args.studies), {s.name for s in REGISTRY.studies()}) \
        if args.studies else [mine] if mine else [s.name for s in REGISTRY.studies()]
    studies = [REGISTRY.study(n) for n in names]
    if args.list:
        print(list_registry(studies))
        return 0
    archs = _check_names("arch", _split(args.archs),
                         {t.arch for s in studies for t in REGISTRY.tasks(s.name)}) if args.archs else None
    datasets = _check_names("dataset", _split(args.datasets), DATASETS) if args.datasets else None
    sizes = parse_sizes(args.sizes) if args.sizes else None
    seeds = parse_seeds(args.seeds) if args.seeds else None
    from suite.training.tuning import GRIDS

    grid = parse_rates(args.learning_rates) if args.learning_rates is not None else GRIDS[args.profile]
    budget = parse_duration(args.time_budget) if args.time_budget else None
    if budget and args.learning_rates is None:
        grid = ()  # a first look: tuning the grid alone takes longer than most budgets (docs/training.md)
    from suite.training.population import TRAINERS

    if args.trainer not in TRAINERS:
        raise unknown_name_error("trainer", args.trainer, TRAINERS)
    if args.trainer == "population" and backend != "jax":
        raise UsageError(f"--trainer population needs --backend jax (the backend is {backend!r}); "
                         f"valid trainers on {backend}: auto, fit")
    if args.export:
        from suite.store.read import check_export_path

        check_export_path(Path(args.export))
    if args.workers is not None and args.workers < 1:
        raise UsageError(f"bad --workers {args.workers}; valid: 1 or more")
    check_executor(args)

    output = Path(args.output)
    db_path = output / "results.sqlite"
    from suite.store.read import Reader
    from suite.store.write import Writer

    if args.report_only:
        if not db_path.exists():
            raise UsageError(f"no results database at {db_path}; run without --report-only first")
        from suite.lock import holder

        writer = holder(output)  # no wait: the report holds the runs committed so far
        if writer:
            print(f"note: {writer} is still training into {output}: this report holds the runs finished so "
                  f"far (that process rewrites it when it ends)", file=sys.stderr)
        with Reader(db_path) as store:
            path = _write_report(store, output / "index.html", args.export, args.single_page)
        print(f"report: {path}")
        return 0

    if args.plan:
        return _print_plan(args, studies, backend, archs, datasets, sizes, seeds, grid, db_path)

    from suite.lock import hold_output

    started = time.time()
    with hold_output(output, ["run_suite.py", *argv]), Writer(db_path) as store:  # one trainer per folder
        session = store.start_session(["run_suite.py", *argv])
        from suite.reads import unread_line
        from suite.training import plan_runs, run_plan, study_budget, train_in_rounds
        from suite.training.plan import seeds_for, supersede
        from suite.training.population import trainer_policy
        from suite.training.tuning import apply_rates, read_tuning, sensitivity_runs, tune_rates, unscored

        print(f"planning {', '.join(names)} ({args.profile} profile, {backend} backend)...", file=sys.stderr)
        plan = plan_runs(REGISTRY, studies, args.profile, backend, archs=archs, datasets=datasets,
                         sizes=sizes, seeds=seeds, data_dir=args.data_dir,
                         trainer_for=trainer_policy(args.trainer, backend), every_task=args.all_tasks)
        if plan.unread:
            print(unread_line(plan.unread), file=sys.stderr)
        for note in plan.notes:
            print(f"note: {note}", file=sys.stderr)
        for study in studies:  # with its place in the lesson's order (tasks.STUDY_MODULES), for the report
            store.record_study(study, args.profile, study_budget(study, args.profile, plan.runs),
                               REGISTRY.position(study.name), len(seeds_for(study, args.profile, seeds)))
        for task, reason in plan.skipped:
            store.record_skip(task, reason)
        for task in {r.task.name: r.task for r in plan.runs}.values():
            store.clear_skip(task)  # it was skipped before (e.g. data missing), runs now
        done = set() if args.fresh else store.finished_keys() - unscored(store)
        worker_setup = functools.partial(setup_worker, tuple(str(p) for p in args.tasks_module), user)

        deadline = None if budget is None else started + budget - report_reserve(budget)
        unfinished, seen = [], {"device": "no device (nothing trained)", "workers": 0}

        def run(specs, what, rank=None):
            pending = [r for r in specs if r.key not in done]
            if deadline is not None and time.time() >= deadline:
                unfinished.extend(pending)
                return 0, {"ok": 0, "failed": 0, "unfinished": len(pending), **seen}
            print(f"{len(specs)} {what} planned: {len(specs) - len(pending)} already done, "
                  f"{len(pending)} to run", file=sys.stderr)
            counts = run_plan(pending, store, data_dir=args.data_dir, progress=not args.no_progress,
                              workers=args.workers, worker_setup=worker_setup, executor=args.executor,
                              address=args.address, gpus_per_task=args.gpus_per_task, deadline=deadline, rank=rank)
            seen.update(device=counts["device"], workers=counts["workers"])
            if counts["unfinished"]:
                stored = store.finished_keys()
                unfinished.extend(r for r in pending if r.key not in stored)
            return counts["ok"] + counts["failed"], counts

        # first the learning-rate grid (on seeds of its own, extended past an edge choice round by round),
        # then the evaluation runs at the chosen rates
        tuned = [0, {"ok": 0, "failed": 0}]
        tuning_so_far: list = []

        def train_tuning(specs):
            what = (f"tuning runs ({len(grid)} learning rates)" if not tuning_so_far else
                    f"tuning runs extending the grid past an edge "
                    f"({', '.join(f'{r:g}' for r in sorted({s.learning_rate for s in specs}))})")
            tuning_so_far.extend(specs)
            supersede(store, tuning_so_far)
            ran, counts = run(specs, what)
            tuned[0] += ran
            tuned[1] = {k: tuned[1][k] + counts[k] for k in ("ok", "failed")}

        tuning = tune_rates(plan.runs, plan.studies, grid, args.profile, train_tuning,
                            functools.partial(read_tuning, store))
        tune = tuning.runs
        runs = apply_rates(plan.runs, tuning.rates, plan.studies)
        if tuning.extended:
            print(f"learning rates: the grid grew past an edge for {len(tuning.extended)} of {len(tuning.rates)} "
                  f"choices ({len(tuning.at_bound)} stopped at a bound)", file=sys.stderr)
        if grid:  # no grid (smoke, or --learning-rates none): no sweep of the recipes' rates either
            runs = runs + sensitivity_runs(runs, plan.studies)
        superseded = supersede(store, runs + tune, {s.name: [t.name for t in REGISTRY.tasks(s.name)] for s in studies})
        if superseded:
            print(f"note: {superseded} stored runs came from another version of the code, other settings or tasks "
                  "the code no longer has: kept in the database, left out of the report", file=sys.stderr)
        runs, ran, counts = train_in_rounds(runs, studies, args.profile, seeds, run, store)  # seeds in rounds
        ran += tuned[0]
        counts = {**counts, **{k: counts[k] + tuned[1][k] for k in ("ok", "failed")}}
        # then the conditions still improving when their budget ended, again at twice the budget
        from suite.training.checks import CHECK_FACTOR, check_runs

        checks = [] if args.no_checks or (deadline and time.time() >= deadline) else \
            check_runs(runs, plan.studies, store, args.profile)
        if checks:
            supersede(store, runs + tune + checks)  # a check shares its slot (task, size, seed) with its run
            done |= set() if args.fresh else store.finished_keys()
            checked = run(checks, f"checks at {CHECK_FACTOR}x the step budget (conditions still improving)")
            ran += checked[0]
            counts = {**counts, **{k: counts[k] + checked[1][k] for k in ("ok", "failed")}}
        runs = runs + tune + checks
        if budget is not None:
            print(f"time budget {format_duration(budget)}: "
                  + (f"{len(unfinished)} planned runs not trained (the report marks the verdicts they would "
                     f"complete; the same command without --time-budget goes on)" if unfinished else
                     "everything planned was trained"), file=sys.stderr)
        store.finish_session(session, counts["ok"] + counts["failed"])
        path = _write_report(store, output / "index.html", args.export, args.single_page)
    failed = f", {counts['failed']} failed" if counts["failed"] else ""
    print(f"{ran} runs in {format_duration(time.time() - started)} on {counts['device']} "
          f"with {counts['workers']} worker{'s' if counts['workers'] > 1 else ''} "
          f"({counts['ok']} ok{failed}, {len(runs) - ran - len(unfinished)} reused, "
          f"{len(plan.skipped)} task{'' if len(plan.skipped) == 1 else 's'} skipped); report: {path}")
    return 0
