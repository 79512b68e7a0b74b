"""The results database as tidy pandas frames: what every figure and table reads.

The report reads the columns the runner writes for it (`runs.metric`,
`runs.framework`, `runs.length`, `runs.hparams_json`, ...) and the arrays
the probes store; it never parses `runs.config_json`.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd

from suite.metrics import higher_is_better

# columns of `runs` the report reads; a database made before they existed reads as NULL
RUN_COLUMNS = ("objective", "metric", "framework", "length", "hparams_json", "higher_is_better")


def load_results(store) -> dict:
    """Everything the report needs, as pandas frames, from `store` (a `suite.store.read.Reader`)."""
    return {"studies": store.studies(), "runs": store.runs(), "metrics": store.metrics(), "skipped": store.skipped(),
            "sessions": store.sessions(), "series": store.series(), "arrays": store.arrays(),
            "history": store.history()}


def planned_study_runs(data: dict, name: str, keys):
    """Study `name`'s tidy runs as the report reads them (`study_runs`: borrowed runs under their
    borrower's labels), only those whose run key is in `keys`; None where the database holds no such
    study. Planning reads the stored runs through it between phases (rounds of seeds, checks)."""
    rows = data["studies"][data["studies"]["name"] == name]
    if rows.empty:
        return None
    tidy = study_runs(data, rows.iloc[0])
    return tidy[tidy["run_key"].isin(keys)]


def study_runs(data: dict, study: pd.Series, of_kind: str = "eval") -> pd.DataFrame:
    """Tidy frame (one row per ok run and metric) of a study's latest profile: its evaluation runs, or
    its runs of another kind (`of_kind`: "check", the longer-budget checks the verdicts' qualifiers read).

    Adds `model` (the architecture, with its setting when there is one, e.g.
    "gru@equal params"), `length` (the input's first dimension: time steps
    for sequences), `primary_metric` (the task's metric) and `baseline`
    (a classical scikit-learn model).
    """
    runs = data["runs"]
    runs = study_rows(runs, study)
    runs = runs[(runs["status"] == "ok") & (kind(runs) == of_kind)].copy()
    for column in RUN_COLUMNS:
        if column not in runs:
            runs[column] = None
    # `runs.metric` is the task's primary metric; `metric` below is each measured one
    runs = runs.rename(columns={"metric": "primary_metric"})
    tidy = runs.merge(data["metrics"][["run_key", "metric", "value"]], on="run_key")
    tidy["primary_metric"] = tidy["primary_metric"].fillna("test/accuracy")
    declared = tidy["primary_metric"].map(higher_is_better).astype(float)
    tidy["higher_is_better"] = pd.to_numeric(tidy["higher_is_better"]).fillna(declared).astype(bool)
    length = pd.to_numeric(tidy["length"], errors="coerce")
    tidy["length"] = length.astype("int64") if length.notna().all() else length.astype(float)
    tidy["setting"] = tidy["setting"].fillna("")
    tidy["model"] = model_label(tidy)
    # classical baselines (scikit-learn) are drawn as reference lines
    tidy["baseline"] = (tidy["framework"] == "sklearn").astype(bool)
    return tidy


def model_label(frame: pd.DataFrame) -> pd.Series:
    """Per row, the architecture with its setting when there is one (e.g. "gru@equal params")."""
    setting = frame["setting"].fillna("")
    return frame["arch"].where(setting == "", frame["arch"] + "@" + setting)


def study_rows(runs: pd.DataFrame, study: pd.Series) -> pd.DataFrame:
    """The rows of `runs` of a study's latest profile, with the runs it borrows from another study
    (`suite.studies.Borrow`) as its own, under its setting label."""
    profile = runs["profile"] == study["profile"]
    rows = [runs[(runs["study"] == study["name"]) & profile]]
    borrows = study.get("borrows_json")
    for borrow in json.loads(borrows) if isinstance(borrows, str) else ():
        lent = runs[profile & (runs["study"] == borrow["study"]) & (runs["setting"] == borrow["setting"])
                    & runs["dataset"].isin(borrow["datasets"]) & runs["arch"].isin(borrow["archs"])]
        rows.append(lent.assign(study=study["name"], setting=borrow["as_setting"]))
    return pd.concat(rows) if len(rows) > 1 else rows[0]


def kind(runs: pd.DataFrame) -> pd.Series:
    """Each run's kind: "eval", "tune" or "sensitivity" (`suite.training.plan.RunSpec.kind`; "eval"
    for a database made before kinds existed)."""
    return runs["kind"].fillna("eval") if "kind" in runs else pd.Series("eval", index=runs.index)


def hparams(frame: pd.DataFrame) -> list[dict]:
    """Per row, its model's hyperparameters (`runs.hparams_json`; {} where NULL)."""
    return [json.loads(h) if isinstance(h, str) and h else {} for h in frame["hparams_json"]]


def code_width(frame: pd.DataFrame) -> pd.Series:
    """Per row, its code width: the model's `latent` hyperparameter (NaN where it has none)."""
    return pd.Series([h.get("latent", np.nan) for h in hparams(frame)], index=frame.index, dtype=float)


def at_largest_size(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows of each dataset's largest training-set size."""
    return frame[frame["n_train"] == frame.groupby("dataset")["n_train"].transform("max")]


def dataset_family(dataset: str) -> str:
    """A dataset's family: its name without the length suffix (adding_T50 -> adding)."""
    return re.sub(r"_T\d+$", "", dataset)


def dataset_order(dataset: str):
    """Sort key: by family, then by length (adding_T32 before adding_T128)."""
    suffix = dataset[len(dataset_family(dataset)) + 2:]
    return (dataset_family(dataset), int(suffix) if suffix.isdigit() else 0, dataset)


def final_runs(tidy: pd.DataFrame) -> pd.DataFrame:
    """One row per run at each dataset's largest size, ordered by dataset, model, seed."""
    return at_largest_size(tidy).drop_duplicates("run_key").sort_values(["dataset", "model", "seed"])


def shown_runs(tidy: pd.DataFrame) -> pd.DataFrame:
    """Per dataset, the run whose pictures are drawn: the largest training set, the lowest seed."""
    return final_runs(tidy).sort_values(["dataset", "seed"], kind="stable").drop_duplicates("dataset")


def run_arrays(data: dict, run_key: str) -> dict:
    """A run's stored arrays (written by the probes) by name."""
    from suite.store.schema import from_npy

    rows = data["arrays"][data["arrays"]["run_key"] == run_key]
    return {name: from_npy(blob) for name, blob in zip(rows["name"], rows["npy"])}
