"""The same models on another Keras backend, without TensorFlow.

jax is in requirements.txt; these tests run where it is
installed and are skipped elsewhere.
"""

import subprocess
import sys

import pytest

from conftest import ROOT

pytest.importorskip("jax")


def run_python_ok(code: str):
    """Runs `code` in a fresh interpreter (so it picks its own Keras backend); it must print 'ok'."""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0 and "ok" in result.stdout, result.stderr[-3000:]


@pytest.mark.slow
def test_suite_code_on_jax_does_not_import_tensorflow():
    """Our modules, builders and data never pull TensorFlow in on jax.

    (keras.utils.set_random_seed, which the runner calls to seed everything,
    itself imports TensorFlow when it is installed, to seed it too; on a
    machine without TensorFlow, such as the lent GPU box, it does not.)
    """
    code = (
        "import os, sys; os.environ['KERAS_BACKEND'] = 'jax'; sys.path.insert(0, %r)\n"
        "import keras\n"
        "from suite import architectures as models, cli, claims, data, probes, registry, report, store, studies, training\n"
        "studies.load_builtin_studies()\n"
        "d = data.load_variant('digits', 'permuted')\n"
        "t = data.load_variant('wine', 'rotated')\n"
        "inputs = {'image': (d.x_pool[:8], d.y_pool[:8]), 'sequence': data.adding_problem(8, 12, seed=0),\n"
        "          'table': (t.x_pool[:8], t.y_pool[:8])}\n"
        "for name in models.keras_architectures('image', 'sequence', 'table', 'any'):\n"
        "    arch = models.get_architecture(name)\n"
        "    x, y = inputs['image' if arch.inputs == 'any' else arch.inputs]\n"
        "    m = models.build_model(name, x.shape[1:], 10, width=4)\n"
        "    m.compile(optimizer='adam', loss='mse')\n"
        "    m.train_on_batch(x, keras.ops.one_hot(y.astype('int32'), 10))\n"
        "assert 'tensorflow' not in sys.modules, 'tensorflow was imported'\n"
        "print('ok')\n" % str(ROOT)
    )
    run_python_ok(code)


def test_gradient_probe_and_step_timer_on_jax(smoke_run):
    """On jax (the smoke run's backend), every memory run probes its input gradients at every time step,
    at initialisation and trained, and every timed run has a positive step time."""
    query = smoke_run.query
    assert {b for (b,) in query("SELECT DISTINCT backend FROM runs")} == {"jax"}
    names = {n for (n,) in query("SELECT DISTINCT s.name FROM series s JOIN runs r USING (run_key) "
                                 "WHERE r.study = 'memory'")}
    assert names == {"input_gradients/init", "input_gradients/trained"}
    for key, length in query("SELECT run_key, length FROM runs WHERE study = 'memory' AND status = 'ok'"):
        for name in names:  # one positive norm per time step
            values = [v for (v,) in query("SELECT value FROM series WHERE run_key = ? AND name = ?", (key, name))]
            assert len(values) == length and all(v > 0 for v in values), (key, name)
    assert query("SELECT MIN(value) FROM results WHERE metric = 'train/step_ms'")[0][0] > 0


@pytest.mark.slow
def test_gan_players_get_their_own_gradients_and_take_turns_on_jax():
    """The GAN's one-scalar trick (stop_gradient + stateless_call) holds under jax.grad too, and its
    players take turns under fit and under the optimizer's stateless_apply (one interpreter for both)."""
    from test_generation import TURNS_CHECK

    code = (
        "import os, sys; os.environ['KERAS_BACKEND'] = 'jax'; sys.path.insert(0, %r)\n"
        "import jax, numpy as np, keras\n"
        "from suite.architectures import build_model\n"
        "keras.utils.set_random_seed(0)\n"
        "gan = build_model('gan_sn', (2,), 1, width=8)\n"
        "x = np.random.default_rng(1).normal(size=(64, 2)).astype('float32')\n"
        "tv = [v.value for v in gan.trainable_variables]; ntv = [v.value for v in gan.non_trainable_variables]\n"
        "f = lambda t, k: gan.stateless_call(t, ntv, x, training=True)[0][k]\n"
        "g = {k: jax.grad(lambda t: f(t, k))(tv) for k in ('loss', 'd_loss', 'g_loss')}\n"
        "d_ids = {id(v) for v in gan.discriminator.trainable_variables}\n"
        "for i, v in enumerate(gan.trainable_variables):\n"
        "    own, other = ('d_loss', 'g_loss') if id(v) in d_ids else ('g_loss', 'd_loss')\n"
        "    assert np.allclose(g['loss'][i], g[own][i], atol=1e-6) and np.allclose(g[other][i], 0), v.path\n"
        % str(ROOT)
    )
    run_python_ok(code + TURNS_CHECK)


@pytest.mark.slow
def test_the_suites_max_pooling_computes_keras_max_pooling_on_jax():
    """On jax the CNNs pool by a reshape and a max (a faster gradient there): the same outputs as
    keras.layers.MaxPooling2D for every padding, odd sizes included; at stride 1 (overlapping windows:
    the anti-aliased CNN's) by shifted slices, with the same outputs and input gradients."""
    run_python_ok((
        "import os, sys; os.environ['KERAS_BACKEND'] = 'jax'; sys.path.insert(0, %r)\n"
        "import numpy as np, keras, jax\n"
        "from suite.architectures.layers import MaxPooling2D\n"
        "rng = np.random.default_rng(0)\n"
        "for shape in [(3, 7, 7, 4), (2, 8, 6, 3), (1, 10, 11, 1)]:\n"
        "    x = rng.normal(size=shape).astype('float32')\n"
        "    for padding in ('same', 'valid'):\n"
        "        for size in (2, 3):\n"
        "            ours = np.asarray(MaxPooling2D(size, padding=padding)(x))\n"
        "            theirs = np.asarray(keras.layers.MaxPooling2D(size, padding=padding)(x))\n"
        "            assert ours.shape == theirs.shape and np.array_equal(ours, theirs), (shape, padding, size)\n"
        "            ours, theirs = MaxPooling2D(size, strides=1, padding=padding), keras.layers.MaxPooling2D(size, strides=1, padding=padding)\n"
        "            assert np.array_equal(np.asarray(ours(x)), np.asarray(theirs(x))), (shape, padding, size, 1)\n"
        "            w = rng.normal(size=ours(x).shape).astype('float32')\n"
        "            grads = [jax.grad(lambda v: (layer(v) * w).sum())(x) for layer in (ours, theirs)]\n"
        "            assert np.allclose(grads[0], grads[1]), (shape, padding, size, 'gradient')\n"
        "print('ok')\n"
    ) % str(ROOT))
