"""Training-step metric scenarios shared by tests/ (TF 2.x) and tests_tf1/ (graph mode).

References are independent of compat_metrics: gradient norms come from
``tf.GradientTape`` (eager) or ``tf.gradients`` (graph mode) on the same
batch, everything else from NumPy.
"""

import json
import os
import subprocess
import sys

import capability_marks
import numpy as np
import tensorflow as tf

import compat_metrics

keras = compat_metrics.keras

N_FEATURES = 5
N_OUTPUTS = 3
L2 = 0.01
BATCH = 16


def graph_mode():
    return compat_metrics.runtime.in_graph_mode()


def data(n=48, seed=3):
    rng = np.random.RandomState(seed)
    x = rng.normal(size=(n, N_FEATURES)).astype("float32")
    y = rng.normal(size=(n, N_OUTPUTS)).astype("float32")
    return x, y


class DenseLike(keras.layers.Dense):
    """A Dense layer that logs its mean activation with add_metric."""

    def call(self, inputs):
        outputs = super().call(inputs)
        compat_metrics.add_metric(self, tf.reduce_mean(outputs), name="activation_mean")
        return outputs


keras.utils.get_custom_objects()["DenseLike"] = DenseLike  # a user's layer: registered by the user


class CosineAgreement(compat_metrics.MetricLayer):
    """Per-sample cosine similarity of two tensors (a WARP-style similarity)."""

    def __init__(self, epsilon=1e-7, **kwargs):
        super().__init__(**kwargs)
        self.epsilon = epsilon

    def compute(self, inputs):
        a, b = inputs
        numerator = tf.reduce_sum(a * b, axis=-1)
        norms = tf.sqrt(tf.reduce_sum(tf.square(a), axis=-1)) * tf.sqrt(tf.reduce_sum(tf.square(b), axis=-1))
        return numerator / tf.maximum(norms, self.epsilon)

    def get_config(self):
        config = super().get_config()
        config["epsilon"] = self.epsilon
        return config


class PSNR(compat_metrics.Metric):
    """Mean per-sample PSNR, a user metric with a constructor argument."""

    def __init__(self, max_val=1.0, name="psnr", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.max_val = max_val
        self.total = self.add_weight("total")
        self.count = self.add_weight("count")

    def update_state(self, y_true, y_pred, sample_weight=None):
        mse = tf.reduce_mean(tf.square(tf.cast(y_true, tf.float32) - y_pred), axis=-1)
        psnr = 10.0 * tf.math.log(self.max_val ** 2 / mse) / tf.math.log(10.0)
        with tf.control_dependencies([self.total.assign_add(tf.reduce_sum(psnr))]):
            return self.count.assign_add(tf.cast(tf.size(psnr), tf.float32))

    def result(self):
        return self.total / self.count


def np_psnr(y, pred, max_val):
    return float(np.mean(10.0 * np.log10(max_val ** 2 / np.mean(np.square(y - pred), axis=-1))))


def model(layer_metrics=False, model_class=None):
    """inputs -> hidden (tanh, L2) -> head; with ``layer_metrics`` the hidden layer
    logs its mean activation and a MetricLayer logs the input/output agreement."""
    inputs = keras.Input((N_FEATURES,), name="x")
    hidden_cls = DenseLike if layer_metrics else keras.layers.Dense
    hidden = hidden_cls(4, activation="tanh", kernel_regularizer=keras.regularizers.l2(L2), name="hidden")(inputs)
    outputs = keras.layers.Dense(N_OUTPUTS, name="head")(hidden)
    if layer_metrics:
        _, outputs = CosineAgreement(name="agreement")([inputs[:, :N_OUTPUTS], outputs])
    return (model_class or keras.Model)(inputs, outputs)


def np_predict(m, x):
    """The predictions of :func:`model` (without layer metrics), computed by NumPy from its weights."""
    kernel, bias = m.get_layer("hidden").get_weights()
    head_kernel, head_bias = m.get_layer("head").get_weights()
    return np.tanh(x.dot(kernel) + bias).dot(head_kernel) + head_bias


def zero_lr_sgd():
    """SGD that leaves the weights unchanged, so every batch sees the same weights."""
    if graph_mode():
        return tf.compat.v1.train.GradientDescentOptimizer(0.0)
    return keras.optimizers.SGD(learning_rate=0.0)


def session():
    return tf.compat.v1.keras.backend.get_session()


def mse(x, y, pred):
    return tf.reduce_mean(tf.square(y - pred))


def loc_mse(x, y, pred):
    """The input loss (scenarios.LocLoss with scale 2), written out with TF ops."""
    return tf.reduce_mean(tf.square(y - 2.0 * x[:, :N_OUTPUTS] * pred))


def reference_norms(model, x, y, variables_filter=None, loss_fn=mse):
    """Norm of the gradient of ``loss_fn`` + regularisation on (x, y), from tf.GradientTape / tf.gradients."""
    weights = [w for w in model.trainable_weights if variables_filter is None or variables_filter(w)]
    if graph_mode():
        xt, yt = tf.constant(x), tf.constant(y)
        loss = loss_fn(xt, yt, model(xt)) + tf.add_n(model.losses)
        return float(session().run(tf.linalg.global_norm(tf.gradients(loss, weights))))
    with tf.GradientTape() as tape:
        loss = loss_fn(x, y, model(x, training=True)) + tf.add_n(model.losses)
    return float(tf.linalg.global_norm(tape.gradient(loss, weights)))


def reference_batch_norms(model, x, y, variables_filter=None, batch_size=BATCH, loss_fn=mse):
    norms, sizes = [], []
    for start in range(0, len(x), batch_size):
        sl = slice(start, start + batch_size)
        norms.append(reference_norms(model, x[sl], y[sl], variables_filter, loss_fn=loss_fn))
        sizes.append(len(x[sl]))
    return norms, sizes


def weighted_mean(values, sizes):
    return float(np.dot(values, sizes) / np.sum(sizes))


def is_hidden(variable):
    return "hidden" in (getattr(variable, "path", None) or variable.name)  # Keras 3: name is "kernel"


def evaluate_dict(model, x, y, batch_size=BATCH):
    import scenarios
    return scenarios.evaluate_dict(model, x, y, batch_size=batch_size)


def gradient_metrics():
    return [compat_metrics.GradientNorm(),
            compat_metrics.GradientNorm(variables="hidden", name="hidden_grad", reduction="last")]


def compiled_gradient_model(optimizer=None, metrics=None, **kwargs):
    m = model(**kwargs)
    compat_metrics.compile(m, optimizer=optimizer or zero_lr_sgd(), loss="mse",
                           metrics=metrics if metrics is not None else gradient_metrics())
    return m


def check_gradient_norms_in_fit_and_evaluate():
    """Weights fixed (lr 0): logs must equal per-batch tape norms, batch-weighted ("mean") or last."""
    m = compiled_gradient_model()
    x, y = data()
    norms, sizes = reference_batch_norms(m, x, y)
    hidden_norms, _ = reference_batch_norms(m, x, y, is_hidden)
    assert len(set(np.round(norms, 4))) > 1, "batches must differ for the test to discriminate"
    history = m.fit(x, y, batch_size=BATCH, epochs=2, verbose=0, shuffle=False).history
    np.testing.assert_allclose(history["gradient_norm"], [weighted_mean(norms, sizes)] * 2, rtol=1e-4)
    np.testing.assert_allclose(history["hidden_grad"], [hidden_norms[-1]] * 2, rtol=1e-4)
    assert hidden_norms[-1] < norms[-1]
    results = evaluate_dict(m, x, y)
    np.testing.assert_allclose(results["gradient_norm"], weighted_mean(norms, sizes), rtol=1e-4)
    np.testing.assert_allclose(results["hidden_grad"], hidden_norms[-1], rtol=1e-4)
    return results


def reference_gradients(model, x, y):
    """Per-variable gradients of MSE + regularisation (tf.GradientTape / tf.gradients)."""
    if graph_mode():
        loss = tf.reduce_mean(tf.square(tf.constant(y) - model(tf.constant(x)))) + tf.add_n(model.losses)
        return session().run(tf.gradients(loss, model.trainable_weights))
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(tf.square(y - model(x, training=True))) + tf.add_n(model.losses)
    return [g.numpy() for g in tape.gradient(loss, model.trainable_weights)]


def trainable_values(model):
    return [np.array(w) for w in (session().run(model.trainable_weights) if graph_mode()
                                  else [w.numpy() for w in model.trainable_weights])]


def check_gradient_norm_is_the_applied_gradient():
    """One full-batch SGD step (Keras's "sgd", learning rate 0.01): the logged norm is the norm
    before the step, and the step applied exactly those gradients."""
    m = compiled_gradient_model(optimizer="sgd")
    x, y = data(n=32)
    expected = reference_norms(m, x, y)
    gradients = reference_gradients(m, x, y)
    before = trainable_values(m)
    history = m.fit(x, y, batch_size=len(x), epochs=1, verbose=0, shuffle=False).history
    after = trainable_values(m)
    assert any(not np.allclose(b, a) for b, a in zip(before, after)), "the step must change the weights"
    for b, g, a in zip(before, gradients, after):
        np.testing.assert_allclose(a, b - 0.01 * g, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(history["gradient_norm"][0], expected, rtol=1e-4)


def check_validation_values_are_over_batches_in_order():
    """``val_`` values of ``fit`` are over the validation batches in order, every epoch, as ``evaluate``'s.

    TF1-style Keras (TF 1.15, graph mode, TF 2.0/2.1's graph path) split the
    validation arrays into other batches each epoch: val_gradient_norm 24.1,
    24.4, 25.3 with fixed weights, where evaluate gives 25.0.
    """
    m = compiled_gradient_model()
    x, y = data()
    x_val, y_val = data(n=40, seed=5)
    norms, sizes = reference_batch_norms(m, x_val, y_val)
    hidden_norms, _ = reference_batch_norms(m, x_val, y_val, is_hidden)
    history = m.fit(x, y, batch_size=BATCH, epochs=3, verbose=0, shuffle=False,
                    validation_data=(x_val, y_val)).history
    np.testing.assert_allclose(history["val_gradient_norm"], [weighted_mean(norms, sizes)] * 3, rtol=1e-4)
    np.testing.assert_allclose(history["val_hidden_grad"], [hidden_norms[-1]] * 3, rtol=1e-4)


def check_gradient_norm_is_before_clipping():
    """An optimizer that clips (clipnorm, clipvalue): the logged norm is the gradient's before clipping.

    TF 2.2/2.3 clip before ``apply_gradients``: the norm was the clipped one
    (1.41 where the gradient's is 32.9).
    """
    optimizers = keras.optimizers.legacy if graph_mode() and hasattr(keras.optimizers, "legacy") else keras.optimizers
    for clip in ({"clipnorm": 0.01}, {"clipvalue": 0.001}):
        m = compiled_gradient_model(optimizer=optimizers.SGD(learning_rate=0.0, **clip),
                                    metrics=[compat_metrics.GradientNorm()])
        x, y = data()
        norms, sizes = reference_batch_norms(m, x, y)
        assert min(norms) > 0.1, "the gradients must be clipped for the test to discriminate"
        history = m.fit(x, y, batch_size=BATCH, epochs=1, verbose=0, shuffle=False).history
        np.testing.assert_allclose(history["gradient_norm"], [weighted_mean(norms, sizes)], rtol=1e-4, err_msg=str(clip))


def check_group_pattern_with_a_second_model_of_the_same_layer_names():
    """A group pattern on layer names works when variable names got suffixes (a second model
    in the same TF1 graph gets ``hidden_1/kernel:0``)."""
    model()  # first model takes the plain names
    m = compiled_gradient_model(metrics=[compat_metrics.GradientNorm("^hidden/", name="hidden_grad")])
    x, y = data()
    norms, sizes = reference_batch_norms(m, x, y, is_hidden_layer(m))
    history = m.fit(x, y, batch_size=BATCH, epochs=1, verbose=0, shuffle=False).history
    np.testing.assert_allclose(history["hidden_grad"][0], weighted_mean(norms, sizes), rtol=1e-4)


def check_embedding_gradient_norm():
    """Embeddings: sparse gradients with repeated ids count as the dense gradient."""
    ids = keras.Input((6,), dtype="int32", name="ids")
    embedded = keras.layers.Embedding(10, 4, name="embedding")(ids)
    outputs = keras.layers.Dense(N_OUTPUTS, name="head")(keras.layers.Flatten()(embedded))
    m = keras.Model(ids, outputs)
    compat_metrics.compile(m, optimizer=zero_lr_sgd(), loss="mse",
                           metrics=[compat_metrics.GradientNorm("^embedding/", name="embedding_grad")])
    rng = np.random.RandomState(5)
    x = rng.randint(0, 3, size=(BATCH, 6)).astype("int32")  # few ids: many repeats
    y = rng.normal(size=(BATCH, N_OUTPUTS)).astype("float32")
    table = m.get_layer("embedding").embeddings
    if graph_mode():
        loss = tf.reduce_mean(tf.square(tf.constant(y) - m(tf.constant(x))))
        dense = session().run(tf.convert_to_tensor(tf.gradients(loss, [table])[0]))
    else:
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(y - m(x)))
        dense = tf.convert_to_tensor(tape.gradient(loss, table)).numpy()
    expected = float(np.sqrt(np.sum(np.square(dense))))
    history = m.fit(x, y, batch_size=BATCH, epochs=1, verbose=0, shuffle=False).history
    np.testing.assert_allclose(history["embedding_grad"][0], expected, rtol=1e-4)


def check_record_in_a_custom_loop():
    """A hand-written loop: ``record`` the gradients, then ``update_state``/``result``."""
    m = model()
    metric = compat_metrics.GradientNorm()
    x, y = data()
    norms, sizes = reference_batch_norms(m, x, y)
    for start in range(0, len(x), BATCH):
        xb, yb = x[start:start + BATCH], y[start:start + BATCH]
        with tf.GradientTape() as tape:
            pred = m(xb, training=True)
            loss = tf.reduce_mean(tf.square(yb - pred)) + tf.add_n(m.losses)
        metric.record(zip(tape.gradient(loss, m.trainable_weights), m.trainable_weights))
        metric.update_state(yb, pred)
    np.testing.assert_allclose(float(metric.result()), weighted_mean(norms, sizes), rtol=1e-4)


def is_hidden_layer(m):
    ids = {id(w) for w in m.get_layer("hidden").trainable_weights}
    return lambda variable: id(variable) in ids


def check_layer_metrics(m):
    """add_metric's activation mean and the MetricLayer's per-sample cosine, against NumPy."""
    x, y = data()
    results = evaluate_dict(m, x, y)
    kernel, bias = [np.asarray(w) for w in m.get_layer("hidden").get_weights()]
    hidden = np.tanh(x.dot(kernel) + bias)
    per_batch = [hidden[s:s + BATCH].mean() for s in range(0, len(x), BATCH)]
    np.testing.assert_allclose(results["activation_mean"], np.mean(per_batch), rtol=1e-4, atol=1e-6)
    pred = m.predict(x, batch_size=BATCH)
    a = x[:, :N_OUTPUTS]
    cosine = np.sum(a * pred, axis=-1) / (np.linalg.norm(a, axis=-1) * np.linalg.norm(pred, axis=-1))
    np.testing.assert_allclose(results["agreement"], np.mean(cosine), rtol=1e-4, atol=1e-6)
    return results


def check_layer_metrics_in_fit_and_evaluate():
    m = model(layer_metrics=True)
    compat_metrics.compile(m, optimizer=zero_lr_sgd(), loss="mse")
    x, y = data()
    history = m.fit(x, y, batch_size=BATCH, epochs=2, verbose=0, shuffle=False, validation_data=(x, y)).history
    results = check_layer_metrics(m)
    for key in ("activation_mean", "agreement"):  # lr 0: train, validation and evaluate agree
        np.testing.assert_allclose(history[key], [results[key]] * 2, rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(history["val_" + key], [results[key]] * 2, rtol=1e-4, atol=1e-6)


def full_model():
    """Gradient norms, PSNR(max_val) and layer metrics in one model."""
    m = model(layer_metrics=True)
    compat_metrics.compile(m, optimizer="sgd", loss="mse",
                           metrics=gradient_metrics() + [PSNR(max_val=2.0)])
    return m


def check_full_evaluate(m):
    x, y = data()
    results = check_layer_metrics(m)
    norms, sizes = reference_batch_norms(m, x, y)
    np.testing.assert_allclose(results["gradient_norm"], weighted_mean(norms, sizes), rtol=1e-4)
    pred = m.predict(x, batch_size=BATCH)
    np.testing.assert_allclose(results["psnr"], np_psnr(y, pred, 2.0), rtol=1e-4)
    return results


def check_metrics_reset_between_runs():
    """No ``metrics`` property override is needed: state is reset for every run."""
    m = full_model()
    other_x, other_y = data(seed=7)
    m.evaluate(other_x * 3.0, other_y, batch_size=BATCH, verbose=0)  # different values first
    check_full_evaluate(m)


class TwoOutputs(compat_metrics.MetricLayer):
    """A metric over several outputs: share of samples where |a| > |b|, per sample."""

    def compute(self, inputs):
        a, b = inputs
        return tf.cast(tf.norm(a, axis=-1) > tf.norm(b, axis=-1), tf.float32)


def check_metric_over_several_outputs():
    inputs = keras.Input((N_FEATURES,), name="x")
    a = keras.layers.Dense(N_OUTPUTS, name="a")(inputs)
    b = keras.layers.Dense(N_OUTPUTS, name="b")(inputs)
    a, b = TwoOutputs(name="a_wins")([a, b])
    a = keras.layers.Activation("linear", name="out_a")(a)
    b = keras.layers.Activation("linear", name="out_b")(b)
    m = keras.Model(inputs, [a, b])
    # A model-wide metric goes with one output; Keras copies metrics listed for every output.
    compat_metrics.compile(m, optimizer=zero_lr_sgd(), loss=["mse", "mse"],
                           metrics={"out_a": [compat_metrics.GradientNorm(name="gradient_norm")]})
    x, y = data()
    history = m.fit(x, [y, -y], batch_size=BATCH, epochs=1, verbose=0, shuffle=False).history
    pa, pb = m.predict(x, batch_size=BATCH)
    expected = np.mean(np.linalg.norm(pa, axis=-1) > np.linalg.norm(pb, axis=-1))
    assert 0.0 < expected < 1.0
    np.testing.assert_allclose(history["a_wins"][0], expected, rtol=1e-5)
    results = evaluate_dict(m, x, [y, -y])
    np.testing.assert_allclose(results["a_wins"], expected, rtol=1e-5)
    norms, sizes = [], []
    for start in range(0, len(x), BATCH):
        sl = slice(start, start + BATCH)
        norms.append(_two_output_norm(m, x[sl], y[sl]))
        sizes.append(len(x[sl]))
    name = [key for key in results if key.endswith("gradient_norm")]
    assert len(name) == 1, results
    np.testing.assert_allclose(results[name[0]], weighted_mean(norms, sizes), rtol=1e-4)


def _two_output_norm(m, x, y):
    """Gradient norm of mse(a, y) + mse(b, -y) from tf.GradientTape / tf.gradients."""
    if graph_mode():
        a, b = m(tf.constant(x))
        loss = tf.reduce_mean(tf.square(y - a)) + tf.reduce_mean(tf.square(-y - b))
        return float(session().run(tf.linalg.global_norm(tf.gradients(loss, m.trainable_weights))))
    with tf.GradientTape() as tape:
        a, b = m(x)
        loss = tf.reduce_mean(tf.square(y - a)) + tf.reduce_mean(tf.square(-y - b))
    return float(tf.linalg.global_norm(tape.gradient(loss, m.trainable_weights)))


def input_loss_model():
    """An input-dependent loss, the gradient norm and PSNR in one model."""
    import scenarios
    m = model()
    compat_metrics.compile(m, optimizer="sgd", loss=scenarios.LocLoss(scale=2.0),
                           metrics=[compat_metrics.GradientNorm(), PSNR(max_val=2.0)])
    return m


def check_input_loss_evaluate(m):
    x, y = data()
    results = evaluate_dict(m, x, y)
    pred = m.predict(x, batch_size=BATCH)
    reg = L2 * np.sum(np.square(m.get_layer("hidden").get_weights()[0]))
    losses = [np.mean(np.square(y[s:s + BATCH] - 2.0 * x[s:s + BATCH, :N_OUTPUTS] * pred[s:s + BATCH]))
              for s in range(0, len(x), BATCH)]
    norms, sizes = reference_batch_norms(m, x, y, loss_fn=loc_mse)
    np.testing.assert_allclose(results["loss"], weighted_mean(losses, sizes) + reg, rtol=1e-4)
    np.testing.assert_allclose(results["gradient_norm"], weighted_mean(norms, sizes), rtol=1e-4)
    np.testing.assert_allclose(results["psnr"], np_psnr(y, pred, 2.0), rtol=1e-4)
    return results


def seed_ce(x, y, pred):
    """scenarios.SeedLoss written out: sigmoid cross-entropy plus 0.01 * mean(logits^2)."""
    import scenarios
    ce = tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=y, logits=pred))
    return ce + scenarios.REG_WEIGHT * tf.reduce_mean(tf.square(pred))


def component_loss_model():
    """A component loss with its component metrics beside the gradient norm."""
    import scenarios
    m = model()
    loss = scenarios.SeedLoss()
    compat_metrics.compile(m, optimizer="sgd", loss=loss,
                           metrics=loss.metrics() + [compat_metrics.GradientNorm()])
    return m


def check_component_loss_evaluate(m):
    import scenarios
    x, y = data()
    y = (y > 0).astype("float32")
    results = evaluate_dict(m, x, y)
    pred = m.predict(x, batch_size=BATCH)
    reg = L2 * np.sum(np.square(m.get_layer("hidden").get_weights()[0]))
    ces, regs, sizes = [], [], []
    for start in range(0, len(x), BATCH):
        sl = slice(start, start + BATCH)
        ces.append(scenarios.np_sigmoid_ce(y[sl], pred[sl]))
        regs.append(scenarios.np_reg(pred[sl]))
        sizes.append(len(x[sl]))
    norms, _ = reference_batch_norms(m, x, y, loss_fn=seed_ce)
    np.testing.assert_allclose(results["ce"], weighted_mean(ces, sizes), rtol=1e-4)
    np.testing.assert_allclose(results["reg"], weighted_mean(regs, sizes), rtol=1e-4)
    np.testing.assert_allclose(results["loss"], results["ce"] + results["reg"] + reg, rtol=1e-4)
    np.testing.assert_allclose(results["gradient_norm"], weighted_mean(norms, sizes), rtol=1e-4)
    return results


CHECKS = {"training": "check_full_evaluate", "inputloss": "check_input_loss_evaluate",
          "components": "check_component_loss_evaluate"}
MODELS = {"training": "full_model", "inputloss": "input_loss_model", "components": "component_loss_model"}


def check_saves_and_loads(stem, tmp_path, suffix):
    """Build the ``stem`` model, train it one epoch, then :func:`roundtrip` it."""
    m = globals()[MODELS[stem]]()
    x, y = data()
    if stem == "components":
        y = (y > 0).astype("float32")
    m.fit(x, y, batch_size=BATCH, epochs=1, verbose=0)
    roundtrip(m, tmp_path, suffix, stem=stem)


def roundtrip(m, tmp_path, suffix, stem="training"):
    """Save ``m``; in a fresh process load it without custom_objects, evaluate, fit."""
    expected = globals()[CHECKS[stem]](m)
    path = str(tmp_path / (stem + suffix))
    m.save(path) if suffix else m.save(path, save_format="tf")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    out = subprocess.run([sys.executable, os.path.abspath(__file__), "graph" if graph_mode() else "eager", path],
                         capture_output=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr.decode()[-3000:]
    loaded = json.loads(out.stdout.decode().strip().splitlines()[-1])
    for key in expected:
        np.testing.assert_allclose(loaded["evaluate"][key], expected[key], rtol=1e-4, atol=1e-6, err_msg=key)
    assert "gradient_norm" in loaded["fit_keys"], loaded
    if "psnr" in expected:
        assert loaded["psnr_max_val"] == 2.0 and "psnr" in loaded["fit_keys"], loaded
    assert np.isfinite(loaded["fit_gradient_norm"]) and loaded["fit_gradient_norm"] > 0


def _load_in_fresh_process(path):
    import scenarios  # noqa: F401 - defines LocLoss, as the user's program defines its loss class
    m = compat_metrics.load_model(path)
    stem = [key for key in CHECKS if os.path.basename(path).startswith(key)][0]
    check = globals()[CHECKS[stem]]
    x, y = data()
    if stem == "components":
        y = (y > 0).astype("float32")
    results = evaluate_dict(m, x, y)
    # fit before calling the model eagerly: TF 2.1 Keras (experimental_run_tf_function=False)
    # cannot build its train function after an eager call of a layer using add_metric.
    history = m.fit(x, y, batch_size=BATCH, epochs=1, verbose=0, shuffle=False).history
    # the loaded model still matches independent references after training
    check(m)
    candidates = compat_metrics._backend.impl.compiled_metric_objects(m) + list(m.metrics)
    psnr = [metric for metric in candidates if isinstance(metric, PSNR)]
    print(json.dumps({"evaluate": results, "psnr_max_val": psnr[0].max_val if psnr else None,
                      "fit_keys": sorted(k for k in history if k in ("gradient_norm", "psnr")),
                      "fit_gradient_norm": float(history["gradient_norm"][-1])}))


def _mirrored_in_fresh_process():
    """Two logical CPUs, MirroredStrategy: the norm is that of the whole batch's gradient."""
    cpus = tf.config.experimental.list_physical_devices("CPU")  # the experimental names exist from TF 2.0 on
    tf.config.experimental.set_virtual_device_configuration(
        cpus[0], [tf.config.experimental.VirtualDeviceConfiguration()] * 2)
    x, y = data()
    single = compiled_gradient_model(metrics=[compat_metrics.GradientNorm()])
    norms, sizes = reference_batch_norms(single, x, y)
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    try:
        with strategy.scope():
            m = compiled_gradient_model(metrics=[compat_metrics.GradientNorm()])
    except NotImplementedError as error:
        print(json.dumps({"not_implemented": str(error)}))
        return
    m.set_weights(single.get_weights())
    history = m.fit(x, y, batch_size=BATCH, epochs=1, verbose=0, shuffle=False).history
    print(json.dumps({"reference": weighted_mean(norms, sizes), "fit": history["gradient_norm"][0],
                      "evaluate": evaluate_dict(m, x, y)["gradient_norm"]}))


class HelperModel(keras.Model):
    """A ``train_step`` override written once with ``compat_metrics.train_step``."""

    def train_step(self, data):
        return compat_metrics.train_step(self, data)


def _mirrored_train_step_in_fresh_process():
    """Two logical CPUs, MirroredStrategy: the train_step helper's loss against NumPy."""
    cpus = tf.config.experimental.list_physical_devices("CPU")  # the experimental names exist from TF 2.0 on
    tf.config.experimental.set_virtual_device_configuration(
        cpus[0], [tf.config.experimental.VirtualDeviceConfiguration()] * 2)
    x, y = data()
    try:
        with tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"]).scope():
            m = model(model_class=HelperModel)
            compat_metrics.compile(m, optimizer=zero_lr_sgd(), loss="mse")
    except NotImplementedError as error:
        print(json.dumps({"not_implemented": str(error)}))
        return
    history = m.fit(x, y, batch_size=BATCH, epochs=1, verbose=0, shuffle=False).history
    pred = np_predict(m, x)  # Keras 3.0's predict fails under MirroredStrategy for uneven replica batches
    losses = [float(np.mean(np.square(y[s:s + BATCH] - pred[s:s + BATCH]))) for s in range(0, len(x), BATCH)]
    reg = float(L2 * np.sum(np.square(m.get_layer("hidden").get_weights()[0])))
    print(json.dumps({"reference": weighted_mean(losses, [BATCH] * len(losses)) + reg, "fit": history["loss"][0]}))


def _run_fresh(mode):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    out = subprocess.run([sys.executable, os.path.abspath(__file__), mode, ""], capture_output=True,
                         env=env, timeout=300)
    assert out.returncode == 0, out.stderr.decode()[-3000:]
    return json.loads(out.stdout.decode().strip().splitlines()[-1])


def check_gradient_norm_under_mirrored_strategy():
    return _run_fresh("mirrored")


def check_train_step_helper_under_mirrored_strategy():
    """The helper reports the loss of the whole batch, not of one replica's share."""
    result = _run_fresh("mirrored_train_step")
    if capability_marks.refuses_distributed_metrics(result.get("not_implemented", "")):
        return
    np.testing.assert_allclose(result["fit"], result["reference"], rtol=1e-4)


if __name__ == "__main__" and sys.argv[1] == "mirrored":
    _mirrored_in_fresh_process()
elif __name__ == "__main__" and sys.argv[1] == "mirrored_train_step":
    _mirrored_train_step_in_fresh_process()
elif __name__ == "__main__":
    if sys.argv[1] == "graph":
        tf.compat.v1.disable_v2_behavior()
    _load_in_fresh_process(sys.argv[2])


class RowMean(compat_metrics.MetricLayer):
    """The mean activation of each sample."""

    def compute(self, inputs):
        return tf.reduce_mean(inputs, axis=-1)


def _outputs_of(m, names, x):
    probe = keras.Model(m.inputs, [m.get_layer(name).output for name in names])
    out = probe.predict(x, batch_size=len(x))
    return out if isinstance(out, list) else [out]


def check_layer_metric_called_twice_or_nested():
    """One MetricLayer called at two places logs the mean of both calls; one inside a nested model its own key.

    TF1-style graphs logged only the last call (a: 0.0054, b: -0.1290, logged
    -0.1290 where the other versions give the mean -0.0618), and TF 1.15 lost a
    nested model's keys and shifted the outer model's onto their values: both
    are a ValueError there (capability NESTED_LAYER_METRICS; graph mode).
    """
    x, y = data()
    inputs = keras.Input((N_FEATURES,))
    shared = RowMean(name="row_mean")
    a = shared(keras.layers.Dense(4, name="a")(inputs))
    b = shared(keras.layers.Dense(4, name="b")(inputs))
    twice = keras.Model(inputs, keras.layers.Dense(N_OUTPUTS)(keras.layers.Concatenate()([a, b])))
    try:
        compat_metrics.compile(twice, optimizer=zero_lr_sgd(), loss="mse")
    except ValueError as error:
        assert graph_mode(), error
        assert str(error).startswith("Invalid model for TF") and "is called 2 times" in str(error), error
    else:
        assert not graph_mode(), "a layer metric called twice compiled in graph mode"
        history = twice.fit(x, y, batch_size=len(x), epochs=1, verbose=0).history
        a_out, b_out = _outputs_of(twice, ["a", "b"], x)
        np.testing.assert_allclose(history["row_mean"], [np.mean([a_out.mean(), b_out.mean()])], rtol=1e-4, atol=1e-6)
    inner_inputs = keras.Input((N_FEATURES,))
    encoder = keras.Model(inner_inputs, RowMean(name="inner_mean")(keras.layers.Dense(4, name="hid")(inner_inputs)),
                          name="encoder")
    outer_inputs = keras.Input((N_FEATURES,))
    outer_mean = RowMean(name="outer_mean")(outer_inputs)
    nested = keras.Model(outer_inputs, keras.layers.Dense(N_OUTPUTS)(
        keras.layers.Concatenate()([encoder(outer_inputs), outer_mean])))
    try:
        compat_metrics.compile(nested, optimizer=zero_lr_sgd(), loss="mse")
    except ValueError as error:
        assert not compat_metrics._capabilities.NESTED_LAYER_METRICS, error
        assert "of the nested model 'encoder' log metrics" in str(error), error
        return
    assert compat_metrics._capabilities.NESTED_LAYER_METRICS, "TF 1.15 compiled a nested model's layer metrics"
    results = evaluate_dict(nested, x, y)
    hidden = keras.Model(encoder.inputs, encoder.get_layer("hid").output).predict(x, batch_size=len(x))
    np.testing.assert_allclose([results["inner_mean"], results["outer_mean"]], [hidden.mean(), x.mean()],
                               rtol=1e-4, atol=1e-6, err_msg=str(results))


def _np_linear_gradient_norm(weights, x, y):
    """Norm of the MSE gradient of ``Dense -> Dense`` (no activation), by NumPy in float64."""
    kernel1, bias1, kernel2, bias2 = (np.asarray(w, np.float64) for w in weights)
    hidden = x @ kernel1 + bias1
    d_pred = 2.0 * (hidden @ kernel2 + bias2 - y) / y.size
    d_hidden = d_pred @ kernel2.T
    parts = [x.T @ d_hidden, d_hidden.sum(0), hidden.T @ d_pred, d_pred.sum(0)]
    return float(np.sqrt(sum(np.sum(np.square(p)) for p in parts)))


def check_gradient_norm_leaves_out_the_steps_a_loss_scale_optimizer_skips():
    """Mixed precision: a step whose float16 gradients overflow at the loss scale is skipped by the optimizer
    and not counted, instead of making the epoch's norm inf (inf where NumPy gives 3.56)."""
    policy = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        inputs = keras.Input((N_FEATURES,))
        hidden = keras.layers.Dense(4, name="hidden")(inputs)
        m = keras.Model(inputs, keras.layers.Dense(N_OUTPUTS, dtype="float32", name="head")(hidden))
    finally:
        keras.mixed_precision.set_global_policy(policy)
    compat_metrics.compile(m, optimizer=keras.mixed_precision.LossScaleOptimizer(keras.optimizers.SGD(0.0)),
                           loss="mse", metrics=[compat_metrics.GradientNorm(),
                                                compat_metrics.GradientNorm(name="last_norm", reduction="last")])
    x, y = data()
    x[:BATCH] *= 300.0  # the first batch's gradient times the initial scale 2**15 overflows float16
    x[BATCH:] *= 0.1
    weights = m.get_weights()
    norms = [_np_linear_gradient_norm(weights, x[s:s + BATCH], y[s:s + BATCH]) for s in range(0, len(x), BATCH)]
    assert norms[0] * 2 ** 15 > 65504 > max(norms[1:]) * 2 ** 14, norms
    history = m.fit(x, y, batch_size=BATCH, epochs=1, verbose=0, shuffle=False).history
    np.testing.assert_allclose(history["gradient_norm"], [np.mean(norms[1:])], rtol=1e-2)
    np.testing.assert_allclose(history["last_norm"], [norms[-1]], rtol=1e-2)
