"""Users' own code meeting the library, shared by tests/ and tests_tf1/.

The classes marked "seed" are pasted from the blog posts users copy from
(``shared/seeds/``), unchanged but for the base class or import that makes
them portable. Every expected value is computed with NumPy from the model's
own predictions, epoch by epoch, never with compat_metrics.
"""

import numpy as np
import tensorflow as tf

import compat_metrics
from compat_metrics import _capabilities as caps

keras = compat_metrics.keras


def evaluate_dict(model, x, y, **kwargs):
    """``model.evaluate`` as a dict of floats on every version."""
    import inspect
    if "return_dict" in inspect.signature(model.evaluate).parameters:
        results = model.evaluate(x, y, verbose=0, return_dict=True, **kwargs)
    else:
        results = dict(zip(model.metrics_names, np.atleast_1d(model.evaluate(x, y, verbose=0, **kwargs))))
    return {name: float(value) for name, value in results.items()}
N_CLASSES = 4
N_FEATURES = 5


# -- seed 002 (and 001): a metric whose reset_states override zeroes one variable --------------
class CategoricalTruePositives(compat_metrics.Metric):  # seed: keras.metrics.Metric
    def __init__(self, name="categorical_true_positives", **kwargs):
        super().__init__(name=name, **kwargs)
        self.true_positives = self.add_weight(name="ctp", initializer="zeros")
        # 也可以调整shape一次计算多个指标
        self.b = self.add_weight(name="b", initializer="random_uniform")

    # 通过y_true 与 y_pred 实现指标更新
    def update_state(self, y_true, y_pred, sample_weight=None):
        y_pred = tf.reshape(tf.argmax(y_pred, axis=1), shape=(-1, 1))
        values = tf.cast(y_true, "int32") == tf.cast(y_pred, "int32")
        values = tf.cast(values, "float32")
        if sample_weight is not None:
            sample_weight = tf.cast(sample_weight, "float32")
            values = tf.multiply(values, sample_weight)
        self.true_positives.assign_add(tf.reduce_sum(values))

    def result(self):
        return self.true_positives

    def reset_states(self):
        # The state of the metric will be reset at the start of each epoch.
        self.true_positives.assign(0.0)


class CountingResetState(compat_metrics.Metric):
    """The Keras 3 spelling of the override: ``reset_state``."""

    def __init__(self, name="offset_count", **kwargs):
        super().__init__(name=name, **kwargs)
        self.count = self.add_weight(name="count")

    def update_state(self, y_true, y_pred, sample_weight=None):
        self.count.assign_add(tf.cast(tf.shape(y_pred)[0], tf.float32))

    def result(self):
        return tf.identity(self.count)

    def reset_state(self):
        self.count.assign(0.0)


def classification_data(n=48, seed=3):
    rng = np.random.RandomState(seed)
    x = rng.normal(size=(n, N_FEATURES)).astype("float32")
    y = rng.randint(0, N_CLASSES, size=(n, 1)).astype("float32")
    return x, y


def classifier():
    inputs = keras.Input((N_FEATURES,))
    outputs = keras.layers.Dense(N_CLASSES, activation="softmax")(inputs)
    return keras.Model(inputs, outputs)


def check_reset_overrides_run_each_epoch(epochs=3):
    """fit with a frozen model: each epoch must count the data once.

    Without the override running, epoch k reports k times the count.
    """
    x, y = classification_data()
    model = classifier()
    model.trainable = False  # the same predictions every epoch
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy",
                  metrics=[CategoricalTruePositives(), CountingResetState()])
    history = model.fit(x, y, batch_size=16, epochs=epochs, verbose=0)
    predicted = model.predict(x).argmax(axis=1)
    expected = float(np.sum(predicted == y[:, 0]))
    np.testing.assert_allclose(history.history["categorical_true_positives"], [expected] * epochs, rtol=1e-6)
    np.testing.assert_allclose(history.history["offset_count"], [float(len(x))] * epochs, rtol=1e-6)


def check_result_returning_its_variable_keeps_the_training_value(epochs=2):
    """Seed 002's ``result()`` returns ``self.true_positives``: with validation data, History's training value
    is the training count, not the validation count Keras 3.15 read later from the variable (7 where NumPy
    gives 29)."""
    x, y = classification_data()
    x_val, y_val = classification_data(n=24, seed=9)
    model = classifier()
    model.trainable = False
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=[CategoricalTruePositives()])
    history = model.fit(x, y, batch_size=16, epochs=epochs, verbose=0, validation_data=(x_val, y_val)).history
    for prefix, inputs, labels in (("", x, y), ("val_", x_val, y_val)):
        expected = float(np.sum(model.predict(inputs).argmax(axis=1) == labels[:, 0]))
        np.testing.assert_allclose(history[prefix + "categorical_true_positives"], [expected] * epochs, rtol=1e-6,
                                   err_msg=prefix)


def check_user_calls_both_reset_names(evaluate):
    """``reset_states()`` and ``reset_state()`` called by user code zero the count on every version.

    ``evaluate(tensor)`` turns a tensor into a number (eager, or the Keras session).
    """
    x, y = classification_data(n=10)
    scores = np.eye(N_CLASSES, dtype="float32")[(y[:, 0].astype(int) + np.arange(10) % 2) % N_CLASSES]
    expected = float(np.sum(scores.argmax(1) == y[:, 0]))
    for metric in (CategoricalTruePositives(), CountingResetState()):
        start = 0.0
        per_call = 10.0 if isinstance(metric, CountingResetState) else expected
        for reset in ("reset_states", "reset_state"):
            update = metric.update_state(tf.constant(y), tf.constant(scores))
            evaluate(update, metric)
            getattr(metric, reset)()
            assert evaluate(metric.result(), metric) == start, (type(metric).__name__, reset)
            evaluate(metric.update_state(tf.constant(y), tf.constant(scores)), metric)
            np.testing.assert_allclose(evaluate(metric.result(), metric), start + per_call, rtol=1e-6)


# -- a declared component that call() never tracks --------------------------------------------
class HalfTrackedLoss(compat_metrics.ComponentLoss):
    components = ("ce", "reg")

    def call(self, y_true, y_pred):
        ce = tf.reduce_mean(tf.square(y_true - y_pred))
        reg = 0.01 * tf.reduce_mean(tf.square(y_pred))
        return self.track("ce", ce) + reg


def check_untracked_declared_component_is_a_clear_error():
    """The same ValueError on every version, by the end of the first step (never ``reg: 0.0``)."""
    import pytest
    x = np.random.RandomState(0).normal(size=(16, N_FEATURES)).astype("float32")
    y = np.zeros((16, 1), "float32")
    inputs = keras.Input((N_FEATURES,))
    model = keras.Model(inputs, keras.layers.Dense(1)(inputs))
    loss = HalfTrackedLoss()
    with pytest.raises(ValueError, match=r"HalfTrackedLoss.call did not track declared component\(s\) \['reg'\]"):
        model.compile(optimizer="sgd", loss=loss, metrics=loss.metrics())
        model.fit(x, y, epochs=1, verbose=0)


# -- losses with constructor arguments and no get_config (docs/patterns/input-losses.md) ---------
class ScaledLocLoss(compat_metrics.InputLoss):
    def __init__(self, scale, offset, name="scaled_loc"):
        super().__init__(name=name)
        self.scale = scale
        self.offset = offset

    def call(self, inputs, y_true, y_pred):
        return tf.reduce_mean(tf.square(y_true - self.scale * inputs[:, :1] * y_pred - self.offset), axis=-1)


class WeightedParts(compat_metrics.ComponentLoss):
    components = ("mse", "reg")

    def __init__(self, weight, name="weighted_parts"):
        super().__init__(name=name)
        self.weight = weight

    def call(self, y_true, y_pred):
        mse = tf.reduce_mean(tf.square(y_true - y_pred))
        reg = self.weight * tf.reduce_mean(tf.square(y_pred))
        return self.track("mse", mse) + self.track("reg", reg)


def _regression_data(n=32):
    rng = np.random.RandomState(5)
    return rng.normal(size=(n, N_FEATURES)).astype("float32"), rng.normal(size=(n, 1)).astype("float32")


def _regression_model():
    inputs = keras.Input((N_FEATURES,))
    return keras.Model(inputs, keras.layers.Dense(1)(inputs))


def check_losses_with_constructor_arguments_load(tmp_path, suffixes):
    """Save and load with compat_metrics.load_model; the loaded loss has the arguments and NumPy's values."""
    x, y = _regression_data()
    for suffix in suffixes:
        for loss in (ScaledLocLoss(2.0, offset=0.5), WeightedParts(0.25)):
            model = _regression_model()
            metrics = loss.metrics() if isinstance(loss, WeightedParts) else None
            compat_metrics.compile(model, optimizer="sgd", loss=loss, metrics=metrics)
            model.fit(x, y, batch_size=len(x), epochs=1, verbose=0)
            path = str(tmp_path / (type(loss).__name__ + suffix))
            model.save(path) if suffix else model.save(path, save_format="tf")
            loaded = compat_metrics.load_model(path)
            pred = loaded.predict(x)
            results = evaluate_dict(loaded, x, y, batch_size=len(x))
            if isinstance(loss, ScaledLocLoss):
                expected = {"loss": np.mean(np.square(y - 2.0 * x[:, :1] * pred - 0.5))}
            else:
                mse, reg = np.mean(np.square(y - pred)), 0.25 * np.mean(np.square(pred))
                expected = {"loss": mse + reg, "mse": mse, "reg": reg}
            for key, value in expected.items():
                np.testing.assert_allclose(results[key], value, rtol=1e-5, err_msg=key)


class TensorArgLoss(compat_metrics.InputLoss):
    def __init__(self, table, name="tensor_arg"):
        super().__init__(name=name)
        self.table = table

    def call(self, inputs, y_true, y_pred):
        return tf.reduce_mean(tf.square(y_true - y_pred), axis=-1)


def check_unsavable_constructor_argument_is_refused_at_save(tmp_path, suffix):
    import pytest
    x, y = _regression_data()
    model = _regression_model()
    compat_metrics.compile(model, optimizer="sgd", loss=TensorArgLoss(object()))
    model.fit(x, y, epochs=1, verbose=0)
    with pytest.raises(ValueError, match="Invalid constructor argument `table` of TensorArgLoss"):
        path = str(tmp_path / ("tensor_arg" + suffix))
        model.save(path) if suffix else model.save(path, save_format="tf")


# -- seed 001: a metric over three outputs through MetricLayer ----------------------------------
def _portable_backend():
    """The seed's ``import keras.backend as K``: Keras 3 moved these functions to ``keras.ops``."""
    if compat_metrics.runtime.KERAS_FLAVOUR != "keras3":
        return keras.backend
    import types
    ops = keras.ops
    return types.SimpleNamespace(sqrt=ops.sqrt, sum=ops.sum, square=ops.square, maximum=ops.maximum,
                                 epsilon=keras.config.epsilon, expand_dims=ops.expand_dims, cast=ops.cast,
                                 greater=ops.greater, mean=ops.mean)


K = _portable_backend()


def get_divisor(x):
    return K.sqrt(K.sum(K.square(x), axis=-1))


def similarity(a, b):
    numerator = K.sum(a * b, axis=-1)
    denominator = get_divisor(a) * get_divisor(b)
    denominator = K.maximum(denominator, K.epsilon())
    return numerator / denominator


def warp_metricsX(X):
    z = X[0]
    positive_entity = X[1]
    negative_entities = X[2]
    positiveSim = similarity(z, positive_entity)
    #z_reshaped = Reshape((1, z.shape[1].value))(z)
    z_reshaped = K.expand_dims(z,axis=1)
    negativeSim = similarity(z_reshaped, negative_entities)
    #Reshape((negatives_titles.shape[1].value, 1,))
    negativeSim = K.expand_dims(negativeSim,axis=-1)

    position = K.sum(K.cast(K.greater(positiveSim, negativeSim), dtype="int32"), axis=1, keepdims=True)
    #accuracy = position / _NUMBER_OF_NEGATIVE_EXAMPLES
    accuracy = position / 30
    return accuracy


class WarpAccuracy(compat_metrics.MetricLayer):
    def compute(self, inputs):
        return warp_metricsX(inputs)


def _np_warp_accuracy(z, p, n):
    def sim(a, b):
        den = np.maximum(np.sqrt(np.sum(a * a, -1)) * np.sqrt(np.sum(b * b, -1)), 1e-7)
        return np.sum(a * b, -1) / den
    positive = sim(z, p)                         # (batch,)
    negative = sim(z[:, None, :], n)[..., None]  # (batch, 10, 1)
    # The seed compares (batch,) with (batch, 10, 1): broadcast to (batch, 10, batch), as NumPy does too.
    return np.sum(positive > negative, axis=1, keepdims=True) / 30


def check_metric_layer_over_three_outputs():
    """Three outputs of one MetricLayer: distinct names, per-output losses and the metric match NumPy."""
    rng = np.random.RandomState(11)
    x = rng.normal(size=(40, 6)).astype("float32")
    ys = [rng.normal(size=(40, 5)).astype("float32") * (k + 1) for k in range(2)]
    ys.append(rng.normal(size=(40, 10, 5)).astype("float32") * 3)
    inputs = keras.Input((6,))
    z = keras.layers.Dense(5, name="predicted_vec")(inputs)
    p = keras.layers.Dense(5, name="positive_vec")(inputs)
    n = keras.layers.Reshape((10, 5))(keras.layers.Dense(50, name="negative_vecs")(inputs))
    z, p, n = WarpAccuracy(name="warp_accuracy")([z, p, n])
    model = keras.Model(inputs, [z, p, n])
    assert len(set(model.output_names)) == 3, model.output_names
    model.compile(optimizer="sgd", loss="mse")
    results = evaluate_dict(model, x, ys, batch_size=40)
    preds = model.predict(x, batch_size=40)
    losses = [float(np.mean(np.square(a - b))) for a, b in zip(preds, ys)]
    if caps.PER_OUTPUT_LOSS_LOGS:  # Keras 3.0-3.2 log only the total loss, checked below
        for name, expected in zip(model.output_names, losses):
            np.testing.assert_allclose(results[name + "_loss"], expected, rtol=1e-5, err_msg=name)
    np.testing.assert_allclose(results["loss"], sum(losses), rtol=1e-5)
    np.testing.assert_allclose(results["warp_accuracy"], np.mean(_np_warp_accuracy(*preds)), rtol=1e-5, atol=1e-7)


# -- the README's DenseLike: a user layer that is not the library's -----------------------------
class DenseLike(keras.layers.Layer):
    """y = w.x + b"""

    def __init__(self, units=3, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def build(self, input_shape):
        self.w = self.add_weight(name="w", shape=(int(input_shape[-1]), self.units), initializer="random_normal")
        self.b = self.add_weight(name="b", shape=(self.units,), initializer="zeros")

    def call(self, inputs):
        output = tf.matmul(inputs, self.w) + self.b
        compat_metrics.add_metric(self, tf.reduce_mean(output), name="activation_mean")
        return output

    def get_config(self):
        return dict(super().get_config(), units=self.units)


def check_load_model_passes_keras_arguments(tmp_path, suffix):
    """``custom_objects`` and ``compile`` reach Keras; the loaded model evaluates as NumPy says."""
    x, y = _regression_data()
    inputs = keras.Input((N_FEATURES,))
    model = keras.Model(inputs, DenseLike(1)(inputs))
    compat_metrics.compile(model, optimizer="sgd", loss=ScaledLocLoss(1.5, offset=0.0))
    model.fit(x, y, epochs=1, verbose=0)
    path = str(tmp_path / ("dense_like" + suffix))
    model.save(path) if suffix else model.save(path, save_format="tf")
    loaded = compat_metrics.load_model(path, custom_objects={"DenseLike": DenseLike})
    pred = loaded.predict(x, batch_size=len(x))
    results = evaluate_dict(loaded, x, y, batch_size=len(x))
    np.testing.assert_allclose(results["loss"], np.mean(np.square(y - 1.5 * x[:, :1] * pred)), rtol=1e-5)
    np.testing.assert_allclose(results["activation_mean"], np.mean(pred), rtol=1e-5, atol=1e-6)
    uncompiled = compat_metrics.load_model(path, custom_objects={"DenseLike": DenseLike}, compile=False)
    np.testing.assert_allclose(uncompiled.predict(x, batch_size=len(x)), pred, rtol=1e-5)


# -- names the library shares with Keras --------------------------------------------------------
def check_same_named_keras_and_library_metrics_load_as_themselves(tmp_path):
    """Keras's Precision (and F1Score where Keras has it) next to the library's: each loads as itself."""
    x, y = classification_data()
    ours = [compat_metrics.Precision(N_CLASSES, average="macro", name="our_precision"),
            compat_metrics.F1Score(N_CLASSES, average="macro", name="our_f1")]
    inputs = keras.Input((N_FEATURES,))
    theirs = [keras.metrics.Precision(thresholds=0.3, name="keras_precision")]
    if hasattr(keras.metrics, "F1Score"):
        theirs.append(keras.metrics.F1Score(average="micro", threshold=0.5, name="keras_f1"))
    # Two heads of one model: Keras 3.0-3.2 cannot load a functional model holding another one (IndexError).
    two_outputs = keras.Model(inputs, [keras.layers.Dense(N_CLASSES, activation="softmax", name="cls")(inputs),
                                       keras.layers.Dense(1, activation="sigmoid", name="binary")(inputs)])
    compat_metrics.compile(two_outputs, optimizer="sgd", loss=["sparse_categorical_crossentropy", "binary_crossentropy"],
                           metrics=[ours, theirs])
    binary = (y > 1).astype("float32")
    two_outputs.fit(x, [y, binary], epochs=1, verbose=0)
    path = str(tmp_path / ("same_names" + caps.SAVE_SUFFIX))
    two_outputs.save(path)
    loaded = compat_metrics.load_model(path)
    results = evaluate_dict(loaded, x, [y, binary], batch_size=len(x))
    probs, scores = loaded.predict(x, batch_size=len(x))
    from sklearn.metrics import f1_score, precision_score
    ids = y[:, 0].astype(int)
    def pick(suffix):
        return [value for key, value in results.items() if key.endswith(suffix)]
    np.testing.assert_allclose(pick("our_precision"), [precision_score(ids, probs.argmax(1), average="macro",
                                                                       zero_division=0)], rtol=1e-5)
    np.testing.assert_allclose(pick("our_f1"), [f1_score(ids, probs.argmax(1), average="macro")], rtol=1e-5)
    np.testing.assert_allclose(pick("keras_precision"),
                               [precision_score(binary[:, 0], scores[:, 0] > 0.3, zero_division=0)], rtol=1e-5)


def check_users_classes_named_like_the_librarys_load_as_themselves(tmp_path, suffix):
    """The seeds' ``BinaryTruePositives``/``CategoricalTruePositives`` beside the library's classes of those names.

    Each loads as itself (files of TF 1.15-2.1 hold bare class names only), and
    evaluates to its own NumPy value: the seed's binary count casts
    probabilities to bool (any non-zero score is positive), the library's
    thresholds them at 0.5.
    """
    from compat_metrics import metrics as cmm
    rng = np.random.RandomState(8)
    x = rng.normal(size=(40, N_FEATURES)).astype("float32")
    y = rng.randint(0, 2, size=(40, 1)).astype("float32")
    inputs = keras.Input((N_FEATURES,))
    model = keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(inputs))
    compat_metrics.compile(model, optimizer="sgd", loss="binary_crossentropy", metrics=[
        cmm.BinaryTruePositives(name="lib_tp"), BinaryTruePositives(name="seed_tp"),
        cmm.CategoricalTruePositives(name="lib_ctp"), CategoricalTruePositives(name="seed_ctp")])
    model.fit(x, y, epochs=1, verbose=0)
    path = str(tmp_path / ("same_names" + suffix))
    model.save(path)
    loaded = compat_metrics.load_model(path)
    loaded_types = {m.name: type(m) for m in _metric_objects(loaded)}
    expected_types = {"lib_tp": cmm.BinaryTruePositives, "seed_tp": BinaryTruePositives,
                      "lib_ctp": cmm.CategoricalTruePositives, "seed_ctp": CategoricalTruePositives}
    assert {name: loaded_types.get(name) for name in expected_types} == expected_types, loaded_types
    results = evaluate_dict(loaded, x, y, batch_size=len(x))
    scores = loaded.predict(x, batch_size=len(x))[:, 0]
    np.testing.assert_allclose(results["lib_tp"], np.sum((y[:, 0] == 1) & (scores > 0.5)), rtol=1e-6)
    np.testing.assert_allclose(results["seed_tp"], np.sum((y[:, 0] == 1) & (scores != 0)), rtol=1e-6)


def _metric_objects(model):
    from compat_metrics._backend import impl
    return impl.compiled_metric_objects(model)


# -- the seeds' other classes, epoch by epoch against NumPy -------------------------------------
class BinaryTruePositives(compat_metrics.Metric):  # seed 001: tf.keras.metrics.Metric

  def __init__(self, name='binary_true_positives', **kwargs):
    super().__init__(name=name, **kwargs)
    self.true_positives = self.add_weight(name='tp', initializer='zeros')

  def update_state(self, y_true, y_pred, sample_weight=None):
    y_true = tf.cast(y_true, tf.bool)
    y_pred = tf.cast(y_pred, tf.bool)

    values = tf.logical_and(tf.equal(y_true, True), tf.equal(y_pred, True))
    values = tf.cast(values, self.dtype)
    if sample_weight is not None:
      sample_weight = tf.cast(sample_weight, self.dtype)
      values = tf.multiply(values, sample_weight)
    self.true_positives.assign_add(tf.reduce_sum(values))

  def result(self):
    return self.true_positives

  def reset_states(self):
    self.true_positives.assign(0)


class Metric_HIGH_COST(compat_metrics.Metric):  # seed 000: km.Metric
    def __init__(self, name=None, dtype=None, **kwargs):
        super().__init__(name=name, dtype=dtype, **kwargs)
        self.ce = self.add_weight('ce', initializer=tf.zeros_initializer)

    def update_state(self, y_true, y_pred, sample_weight=None):
        self.ce.assign(tf.reduce_sum(tf.nn.sigmoid_cross_entropy_with_logits(labels=y_true, logits=y_pred)))

    def result(self):
        return self.ce


class CustomMSE(keras.losses.Loss):  # seed 002, unchanged
    def __init__(self, regularization_factor=0.1, name="custom_mse"):
        super().__init__(name=name)
        self.regularization_factor = regularization_factor

    def call(self, y_true, y_pred):
        mse = tf.math.reduce_mean(tf.square(y_true - y_pred))
        reg = tf.math.reduce_mean(tf.square(0.5 - y_pred))
        return mse + reg * self.regularization_factor


def check_seed_classes_epoch_by_epoch(epochs=3, batch_size=16):
    """A frozen model (the same predictions every epoch): every epoch reports NumPy's values, reset included."""
    rng = np.random.RandomState(17)
    x = rng.normal(size=(40, N_FEATURES)).astype("float32")
    y = (rng.uniform(size=(40, 3)) > 0.5).astype("float32")
    inputs = keras.Input((N_FEATURES,))
    model = keras.Model(inputs, keras.layers.Dense(3)(inputs))
    model.trainable = False
    model.compile(optimizer="sgd", loss=CustomMSE(0.4),
                  metrics=[BinaryTruePositives(), Metric_HIGH_COST(name="high_cost_ce")])
    history = model.fit(x, y, batch_size=batch_size, epochs=epochs, shuffle=False, verbose=0).history
    logits = model.predict(x, batch_size=len(x))
    sizes, losses = [], []
    for start in range(0, len(x), batch_size):
        yb, pb = y[start:start + batch_size], logits[start:start + batch_size]
        losses.append(np.mean(np.square(yb - pb)) + 0.4 * np.mean(np.square(0.5 - pb)))
        sizes.append(len(yb))
    last_y, last_p = y[-(len(x) % batch_size or batch_size):], logits[-(len(x) % batch_size or batch_size):]
    last_ce = np.sum(np.maximum(last_p, 0) - last_p * last_y + np.log1p(np.exp(-np.abs(last_p))))
    true_positives = float(np.sum((y != 0) & (logits != 0)))  # the seed casts scores to bool: non-zero is True
    np.testing.assert_allclose(history["loss"], [np.dot(losses, sizes) / np.sum(sizes)] * epochs, rtol=1e-5)
    np.testing.assert_allclose(history["binary_true_positives"], [true_positives] * epochs, rtol=1e-6)
    np.testing.assert_allclose(history["high_cost_ce"], [last_ce] * epochs, rtol=1e-5)


def check_plain_tracker_component_never_tracked_is_a_clear_error():
    """A function loss with a ComponentTracker: reading a component it never tracks fails by the first step."""
    import pytest
    tracker = compat_metrics.ComponentTracker(name="plain_never")

    def loss_fn(y_true, y_pred):
        return tracker.track("mse", tf.reduce_mean(tf.square(y_true - y_pred)))

    x = np.random.RandomState(0).normal(size=(16, N_FEATURES)).astype("float32")
    y = np.zeros((16, 1), "float32")
    inputs = keras.Input((N_FEATURES,))
    model = keras.Model(inputs, keras.layers.Dense(1)(inputs))
    with pytest.raises((ValueError, tf.errors.InvalidArgumentError), match="msee.*never tracked"):
        compat_metrics.compile(model, optimizer="sgd", loss=loss_fn, metrics=[tracker.metric("msee")])
        model.fit(x, y, epochs=1, verbose=0)


def check_rank_one_labels_count_as_on_keras2():
    """Seed 002 fits with labels of shape (n,): Keras 3 handed them on unexpanded and the count broadcast to (n, n)."""
    x, y = classification_data()
    weights = np.random.RandomState(4).uniform(size=len(x)).astype("float32")
    model = classifier()
    model.trainable = False
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", weighted_metrics=[CategoricalTruePositives()])
    history = model.fit(x, y[:, 0], sample_weight=weights, batch_size=16, epochs=2, verbose=0).history
    right = model.predict(x, batch_size=len(x)).argmax(1) == y[:, 0]
    key, = [name for name in history if name.endswith("categorical_true_positives")]  # TF 1.15: weighted_...
    np.testing.assert_allclose(history[key], [np.sum(weights * right)] * 2, rtol=1e-5)


# -- a user's subclass of a library score, compiled with average=None -------------------------
class F1IgnoringClass(compat_metrics.F1Score):
    """Per-class F1 over the samples whose label is not ``ignore_class`` (e.g. a background class)."""

    def __init__(self, num_classes, ignore_class=0, **kwargs):
        super().__init__(num_classes, **kwargs)
        self.ignore_class = ignore_class

    def update_state(self, y_true, y_pred, sample_weight=None):
        keep = tf.cast(tf.not_equal(tf.reshape(tf.cast(y_true, tf.int64), [-1]), self.ignore_class), tf.float32)
        return super().update_state(y_true, y_pred, keep)


class FourClassRecall(compat_metrics.Recall):
    """A subclass that fixes the library's arguments, as users write them."""

    def __init__(self, name="recall4", **kwargs):
        super().__init__(num_classes=N_CLASSES, average=None, name=name, **kwargs)


class FixedNameRecall(compat_metrics.Recall):
    def __init__(self):
        super().__init__(N_CLASSES, average=None, name="fixed")


def check_subclass_views_keep_constructor_arguments(tmp_path, suffix):
    """Per-class views of users' subclasses are built with the arguments the user gave, after loading too.

    Views built from the library's arguments alone dropped ``ignore_class=2``
    (their override then ignored class 0): f1_0 0.0 where scikit-learn gives
    0.43. A subclass whose constructor cannot build a view is refused.
    """
    from sklearn.metrics import f1_score, recall_score
    x, y = classification_data(n=64)
    model = classifier()
    compat_metrics.compile(model, optimizer="sgd", loss="sparse_categorical_crossentropy",
                           metrics=[F1IgnoringClass(N_CLASSES, ignore_class=2, average=None, name="f1"),
                                    FourClassRecall()])
    model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    path = str(tmp_path / ("subclass_views" + suffix))
    model.save(path)
    ids = y[:, 0].astype(int)
    keep = ids != 2
    for current in (model, compat_metrics.load_model(path)):
        results = evaluate_dict(current, x, y, batch_size=16)
        predicted = current.predict(x, batch_size=len(x)).argmax(axis=1)
        labels = list(range(N_CLASSES))
        expected = dict(
            {f"f1_{i}": v for i, v in enumerate(f1_score(ids[keep], predicted[keep], labels=labels, average=None,
                                                          zero_division=0))},
            **{f"recall4_{i}": v for i, v in enumerate(recall_score(ids, predicted, labels=labels, average=None,
                                                                      zero_division=0))})
        np.testing.assert_allclose([results[key] for key in expected], list(expected.values()), rtol=1e-5,
                                   atol=1e-6, err_msg=str(results))
    refused = classifier()
    try:
        compat_metrics.compile(refused, optimizer="sgd", loss="sparse_categorical_crossentropy",
                               metrics=[FixedNameRecall()])
    except ValueError as error:
        assert str(error).startswith("Invalid metric `fixed` (FixedNameRecall)"), error
        assert "**kwargs" in str(error), error
    else:
        raise AssertionError("FixedNameRecall cannot build its per-class views, and compile did not say so")


# -- component losses of several outputs, saved and loaded ----------------------------------------
class PartsLoss(compat_metrics.ComponentLoss):
    components = ("ce", "reg")

    def call(self, y_true, y_pred):
        ce = tf.reduce_mean(keras.losses.sparse_categorical_crossentropy(y_true, y_pred))
        reg = 0.01 * tf.reduce_mean(tf.square(y_pred))
        return self.track("ce", ce) + self.track("reg", reg)


def _np_parts(labels, probs, batch_size):
    """PartsLoss's components as Keras reports them: batch means weighted by batch size."""
    ces, regs, sizes = [], [], []
    for start in range(0, len(labels), batch_size):
        ids, scores = labels[start:start + batch_size, 0].astype(int), probs[start:start + batch_size]
        ces.append(np.mean(-np.log(np.clip(scores[np.arange(len(ids)), ids], 1e-7, 1.0))))
        regs.append(0.01 * np.mean(np.square(scores)))
        sizes.append(len(ids))
    return np.average(ces, weights=sizes), np.average(regs, weights=sizes)


def _two_heads():
    inputs = keras.Input((N_FEATURES,))
    return keras.Model(inputs, [keras.layers.Dense(N_CLASSES, activation="softmax", name=name)(inputs)
                                for name in "ab"])


def _output_value(results, output, component):
    """``a_ce`` (TF 1.15-2.5 name a loaded h5's metrics ``a_a_ce``, as plain Keras does)."""
    found = [value for key, value in results.items() if key.startswith(output + "_") and key.endswith("_" + component)]
    assert len(found) == 1, (output, component, results)
    return found[0]


def check_component_losses_read_their_own_model_after_loading(tmp_path, suffix):
    """Each output with its own instance of one ComponentLoss class (so one name), saved, loaded; two such models.

    Loaded metrics found their loss by name, the last one built: a_ce read
    output b's value (1.1359 where NumPy gives 1.1257), and a model loaded
    first read the one loaded after it.
    """
    x, y = classification_data(n=64)
    y_b = (y + 1) % N_CLASSES
    paths = []
    for epochs in (1, 2):  # two models with different weights
        model = _two_heads()
        loss_a, loss_b = PartsLoss(), PartsLoss()
        compat_metrics.compile(model, optimizer="sgd", loss={"a": loss_a, "b": loss_b},
                               metrics={"a": loss_a.metrics(), "b": loss_b.metrics()})
        model.fit(x, [y, y_b], batch_size=16, epochs=epochs, verbose=0)
        paths.append(str(tmp_path / f"parts_{epochs}{suffix}"))
        model.save(paths[-1]) if suffix else model.save(paths[-1], save_format="tf")
    loaded = [compat_metrics.load_model(path) for path in paths]
    for model in loaded + loaded[:1]:  # the first again, after the second ran
        results = evaluate_dict(model, x, [y, y_b], batch_size=16)
        for output, labels, probs in zip("ab", (y, y_b), model.predict(x, batch_size=len(x))):
            ce, reg = _np_parts(labels, probs, 16)
            np.testing.assert_allclose([_output_value(results, output, "ce"), _output_value(results, output, "reg")],
                                       [ce, reg], rtol=1e-4, err_msg=f"output {output}: {results}")


def check_one_component_loss_for_two_outputs_is_refused(plain_compile_checked):
    """One ComponentLoss instance for two outputs: its metrics would read the last output's parts.

    Before, a_ce showed b's value (Keras 2 and 3), or b_ce a's (TF 1.15).
    ``plain_compile_checked``: a plain ``model.compile`` is refused at the
    first step too (``tf.function`` steps).
    """
    x, y = classification_data(n=32)
    loss = PartsLoss()
    model = _two_heads()
    try:
        compat_metrics.compile(model, optimizer="sgd", loss=loss, metrics=loss.metrics())
    except ValueError as error:
        assert str(error).startswith("Invalid `loss`: one PartsLoss ('PartsLoss') is given for 2 outputs"), error
    else:
        raise AssertionError("one ComponentLoss for two outputs was compiled")
    if not plain_compile_checked:
        return
    model = _two_heads()
    model.compile(optimizer="sgd", loss=loss, metrics=loss.metrics())
    try:
        model.fit(x, [y, y], batch_size=16, epochs=1, verbose=0)
    except ValueError as error:
        assert "Invalid use of 'PartsLoss': component 'ce' is tracked twice in one step" in str(error), error
    else:
        raise AssertionError("one ComponentLoss for two outputs trained without an error")


def check_colliding_metric_names_are_refused():
    """Two metrics of one name in one argument, or a metric named ``loss``: a ValueError on every version.

    Keras 2 raised its own error, Keras 3 renamed one (``f1_0_1``), and TF 1.15
    kept the last: there a metric named like a per-class view left the other
    views at 0.0 (f1_1 0.0 where scikit-learn gives 0.29).
    """
    parts = PartsLoss()
    cases = [
        ([compat_metrics.F1Score(N_CLASSES, name="f1"),
          compat_metrics.Precision(N_CLASSES, average="macro", name="f1_0")], "two metrics in metrics are named 'f1_0'"),
        ([keras.metrics.SparseCategoricalAccuracy(name="f1_1"), compat_metrics.F1Score(N_CLASSES, name="f1")],
         "two metrics in metrics are named 'f1_1'"),
        ([compat_metrics.F1Score(N_CLASSES, average="macro"), compat_metrics.F1Score(N_CLASSES, average="micro")],
         "two metrics in metrics are named 'f1_score'"),
        (["acc", parts.metric("ce", name="acc")], "two metrics in metrics are named 'acc'"),
        ([parts.metric("ce", name="loss")], "Invalid metric name 'loss' in metrics"),
    ]
    for metrics, message in cases:
        model = classifier()
        try:
            compat_metrics.compile(model, optimizer="sgd", loss=parts, metrics=metrics)
        except ValueError as error:
            assert str(error).startswith(("Invalid `metrics`: " + message, message)), error
        else:
            raise AssertionError(f"compiled metrics named alike: {[getattr(m, 'name', m) for m in metrics]}")
    x, y = classification_data(n=32)  # the same names on two outputs are two keys
    model = _two_heads()
    compat_metrics.compile(model, optimizer="sgd", loss="sparse_categorical_crossentropy",
                           metrics={"a": [compat_metrics.F1Score(N_CLASSES, name="f1")],
                                    "b": [compat_metrics.F1Score(N_CLASSES, name="f1")]})
    results = evaluate_dict(model, x, [y, y], batch_size=16)
    assert {f"{output}_f1_{i}" for output in "ab" for i in range(N_CLASSES)} <= set(results), results
