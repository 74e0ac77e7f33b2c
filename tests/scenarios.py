"""Scenarios and NumPy references shared by tests/ (TF 2.x) and tests_tf1/ (graph mode).

References are computed with NumPy only, never with compat_metrics.
"""

import numpy as np
import tensorflow as tf

import compat_metrics

keras = compat_metrics.keras

N_FEATURES = 6
N_OUTPUTS = 3
REG_WEIGHT = 0.01


def data(n=48, seed=0):
    """Features and multi-label targets."""
    rng = np.random.RandomState(seed)
    x = rng.normal(size=(n, N_FEATURES)).astype("float32")
    y = (rng.uniform(size=(n, N_OUTPUTS)) > 0.5).astype("float32")
    return x, y


def dense_model():
    """A small functional model: inputs -> Dense(8, tanh) -> Dense(N_OUTPUTS)."""
    inputs = keras.Input((N_FEATURES,), name="x")
    hidden = keras.layers.Dense(8, activation="tanh")(inputs)
    outputs = keras.layers.Dense(N_OUTPUTS)(hidden)
    return keras.Model(inputs, outputs)


class SeedLoss(compat_metrics.ComponentLoss):
    """A composite loss: sigmoid cross-entropy plus an L2 term on the logits."""

    components = ("ce", "reg")

    def call(self, y_true, y_pred):
        ce = tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=y_true, logits=y_pred))
        reg = REG_WEIGHT * tf.reduce_mean(tf.square(y_pred))
        return self.track("ce", ce) + self.track("reg", reg)


class LocLoss(compat_metrics.InputLoss):
    """An input-dependent loss: target = inputs[:, :N_OUTPUTS] * prediction, MSE."""

    def __init__(self, scale=1.0, **kwargs):
        super().__init__(**kwargs)
        self.scale = scale

    def call(self, inputs, y_true, y_pred):
        return tf.reduce_mean(tf.square(y_true - self.scale * inputs[:, :N_OUTPUTS] * y_pred), axis=-1)

    def get_config(self):
        config = super().get_config()
        config["scale"] = self.scale
        return config


def np_sigmoid_ce(y, logits):
    return np.mean(np.maximum(logits, 0) - logits * y + np.log1p(np.exp(-np.abs(logits))))


def np_reg(logits):
    return REG_WEIGHT * np.mean(np.square(logits))


def np_loc_loss(x, y, pred, scale=1.0):
    return np.mean(np.mean(np.square(y - scale * x[:, :N_OUTPUTS] * pred), axis=-1))


def batch_weighted_mean(values, sizes):
    """How Keras reports a loss over an epoch: per-batch values weighted by batch size."""
    return float(np.dot(values, sizes) / np.sum(sizes))


def evaluate_dict(model, x, y, **kwargs):
    """``model.evaluate`` as a dict of floats on every version."""
    import inspect
    if "return_dict" in inspect.signature(model.evaluate).parameters:
        results = model.evaluate(x, y, verbose=0, return_dict=True, **kwargs)
    else:
        values = np.atleast_1d(model.evaluate(x, y, verbose=0, **kwargs))
        results = dict(zip(model.metrics_names, values))  # read after evaluate: a subclassed model names them then
    return {name: float(value) for name, value in results.items()}


def batches(x, y, batch_size):
    for start in range(0, len(x), batch_size):
        yield x[start:start + batch_size], y[start:start + batch_size]


def compiled_seed_model(**compile_kwargs):
    """A model compiled with SeedLoss and metrics reading its components."""
    loss = SeedLoss()
    model = dense_model()
    metrics = loss.metrics() + [loss.metric("ce", reduction="last", name="ce_last")]
    compat_metrics.compile(model, optimizer="sgd", loss=loss, metrics=metrics, **compile_kwargs)
    return model, loss


def check_components_evaluate(model, batch_size=16):
    """Evaluate ``model`` (from compiled_seed_model) and compare with NumPy.

    The "mean" readings must equal the batch-size-weighted mean of per-batch
    NumPy values (how Keras reports the loss); "last" the last batch's value.
    """
    x, y = data()
    results = evaluate_dict(model, x, y, batch_size=batch_size)
    logits = model.predict(x, batch_size=batch_size)
    sizes, ces, regs = [], [], []
    for (_, yb), (start) in zip(batches(x, y, batch_size), range(0, len(x), batch_size)):
        lb = logits[start:start + batch_size]
        sizes.append(len(yb))
        ces.append(np_sigmoid_ce(yb, lb))
        regs.append(np_reg(lb))
    np.testing.assert_allclose(results["ce"], batch_weighted_mean(ces, sizes), rtol=1e-5)
    np.testing.assert_allclose(results["reg"], batch_weighted_mean(regs, sizes), rtol=1e-5)
    np.testing.assert_allclose(results["ce_last"], ces[-1], rtol=1e-5)
    np.testing.assert_allclose(results["loss"], results["ce"] + results["reg"], rtol=1e-5)
    return results


def check_history_components(history):
    """During fit, each epoch's components must add up to the reported loss."""
    logs = history.history
    assert len(logs["loss"]) >= 1
    np.testing.assert_allclose(np.add(logs["ce"], logs["reg"]), logs["loss"], rtol=1e-5)
    assert all(value > 0 for value in logs["ce"]), logs["ce"]


def compiled_loc_model(**compile_kwargs):
    """A model whose loss needs the model's inputs."""
    model = dense_model()
    compat_metrics.compile(model, optimizer="sgd", loss=LocLoss(scale=2.0), **compile_kwargs)
    return model


def check_input_loss_evaluate(model, batch_size=16):
    """``evaluate``'s loss must equal a NumPy recomputation that uses the inputs."""
    x, y = data()
    result = evaluate_dict(model, x, y, batch_size=batch_size)["loss"]
    pred = model.predict(x, batch_size=batch_size)
    values, sizes = [], []
    for start in range(0, len(x), batch_size):
        sl = slice(start, start + batch_size)
        values.append(np_loc_loss(x[sl], y[sl], pred[sl], scale=2.0))
        sizes.append(len(x[sl]))
    np.testing.assert_allclose(result, batch_weighted_mean(values, sizes), rtol=1e-5)
    return result


def check_compile_with_flag_trains():
    """Old code's ``experimental_run_tf_function=False`` trains on every version."""
    model = dense_model()
    compat_metrics.compile(model, optimizer="sgd", loss="mse", experimental_run_tf_function=False)
    x, y = data()
    history = model.fit(x, y, epochs=1, verbose=0)
    assert history.history["loss"][0] > 0


def check_input_loss_fit_and_evaluate(**compile_kwargs):
    """Train one epoch with an input loss, then compare evaluate with NumPy."""
    model = compiled_loc_model(**compile_kwargs)
    x, y = data()
    model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    check_input_loss_evaluate(model)


def _load_and_evaluate(path):
    """Run in a fresh process: load without custom_objects, evaluate, fit once more."""
    import json
    model = compat_metrics.load_model(path)
    x, y = data()
    result = check_input_loss_evaluate(model) if "loc" in path else check_components_evaluate(model)
    history = model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    loss = history.history["loss"][-1]
    print(json.dumps({"result": result if isinstance(result, float) else {k: float(v) for k, v in result.items()},
                      "fit_loss": float(loss)}))


if __name__ == "__main__":
    import sys
    if sys.argv[1] == "graph":
        tf.compat.v1.disable_v2_behavior()
    _load_and_evaluate(sys.argv[2])


class ScaledTargetLoss(compat_metrics.InputLoss):
    """The loss of a model whose target is ``inputs * y_pred``; two inputs: ``(a + b) * y_pred``."""

    def call(self, inputs, y_true, y_pred):
        scale = inputs[0] + inputs[1] if isinstance(inputs, (list, tuple)) else inputs
        return tf.reduce_mean(tf.square(y_true - scale * y_pred), axis=-1)


def check_input_loss_sees_inputs_as_the_model_does():
    """The loss gets the batch as the model's own inputs look, on every version.

    ``x`` of shape ``(n,)`` for ``Input((1,))`` (Keras gives the model
    ``(n, 1)``): the loss got ``(n,)``, so ``inputs * y_pred`` broadcast to
    ``(n, n)`` (4.63 where NumPy gives 9.63). ``x`` as a dict for two inputs:
    the loss got the dict, not the documented list in ``model.inputs`` order.
    """
    keras = compat_metrics.keras
    rng = np.random.RandomState(4)
    n = 40
    a, b, y = (rng.normal(size=(n,)).astype("float32") for _ in range(3))
    y = y[:, None]
    single = keras.Input((1,), name="a")
    model = keras.Model(single, keras.layers.Dense(1)(single))
    compat_metrics.compile(model, optimizer="sgd", loss=ScaledTargetLoss())
    pred = model.predict(a[:, None], batch_size=n)
    np.testing.assert_allclose(evaluate_dict(model, a, y, batch_size=n)["loss"],
                               np.mean(np.square(y - a[:, None] * pred)), rtol=1e-5)
    inputs = [keras.Input((1,), name="a"), keras.Input((1,), name="b")]
    model = keras.Model(inputs, keras.layers.Dense(1)(keras.layers.Concatenate()(inputs)))
    compat_metrics.compile(model, optimizer="sgd", loss=ScaledTargetLoss())
    pred = model.predict([a[:, None], b[:, None]], batch_size=n)
    expected = np.mean(np.square(y - (a + b)[:, None] * pred))
    for x in ({"a": a[:, None], "b": b[:, None]}, [a[:, None], b[:, None]]):
        np.testing.assert_allclose(evaluate_dict(model, x, y, batch_size=n)["loss"], expected, rtol=1e-5,
                                   err_msg=type(x).__name__)


def check_components_after_compiling_again():
    """A model compiled a second time (a new learning rate, say) with the same ComponentLoss: its metrics read
    the new build. TF 1.15 failed there ("You must feed a value for placeholder tensor 'head_target'"): the
    reads of the second compile followed the first compile's write."""
    model, loss = compiled_seed_model()
    x, y = data()
    model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    metrics = loss.metrics() + [loss.metric("ce", reduction="last", name="ce_last")]
    compat_metrics.compile(model, optimizer="sgd", loss=loss, metrics=metrics)
    model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    check_components_evaluate(model)
