"""Models saved in one tox env, loaded in the later ones (shared by tests/ and tests_tf1/).

tox sets ``COMPAT_METRICS_SAVED_MODELS`` to one folder of the shared
``{toxworkdir}`` and runs the envs of ``envlist`` in order. The envs in
:data:`SAVES` write ``<folder>/<env>/model.h5`` and the values the model
evaluated to there; each env loads what :data:`LOADS` lists with
``compat_metrics.load_model``, and the loaded model must evaluate to the
saving env's values and to NumPy/scikit-learn on its own predictions. A file
that an earlier env should have written is a failure, not a skip. Every env
also trains the same model from the same weights and must log the same
history, epoch by epoch, as the envs before it (:data:`ORDER`).
Keras 3 reads the legacy h5 files too; tf-legacy also hands its own file to
Keras 3 (the same venv without ``TF_USE_LEGACY_KERAS``).
"""

import json
import os
import subprocess
import sys

import numpy as np
import tensorflow as tf

import compat_metrics

keras = compat_metrics.keras

FOLDER_VARIABLE = "COMPAT_METRICS_SAVED_MODELS"
SAVES = ("tf115", "tf21", "tf215", "tf-legacy")
LOADS = {
    "tf215-graph": ("tf115",),
    "tf21": ("tf115",),
    "tf215": ("tf115", "tf21"),
    "tf-latest": ("tf115", "tf21", "tf215"),
    "tf-legacy": ("tf115", "tf21", "tf215"),
}
# Every env of envlist trains the same model and must report the same history as the envs before it.
ORDER = ("tf115", "tf215-graph", "tf21", "tf215", "tf-latest", "tf-legacy")
N_CLASSES = 3
N_FEATURES = 5
REG_WEIGHT = 0.05


class CrossEnvLoss(compat_metrics.ComponentLoss):
    """A user's composite loss with a constructor argument and no get_config."""

    components = ("ce", "reg")

    def __init__(self, reg_weight, name="cross_env_loss"):
        super().__init__(name=name)
        self.reg_weight = reg_weight

    def call(self, y_true, y_pred):
        ce = tf.reduce_mean(keras.losses.sparse_categorical_crossentropy(y_true, y_pred))
        reg = self.reg_weight * tf.reduce_mean(tf.square(y_pred))
        return self.track("ce", ce) + self.track("reg", reg)


def data():
    rng = np.random.RandomState(21)
    x = rng.normal(size=(60, N_FEATURES)).astype("float32")
    y = rng.randint(0, N_CLASSES, size=(60, 1)).astype("float32")
    return x, y


def model():
    """The same weights on every env (seeded NumPy), so every env must give the same numbers."""
    inputs = keras.Input((N_FEATURES,), name="features")
    dense = keras.layers.Dense(N_CLASSES, activation="softmax", name="probs")
    outputs = dense(inputs)
    built = keras.Model(inputs, outputs)
    rng = np.random.RandomState(7)
    dense.set_weights([rng.normal(size=(N_FEATURES, N_CLASSES)).astype("float32"),
                       rng.normal(size=(N_CLASSES,)).astype("float32") * 0.1])
    loss = CrossEnvLoss(REG_WEIGHT)
    compat_metrics.compile(built, optimizer="sgd", loss=loss,
                           metrics=loss.metrics() + [compat_metrics.F1Score(N_CLASSES, average="macro", name="f1"),
                                                     compat_metrics.GradientNorm()])
    return built


def evaluate(loaded):
    import inspect
    x, y = data()
    if "return_dict" in inspect.signature(loaded.evaluate).parameters:
        results = loaded.evaluate(x, y, batch_size=len(x), verbose=0, return_dict=True)
    else:
        results = dict(zip(loaded.metrics_names, np.atleast_1d(loaded.evaluate(x, y, batch_size=len(x), verbose=0))))
    return {key: float(value) for key, value in results.items()}


def check_against_numpy(loaded, results):
    """The loaded model's values from NumPy and scikit-learn on its own predictions."""
    from sklearn.metrics import f1_score
    x, y = data()
    probs = loaded.predict(x, batch_size=len(x))
    ids = y[:, 0].astype(int)
    ce = float(np.mean(-np.log(np.clip(probs[np.arange(len(ids)), ids], 1e-7, 1.0))))
    reg = REG_WEIGHT * float(np.mean(np.square(probs)))
    expected = {"loss": ce + reg, "ce": ce, "reg": reg,
                "f1": f1_score(ids, probs.argmax(1), average="macro", labels=list(range(N_CLASSES)))}
    for key, value in expected.items():
        np.testing.assert_allclose(results[key], value, rtol=1e-4, err_msg=key)
    assert np.isfinite(results["gradient_norm"]) and results["gradient_norm"] >= 0
    return probs


def folder():
    return os.environ.get(FOLDER_VARIABLE)


def this_env():
    return os.environ.get("TOX_ENV_NAME", "")


def save(env):
    """Write ``<folder>/<env>/model.h5`` and the values it evaluates to here (NumPy-checked first)."""
    built = model()
    results = evaluate(built)
    probs = check_against_numpy(built, results)
    target = os.path.join(folder(), env)
    os.makedirs(target, exist_ok=True)
    path = os.path.join(target, "model.h5")
    if os.path.exists(path):
        os.remove(path)
    built.save(path)
    with open(os.path.join(target, "values.json"), "w") as f:
        json.dump({"results": results, "probs": probs.tolist(), "stack": compat_metrics.runtime.describe()}, f)
    return path


def load_and_check(env):
    """Load the file ``env`` saved; same values as there, and as NumPy here."""
    source = os.path.join(folder(), env)
    path = os.path.join(source, "model.h5")
    values = os.path.join(source, "values.json")
    if not (os.path.exists(path) and os.path.exists(values)):
        raise AssertionError(
            f"{source} has no model saved by tox env {env!r}: run the envs in envlist order (tox runs them so), e.g. "
            f"`tox -e {env},{this_env()}`")
    with open(values) as f:
        saved = json.load(f)
    loaded = compat_metrics.load_model(path)
    results = evaluate(loaded)
    probs = check_against_numpy(loaded, results)
    np.testing.assert_allclose(probs, saved["probs"], rtol=1e-5, atol=1e-6)
    for key in ("loss", "ce", "reg", "f1"):
        np.testing.assert_allclose(results[key], saved["results"][key], rtol=1e-4,
                                   err_msg="{} saved by {} ({})".format(key, env, saved["stack"]))
    return results


def train_history():
    """Three full-batch SGD epochs from the fixed weights; the history, checked at the first epoch by NumPy."""
    built = model()
    x, y = data()
    start = evaluate(built)
    check_against_numpy(built, start)
    history = built.fit(x, y, batch_size=len(x), epochs=3, shuffle=False, verbose=0).history
    # Keras logs the first epoch's values from the weights before its update: the evaluate above.
    for key in ("loss", "ce", "reg", "f1"):
        np.testing.assert_allclose(history[key][0], start[key], rtol=1e-4, err_msg=key)
    return {key: [float(v) for v in values] for key, values in history.items()}


def check_same_history_as_earlier_envs(env):
    """The differential check: this env's history equals every earlier env's, epoch by epoch."""
    history = train_history()
    target = os.path.join(folder(), env)
    os.makedirs(target, exist_ok=True)
    with open(os.path.join(target, "history.json"), "w") as f:
        json.dump(history, f)
    earlier = ORDER[:ORDER.index(env)] if env in ORDER else ()
    for other in earlier:
        path = os.path.join(folder(), other, "history.json")
        if not os.path.exists(path):
            raise AssertionError(f"{path} is missing: tox env {other!r} runs before {env!r} in envlist and writes it"
                                 )
        with open(path) as f:
            theirs = json.load(f)
        for key in ("loss", "ce", "reg", "f1", "gradient_norm"):
            np.testing.assert_allclose(history[key], theirs[key], rtol=2e-4, atol=1e-6,
                                       err_msg=f"{key}: {history[key]} here, {theirs[key]} in {other}")
    return earlier


def check_this_env():
    """What this tox env saves and loads; returns the envs it loaded."""
    env = this_env()
    loaded = []
    if env in ORDER:
        loaded.extend(check_same_history_as_earlier_envs(env))
    for source in LOADS.get(env, ()):
        load_and_check(source)
        loaded.append(source)
    if env in SAVES:
        path = save(env)
        if env == "tf-legacy":  # Keras 3 in the same venv reads tf_keras's h5
            environment = {k: v for k, v in os.environ.items() if k != "TF_USE_LEGACY_KERAS"}
            environment["PYTHONPATH"] = os.pathsep.join(sys.path)
            out = subprocess.run([sys.executable, os.path.abspath(__file__), env], env=environment,
                                 capture_output=True, timeout=600)
            assert out.returncode == 0, out.stderr.decode()[-3000:]
            assert "keras3" in out.stdout.decode(), out.stdout.decode()[-500:]
            loaded.append(path)
    return loaded


if __name__ == "__main__":
    load_and_check(sys.argv[1])
    print(compat_metrics.runtime.KERAS_FLAVOUR)
