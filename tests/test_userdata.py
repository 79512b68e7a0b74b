"""Your data, your answer: `--data` on a user's table, images and sequences.

One end-to-end run per kind of input (in this process, smoke profile, two architectures), and the
bad inputs through the command line's own entry point: each one line and exit code 2, before any
training (they are checked while the data are read)."""

import functools
import hashlib
import importlib.util
import json
import pickle

import numpy as np
import pandas as pd
import pytest

from conftest import read_report
from suite.data import DATASETS
from suite.store.read import Reader
from suite.studies import REGISTRY, load_builtin_studies
from suite.userdata import forget, register_user_data, setup_worker, size_ladder
from suite.userfile import MIN_PER_CLASS, UserData, read

load_builtin_studies()


@pytest.fixture(autouse=True)
def forget_user_data():
    """Each test's data registered in this process are unregistered after it."""
    yield
    for name, spec in DATASETS.items():
        if spec.fingerprint:
            forget(name)


@pytest.fixture
def run_here(run_main, tmp_path):
    """`run_suite.py ARGS --output TMP/out` in this process (conftest's `run_main`): (code, stderr)."""
    def run(args):
        code, _, err = run_main(*args, "--output", tmp_path / "out")
        return code, err

    return run


def write_csv(path, rows=80, missing=True, **columns):
    """Numbers, a category column and a text label that follows the numbers; one missing value."""
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=rows), "b": rng.normal(size=rows),
                          "colour": rng.choice(["zanzibar", "green", "blue"], rows)})
    frame["label"] = np.where(frame["a"] + frame["b"] > 0, "label_yes", "label_no")
    if missing:
        frame.loc[3, "a"] = np.nan
    for name, values in columns.items():
        frame[name] = values
    frame.to_csv(path, index=False)
    return path


def images(n=60, side=8, seed=0):
    """Two classes of small images: a bright square in the top-left or the bottom-right corner."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 0.3, (n, side, side))
    y = np.arange(n) % 2
    for i, label in enumerate(y):
        corner = slice(0, side // 2) if label == 0 else slice(side // 2, side)
        x[i, corner, corner] += 0.7
    return x.astype(np.float32), y


def check_answer_page(out, study):
    html = read_report(out / "index.html")
    page = (out / f"{study}.html").read_text()
    assert "Your answer: the model to use at each training-set size" in page
    assert "best:" in page and "within noise" in page and "<table" in page
    assert "What the structure-destroying variants say about your data" in page
    assert "Learning curves" in page
    return html


@pytest.mark.slow
def test_a_csv_table_runs_end_to_end_and_the_database_keeps_no_contents(tmp_path, run_here):
    csv = write_csv(tmp_path / "my table.csv")
    code, err = run_here(["--data", csv, "--target", "label", "--profile", "smoke", "--archs", "mlp,logreg",
                          "--workers", "1", "--no-progress"])
    assert code == 0, err
    assert "1 of 80 rows dropped for a missing value" in err
    out = tmp_path / "out"
    check_answer_page(out, "my_table")
    with Reader(out / "results.sqlite") as db:
        results, studies = db.results(), db.studies()
    runs = results[(results["metric"] == "test/accuracy") & (results["kind"] == "eval")]
    assert set(runs["arch"]) == {"mlp", "logreg"} and (runs["status"] == "ok").all()
    assert set(runs["variant"]) == {"natural", "reordered", "rotated", "uninformative"}
    assert runs["n_train"].nunique() == 2 and set(runs["seed"]) == {0, 1}
    info = json.loads(studies.set_index("name").loc["my_table", "data_json"])
    assert info["sha256"] == hashlib.sha256(csv.read_bytes()).hexdigest()
    assert info["shape"] == [80, 4] and info["columns"] == ["a", "b", "colour", "label"]
    # the file's values (a category, the labels) appear nowhere in what the suite wrote
    for written in out.iterdir():
        if written.is_file():
            data = written.read_bytes()
            assert b"zanzibar" not in data and b"label_yes" not in data, written


@pytest.mark.slow
def test_an_npz_of_images_runs_end_to_end(tmp_path, run_here):
    x, y = images()
    np.savez(tmp_path / "corners.npz", x=(x * 255).astype(np.uint8), y=y)
    code, err = run_here(["--data", tmp_path / "corners.npz", "--profile", "smoke", "--archs", "cnn,knn",
                          "--workers", "1", "--no-progress"])
    assert code == 0, err
    assert "read as images" in err  # square 8 x 8: images, and how to read it otherwise
    html = check_answer_page(tmp_path / "out", "corners")
    assert "spatial structure" in html  # what permuting the pixels says about the images
    assert REGISTRY.study("corners").crossover[0] == "mlp"


@pytest.mark.slow
def test_an_npz_of_sequences_runs_end_to_end(tmp_path, run_here):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(60, 12, 2)).astype(np.float32)
    y = (x[:, :6, 0].sum(axis=1) > x[:, 6:, 0].sum(axis=1)).astype(np.int64)  # early against late steps
    np.savez(tmp_path / "steps.npz", x=x, y=y)
    code, err = run_here(["--data", tmp_path / "steps.npz", "--profile", "smoke", "--archs", "rnn,knn",
                          "--workers", "1", "--no-progress"])
    assert code == 0, err
    html = check_answer_page(tmp_path / "out", "steps")
    assert "the order of" in html  # what permuting the time steps says about the sequences


@pytest.mark.slow
def test_an_image_folder_runs_end_to_end_resized(tmp_path, run_here):
    from PIL import Image

    x, y = images(n=2 * (MIN_PER_CLASS + 2), side=12)
    for i, (image, label) in enumerate(zip(x, y)):
        folder = tmp_path / "shapes" / ("top_left", "bottom_right")[label]
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray((image * 255).astype(np.uint8)).convert("RGB").save(folder / f"{i}.png")
    code, err = run_here(["--data", tmp_path / "shapes", "--image-size", 8, "--profile", "smoke",
                          "--archs", "logreg,knn", "--workers", "1", "--no-progress"])
    assert code == 0, err
    check_answer_page(tmp_path / "out", "shapes")
    with Reader(tmp_path / "out" / "results.sqlite") as db:
        info = json.loads(db.studies().set_index("name").loc["shapes", "data_json"])
    assert info["shape"][1:] == [8, 8, 3] and info["kind"] == "image" and info["classes"] == 2


BAD_INPUTS = {
    # name: (how the file is made, extra arguments, the one line's message)
    "target not in the file": (lambda p: write_csv(p / "t.csv"), ["--target", "nope"],
                               "--target 'nope' is not a column of t.csv; columns: a, b, colour, label"),
    "no target for a table": (lambda p: write_csv(p / "t.csv"), [], "name the column to predict with --target"),
    "constant target": (lambda p: write_csv(p / "t.csv", label=["same"] * 80), ["--target", "label"],
                        "target 'label' of t.csv is constant ('same' in every row)"),
    "too few rows per class": (lambda p: write_csv(p / "t.csv", label=["x"] * 77 + ["rare"] * 3),
                               ["--target", "label"], f"class 'rare' has 3 rows; each class needs at least "
                                                      f"{MIN_PER_CLASS}"),
    "a text column of identifiers": (lambda p: write_csv(p / "t.csv", missing=False, id=[f"id{i}" for i in range(80)]),
                                     ["--target", "label"], "column 'id' of t.csv holds 80 distinct text values"),
    "mostly missing": (lambda p: write_csv(p / "t.csv", c=[np.nan] * 60 + [1.0] * 20), ["--target", "label"],
                       "60 of 80 rows have a missing value (columns c (60), a (1))"),
    "a table read as images": (lambda p: write_csv(p / "t.csv"), ["--target", "label", "--kind", "image"],
                               "--kind image does not fit t.csv (a CSV or Parquet file is a table); valid kinds "
                               "for it: table"),
    "an unknown kind": (lambda p: write_csv(p / "t.csv"), ["--target", "label", "--kind", "video"],
                        "unknown kind 'video'; valid kinds: image, sequence, table"),
    "regression on text labels": (lambda p: write_csv(p / "t.csv"), ["--target", "label", "--task", "regression"],
                                  "--task regression needs a numeric target"),
    "an npz without y": (lambda p: np.savez(p / "t.npz", x=np.zeros((40, 3)), labels=np.zeros(40)) or p / "t.npz",
                         [], "holds arrays labels, x; it needs x (the inputs) and y"),
    "an unknown format": (lambda p: (p / "t.txt").write_text("1,2") and p / "t.txt", [],
                          "unknown format '.txt'; valid: .csv, .parquet, .npz, or a folder of images"),
    "a folder of one class": (lambda p: (p / "f" / "only").mkdir(parents=True) or p / "f", [],
                              "needs one sub-folder per class, at least 2; found 1 (only)"),
    "no such file": (lambda p: p / "nothing.csv", [], "no such file or folder"),
    "--image-size on a file": (lambda p: write_csv(p / "t.csv"), ["--target", "label", "--image-size", "16"],
                               "--image-size resizes the images of a folder"),
    "--target without --data": (lambda p: None, ["--target", "label"], "--target needs --data"),
    # files that are not what their suffix says, or damaged: the file named and what was expected
    "a text file named .parquet": (lambda p: write_text(p / "t.parquet", "a,label\n1,x\n"), ["--target", "label"],
                                   "--data 't.parquet' is not a readable Parquet file"
                                   if importlib.util.find_spec("pyarrow") else "needs pyarrow to read Parquet"),
    "a binary file named .csv": (lambda p: write_bytes(p / "t.csv", bytes(range(128, 256)) * 8), ["--target", "label"],
                                 "--data 't.csv' is not a readable CSV file (expected text"),
    "a CSV without rows": (lambda p: write_text(p / "t.csv", "a,label\n"), ["--target", "label"],
                           "--data 't.csv' holds no rows (columns: a, label)"),
    "a text file named .npz": (lambda p: write_text(p / "t.npz", "x,y\n1,2\n"), [],
                               "--data 't.npz' is not an .npz file (expected a zip of arrays"),
    "an .npy named .npz": (lambda p: np.save(p / "t.npy", np.zeros((40, 3))) or (p / "t.npy").rename(p / "t.npz")
                           or p / "t.npz", [], "--data 't.npz' is not an .npz file"),
    "a damaged .npz": (lambda p: damaged_npz(p / "t.npz"), [], "--data 't.npz' is not a readable .npz of numeric "
                                                               "arrays (expected a zip of arrays"),
    "an .npz of objects": (lambda p: np.savez(p / "t.npz", x=np.array([{}] * 40), y=np.zeros(40)) or p / "t.npz", [],
                           "--data 't.npz' is not a readable .npz of numeric arrays"),
    "a folder with a file that is no image": (lambda p: image_folder(p, b"not an image"), [],
                                              "--data 'f': a/bad.png is not a readable image (expected BMP, GIF, "
                                              "JPEG or PNG images)"),
    "a folder with a TIFF named .png": (lambda p: image_folder(p, "TIFF"), [],
                                        "--data 'f': a/bad.png is a TIFF image; valid: BMP, GIF, JPEG or PNG"),
}


def write_text(path, text):
    path.write_text(text)
    return path


def write_bytes(path, data):
    path.write_bytes(data)
    return path


def damaged_npz(path):
    """An .npz whose zip directory is intact and whose first array's bytes are not."""
    np.savez(path, x=np.zeros((40, 3)), y=np.zeros(40))
    data = bytearray(path.read_bytes())
    data[120:400] = bytes(b ^ 0xFF for b in data[120:400])
    return write_bytes(path, bytes(data))


def image_folder(root, bad):
    """Folder f: two classes of readable PNGs, and a/bad.png holding `bad` (bytes, or a format Pillow writes)."""
    from PIL import Image

    for label in ("a", "b"):
        (root / "f" / label).mkdir(parents=True)
        for i in range(MIN_PER_CLASS):
            Image.new("RGB", (8, 8), (i, 0, 0)).save(root / "f" / label / f"{i}.png")
    if isinstance(bad, bytes):
        (root / "f" / "a" / "bad.png").write_bytes(bad)
    else:
        Image.new("RGB", (8, 8)).save(root / "f" / "a" / "bad.png", format=bad)
    return root / "f"


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_is_one_line_and_exit_code_2_before_any_training(case, tmp_path, run_here):
    make, extra, message = BAD_INPUTS[case]
    path = make(tmp_path)
    code, err = run_here([*(["--data", path] if path else []), *extra, "--profile", "smoke"])
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2 and len(lines) == 1, err
    assert message in lines[0]
    assert not (tmp_path / "out" / "results.sqlite").exists()  # stopped before the store was opened


def test_a_file_named_like_a_built_in_dataset_or_study_runs_under_a_name_of_its_own(tmp_path, run_here):
    from suite.training.plan import BUDGETS, RunSpec

    builtin = DATASETS["wine"]
    csv = write_csv(tmp_path / "wine.csv")
    code, err = run_here(["--data", csv, "--target", "label", "--list"])
    assert code == 0, err
    name = next(line.split("your data run as ")[1].split("'")[1] for line in err.splitlines() if "run as" in line)
    assert name != "wine" and DATASETS["wine"] is builtin  # ours untouched
    assert DATASETS[name].fingerprint and name in {s.name for s in REGISTRY.studies()}
    task = REGISTRY.tasks(name)[0]
    key = RunSpec(task, 20, 0, {}, BUDGETS["smoke"], "smoke", "jax").key
    forget(name)  # the next run of the same file: the same name, the same run keys
    assert register_user_data(UserData(str(csv), target="label"), quiet=True) == name
    assert RunSpec(REGISTRY.tasks(name)[0], 20, 0, {}, BUDGETS["smoke"], "smoke", "jax").key == key
    locality = REGISTRY.study("locality")
    study = write_csv(tmp_path / "locality.csv")  # a built-in study's name
    assert register_user_data(UserData(str(study), target="label"), quiet=True) not in \
        {"locality", *(n for n, spec in DATASETS.items() if not spec.fingerprint)}
    assert REGISTRY.study("locality") is locality


def test_the_name_of_its_own_is_never_a_registered_one():
    from suite.data import DatasetSpec, register_dataset
    from suite.userdata import own_name

    taken = own_name("wine")
    register_dataset(DatasetSpec(taken, lambda data_dir: None, "table", "a built-in named like the renamed file"))
    try:
        again = own_name("wine")
        assert again not in {"wine", taken} and again == own_name("wine")
    finally:
        DATASETS.unregister(taken)


def test_kind_and_task_are_inferred_and_overridden(tmp_path):
    x, y = images(n=40)
    np.savez(tmp_path / "square.npz", x=x, y=y)
    np.savez(tmp_path / "long.npz", x=np.zeros((40, 20, 3)), y=y)
    np.savez(tmp_path / "flat.npz", x=np.random.default_rng(0).normal(size=(40, 5)), y=np.linspace(0, 1, 40))
    assert read(UserData(str(tmp_path / "square.npz"))).kind == "image"
    assert read(UserData(str(tmp_path / "square.npz"), kind="sequence")).kind == "sequence"
    assert read(UserData(str(tmp_path / "long.npz"))).kind == "sequence"
    flat = read(UserData(str(tmp_path / "flat.npz")))
    assert (flat.kind, flat.task) == ("table", "regression")  # 40 distinct real values
    assert read(UserData(str(tmp_path / "square.npz"))).task == "classification"  # two integers
    write_csv(tmp_path / "t.csv")
    pytest.importorskip("pyarrow")
    pd.read_csv(tmp_path / "t.csv").to_parquet(tmp_path / "t.parquet")
    table = read(UserData(str(tmp_path / "t.parquet"), target="label"))
    assert table.kind == "table" and table.classes == 2 and table.info["columns"] == ["a", "b", "colour", "label"]


def test_a_changed_file_changes_every_run_key_and_workers_register_the_same_data(tmp_path):
    from suite.training.plan import RunSpec, BUDGETS

    path = write_csv(tmp_path / "t.csv")
    user = UserData(str(path), target="label")
    name = register_user_data(user, quiet=True)
    task = REGISTRY.tasks(name)[0]
    key = RunSpec(task, 20, 0, {}, BUDGETS["smoke"], "smoke", "jax").key
    forget(name)
    # what a worker process does (it gets the setup pickled): the same dataset, the same key
    pickle.loads(pickle.dumps(functools.partial(setup_worker, (), user)))()
    assert RunSpec(task, 20, 0, {}, BUDGETS["smoke"], "smoke", "jax").key == key
    assert register_user_data(user, quiet=True) == name  # registering it again is a no-op
    write_csv(path, rows=81)
    register_user_data(user, quiet=True)  # the edited file replaces the old one
    assert RunSpec(task, 20, 0, {}, BUDGETS["smoke"], "smoke", "jax").key != key


@pytest.mark.parametrize("pool, classes, points", [(55, 2, 2), (1000, 10, 5), (21, 2, 3), (12, 5, 3)])
def test_sizes_run_up_to_the_whole_pool_and_leave_every_class_outside(pool, classes, points):
    sizes = size_ladder(pool, classes, points)
    assert sizes[-1] == "full" and len(sizes) <= points
    numbers = sizes[:-1]
    assert list(numbers) == sorted(set(numbers))
    assert all(2 * classes <= n <= pool - classes for n in numbers)


def test_help_explains_the_options_for_your_own_data():
    from suite.cli import build_parser

    text = build_parser().format_help()
    for option in ("--data PATH", "--target COLUMN", "--kind NAME", "--task NAME", "--image-size N"):
        assert option in text
    assert "never leaves this machine" in text and "--data my.csv --target label" in text


def test_the_recommendation_is_the_best_mean_with_the_models_whose_paired_interval_includes_0():
    from suite.report.figures.answer import NEAR, recommendations

    rng = np.random.default_rng(0)
    noise = rng.normal(0, 0.02, 5)  # shared by every model of a seed: the pairing removes it
    means = {"cnn": 0.9, "twin": 0.9, "mlp": 0.7}
    rows = [{"dataset": "d", "n_train": 50, "seed": seed, "matched": 1, "model": model,
             "value": mean + noise[seed] + (0.01 * (-1) ** seed if model == "twin" else 0)}
            for model, mean in means.items() for seed in range(5)]
    table = recommendations(pd.DataFrame(rows), lower=False)
    row = table.iloc[0]
    assert row["best"].split(":")[0] in ("cnn", "twin")
    assert {"cnn", "twin"} - {row["best"].split(":")[0]} == {row[NEAR].split(" (")[0]}
    assert row["behind"].startswith("mlp (-0.2")
    lower = recommendations(pd.DataFrame(rows).assign(value=lambda f: 1 - f["value"]), lower=True)
    assert lower.iloc[0]["behind"].startswith("mlp (+0.2")  # a loss: the best is the lowest
