"""Training: objectives, planning, the trainers, executors, devices.

- `objectives`: the `OBJECTIVES` registry (loss, metrics, baseline of a task type);
- `plan`: `Budget`, `RunSpec` and `plan_runs` (studies -> runs over sizes x seeds);
- `tuning`: the learning-rate grid's runs and the choice;
- `rounds`: the evaluation runs in rounds of seeds, later rounds only what undecided verdicts read;
- `trainer`: `Trainer.run`, one straight path per run; `population`: the runs of a task trained together
  (`members`: stepping and scoring its members in turn, and each member's own data split);
- `models`: what both trainers need of a model; `results`: `finish_run`, what a trained run means (both trainers);
- `units`: runs grouped into units of work; `estimate`: the cost model (the ETA, `--plan`);
- `worker`: a training process's one set-up; `local`, `ray_executor`: the executors;
- `runner`: `run_plan`, units -> an executor -> the store;
- `devices`: the device and library versions recorded with each run.
"""

from suite.training.objectives import OBJECTIVES, Objective, baseline_metrics, register_objective
from suite.training.plan import (BUDGETS, RESULTS_VERSION, Budget, Plan, RunSpec, budget_for, learning_rate, plan_runs,
                                 study_budget)
from suite.training.rounds import first_round, train_in_rounds
from suite.training.trainer import Trainer
from suite.training.runner import run_plan
