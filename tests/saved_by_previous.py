"""Models saved by the previous layout of the library load with this one (shared by tests/ and tests_tf1/).

Before ``ComponentMetric`` and ``GradientNorm`` shared one reduction
(``compat_metrics/_readout.py``), ``GradientNorm`` kept its mean in two
variables, ``total`` and ``count``; it now keeps one ``(2,)`` variable,
``state``, like ``ComponentMetric``. :func:`saved_by_previous` extracts the
library as it was at :data:`PREVIOUS` (``git archive``) and runs this file
with it in a subprocess, in the same venv and mode, to save the models;
the test loads them with the library under test and checks the values
against NumPy. Without the git history (a shallow clone, an sdist) the test
is skipped.
"""

import io
import os
import subprocess
import sys
import tarfile

import numpy as np
import tensorflow as tf

import compat_metrics

keras = compat_metrics.keras

PREVIOUS = "2967c15714e2d0aac40ea0ee5290468ae6e80446"  # the last revision with GradientNorm's total/count
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
REG_WEIGHT = 0.1
N, FEATURES = 24, 3


class PreviousLayoutLoss(compat_metrics.ComponentLoss):
    components = ("mse", "reg")

    def call(self, y_true, y_pred):
        mse = tf.reduce_mean(tf.square(y_pred - y_true))
        reg = REG_WEIGHT * tf.reduce_mean(tf.square(y_pred))
        return self.track("mse", mse) + self.track("reg", reg)


def data():
    rng = np.random.RandomState(3)
    x = rng.normal(size=(N, FEATURES)).astype("float32")
    y = rng.normal(size=(N, 1)).astype("float32")
    return x, y


def build():
    inputs = keras.Input((FEATURES,))
    dense = keras.layers.Dense(1, name="linear")
    model = keras.Model(inputs, dense(inputs))
    rng = np.random.RandomState(5)
    dense.set_weights([rng.normal(size=(FEATURES, 1)).astype("float32"), np.array([0.3], "float32")])
    loss = PreviousLayoutLoss()
    compat_metrics.compile(model, optimizer="sgd", loss=loss, metrics=[
        loss.metric("mse"), loss.metric("reg", reduction="last", name="reg_last"),
        compat_metrics.GradientNorm(), compat_metrics.GradientNorm(reduction="last", name="gn_last")])
    return model


def formats():
    """``{name: save arguments}``: the whole-model formats of this stack, SavedModel included where Keras 2 has it."""
    if compat_metrics.runtime.KERAS_FLAVOUR == "keras3":
        return {"model.keras": {}}
    found = {"model.h5": {}}
    if hasattr(keras.Model, "train_step") and not compat_metrics.runtime.in_graph_mode():
        found["saved_model"] = {"save_format": "tf"}  # keeps the metric variables by name
    return found


def save(folder):
    """Train one step and save in every format of this stack (run with the previous library)."""
    model = build()
    x, y = data()
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    for name, kwargs in formats().items():
        model.save(os.path.join(folder, name), **kwargs)


def saved_by_previous(folder, graph_mode):
    """Save the models with the library at :data:`PREVIOUS` into ``folder``; False without git history."""
    try:
        archive = subprocess.run(["git", "-C", ROOT, "archive", "--format=tar", PREVIOUS, "compat_metrics"],
                                 capture_output=True, timeout=120)
    except OSError:
        return False
    if archive.returncode != 0:
        return False
    library = os.path.join(folder, "previous")
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(library)
    environment = dict(os.environ, PYTHONPATH=os.pathsep.join([library, HERE]))
    out = subprocess.run([sys.executable, os.path.abspath(__file__), folder] + (["graph"] if graph_mode else []),
                         env=environment, capture_output=True, timeout=900)
    assert out.returncode == 0, out.stderr.decode()[-3000:]
    assert library in out.stdout.decode(), f"saved with {out.stdout.decode()[-500:]}"
    return True


def _numpy_values(model):
    """Loss, components and the gradient norm of the loss on the whole data, from NumPy."""
    x, y = data()
    kernel, bias = model.get_layer("linear").get_weights()
    pred = x @ kernel + bias
    mse = float(np.mean(np.square(pred - y)))
    reg = REG_WEIGHT * float(np.mean(np.square(pred)))
    dpred = 2.0 * (pred - y) / N + 2.0 * REG_WEIGHT * pred / N
    norm = float(np.sqrt(np.sum(np.square(x.T @ dpred)) + np.sum(np.square(dpred.sum(0)))))
    return {"loss": mse + reg, "mse": mse, "reg_last": reg, "gradient_norm": norm, "gn_last": norm}


def evaluate(model):
    import inspect
    x, y = data()
    if "return_dict" in inspect.signature(model.evaluate).parameters:
        results = model.evaluate(x, y, batch_size=N, verbose=0, return_dict=True)
    else:
        results = dict(zip(model.metrics_names, np.atleast_1d(model.evaluate(x, y, batch_size=N, verbose=0))))
    return {name: float(value) for name, value in results.items()}


def load_and_check(folder):
    """Load every saved file with the library under test; its values must match NumPy."""
    for name in formats():
        model = compat_metrics.load_model(os.path.join(folder, name))
        results = evaluate(model)
        for key, value in _numpy_values(model).items():
            np.testing.assert_allclose(results.get(key), value, rtol=1e-4, err_msg=f"{name}: {key}")
        x, y = data()
        model.fit(x, y, batch_size=8, epochs=1, verbose=0)  # the loaded metrics also train
        after = evaluate(model)
        for key, value in _numpy_values(model).items():
            np.testing.assert_allclose(after.get(key), value, rtol=1e-4, err_msg=f"{name} after fit: {key}")


if __name__ == "__main__":
    if sys.argv[2:] == ["graph"] and not compat_metrics.runtime.IS_TF1:
        tf.compat.v1.disable_v2_behavior()
    save(sys.argv[1])
    print(os.path.dirname(os.path.dirname(os.path.abspath(compat_metrics.__file__))))
