"""Training: objectives, planning, the trainer, the worker pool, devices.

- `objectives`: the `OBJECTIVES` registry (loss, metrics, baseline of a task type);
- `plan`: `Budget`, `RunSpec` and `plan_runs` (studies -> runs over sizes x seeds);
- `trainer`: `Trainer.run`, one straight path per run returning a `RunResult`;
- `workers`: `run_plan`, runs grouped by model, in spawned worker processes;
- `devices`: the device and library versions recorded with each run.
"""

from suite.training.objectives import OBJECTIVES, Objective, baseline_metrics, register_objective
from suite.training.plan import (BUDGETS, RESULTS_VERSION, Budget, Plan, RunSpec, budget_for, learning_rate, plan_runs,
                                 study_budget)
from suite.training.trainer import Trainer
from suite.training.workers import run_plan
