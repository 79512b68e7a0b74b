"""One file that adds one of everything: an architecture, a dataset, a variant, an objective, a probe,
a figure and a study with its tasks and claim.

    python run_suite.py --tasks-module docs/examples/my_plugins.py --studies moons --profile smoke

Everything here registers when the file is imported; a name that is already
taken, or a task naming something that does not exist, stops the run at load
with one line naming the valid choices. The same code, put in the package
module of its kind (see README, "Adding things"), makes it part of the suite.
"""

import keras
import numpy as np

from suite.architectures import register_architecture
from suite.claims import Claim
from suite.data import DatasetSpec, apply_to_splits, fixed_rng, register_dataset, register_transform
from suite.probes import Measured, register_probe
from suite.report.figures import draws_every_task, register_figure, setup_matplotlib, to_svg
from suite.studies import Study, register_grid, register_study
from suite.training import Objective, register_objective


# --- an architecture: an uncompiled keras.Model from explicit arguments, logits out -----------
@register_architecture("linear", "A linear classifier: flatten, one dense layer of logits.")
def build_linear(input_shape, num_classes, width=1):
    """`width` is unused (a linear model has no capacity knob) but every builder takes it."""
    inputs = keras.Input(input_shape)
    return keras.Model(inputs, keras.layers.Dense(num_classes)(keras.layers.Flatten()(inputs)), name="linear")


# --- a dataset: load(data_dir) -> ((x, y), (x_test, y_test) or None); splits are made for you ---
def load_moons(data_dir):
    from sklearn.datasets import make_moons

    return make_moons(n_samples=1000, noise=0.2, random_state=0), None


register_dataset(DatasetSpec("moons", load_moons, kind="table", source="scikit-learn (generated)",
                             description="two interleaved half-moons, 1,000 points, 2 classes"))


# --- a variant: fn(dataset, seed) -> dataset, the same change to every split -------------------
def add_noise_features(dataset, seed):
    """Eight columns of Gaussian noise appended: what do irrelevant features cost?"""

    def add(x):
        noise = fixed_rng("noise_features", dataset.name, seed, len(x)).standard_normal((len(x), 8))
        return np.concatenate([x, noise.astype(np.float32)], axis=1)

    return apply_to_splits(dataset, add)


register_transform("noise_features", add_noise_features, seeded=True, kinds=("table",))


# --- an objective: the loss, metrics and trivial baseline of a task type (not used below) -----
# a regression less swayed by outliers: test/loss is the Huber loss, test/mae beside it
register_objective("huber_regression", Objective(loss="huber", metrics=("mae",)))


# --- a probe: fn(model, objective, data, x_train, y_train) -> Measured, at init and trained ----
@register_probe("weight_norm")
def weight_norm(model, objective, data, x_train, y_train):
    norm = np.sqrt(sum(float(np.sum(keras.ops.convert_to_numpy(w) ** 2)) for w in model.trainable_weights))
    return Measured(metrics={"weight_norm": norm})  # stored as init/weight_norm and trained/weight_norm


# --- a figure: fn(tidy, data, study_row) -> [{title, svg, caption}], from the database alone; it draws
# every variant, read by a claim or not, so every task of its study trains (draws_every_task) ---
@register_figure("weight_norms", wrap=draws_every_task)
def weight_norm_figure(tidy, data, study):
    points = tidy[tidy["metric"].isin(["init/weight_norm", "trained/weight_norm"])]
    if points.empty:
        return []
    setup_matplotlib(f"wn-{study['name']}")
    import seaborn as sns

    grid = sns.catplot(data=points, x="model", y="value", hue="metric", col="variant", kind="bar", height=3)
    grid.set_axis_labels("", "L2 norm of the weights")
    return [{"title": "Weight norms", "svg": to_svg(grid.figure),
             "caption": "The norm of all trainable weights at initialisation and after training "
                        "(mean and 95% interval over seeds)."}]


# --- a study, its tasks and a claim ----------------------------------------------------------
register_study(Study(
    name="moons",
    question="Does a hidden layer pay off on data that no line separates?",
    claim="A nonlinear model fits curved class boundaries that a linear one cannot.",
    expected="mlp > linear on natural moons",
    claims=(Claim(text="The MLP beats the linear model on the moons.",
                  a={"arch": "mlp", "variant": "natural"}, b={"arch": "linear", "variant": "natural"}),),
    sizes={"smoke": (100,), "quick": (100, 400, "full"), "full": (50, 100, 200, 400, "full")},
    seeds={"smoke": 2, "quick": 10, "full": 10},
    datasets={"smoke": ("moons",), "quick": ("moons",), "full": ("moons",)},
    param_target=2_000,
    figures=("learning_curves", "weight_norms"),
))
register_grid("moons", datasets=("moons",), variants={"natural": True, "noise_features": False},
              archs=("mlp", "linear"), bias="nonlinearity", probes=("weight_norm",))
