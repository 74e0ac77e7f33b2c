"""Every ```python block of README.md and docs/ runs, completed with the glue a user would write.

Shared by tests/test_doc_examples.py (TF 2.x) and tests_tf1/test_doc_examples.py
(graph mode). :data:`EXAMPLES` holds, for each block in page order, either the
glue (``before``: data, a model, names the block uses; ``after``: what a user
does next, then checks against NumPy or scikit-learn), a ``fill`` of the
block's ``...`` placeholders with the user's own code, or the reason it does
not run, which the page must state next to the block (a "Before" example of
old code, or a page that names the versions it is for). A block without an
entry fails the test, so a new doc example comes with its run.
"""

import os
import pathlib
import re

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parent.parent
PAGES = ["README.md"] + sorted(str(p.relative_to(ROOT)) for p in (ROOT / "docs").rglob("*.md"))
BLOCK = re.compile(r"```python\n(.*?)```", re.S)


def blocks():
    """``(page, index, code, text_before)`` for every python block."""
    found = []
    for page in PAGES:
        text = (ROOT / page).read_text(encoding="utf-8")
        for index, match in enumerate(BLOCK.finditer(text)):
            found.append((page, index, match.group(1), text[:match.start()]))
    return found


COMMON = """
import numpy as np
import tensorflow as tf
import compat_metrics
keras = compat_metrics.keras
rng = np.random.RandomState(0)
"""

# -- glue ------------------------------------------------------------------------------------------
SIGMOID_MODEL = """
x = rng.normal(size=(32, 6)).astype("float32")
y = (rng.uniform(size=(32, 3)) > 0.5).astype("float32")
inputs = keras.Input((6,))
model = keras.Model(inputs, keras.layers.Dense(3)(inputs))
optimizer = "sgd"
"""
CHECK_SIGMOID_COMPONENTS = """
results = evaluate(model, x, y)
logits = model.predict(x, batch_size=len(x))
ce = np.sum(np.maximum(logits, 0) - logits * y + np.log1p(np.exp(-np.abs(logits))))
np.testing.assert_allclose(results["ce"], ce / {ce_divisor}, rtol=1e-4)
np.testing.assert_allclose(results["reg"], 0.01 * np.mean(np.square(logits)), rtol=1e-4)
"""
TEN_CLASSES = """
x = rng.normal(size=(60, 8)).astype("float32")
y = rng.randint(0, 10, size=(60, 1)).astype("float32")
x_val, y_val = x[:20], y[:20]
inputs = keras.Input((8,))
model = keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(inputs))
"""
CHECK_PER_CLASS = """
model.fit(x, y, batch_size=len(x), epochs=1, verbose=0)
results = evaluate(model, x, y)
from sklearn.metrics import f1_score, precision_score
pred = model.predict(x, batch_size=len(x)).argmax(1)
per_class = f1_score(y[:, 0].astype(int), pred, average=None, labels=list(range(10)), zero_division=0)
np.testing.assert_allclose([results["f1_%d" % k] for k in range(10)], per_class, rtol=1e-5, atol=1e-6)
np.testing.assert_allclose(results["precision"], precision_score(y[:, 0].astype(int), pred, average="macro",
                           labels=list(range(10)), zero_division=0), rtol=1e-5, atol=1e-6)
"""
CHECK_PER_CLASS_PRF = """
import os
assert os.path.exists(best_name)                    # ModelCheckpoint found val_f1_6
results = evaluate(model, x, y)
from sklearn.metrics import precision_recall_fscore_support
pred = model.predict(x, batch_size=len(x)).argmax(1)
p, r, f, _ = precision_recall_fscore_support(y[:, 0].astype(int), pred, labels=list(range(10)), zero_division=0)
for name, expected in (("p", p), ("r", r), ("f1", f)):
    np.testing.assert_allclose([results["%s_%d" % (name, k)] for k in range(10)], expected, rtol=1e-5, atol=1e-6)
"""
TWO_OUTPUTS = """
x = rng.normal(size=(60, 8)).astype("float32")
ys = [rng.randint(0, 3, size=60), rng.randint(0, 3, size=60)]
inputs = keras.Input((8,))
model = keras.Model(inputs, [keras.layers.Dense(3, activation="softmax", name=name)(inputs) for name in "ab"])
"""
CHECK_TWO_OUTPUTS = """
results = evaluate(model, x, ys)
from sklearn.metrics import f1_score
for name, y, scores in zip("ab", ys, model.predict(x, batch_size=len(x))):
    expected = f1_score(y, scores.argmax(1), average=None, labels=[0, 1, 2], zero_division=0)
    np.testing.assert_allclose([results["%s_f1_%d" % (name, k)] for k in range(3)], expected, rtol=1e-5, atol=1e-6)
"""
THREE_CLASSES = """
x = rng.normal(size=(60, 8)).astype("float32")
y = rng.randint(0, 3, size=(60, 1)).astype("float32")
inputs = keras.Input((8,))
model = keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(inputs))
"""
CHECK_IGNORING_CLASS = """
results = evaluate(model, x, y)
from sklearn.metrics import f1_score
ids, pred = y[:, 0].astype(int), model.predict(x, batch_size=len(x)).argmax(1)
expected = f1_score(ids[ids != 2], pred[ids != 2], average=None, labels=[0, 1, 2], zero_division=0)
np.testing.assert_allclose([results["f1_%d" % k] for k in range(3)], expected, rtol=1e-5, atol=1e-6)
"""
PSNR = """
class PSNR(compat_metrics.Metric):
    def __init__(self, max_val=1.0, **kwargs):
        super().__init__(**kwargs)
        self.max_val = max_val
        self.total = self.add_weight("total")
        self.count = self.add_weight("count")
    def update_state(self, y_true, y_pred, sample_weight=None):
        mse = tf.reduce_mean(tf.square(tf.cast(y_true, tf.float32) - y_pred), axis=-1)
        psnr = 10.0 * tf.math.log(self.max_val ** 2 / mse) / tf.math.log(10.0)
        self.total.assign_add(tf.reduce_sum(psnr))
        self.count.assign_add(tf.cast(tf.size(psnr), tf.float32))
    def result(self):
        return self.total / self.count
x = rng.uniform(size=(32, 4)).astype("float32")
y = rng.uniform(size=(32, 4)).astype("float32")
inputs = keras.Input((4,))
hidden = keras.layers.Dense(4, name="encoder")(inputs)
model = keras.Model(inputs, keras.layers.Dense(4, name="decoder")(hidden))
"""
CHECK_GRADIENT_NORMS = """
results = evaluate(model, x, y)
assert 0 < results["enc_grad"] < results["gradient_norm"], results
pred = model.predict(x, batch_size=len(x))
np.testing.assert_allclose(results["psnr"], np.mean(10 * np.log10(1.0 / np.mean(np.square(y - pred), -1))), rtol=1e-4)
"""
LOC_INPUTS = """
x = rng.normal(size=(32, 4)).astype("float32")
y = rng.normal(size=(32, 4)).astype("float32")
inputs = keras.Input((4,))
model = keras.Model(inputs, keras.layers.Dense(4)(inputs))
"""
CHECK_LOC_AFTER_LOAD = """
results = evaluate(model, x, y)
pred = model.predict(x, batch_size=len(x))
np.testing.assert_allclose(results["loss"], np.mean(np.square(y - x * pred)), rtol=1e-4)
"""
WARP = """
z_in = keras.Input((6,), name="z_in")
inputs = z_in
z = keras.layers.Dense(5, name="z")(z_in)
positive = keras.layers.Dense(5, name="positive")(z_in)
negatives = keras.layers.Reshape((10, 5))(keras.layers.Dense(50, name="negatives_flat")(z_in))
from user_code_scenarios import warp_metricsX, _np_warp_accuracy
"""
DENSE_LIKE_BUILD = """
def build(self, input_shape):      # the block's DenseLike leaves out its weights
    self.w = self.add_weight(name="w", shape=(int(input_shape[-1]), 5), initializer="random_normal")
    self.b = self.add_weight(name="b", shape=(5,), initializer="zeros")
DenseLike.build = build
"""
CHECK_WARP = """
model = keras.Model(inputs, [z, positive, negatives])
dense_like = keras.Model(z_in, DenseLike()(z_in))
model.compile("sgd", "mse")
dense_like.compile("sgd", "mse")
xs = rng.normal(size=(20, 6)).astype("float32")
ys = [rng.normal(size=(20, 5)).astype("float32"), rng.normal(size=(20, 5)).astype("float32"),
      rng.normal(size=(20, 10, 5)).astype("float32")]
results = evaluate(model, xs, ys)
preds = model.predict(xs, batch_size=len(xs))
np.testing.assert_allclose(results["warp_accuracy"], np.mean(_np_warp_accuracy(*preds)), rtol=1e-5, atol=1e-7)
for name, pred, target in zip(model.output_names, preds, ys):
    if per_output_loss_logs:  # Keras 3.0-3.2 log only the total loss, checked below
        np.testing.assert_allclose(results[name + "_loss"], np.mean(np.square(pred - target)), rtol=1e-5)
np.testing.assert_allclose(results["loss"], sum(np.mean(np.square(p - t)) for p, t in zip(preds, ys)), rtol=1e-5)
dense_results = evaluate(dense_like, xs, ys[0])
np.testing.assert_allclose(dense_results["activation_mean"], np.mean(dense_like.predict(xs, batch_size=len(xs))),
                           rtol=1e-5, atol=1e-6)
"""
TRUE_POSITIVE_BODY = """
    def update_state(self, y_true, y_pred, sample_weight=None):
        y_pred = tf.reshape(tf.argmax(y_pred, axis=1), shape=(-1, 1))
        values = tf.cast(y_true, "int32") == tf.cast(y_pred, "int32")
        values = tf.cast(values, "float32")
        self.true_positives.assign_add(tf.reduce_sum(values))

    def result(self):
        return self.true_positives

    def reset_states(self):
        self.true_positives.assign(0.0)
"""
CUSTOM_MSE = """
class CustomMSE(keras.losses.Loss):
    def __init__(self, regularization_factor=0.1, name="custom_mse"):
        super().__init__(name=name)
        self.regularization_factor = regularization_factor
    def call(self, y_true, y_pred):
        y_true = tf.one_hot(tf.cast(tf.reshape(y_true, [-1]), tf.int32), 10)
        mse = tf.math.reduce_mean(tf.square(y_true - y_pred))
        reg = tf.math.reduce_mean(tf.square(0.5 - y_pred))
        return mse + reg * self.regularization_factor
"""
CHECK_TRUE_POSITIVES_EACH_EPOCH = """
model.trainable = False
model.compile(optimizer="sgd", loss=CustomMSE(0.4), metrics=[CategoricalTruePositives()])
history = model.fit(x, y, batch_size=20, epochs=2, verbose=0)
right = float(np.sum(model.predict(x, batch_size=len(x)).argmax(1) == y[:, 0]))
np.testing.assert_allclose(history.history["categorical_true_positives"], [right, right])
"""
BINARY_TRUE_POSITIVES = """
    def __init__(self, name='binary_true_positives', **kwargs):
        super(BinaryTruePositives, self).__init__(name=name, **kwargs)
        self.true_positives = self.add_weight(name='tp', initializer='zeros')
    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true = tf.cast(y_true, tf.bool)
        y_pred = tf.cast(y_pred > 0.5, tf.bool)
        values = tf.cast(tf.logical_and(tf.equal(y_true, True), tf.equal(y_pred, True)), self.dtype)
        self.true_positives.assign_add(tf.reduce_sum(values))
    def result(self):
        return self.true_positives
    def reset_states(self):
        self.true_positives.assign(0)
"""
CHECK_BINARY_TRUE_POSITIVES = """
x = rng.normal(size=(30, 3)).astype("float32")
y = (rng.uniform(size=(30, 1)) > 0.5).astype("float32")
inputs = keras.Input((3,))
model = keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(inputs))
model.trainable = False
model.compile("sgd", "binary_crossentropy", metrics=[BinaryTruePositives()])
history = model.fit(x, y, batch_size=10, epochs=2, verbose=0)
tp = float(np.sum((model.predict(x, batch_size=len(x)) > 0.5) & (y > 0.5)))
np.testing.assert_allclose(history.history["binary_true_positives"], [tp, tp])
"""
KEPT_TRAIN_STEP = """
inputs = keras.Input((3,))
model = CustomModel(inputs, keras.layers.Dense(1)(inputs))
x = rng.normal(size=(16, 3)).astype("float32")
y = rng.normal(size=(16, 1)).astype("float32")
if has_train_step:
    compat_metrics.compile(model, optimizer="sgd", loss="mse", metrics=[compat_metrics.GradientNorm()])
    history = model.fit(x, y, batch_size=len(x), epochs=1, verbose=0)
    assert history.history["gradient_norm"][0] > 0
else:  # the page: Keras never calls it there; compat_metrics.compile says so instead of ignoring it
    import pytest
    with pytest.raises(RuntimeError, match="CustomModel.train_step is never called.*compat_metrics.compile"):
        compat_metrics.compile(model, optimizer="sgd", loss="mse", metrics=[compat_metrics.GradientNorm()])
"""
LOW_COST = """
k = keras
x = rng.normal(size=(24, 6)).astype("float32")
y = (rng.uniform(size=(24, 3)) > 0.5).astype("float32")
inputs = keras.Input((6,))
model = keras.Model(inputs, keras.layers.Dense(3)(inputs))
def high_cost_ce(y_true, y_pred):   # the user's metric that recomputes the component
    return tf.reduce_sum(tf.nn.sigmoid_cross_entropy_with_logits(labels=y_true, logits=y_pred))
high_cost_metric = high_cost_ce
"""
CHECK_LOW_COST = """
model.fit(x, y, batch_size=8, epochs=1, verbose=0)
results = evaluate(model, x, y, batch_size=len(x))
np.testing.assert_allclose(results["low_cost_ce"], results["high_cost_ce"], rtol=1e-5)
np.testing.assert_allclose(results["low_cost_ce"], results["loss"], rtol=1e-5)
"""
TWO_PARTS = """
x = rng.normal(size=(48, 8)).astype("float32")
ys = [rng.randint(0, 3, size=(48, 1)), rng.randint(0, 3, size=(48, 1))]
inputs = keras.Input((8,))
model = keras.Model(inputs, [keras.layers.Dense(3, activation="softmax", name=name)(inputs) for name in "ab"])
class Parts(compat_metrics.ComponentLoss):
    components = ("ce", "reg")
    def call(self, y_true, y_pred):
        ce = tf.reduce_mean(keras.losses.sparse_categorical_crossentropy(y_true, y_pred))
        reg = 0.01 * tf.reduce_mean(tf.square(y_pred))
        return self.track("ce", ce) + self.track("reg", reg)
"""
CHECK_TWO_PARTS = """
results = evaluate(model, x, ys, batch_size=len(x))
for name, y, scores in zip("ab", ys, model.predict(x, batch_size=len(x))):
    ce = np.mean(-np.log(np.clip(scores[np.arange(len(y)), y[:, 0]], 1e-7, 1.0)))
    np.testing.assert_allclose([results[name + "_ce"], results[name + "_reg"]],
                               [ce, 0.01 * np.mean(np.square(scores))], rtol=1e-4)
"""

# (page, index) -> spec. ``before``: the reason it does not run, which the text
# just above the block must contain; ``fill``: {placeholder: the user's code}.
EXAMPLES = {
    ("README.md", 0): {"after": "assert keras is compat_metrics.runtime.keras\n"
                                "assert compat_metrics.runtime.describe()['backend'] == compat_metrics.runtime.BACKEND"},
    ("README.md", 1): {"before": "Before"},
    ("README.md", 2): {"before_glue": SIGMOID_MODEL,
                       "after": "model.fit(x, y, batch_size=len(x), epochs=1, verbose=0)\n"
                                + CHECK_SIGMOID_COMPONENTS.format(ce_divisor=1)},
    ("README.md", 3): {"before_glue": LOC_INPUTS, "fill": {"loss=...": 'loss="mse"'},
                       "after": "model.fit(x, y, epochs=1, verbose=0)\n"
                                "assert ('experimental_run_tf_function' in kwargs) == honours_run_tf_function"},
    ("README.md", 4): {"before_glue": LOC_INPUTS, "after": CHECK_LOC_AFTER_LOAD},
    ("README.md", 5): {"before_glue": TEN_CLASSES,
                       "fill": {"compat_metrics.Precision(10, average=\"macro\", confusion_matrix=cm)":
                                "compat_metrics.Precision(10, average=\"macro\", name=\"precision\", confusion_matrix=cm)"},
                       "after": CHECK_PER_CLASS},
    ("README.md", 6): {"before_glue": PSNR, "after": CHECK_GRADIENT_NORMS,
                       "fill": {'"model.h5"': "saved_name"}},  # the comment's .keras on Keras 3
    ("README.md", 7): {"before_glue": WARP, "after": DENSE_LIKE_BUILD + CHECK_WARP},
    ("README.md", 8): {"pytest": True},
    ("docs/distributed.md", 0): {"before": "`tests_dist/` proves it on every CI run (`tox -e dist`)", "anywhere": True},
    ("docs/distributed.md", 1): {"before": "`tests_dist/` proves it on every CI run (`tox -e dist`)", "anywhere": True},
    ("docs/getting-started.md", 0): {"before_glue": "", "after": """
x = rng.normal(size=(30, 6)).astype("float32")
y = np.eye(3, dtype="float32")[rng.randint(0, 3, size=30)]
inputs = keras.Input((6,))
model = keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(inputs))
model.compile("adam", loss=loss, metrics=loss.metrics())
results = evaluate(model, x, y, batch_size=len(x))
p = model.predict(x, batch_size=len(x))
np.testing.assert_allclose(results["ce"], np.mean(-np.sum(y * np.log(np.clip(p, 1e-7, 1)), -1)), rtol=1e-4)
np.testing.assert_allclose(results["reg"], 0.01 * np.mean(np.square(p)), rtol=1e-4)
""", "fill": {'model.compile("adam", loss=loss, metrics=loss.metrics())': ""}},
    ("docs/getting-started.md", 1): {"before_glue": TEN_CLASSES,
                                     "fill": {"compat_metrics.Precision(10, average=\"macro\", confusion_matrix=cm)":
                                              "compat_metrics.Precision(10, average=\"macro\", name=\"precision\", "
                                              "confusion_matrix=cm)"},
                                     "after": CHECK_PER_CLASS},
    ("docs/patterns/input-losses.md", 0): {"before": "Before"},
    ("docs/patterns/input-losses.md", 1): {"before_glue": """
model_size, nobs, batch_size = 3, 2, 8
kg = rng.normal(size=(32, model_size, nobs, 1)).astype("float32")
kg_true = rng.normal(size=(32, model_size, nobs, 1)).astype("float32")
inputs = keras.Input((model_size, nobs, 1))
model = keras.Model(inputs, keras.layers.Dense(model_size)(keras.layers.Flatten()(inputs)))
""", "fill": {"        super().__init__(name=name)\n        ...\n":
              "        super().__init__(name=name)\n        self.model_size, self.nobs, self.batch_size = model_size, nobs, batch_size\n",
              'model.save("model.keras")                          # .h5 on Keras 2':
              'model.fit(kg, kg_true, batch_size=batch_size, epochs=1, verbose=0)\nmodel.save(saved_name)',
              'model = compat_metrics.load_model("model.keras")   # no custom_objects':
              'model = compat_metrics.load_model(saved_name)'},
        "after": """
results = evaluate(model, kg, kg_true, batch_size=batch_size)
pred = model.predict(kg, batch_size=batch_size)
per_batch = [np.mean(np.square(kg_true[s:s + 8] - kg[s:s + 8] * pred[s:s + 8].reshape(8, model_size, 1, 1)))
             for s in range(0, 32, 8)]
np.testing.assert_allclose(results["loss"], np.mean(per_batch), rtol=1e-4)
"""},
    ("docs/patterns/loss-components.md", 0): {"before": "Before (TF 1.15)"},
    ("docs/patterns/loss-components.md", 1): {"before_glue": LOW_COST, "after": CHECK_LOW_COST},
    ("docs/patterns/loss-components.md", 2): {"before_glue": TWO_PARTS, "after": CHECK_TWO_PARTS},
    ("docs/patterns/per-class-metrics.md", 0): {"before_glue": TEN_CLASSES,
                                                "fill": {'history.history["val_f1_6"]':
                                                         'assert len(history.history["val_f1_6"]) == 1',
                                                         '"best.h5"': "best_name"},  # the comment's .keras on Keras 3
                                                "after": CHECK_PER_CLASS_PRF},
    ("docs/patterns/per-class-metrics.md", 1): {"before_glue": TWO_OUTPUTS, "after": CHECK_TWO_OUTPUTS},
    ("docs/patterns/per-class-metrics.md", 2): {"before_glue": THREE_CLASSES, "after": CHECK_IGNORING_CLASS},
    ("docs/patterns/portable-metric.md", 0): {"before": "Before"},
    ("docs/patterns/portable-metric.md", 1): {"before_glue": TEN_CLASSES + CUSTOM_MSE,
                                              "fill": {"    ...\n": TRUE_POSITIVE_BODY,
                                                       "model.compile(": "model.trainable = False\nmodel.compile("},
                                              "after": CHECK_TRUE_POSITIVES_EACH_EPOCH},
    ("docs/patterns/streaming-metrics.md", 0): {"before": "Before (Keras 2)"},
    ("docs/patterns/streaming-metrics.md", 1): {"fill": {
        "    ...   # the same body: reset_states and reset_state both reach the override\n": BINARY_TRUE_POSITIVES},
        "after": CHECK_BINARY_TRUE_POSITIVES},
    ("docs/patterns/training-step-metrics.md", 0): {"before": "Before (TF ≥ 2.2, Keras 2 only)"},
    ("docs/patterns/training-step-metrics.md", 1): {"before_glue": PSNR + """
class LocLoss(compat_metrics.InputLoss):
    def call(self, inputs, y_true, y_pred):
        return tf.reduce_mean(tf.square(y_true - inputs * y_pred), axis=-1)
""", "after": CHECK_GRADIENT_NORMS},
    ("docs/patterns/training-step-metrics.md", 2): {"fill": {
                                                        "        ...                                             # your extra work\n": ""},
                                                    "after": KEPT_TRAIN_STEP},
    ("docs/patterns/training-step-metrics.md", 3): {"before": "Before"},
    ("docs/patterns/training-step-metrics.md", 4): {"before_glue": "Layer = keras.layers.Layer\n" + WARP,
                                                    "after": DENSE_LIKE_BUILD + CHECK_WARP},
    ("docs/testing-across-versions.md", 0): {"pytest": True},
}

PYTEST_GLUE = """
def my_loss(y, p):
    return tf.reduce_mean(tf.square(y - p))

def numpy_reference(y, p):
    return np.mean(np.square(np.subtract(y, p)))

y, p = np.array([[1.0, 0.0]], "float32"), np.array([[0.5, 0.25]], "float32")
"""


def _evaluate(model, x, y, **kwargs):
    import inspect
    kwargs.setdefault("batch_size", len(x))
    if "return_dict" in inspect.signature(model.evaluate).parameters:
        results = model.evaluate(x, y, verbose=0, return_dict=True, **kwargs)
    else:
        results = dict(zip(model.metrics_names, np.atleast_1d(model.evaluate(x, y, verbose=0, **kwargs))))
    return {name: float(value) for name, value in results.items()}


def source(page, index):
    """The block completed with its glue, as one script."""
    for found_page, found_index, found_code, _before in blocks():
        if (found_page, found_index) == (page, index):
            code = found_code
            break
    else:
        raise KeyError((page, index))
    spec = EXAMPLES[(page, index)]
    for placeholder, filled in spec.get("fill", {}).items():
        assert placeholder in code, f"{page}[{index}]: placeholder {placeholder!r} no longer in the block"
        code = code.replace(placeholder, filled)
    from compat_metrics import runtime
    if runtime.in_graph_mode() and hasattr(runtime.keras.optimizers, "legacy"):
        # The pages' note: in graph mode Keras 2.11-2.15 only compiles its legacy optimizers.
        if "optimizers.Adam(" in code:
            assert "keras.optimizers.legacy.Adam" in (ROOT / page).read_text(encoding="utf-8"), (
                f"{page} must say that graph mode on TF 2.11-2.15 needs keras.optimizers.legacy")
            code = code.replace("optimizers.Adam(", "optimizers.legacy.Adam(")
    return COMMON + spec.get("before_glue", "") + "\n" + code + "\n" + spec.get("after", "")


def run(page, index, tmp_path):
    """Run one block with its glue in ``tmp_path`` (files it saves land there)."""
    from compat_metrics import _capabilities as caps
    from compat_metrics import runtime
    from compat_metrics._backend import impl
    spec = EXAMPLES[(page, index)]
    if spec.get("pytest"):
        return _run_pytest(page, index, tmp_path)
    namespace = {"evaluate": _evaluate, "honours_run_tf_function": impl.HONOURS_RUN_TF_FUNCTION or runtime.IS_TF1,
                 "has_train_step": getattr(impl, "HAS_TRAIN_STEP", True) and not runtime.in_graph_mode(),
                 "saved_name": "model" + caps.SAVE_SUFFIX, "best_name": "best" + caps.SAVE_SUFFIX,
                 "per_output_loss_logs": caps.PER_OUTPUT_LOSS_LOGS,
                 "__name__": "doc_example"}
    cwd = os.getcwd()
    os.chdir(str(tmp_path))
    registered = dict(runtime.keras.utils.get_custom_objects())
    try:
        exec(compile(source(page, index), f"{page}[{index}]", "exec"), namespace)  # noqa: S102
    finally:
        os.chdir(cwd)
        # The pages' classes (LocLoss, MyLoss, ...) must not replace the tests' classes of the same name.
        runtime.keras.utils.get_custom_objects().clear()
        runtime.keras.utils.get_custom_objects().update(registered)
    return namespace


def _run_pytest(page, index, tmp_path):
    """A test file a user writes from the block, run by pytest with the library's plugin."""
    import subprocess
    import sys
    code = [c for p, i, c, _ in blocks() if (p, i) == (page, index)][0]
    test_file = tmp_path / "test_from_doc.py"
    test_file.write_text(COMMON + PYTEST_GLUE + "\nimport pytest\n" + code)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    out = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "compat_metrics.pytest_plugin", "-W", "ignore",
                          str(test_file)], cwd=str(tmp_path), env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         timeout=600)
    text = out.stdout.decode()
    assert out.returncode == 0, text[-3000:]
    assert "passed" in text and "failed" not in text, text[-2000:]
    return text


def check_block(page, index, tmp_path):
    spec = EXAMPLES.get((page, index))
    assert spec is not None, f"{page}[{index}] has no run in tests/doc_examples.py EXAMPLES"
    if "before" in spec:
        text = [t for p, i, _, t in blocks() if (p, i) == (page, index)][0]
        assert spec["before"] in (text if spec.get("anywhere") else text[-600:]), (
            "{}[{}] is not run, so the page must say why just above it ({!r})".format(page, index, spec["before"]))
        return None
    return run(page, index, tmp_path)
