"""Shared data generators and scikit-learn references for the metric tests.

Imported by ``tests/test_metrics.py`` (TF 2.x) and ``tests_tf1/test_metrics.py``
(TF 1.15). Every expected value comes from scikit-learn or NumPy, never from
compat_metrics itself.
"""

import numpy as np
from sklearn import metrics as skm

AVERAGES = (None, "micro", "macro", "weighted")

# name -> (compat_metrics class name, extra constructor kwargs, index into sklearn's (p, r, f), beta)
SCORES = {
    "precision": ("Precision", {}, 0, 1.0),
    "recall": ("Recall", {}, 1, 1.0),
    "f1": ("F1Score", {}, 2, 1.0),
    "f2": ("FBetaScore", {"beta": 2.0}, 2, 2.0),
}

# How labels are fed: class ids (n,), (n, 1) int, (n, 1) float (TF1 Keras style), one-hot (n, C).
LABEL_FORMATS = ("ids", "column", "float_column", "one_hot")


def make_data(seed, n, num_classes, logits=False):
    """Random class ids and scores; returns (ids, scores) with no ties in argmax."""
    rng = np.random.RandomState(seed)
    ids = rng.randint(0, num_classes, size=n)
    scores = rng.rand(n, num_classes).astype("float32")
    # make the model right about half the time
    right = rng.rand(n) < 0.5
    scores[np.arange(n)[right], ids[right]] += 1.0
    if not logits:
        scores = scores / scores.sum(axis=1, keepdims=True)
    else:
        scores = np.log(scores)
    return ids, scores


def format_labels(ids, num_classes, label_format):
    if label_format == "ids":
        return ids.astype("int64")
    if label_format == "column":
        return ids.reshape(-1, 1).astype("int32")
    if label_format == "float_column":
        return ids.reshape(-1, 1).astype("float32")
    if label_format == "one_hot":
        return np.eye(num_classes, dtype="float32")[ids]
    raise ValueError(label_format)


def predicted_ids(scores, threshold=None):
    """NumPy reference of the prediction rule: argmax, or score > threshold for one column."""
    scores = np.asarray(scores)
    if scores.ndim == 1 or scores.shape[-1] == 1:
        return (scores.reshape(-1) > (0.5 if threshold is None else threshold)).astype(int)
    return scores.argmax(axis=-1)


def split_points(n, cuts):
    """Uneven batch boundaries from arbitrary cut positions."""
    points = sorted(set(int(c) % (n + 1) for c in cuts) | {0, n})
    return list(zip(points[:-1], points[1:]))


def sklearn_score(score, y_true, y_pred, num_classes, average, zero_division=0.0, sample_weight=None,
                  multilabel=False):
    """scikit-learn's value of a score over all classes ``range(num_classes)``."""
    _, _, index, beta = SCORES[score]
    labels = list(range(num_classes))
    result = skm.precision_recall_fscore_support(
        y_true, y_pred, beta=beta, labels=None if (average == "binary" or multilabel) else labels,
        average=average, zero_division=zero_division, sample_weight=sample_weight)
    return np.asarray(result[index], dtype=float)


def sklearn_confusion_matrix(y_true, y_pred, num_classes, sample_weight=None):
    return skm.confusion_matrix(y_true, y_pred, labels=list(range(num_classes)), sample_weight=sample_weight)


def sklearn_supports_nan_zero_division():
    try:
        skm.precision_score([0, 1], [0, 0], zero_division=np.nan, average="macro")
        return True
    except Exception:  # noqa: BLE001 - older scikit-learn (< 1.3) rejects NaN, with an error type that varies by version
        return False


def sklearn_weighted_mean_without_support():
    """Whether this scikit-learn averages 'weighted' scores plainly when no class has support (>= 1.3)."""
    import sklearn
    return tuple(int(part) for part in sklearn.__version__.split(".")[:2]) >= (1, 3)


def huber(y_true, y_pred, threshold):
    """NumPy Huber loss per element (the reference of HuberMetric in the metric tests)."""
    error = np.abs(np.asarray(y_true, float) - np.asarray(y_pred, float))
    return np.where(error < threshold, 0.5 * error ** 2, threshold * error - 0.5 * threshold ** 2)


# -- Keras fit / evaluate (TF imported here only: the references above need none) ----------
def small_model(num_classes=3, features=4, seed=0):
    import compat_metrics
    keras = compat_metrics.keras
    model = keras.Sequential([keras.layers.Dense(num_classes, activation="softmax", input_shape=(features,))])
    rng = np.random.RandomState(seed)
    model.set_weights([rng.randn(features, num_classes).astype("float32"), np.zeros(num_classes, "float32")])
    return model


def class_data(seed, n, num_classes=3, features=4):
    rng = np.random.RandomState(seed)
    return rng.randn(n, features).astype("float32"), rng.randint(0, num_classes, size=n)


def check_fit_puts_per_class_values_in_history(class_names, read):
    """Per-class F1 in ``History`` as ``f1_{label}``/``val_f1_{label}``, equal to scikit-learn.

    ``read`` turns a tensor into a number (``.numpy()`` eagerly, ``Session.run`` in graph mode).
    """
    import scenarios

    import compat_metrics
    from compat_metrics import metrics as cmm
    keras = compat_metrics.keras
    keras.backend.clear_session()
    x, y = class_data(10, 70)
    x_val, y_val = class_data(11, 45)
    model = small_model()
    f1 = cmm.F1Score(3, name="f1", class_names=class_names)
    macro = cmm.Precision(3, average="macro", name="macro_precision", confusion_matrix=f1.confusion_matrix)
    compat_metrics.compile(model, optimizer="sgd", loss="sparse_categorical_crossentropy",
                           metrics=f1.per_class_metrics() + [macro])
    history = model.fit(x, y, batch_size=16, epochs=2, validation_data=(x_val, y_val), verbose=0)
    labels = class_names or ["0", "1", "2"]
    for label in labels:
        for key in ("f1_" + label, "val_f1_" + label):
            assert key in history.history and len(history.history[key]) == 2, sorted(history.history)
    predicted = model.predict(x_val, batch_size=64).argmax(1)
    expected = sklearn_score("f1", y_val, predicted, 3, None)
    got = [history.history["val_f1_" + label][-1] for label in labels]
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(history.history["val_macro_precision"][-1],
                               sklearn_score("precision", y_val, predicted, 3, "macro"), rtol=1e-5)
    results = scenarios.evaluate_dict(model, x_val, y_val, batch_size=10)
    for i, label in enumerate(labels):
        np.testing.assert_allclose(results["f1_" + label], expected[i], rtol=1e-5, atol=1e-6)
    assert read(f1.confusion_matrix.batches_added()) == 5  # 45 samples in batches of 10, added once each


def _callbacks(directory, monitor):
    """Every Keras callback that reads a logged value, on ``monitor`` (TensorBoard when installed)."""
    import importlib.util
    import os

    import compat_metrics
    keras = compat_metrics.keras
    weights = os.path.join(directory, "best.weights.h5" if compat_metrics.runtime.KERAS_FLAVOUR == "keras3"
                           else "best.h5")
    callbacks = [keras.callbacks.ModelCheckpoint(weights, monitor=monitor, mode="max", save_best_only=True,
                                                 save_weights_only=True),
                 keras.callbacks.EarlyStopping(monitor=monitor, mode="max", patience=5),
                 keras.callbacks.ReduceLROnPlateau(monitor=monitor, mode="max", patience=5),
                 keras.callbacks.CSVLogger(os.path.join(directory, "log.csv"))]
    if compat_metrics.runtime.KERAS_FLAVOUR == "keras3":  # mode="auto" finds the metric by name
        callbacks.append(keras.callbacks.EarlyStopping(monitor=monitor, patience=5))
    if importlib.util.find_spec("tensorboard") is not None:
        callbacks.append(keras.callbacks.TensorBoard(os.path.join(directory, "tb")))
    return callbacks, weights


def check_compile_logs_vector_metrics_per_class(directory, read):
    """``compat_metrics.compile`` turns ``average=None`` scores into ``{name}_{i}`` logs that callbacks use.

    Precision, recall and F1 per class share one matrix (added once per batch); values equal scikit-learn's.
    """
    import os

    import scenarios

    import compat_metrics
    from compat_metrics import metrics as cmm
    keras = compat_metrics.keras
    keras.backend.clear_session()
    x, y = class_data(20, 64)
    x_val, y_val = class_data(21, 45)
    model = small_model(seed=3)
    cm = cmm.ConfusionMatrix(3)
    metrics = [cmm.Precision(3, name="p", confusion_matrix=cm), cmm.Recall(3, name="r", confusion_matrix=cm),
               cmm.F1Score(3, name="f1", confusion_matrix=cm), cmm.F1Score(3, name="own", class_names=["a", "b", "c"])]
    compat_metrics.compile(model, optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=metrics)
    callbacks, weights = _callbacks(directory, "val_f1_1")
    history = model.fit(x, y, batch_size=16, epochs=2, validation_data=(x_val, y_val), verbose=0,
                        callbacks=callbacks)
    predicted = model.predict(x_val, batch_size=64).argmax(1)
    for key, score, labels in (("p", "precision", "012"), ("r", "recall", "012"), ("f1", "f1", "012"),
                               ("own", "f1", "abc")):
        expected = sklearn_score(score, y_val, predicted, 3, None)
        got = [history.history[f"val_{key}_{label}"][-1] for label in labels]
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6, err_msg=key)
        assert all(len(history.history[f"{key}_{label}"]) == 2 for label in labels)
    assert os.path.exists(weights)
    with open(os.path.join(directory, "log.csv")) as handle:
        assert {"f1_1", "val_f1_1", "val_own_c"} <= set(handle.readline().strip().split(","))
    results = scenarios.evaluate_dict(model, x_val, y_val, batch_size=10)
    np.testing.assert_allclose([results["f1_" + label] for label in "012"],
                               sklearn_score("f1", y_val, predicted, 3, None), rtol=1e-5, atol=1e-6)
    assert read(cm.batches_added()) == 5  # 45 samples in batches of 10, added once each
    # standalone, the metric is still a vector
    assert np.shape(read(metrics[2].result())) == (3,)
    return model


def check_fit_reports_the_library_check_first(fit_method="fit"):
    """A metric's failed input check inside ``fit`` is reported with the library's sentence as the first line.

    TensorFlow's own report starts with ``Graph execution error:`` and the node's traceback (TF >= 2.9)
    or ``assertion failed: [...]``; the sentence must be what the user reads first.
    """
    import tensorflow as tf

    import compat_metrics
    x = np.random.RandomState(0).normal(size=(8, 4)).astype("float32")
    y = np.eye(3, dtype="float32")[[0, 1, 2, 0, 1, 2, 0, 1]]
    y[3] = [1.0, 1.0, 0.0]  # not one-hot: the loss runs, the F1 check fails
    model = small_model()
    compat_metrics.compile(model, optimizer="sgd", loss="mse",
                           metrics=[compat_metrics.F1Score(3, average="macro", name="f1")])
    try:
        if fit_method == "fit":
            model.fit(x, y, batch_size=8, epochs=1, verbose=0)
        else:
            getattr(model, fit_method)(x, y)
    except tf.errors.InvalidArgumentError as error:
        first = str(error).strip().splitlines()[0]
        assert "one-hot" in first and first.startswith("y_true"), str(error)[:2000]
        assert "Graph execution error" not in first
        return str(error)
    raise AssertionError("fit with a label row that is not one-hot raised nothing")


def check_evaluate_weights_only_weighted_metrics(compile_kwargs=None):
    """``metrics`` unweighted and ``weighted_metrics`` weighted, in one model, equal to scikit-learn.

    One-hot labels, a last batch shorter than the others, sample weights; a
    score and per-class views in each list. TF1-style Keras graphs build the
    weighted metrics twice (at compile and again once the weights are known):
    the first build must not add its batch too.
    """
    import scenarios

    import compat_metrics
    from compat_metrics import metrics as cmm
    keras = compat_metrics.keras
    keras.backend.clear_session()
    x, y = class_data(12, 53)
    w = np.random.RandomState(13).uniform(0.1, 2.0, size=53).astype("float32")
    model = small_model(seed=1)
    metrics = [cmm.Precision(3, average="macro", name="macro_p"), cmm.Recall(3, name="rec")]
    weighted = [cmm.F1Score(3, average="weighted", name="wf1"), cmm.Recall(3, average="micro", name="micro_r"),
                cmm.Precision(3, name="prec")]
    compat_metrics.compile(model, optimizer="sgd", loss="categorical_crossentropy", metrics=metrics,
                           weighted_metrics=weighted, **(compile_kwargs or {}))
    results = scenarios.evaluate_dict(model, x, np.eye(3, dtype="float32")[y], sample_weight=w, batch_size=8)
    predicted = model.predict(x, batch_size=64).argmax(1)
    expected = {
        "wf1": sklearn_score("f1", y, predicted, 3, "weighted", sample_weight=w),
        "micro_r": sklearn_score("recall", y, predicted, 3, "micro", sample_weight=w),
        "macro_p": sklearn_score("precision", y, predicted, 3, "macro"),
    }
    for i, value in enumerate(sklearn_score("precision", y, predicted, 3, None, sample_weight=w)):
        expected[f"prec_{i}"] = value
    for i, value in enumerate(sklearn_score("recall", y, predicted, 3, None)):
        expected[f"rec_{i}"] = value
    # TF 1.15 (and TF 2.x Keras 2 in graph mode) name weighted metrics "weighted_<name>"
    results = {name[len("weighted_"):] if name.startswith("weighted_") else name: value
               for name, value in results.items()}
    assert set(expected) <= set(results), sorted(results)
    got = {name: results[name] for name in expected}
    np.testing.assert_allclose([got[k] for k in sorted(expected)], [expected[k] for k in sorted(expected)],
                               rtol=1e-5, atol=1e-6, err_msg=str(sorted(expected)))


def check_compiled_score_keeps_counting_by_hand(read):
    """A vector score given to ``compile`` (logged as per-class views), then updated by hand: each batch adds.

    ``read`` turns a tensor into a NumPy value. Keras resets metrics when
    ``predict``/``evaluate``/``fit`` start on some versions, so the state is
    read after the last Keras call.
    """
    import compat_metrics
    from compat_metrics import metrics as cmm
    keras = compat_metrics.keras
    keras.backend.clear_session()
    x, y = class_data(12, 53)
    model = small_model(seed=1)
    f1 = cmm.F1Score(3, name="f1")
    compat_metrics.compile(model, optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=[f1])
    for run in (model.fit, model.evaluate):
        run(x, y, batch_size=16, verbose=0)
        probs = model.predict(x, batch_size=64)
        before = read(f1.confusion_matrix.result())
        for start in (0, 20):
            read(f1.update_state(y[start:start + 20], probs[start:start + 20]))
        added = read(f1.confusion_matrix.result()) - before
        np.testing.assert_allclose(added, sklearn_confusion_matrix(y[:40], probs[:40].argmax(1), 3), atol=1e-6)


MULTI_OUTPUT_FORMS = ("dict", "per_output", "list")


def two_output_model(num_classes=3, features=4, seed=4):
    """A functional model with two softmax outputs, ``a`` and ``b``, and fixed weights."""
    import compat_metrics
    keras = compat_metrics.keras
    inputs = keras.Input((features,))
    model = keras.Model(inputs, [keras.layers.Dense(num_classes, activation="softmax", name=name)(inputs)
                                 for name in ("a", "b")])
    rng = np.random.RandomState(seed)
    model.set_weights([rng.randn(features, num_classes).astype("float32"), np.zeros(num_classes, "float32"),
                       rng.randn(features, num_classes).astype("float32"), np.zeros(num_classes, "float32")])
    return model


def two_output_data(n=53):
    x, ya = class_data(14, n)
    return x, [ya, np.random.RandomState(15).randint(0, 3, size=n)]


def two_output_expected(model, x, ys, outputs_of_name=None):
    """scikit-learn's per-class F1 (``<output>_f1_<i>``) and macro precision (``<output>_p``) per output."""
    predicted = [scores.argmax(1) for scores in model.predict(x, batch_size=64)]
    expected = {}
    for output, y, ids in zip(("a", "b"), ys, predicted):
        for i, value in enumerate(sklearn_score("f1", y, ids, 3, None)):
            expected[f"{output}_f1_{i}"] = value
        expected[f"{output}_p"] = sklearn_score("precision", y, ids, 3, "macro")
        expected[f"{output}_acc"] = float(np.mean(ids == y))
    return expected


def check_multi_output_metrics(form):
    """A two-output model's scores equal scikit-learn on the output each is given, in each form users write.

    ``dict`` (``{"a": [...], "b": [...]}``) and ``per_output`` (``[[...], [...]]``)
    give the same keys on every version. A flat ``list`` with one entry per
    output goes to every output on Keras 2 and entry i to output i on Keras 3
    (``METRICS_LIST_PER_OUTPUT``); a per-class score's views stay with the
    output its entry goes to. Returns the model, its data and the values.
    """
    import scenarios

    import compat_metrics
    from compat_metrics import _capabilities as caps
    from compat_metrics import metrics as cmm
    keras = compat_metrics.keras
    keras.backend.clear_session()
    x, ys = two_output_data()
    model = two_output_model()

    def scores():
        return [cmm.F1Score(3, name="f1"), cmm.Precision(3, average="macro", name="p"),
                keras.metrics.SparseCategoricalAccuracy(name="acc")]

    metrics = {"dict": lambda: {"a": scores(), "b": scores()}, "per_output": lambda: [scores(), scores()],
               "list": scores}[form]()
    expected = two_output_expected(model, x, ys)
    if form == "list" and caps.METRICS_LIST_PER_OUTPUT:  # F1Score to output a, Precision to output b
        metrics = scores()[:2]
        expected = {name: value for name, value in expected.items() if name.startswith("a_f1") or name == "b_p"}
    compat_metrics.compile(model, optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=metrics)
    results = scenarios.evaluate_dict(model, x, ys, batch_size=8)
    got = {name: value for name, value in results.items() if not name.endswith("loss")}
    assert sorted(got) == sorted(expected), (sorted(got), sorted(expected))
    np.testing.assert_allclose([got[k] for k in sorted(expected)], [expected[k] for k in sorted(expected)],
                               rtol=1e-5, atol=1e-6, err_msg=str(sorted(expected)))
    return model, x, ys, expected
