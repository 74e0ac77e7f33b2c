"""compat_metrics.metrics on TF 2.x (Keras 2, Keras 3, tf_keras): eager, tf.function, fit/evaluate.

Every expected value is computed by scikit-learn or NumPy (tests/metric_scenarios.py).
"""

import json
import os
import re
import subprocess
import sys
import warnings

import numpy as np
import pytest
import tensorflow as tf
from hypothesis import given, settings
from hypothesis import strategies as st

import compat_metrics
from compat_metrics import _capabilities as caps
from compat_metrics import metrics as cmm
from compat_metrics import runtime

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import capability_marks  # noqa: E402
import metric_scenarios as sc  # noqa: E402
import saving  # noqa: E402
import scenarios  # noqa: E402

keras = runtime.keras
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def make_score(score, num_classes, **kwargs):
    class_name, extra, _, _ = sc.SCORES[score]
    return getattr(cmm, class_name)(num_classes, **dict(extra, **kwargs))


def value(tensor):
    return np.asarray(tensor.numpy() if hasattr(tensor, "numpy") else tensor, dtype=float)


# -- values against scikit-learn ---------------------------------------------------------------
@pytest.mark.parametrize("label_format", sc.LABEL_FORMATS)
@pytest.mark.parametrize("average", sc.AVERAGES)
@pytest.mark.parametrize("score", sorted(sc.SCORES))
def test_score_matches_sklearn(score, average, label_format):
    ids, probs = sc.make_data(0, 40, 4)
    metric = make_score(score, 4, average=average)
    metric.update_state(sc.format_labels(ids, 4, label_format), probs)
    expected = sc.sklearn_score(score, ids, sc.predicted_ids(probs), 4, average)
    np.testing.assert_allclose(value(metric.result()), expected, rtol=1e-5, atol=1e-6)


def test_logits_give_the_same_as_probabilities():
    ids, logits = sc.make_data(1, 30, 3, logits=True)
    metric = cmm.F1Score(3, average="macro")
    metric.update_state(ids, logits)
    expected = sc.sklearn_score("f1", ids, logits.argmax(1), 3, "macro")
    np.testing.assert_allclose(value(metric.result()), expected, rtol=1e-5)


@pytest.mark.parametrize("average", sc.AVERAGES + ("binary",))
def test_binary_threshold_single_column(average):
    rng = np.random.RandomState(2)
    y = rng.randint(0, 2, size=50)
    p = rng.rand(50, 1).astype("float32")
    metric = cmm.F1Score(2, average=average, threshold=0.3)
    metric.update_state(y.reshape(-1, 1), p)
    expected = sc.sklearn_score("f1", y, (p[:, 0] > 0.3).astype(int), 2, average)
    np.testing.assert_allclose(value(metric.result()), expected, rtol=1e-5)


@pytest.mark.parametrize("average", sc.AVERAGES)
def test_multilabel_matches_sklearn(average):
    rng = np.random.RandomState(3)
    y = (rng.rand(40, 4) > 0.5).astype("float32")
    p = rng.rand(40, 4).astype("float32")
    w = rng.rand(40).astype("float32")
    metric = cmm.Recall(4, average=average, threshold=0.4, multilabel=True)
    metric.update_state(y, p, sample_weight=w)
    expected = sc.sklearn_score("recall", y.astype(int), (p > 0.4).astype(int), 4, average, sample_weight=w,
                                multilabel=True)
    np.testing.assert_allclose(value(metric.result()), expected, rtol=1e-5)


def test_zero_division_nan_matches_sklearn():
    if not sc.sklearn_supports_nan_zero_division():
        pytest.skip("this scikit-learn (< 1.3) has no zero_division=nan to compare with")
    y = np.array([0, 0, 1, 1])
    p = np.eye(3, dtype="float32")[[0, 0, 1, 0]]  # class 2 never true nor predicted
    for average in sc.AVERAGES:
        metric = cmm.Precision(3, average=average, zero_division=float("nan"))
        metric.update_state(y, p)
        expected = sc.sklearn_score("precision", y, p.argmax(1), 3, average, zero_division=np.nan)
        np.testing.assert_allclose(value(metric.result()), expected, rtol=1e-6)


@pytest.mark.parametrize("zero_division", [0.0, 1.0])
def test_weighted_average_with_no_true_samples_matches_sklearn(zero_division):
    if not sc.sklearn_weighted_mean_without_support():
        pytest.skip("this scikit-learn (< 1.3) special-cases a weighted average without support")
    y = np.zeros((3, 3), "float32")  # no label is ever true: every support is 0
    p = np.array([[.9, .1, .1], [.1, .1, .1], [.1, .8, .1]], "float32")
    for score in sorted(sc.SCORES):
        metric = make_score(score, 3, average="weighted", zero_division=zero_division, threshold=0.5,
                            multilabel=True)
        metric.update_state(y, p)
        expected = sc.sklearn_score(score, y.astype(int), (p > 0.5).astype(int), 3, "weighted",
                                    zero_division=zero_division, multilabel=True)
        np.testing.assert_allclose(value(metric.result()), expected, rtol=1e-6, err_msg=score)


def test_functional_api_matches_sklearn():
    fn = cmm.functional
    ids, probs = sc.make_data(12, 31, 4)
    w = np.random.RandomState(13).uniform(0.1, 2.0, size=31).astype("float32")
    matrix = fn.batch_confusion_matrix(ids.reshape(-1, 1), probs, 4, sample_weight=w)
    predicted = probs.argmax(1)
    np.testing.assert_allclose(value(matrix), sc.sklearn_confusion_matrix(ids, predicted, 4, w), rtol=1e-5)
    for score, function in (("precision", fn.precision), ("recall", fn.recall), ("f1", fn.fbeta_score)):
        for average in sc.AVERAGES:
            np.testing.assert_allclose(value(function(matrix, average=average)),
                                       sc.sklearn_score(score, ids, predicted, 4, average, sample_weight=w),
                                       rtol=1e-5, atol=1e-6, err_msg=f"{score} {average}")
    np.testing.assert_allclose(value(fn.fbeta_score(matrix, beta=2.0, average="macro")),
                               sc.sklearn_score("f2", ids, predicted, 4, "macro", sample_weight=w), rtol=1e-5)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10 ** 6), n=st.integers(1, 60), num_classes=st.integers(2, 5),
       cuts=st.lists(st.integers(0, 60), max_size=5), weighted=st.booleans(),
       zero_division=st.sampled_from([0.0, 1.0]), label_format=st.sampled_from(sc.LABEL_FORMATS))
def test_property_uneven_batches_and_weights_match_sklearn(seed, n, num_classes, cuts, weighted, zero_division,
                                                           label_format):
    ids, probs = sc.make_data(seed, n, num_classes)
    weights = np.random.RandomState(seed + 1).uniform(0.1, 2.0, size=n).astype("float32") if weighted else None
    labels = sc.format_labels(ids, num_classes, label_format)
    cm = cmm.ConfusionMatrix(num_classes)
    shared = {(score, average): make_score(score, num_classes, average=average, zero_division=zero_division,
                                           confusion_matrix=cm)
              for score in sc.SCORES for average in sc.AVERAGES}
    own = {score: make_score(score, num_classes, average="macro", zero_division=zero_division)
           for score in sc.SCORES}
    batches = sc.split_points(n, cuts)
    for start, stop in batches:
        w = None if weights is None else weights[start:stop]
        for metric in list(shared.values()) + list(own.values()):
            metric.update_state(labels[start:stop], probs[start:stop], sample_weight=w)
    predicted = probs.argmax(1)
    np.testing.assert_allclose(value(cm.result()), sc.sklearn_confusion_matrix(ids, predicted, num_classes, weights),
                               rtol=1e-5, atol=1e-5)
    assert value(cm.batches_added()) == len(batches)
    for (score, average), metric in shared.items():
        expected = sc.sklearn_score(score, ids, predicted, num_classes, average, zero_division, weights)
        np.testing.assert_allclose(value(metric.result()), expected, rtol=1e-5, atol=1e-6,
                                   err_msg=f"{score} average={average}")
    for score, metric in own.items():
        expected = sc.sklearn_score(score, ids, predicted, num_classes, "macro", zero_division, weights)
        np.testing.assert_allclose(value(metric.result()), expected, rtol=1e-5, atol=1e-6)


def test_updates_inside_tf_function_match_sklearn():
    ids, probs = sc.make_data(4, 37, 3)
    weights = np.random.RandomState(5).rand(37).astype("float32")
    cm = cmm.ConfusionMatrix(3)
    f1 = cmm.F1Score(3, average="weighted", confusion_matrix=cm)
    precision = cmm.Precision(3, confusion_matrix=cm)

    @tf.function
    def step(y, p, w):
        f1.update_state(y, p, sample_weight=w)
        precision.update_state(y, p, sample_weight=w)

    for start, stop in [(0, 5), (5, 30), (30, 37)]:
        step(tf.constant(ids[start:stop]), tf.constant(probs[start:stop]), tf.constant(weights[start:stop]))
    assert value(cm.batches_added()) == 3
    predicted = probs.argmax(1)
    np.testing.assert_allclose(value(f1.result()), sc.sklearn_score("f1", ids, predicted, 3, "weighted",
                                                                       sample_weight=weights), rtol=1e-5)
    np.testing.assert_allclose(value(precision.result()), sc.sklearn_score("precision", ids, predicted, 3, None,
                                                                              sample_weight=weights), rtol=1e-5)


def test_shared_matrix_adds_each_batch_once_and_resets_for_all():
    ids, probs = sc.make_data(6, 20, 3)
    cm = cmm.ConfusionMatrix(3)
    readers = [cmm.Precision(3, confusion_matrix=cm), cmm.Recall(3, confusion_matrix=cm),
               cmm.F1Score(3, confusion_matrix=cm)] + cmm.F1Score(3, name="f1", confusion_matrix=cm).per_class_metrics()
    for start in range(0, 20, 5):
        for metric in readers:
            metric.update_state(ids[start:start + 5], probs[start:start + 5])
    assert value(cm.batches_added()) == 4  # not 4 * len(readers)
    np.testing.assert_allclose(value(cm.result()), sc.sklearn_confusion_matrix(ids, probs.argmax(1), 3))
    readers[1].reset_state()
    assert value(cm.result()).sum() == 0 and value(cm.batches_added()) == 0
    readers[2].update_state(ids[:5], probs[:5])
    readers[0].update_state(ids[:5], probs[:5])
    np.testing.assert_allclose(value(cm.result()), sc.sklearn_confusion_matrix(ids[:5], probs[:5].argmax(1), 3))


def test_sharer_attached_after_tracing_does_not_add_batches_twice():
    """A lone metric traced without the sharing cond stays correct when a sharer joins later."""
    ids, probs = sc.make_data(8, 30, 3)
    f1 = cmm.F1Score(3, average="macro")
    lone_step = tf.function(lambda y, p: [f1.update_state(y, p)] and None)
    lone_step(tf.constant(ids[:10]), tf.constant(probs[:10]))  # traced with one sharer
    recall = cmm.Recall(3, average="macro", confusion_matrix=f1.confusion_matrix)
    for start in (10, 20):  # the new sharer first, then the old traced function
        y, p = tf.constant(ids[start:start + 10]), tf.constant(probs[start:start + 10])
        recall.update_state(y, p)
        lone_step(y, p)
    assert value(f1.confusion_matrix.batches_added()) == 3
    np.testing.assert_allclose(value(f1.confusion_matrix.result()),
                               sc.sklearn_confusion_matrix(ids, probs.argmax(1), 3))
    np.testing.assert_allclose(value(f1.result()), sc.sklearn_score("f1", ids, probs.argmax(1), 3, "macro"),
                               rtol=1e-5)


def test_compile_refuses_a_matrix_shared_where_keras_feeds_different_inputs():
    cm = cmm.ConfusionMatrix(3)
    f1 = cmm.F1Score(3, average="macro", confusion_matrix=cm, name="f1")
    weighted = cmm.F1Score(3, average="macro", confusion_matrix=cm, name="weighted_f1")
    loss = "sparse_categorical_crossentropy"
    with pytest.raises(ValueError, match="Invalid `metrics`: 'f1' \\(in metrics\\) and 'weighted_f1' \\(in weighted_metrics\\) share"):
        compat_metrics.compile(sc.small_model(), optimizer="sgd", loss=loss, metrics=[f1], weighted_metrics=[weighted])
    with pytest.raises(ValueError, match="share ConfusionMatrix"):
        compat_metrics.compile(sc.small_model(), optimizer="sgd", loss=loss, metrics=[[f1], [cm]])
    # one argument, one output: sharing is what the matrix is for
    per_class = cmm.F1Score(3, confusion_matrix=cm, name="f1_class").per_class_metrics()
    model = compat_metrics.compile(sc.small_model(), optimizer="sgd", loss=loss, metrics=per_class + [f1, weighted])
    x, y = sc.class_data(9, 20)
    results = scenarios.evaluate_dict(model, x, y, batch_size=10)
    expected = sc.sklearn_score("f1", y, model.predict(x, verbose=0).argmax(1), 3, "macro")
    np.testing.assert_allclose([results["f1"], results["weighted_f1"]], [expected, expected], rtol=1e-5)


def test_sharing_requires_matching_settings():
    cm = cmm.ConfusionMatrix(3)
    with pytest.raises(ValueError, match="num_classes"):
        cmm.F1Score(4, confusion_matrix=cm)


def test_numpy_integer_num_classes():
    metric = cmm.F1Score(np.int64(3), average="macro")
    assert type(metric.num_classes) is int and json.dumps(metric.get_config())
    with pytest.raises(ValueError, match="Received: num_classes=2.0"):
        cmm.F1Score(2.0)


@pytest.mark.parametrize("bad", [{"average": "samples"}, {"zero_division": 0.5}, {"beta": 0.0}])
def test_invalid_arguments_say_what_was_received(bad):
    with pytest.raises(ValueError, match="Received"):
        cmm.FBetaScore(3, **bad)


# -- bad input -----------------------------------------------------------------------------------
BAD_INPUTS = {
    "label out of range": (np.array([0, 3, 1]), np.eye(3, dtype="float32"), "outside \\[0, num_classes=3\\)"),
    "negative label": (np.array([0, -1, 1]), np.eye(3, dtype="float32"), "outside"),
    "fractional float labels": (np.array([0.0, 1.5, 2.0], "float32"), np.eye(3, dtype="float32"), "fractional"),
    "NaN predictions": (np.array([0, 1, 2]), np.array([[0.5, 0.5, 0], [np.nan, 0, 1], [0, 0, 1]], "float32"), "NaN"),
    "not one-hot": (np.array([[1, 1, 0], [0, 1, 0], [0, 0, 1]], "float32"), np.eye(3, dtype="float32"), "one-hot"),
    "all-zero row": (np.array([[0, 0, 0], [0, 1, 0], [0, 0, 1]], "float32"), np.eye(3, dtype="float32"), "one-hot"),
    "soft labels": (np.array([[.8, .1, .1], [0, 1, 0], [0, 0, 1]], "float32"), np.eye(3, dtype="float32"), "one-hot"),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
@pytest.mark.parametrize("mode", ["eager", "tf.function"])
def test_bad_input_raises_and_leaves_state_unchanged(case, mode):
    y_bad, p_bad, message = BAD_INPUTS[case]
    ids, probs = sc.make_data(7, 6, 3)
    metric = cmm.F1Score(3, average="macro")
    update = metric.update_state if mode == "eager" else tf.function(lambda y, p: [metric.update_state(y, p)] and None)
    update(sc.format_labels(ids, 3, "one_hot" if y_bad.ndim == 2 else "ids"), probs)
    before = value(metric.confusion_matrix.result())
    with pytest.raises(tf.errors.InvalidArgumentError, match=message) as raised:
        update(y_bad, p_bad)
    if mode == "eager":  # the library's sentence is the first line the user reads
        assert re.search(message, str(raised.value).splitlines()[0]), str(raised.value)
    np.testing.assert_array_equal(value(metric.confusion_matrix.result()), before)
    np.testing.assert_allclose(value(metric.result()), sc.sklearn_score("f1", ids, probs.argmax(1), 3, "macro"),
                               rtol=1e-5)


@pytest.mark.parametrize("method", ["fit", "evaluate", "train_on_batch"])
def test_fit_reports_the_library_check_first(method):
    sc.check_fit_reports_the_library_check_first(method)


def test_mismatched_batch_sizes():
    metric = cmm.Precision(3)
    with pytest.raises(ValueError, match="different numbers of samples"):
        metric.update_state(np.array([0, 1]), np.eye(3, dtype="float32"))
    update = tf.function(lambda y, p: [metric.update_state(y, p)] and None, input_signature=[tf.TensorSpec([None], tf.int32),
                                                               tf.TensorSpec([None, 3], tf.float32)])
    with pytest.raises(tf.errors.InvalidArgumentError, match="different numbers of samples"):
        update(tf.constant([0, 1]), tf.eye(3))
    assert value(metric.confusion_matrix.result()).sum() == 0


def test_threshold_with_more_classes_decides_each_column_as_keras_and_tfa():
    y, p = sc.make_data(8, 40, 3)
    one_hot = np.eye(3, dtype="float32")[y]
    metric = cmm.F1Score(3, average="macro", threshold=0.4)  # tfa/Keras: each column on its own
    metric.update_state(one_hot, p)
    np.testing.assert_allclose(value(metric.result()), sc.sklearn_score("f1", one_hot.astype(int),
                               (p > 0.4).astype(int), 3, "macro", multilabel=True), rtol=1e-5)
    with pytest.raises(ValueError, match="each column on its own"):
        metric.update_state(y, p)  # class ids cannot be scored per column
    with pytest.raises(ValueError, match="threshold applies to binary"):
        cmm.F1Score(3, threshold=0.5, multilabel=False)
    with pytest.raises(ValueError, match="differ from the matrix"):
        cmm.Precision(3, threshold=0.5, confusion_matrix=cmm.ConfusionMatrix(3))


def test_tensorflow_addons_argument_forms():
    y, p = sc.make_data(9, 50, 5)
    fbeta = cmm.FBetaScore(5, "micro", 2.0)  # tfa order: num_classes, average, beta, threshold
    fbeta.update_state(y, p)
    np.testing.assert_allclose(value(fbeta.result()), sc.sklearn_score("f2", y, p.argmax(1), 5, "micro"), rtol=1e-5)
    # tfa's binary form: one sigmoid column
    rng = np.random.RandomState(10)
    truth, scores = rng.randint(0, 2, size=(30, 1)), rng.rand(30, 1).astype("float32")
    for average in (None, "micro", "macro"):
        binary = cmm.F1Score(num_classes=1, threshold=0.6, average=average)
        binary.update_state(truth, scores)
        expected = sc.skm.f1_score(truth.ravel(), (scores.ravel() > 0.6).astype(int))
        np.testing.assert_allclose(np.ravel(value(binary.result())), [expected], rtol=1e-5)
    assert cmm.F1Score.from_config(binary.get_config()).num_classes == 1


@pytest.mark.parametrize("bad,name", [({"beta": "1.0"}, "beta"), ({"beta": None}, "beta"),
                                      ({"threshold": "0.5"}, "threshold"), ({"class_index": 1.5}, "class_index"),
                                      ({"multilabel": "yes"}, "multilabel")])
def test_argument_types_are_checked_naming_the_argument(bad, name):
    with pytest.raises(ValueError, match=f"Invalid `{name}` argument value.*Received: {name}="):
        cmm.FBetaScore(3, **bad)


def test_sample_weight_of_the_wrong_size():
    metric = cmm.Recall(3)
    with pytest.raises(ValueError, match="one weight per sample"):
        metric.update_state(np.array([0, 1, 2]), np.eye(3, dtype="float32"), sample_weight=np.ones(2, "float32"))
    update = tf.function(lambda y, p, w: [metric.update_state(y, p, sample_weight=w)] and None,
                         input_signature=[tf.TensorSpec([None], tf.int32), tf.TensorSpec([None, 3], tf.float32),
                                          tf.TensorSpec([None], tf.float32)])
    with pytest.raises(tf.errors.InvalidArgumentError, match="one weight per sample"):
        update(tf.constant([0, 1, 2]), tf.eye(3), tf.ones(2))
    assert value(metric.confusion_matrix.result()).sum() == 0


def test_multilabel_shapes_are_checked():
    metric = cmm.F1Score(3, average="macro", multilabel=True)
    with pytest.raises(ValueError, match="multilabel y_true and y_pred must have shape"):
        metric.update_state(np.array([1.0, 0.0, 1.0], "float32"), np.ones((3, 3), "float32"))
    update = tf.function(lambda y, p: [metric.update_state(y, p)] and None,
                         input_signature=[tf.TensorSpec([None, None], tf.float32),
                                          tf.TensorSpec([None, None], tf.float32)])
    y = (np.random.RandomState(14).rand(6, 3) > 0.5).astype("float32")
    p = np.random.RandomState(15).rand(6, 3).astype("float32")
    update(tf.constant(y), tf.constant(p))
    before = value(metric.confusion_matrix.result())
    for y_bad, p_bad, name in ((y[:, :1], p, "y_true"), (y, p[:, :2], "y_pred")):
        with pytest.raises(tf.errors.InvalidArgumentError, match=f"multilabel {name} must have num_classes=3"):
            update(tf.constant(y_bad), tf.constant(p_bad))
    np.testing.assert_array_equal(value(metric.confusion_matrix.result()), before)
    np.testing.assert_allclose(value(metric.result()), sc.sklearn_score("f1", y.astype(int), (p > 0.5).astype(int),
                                                                        3, "macro", multilabel=True), rtol=1e-5)


def test_wrong_number_of_columns():
    with pytest.raises(ValueError, match="columns"):
        cmm.Recall(3).update_state(np.array([0, 1]), np.ones((2, 4), "float32"))


# -- counters and the base class ----------------------------------------------------------------
def test_seed_counters():
    m = cmm.BinaryTruePositives()
    m.update_state([0, 1, 1, 1], [0, 1, 0, 0])
    assert float(m.result()) == 1.0
    m.update_state([1, 1, 1, 1], [0, 1, 1, 0])
    assert float(m.result()) == 3.0
    c = cmm.CategoricalTruePositives()
    ids, probs = sc.make_data(8, 25, 4)
    w = np.random.RandomState(9).rand(25).astype("float32")
    c.update_state(ids.reshape(-1, 1), probs, sample_weight=w)
    np.testing.assert_allclose(float(c.result()), np.sum(w * (probs.argmax(1) == ids)), rtol=1e-5)
    c.reset_states()
    assert float(c.result()) == 0.0


class HuberMetric(cmm.Metric):
    """A Huber metric in Keras 2 style: ``add_weight("name", ...)``, custom ``get_config``."""

    def __init__(self, threshold=1.0, **kwargs):
        super().__init__(**kwargs)
        self.threshold = threshold
        self.total = self.add_weight("total", initializer="zeros")
        self.count = self.add_weight("count", initializer="zeros")

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_pred = tf.cast(y_pred, tf.float32)
        error = tf.abs(tf.reshape(tf.cast(y_true, tf.float32), [-1, 1]) - tf.reshape(y_pred, [tf.shape(y_pred)[0], -1]))
        loss = tf.where(error < self.threshold, 0.5 * tf.square(error),
                        self.threshold * error - 0.5 * self.threshold ** 2)
        self.total.assign_add(tf.reduce_sum(loss))
        self.count.assign_add(tf.cast(tf.size(error), tf.float32))

    def result(self):
        return self.total / self.count

    def get_config(self):
        return {**super().get_config(), "threshold": self.threshold}


class ScaledMean(cmm.Metric):
    """Keras 3 style ``add_weight(shape=..., name=...)``, automatic get_config, resets via reset_states."""

    def __init__(self, scale, name="scaled_mean"):
        super().__init__(name=name)
        self.scale = scale
        self.sums = self.add_weight(shape=(2,), initializer="zeros", name="sums")
        self.reset_calls = 0

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_pred = tf.reshape(tf.cast(y_pred, tf.float32), [-1])
        self.sums.assign_add(tf.stack([self.scale * tf.reduce_sum(y_pred), tf.cast(tf.size(y_pred), tf.float32)]))

    def result(self):
        return self.sums[0] / self.sums[1]

    def reset_states(self):  # Keras 2 name only
        self.reset_calls += 1
        self.sums.assign(tf.zeros((2,)))


class OnlyResetState(cmm.Metric):
    def __init__(self, name="only_reset_state"):
        super().__init__(name=name)
        self.value = self.add_weight(name="v")
        self.reset_calls = 0

    def update_state(self, y_true, y_pred, sample_weight=None):
        self.value.assign_add(1.0)

    def result(self):
        return tf.identity(self.value)

    def reset_state(self):  # Keras 3 name only
        self.reset_calls += 1
        self.value.assign(0.0)


@pytest.mark.parametrize("cls", [ScaledMean, OnlyResetState])
def test_both_reset_names_reach_the_override(cls):
    metric = cls(2.0) if cls is ScaledMean else cls()
    for reset in ("reset_state", "reset_states"):
        metric.update_state(None, np.ones(3, "float32"))
        assert float(metric.result()) != 0
        getattr(metric, reset)()
        assert np.all(value(tf.convert_to_tensor(metric.variables[0])) == 0)
    assert metric.reset_calls == 2


def test_add_weight_call_forms():
    metric = ScaledMean(3.0)
    assert tuple(metric.sums.shape) == (2,)
    huber = HuberMetric(2.0)
    assert tuple(huber.total.shape) == ()
    metric.update_state(None, np.array([1.0, 2.0], "float32"))
    assert float(metric.result()) == pytest.approx(4.5)


class PositionalWeights(cmm.Metric):
    """Every positional argument of Keras 2's and Keras 3's ``Metric.add_weight``."""

    def __init__(self, name="positional_weights"):
        super().__init__(name=name)
        self.k2 = self.add_weight("k2", (2,), tf.VariableAggregation.SUM, tf.VariableSynchronization.ON_READ,
                                  "ones", "float32")
        self.k3 = self.add_weight((3,), "ones", "float32", "k3")

    def update_state(self, y_true, y_pred, sample_weight=None):
        pass

    def result(self):
        return tf.reduce_sum(self.k2) + tf.reduce_sum(self.k3)


def test_add_weight_positional_orders_of_both_kerases():
    metric = PositionalWeights()
    assert tuple(metric.k2.shape) == (2,) and tuple(metric.k3.shape) == (3,)
    assert sorted(v.name.split("/")[-1].split(":")[0] for v in metric.variables) == ["k2", "k3"]
    assert float(metric.result()) == 5.0


def test_config_roundtrip_without_custom_objects():
    for metric in (ScaledMean(3.0, name="s"), HuberMetric(2.0, name="h"),
                   cmm.FBetaScore(3, beta=0.5, average="macro", zero_division=1.0, class_names=["a", "b", "c"])):
        config = keras.metrics.serialize(metric)
        restored = keras.metrics.deserialize(json.loads(json.dumps(config)))
        assert type(restored) is type(metric)
        assert restored.get_config() == metric.get_config()


def test_keras_builtin_precision_is_not_shadowed():
    builtin = keras.metrics.Precision(thresholds=0.3, name="p")
    restored = keras.metrics.deserialize(keras.metrics.serialize(builtin))
    assert not isinstance(restored, cmm.Precision)


# -- Keras fit / evaluate -------------------------------------------------------------------------
@pytest.mark.parametrize("class_names", [None, ["cat", "dog", "owl"]])
def test_fit_puts_per_class_values_in_history(class_names):
    sc.check_fit_puts_per_class_values_in_history(class_names, value)


def test_compile_logs_vector_metrics_per_class_for_callbacks(tmp_path):
    sc.check_compile_logs_vector_metrics_per_class(str(tmp_path), value)


def test_vector_metric_in_plain_compile_warns_once_naming_the_fix():
    keras.backend.clear_session()
    x, y = sc.class_data(22, 32)
    model = sc.small_model()
    with pytest.warns(UserWarning, match="compat_metrics.compile") as record:  # TF 2.0/2.1: at compile
        model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=[cmm.F1Score(3, name="vec")])
        model.fit(x, y, batch_size=16, epochs=2, validation_data=(x, y), verbose=0)
    assert sum("'vec'" in str(w.message) for w in record) == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        standalone = cmm.F1Score(3)
        standalone.update_state(y, model.predict(x, verbose=0))
        assert value(standalone.result()).shape == (3,)


def _checkpoint(metric):
    """A ``tf.train.Checkpoint`` of the metric (Keras 3 metrics are not TF trackables: of its variables)."""
    if runtime.KERAS_FLAVOUR == "keras3":
        return tf.train.Checkpoint(state=list(metric.variables))
    return tf.train.Checkpoint(metric=metric)


def test_state_is_visible_copyable_and_restores_mid_stream(tmp_path):
    ids, probs = sc.make_data(23, 60, 3)
    cm = cmm.ConfusionMatrix(3)
    f1, recall = cmm.F1Score(3, confusion_matrix=cm), cmm.Recall(3, average="macro", confusion_matrix=cm)
    for metric in (f1, recall):
        metric.update_state(ids[:20], probs[:20])
    assert any(v.shape == (3, 3) for v in f1.variables)
    copy = cmm.F1Score(3)
    for target, source in zip(copy.variables, f1.variables):
        target.assign(source)
    np.testing.assert_allclose(value(copy.result()), sc.sklearn_score("f1", ids[:20], probs[:20].argmax(1), 3, None),
                               rtol=1e-5)
    if hasattr(f1, "get_weights"):
        other = cmm.F1Score(3)
        other.set_weights(f1.get_weights())
        np.testing.assert_allclose(value(other.result()), value(f1.result()))
    path = _checkpoint(f1).save(str(tmp_path / "mid"))
    restored = cmm.F1Score(3)
    _checkpoint(restored).restore(path)
    for metric in (f1, recall, restored):
        metric.update_state(ids[20:], probs[20:])
    expected = sc.sklearn_score("f1", ids, probs.argmax(1), 3, None)
    np.testing.assert_allclose(value(restored.result()), expected, rtol=1e-5)
    np.testing.assert_allclose(value(f1.result()), expected, rtol=1e-5)
    np.testing.assert_allclose(value(recall.result()), sc.sklearn_score("recall", ids, probs.argmax(1), 3, "macro"),
                               rtol=1e-5)


@pytest.mark.parametrize("run_tf_function", [None, False])
def test_evaluate_with_sample_weights_and_one_hot_labels(run_tf_function):
    if run_tf_function is False and not caps.HONOURS_RUN_TF_FUNCTION:
        pytest.skip("experimental_run_tf_function is Keras 2's (TF 2.0-2.15)")
    kwargs = {} if run_tf_function is None else {"experimental_run_tf_function": run_tf_function}
    sc.check_evaluate_weights_only_weighted_metrics(kwargs)


def test_compiled_score_keeps_counting_when_updated_by_hand():
    sc.check_compiled_score_keeps_counting_by_hand(lambda value: np.asarray(value))


@pytest.mark.parametrize("compile_with", ["compat_metrics", "keras"])  # load_model gives per-class logs either way
def test_saved_model_loads_metric_arguments_without_custom_objects(tmp_path, compile_with):
    keras.backend.clear_session()
    x, y = sc.class_data(14, 30)
    model = sc.small_model(seed=2)
    compile_fn = compat_metrics.compile if compile_with == "compat_metrics" else type(model).compile
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a vector metric in Keras's compile warns
        compile_fn(model, optimizer="sgd", loss="sparse_categorical_crossentropy",
                   metrics=[HuberMetric(threshold=0.2, name="huber"), cmm.F1Score(3, average="macro", name="f1m"),
                            cmm.Recall(3, name="rec")])
        model.evaluate(x, y, verbose=0)
    suffix = caps.SAVE_SUFFIX
    path = str(tmp_path / ("model" + suffix))
    model.save(path)
    loaded = compat_metrics.load_model(path)
    results = scenarios.evaluate_dict(loaded, x, y, batch_size=30)
    probs = loaded.predict(x, batch_size=64)
    np.testing.assert_allclose(results["f1m"], sc.sklearn_score("f1", y, probs.argmax(1), 3, "macro"), rtol=1e-5)
    np.testing.assert_allclose(results["huber"], sc.huber(y.reshape(-1, 1), probs, 0.2).mean(), rtol=1e-5)
    np.testing.assert_allclose([results[f"rec_{i}"] for i in range(3)],
                               sc.sklearn_score("recall", y, probs.argmax(1), 3, None), rtol=1e-5, atol=1e-6)
    from compat_metrics._backend import impl
    scores = [m for m in impl.compiled_metric_objects(loaded) if isinstance(m, cmm.Recall) or isinstance(m, cmm.F1Score)]
    assert len(scores) == 4 and len({id(m.confusion_matrix) for m in scores}) == 1  # one matrix again


# -- streaming() needs a TF1 graph ----------------------------------------------------------------
def test_streaming_in_eager_mode_says_what_to_do():
    with pytest.raises(RuntimeError, match="update_state"):
        cmm.streaming(cmm.F1Score(3), [0], [[1.0, 0.0, 0.0]])


# -- plots ----------------------------------------------------------------------------------------
def test_plots_are_written_and_open(tmp_path):
    pytest.importorskip("matplotlib", reason="matplotlib is the optional 'plot' extra")
    import matplotlib.image

    from compat_metrics import plot
    history = {"f1_cat": [0.2, 0.5, 0.6], "val_f1_cat": [0.1, 0.4, 0.5], "f1_dog": [0.3, 0.4, 0.8],
               "val_f1_dog": [0.3, 0.3, 0.7], "loss": [1.0, 0.8, 0.7]}
    curves = plot.plot_per_class(history, "f1", str(tmp_path / "f1.png"))
    cm = cmm.ConfusionMatrix(2, class_names=["cat", "dog"])
    cm.update_state([0, 1, 1, 0], [[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7]])
    heatmap = plot.plot_confusion_matrix(cm, str(tmp_path / "cm.png"))
    for path in (curves, heatmap):
        image = matplotlib.image.imread(path)
        assert image.ndim == 3 and image.shape[0] > 100 and image.std() > 0
    assert set(plot.per_class_keys(history, "f1")) == {"cat", "dog"}
    with pytest.raises(ValueError, match="per_class_metrics"):
        plot.plot_per_class(history, "recall", str(tmp_path / "r.png"))


# -- MirroredStrategy, two logical CPUs (configured before TF starts, in a subprocess) -----------
MIRRORED_SCRIPT = r"""
import json, sys
import numpy as np
import tensorflow as tf
# the experimental names exist from TF 2.0 on (the stable ones from 2.1)
cpu = tf.config.experimental.list_physical_devices("CPU")[0]
tf.config.experimental.set_virtual_device_configuration(cpu, [tf.config.experimental.VirtualDeviceConfiguration()] * 2)
import compat_metrics
from compat_metrics import metrics as cmm
keras = compat_metrics.keras
rng = np.random.RandomState(0)
x = rng.randn(61, 4).astype("float32"); y = rng.randint(0, 3, size=61)
w = rng.uniform(0.1, 2.0, size=61).astype("float32")
WEIGHTED = sys.argv[1] == "1"  # TF 2.0's Keras refuses weighted_metrics under a strategy: unweighted there
if not WEIGHTED:
    w = np.ones_like(w)
kernel = rng.randn(4, 3).astype("float32")
out = {}
for label, strategy in (("one", tf.distribute.get_strategy()),
                        ("two", tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"]))):
    with strategy.scope():
        model = keras.Sequential([keras.layers.Dense(3, activation="softmax", input_shape=(4,))])
        model.set_weights([kernel, np.zeros(3, "float32")])
        f1 = cmm.F1Score(3, name="f1")
        metrics = f1.per_class_metrics() + [cmm.Precision(3, average="macro", name="mp",
                                                          confusion_matrix=f1.confusion_matrix)]
        compat_metrics.compile(model, optimizer="sgd", loss="sparse_categorical_crossentropy",
                               **{"weighted_metrics" if WEIGHTED else "metrics": metrics})
    try:
        res = model.evaluate(x, y, sample_weight=w, batch_size=16, verbose=0, return_dict=True)
    except TypeError:  # TF <= 2.1
        res = dict(zip(model.metrics_names, np.atleast_1d(model.evaluate(x, y, sample_weight=w, batch_size=16,
                                                                         verbose=0))))
    out[label] = {key: float(v) for key, v in res.items()}
    out[label]["replicas"] = strategy.num_replicas_in_sync
out["predicted"] = (x @ kernel).argmax(1).tolist()  # NumPy: the untrained Dense layer (zero bias, softmax)
out["y"] = y.tolist(); out["w"] = w.tolist()
print("RESULT" + json.dumps(out))
"""


def test_mirrored_strategy_two_cpus_matches_one_device_and_sklearn():
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""),
               TF_CPP_MIN_LOG_LEVEL="2")
    proc = subprocess.run([sys.executable, "-c", MIRRORED_SCRIPT, str(int(caps.WEIGHTED_METRICS_DISTRIBUTED))],
                          env=env, capture_output=True,
                          text=True, timeout=300)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT")]
    if capability_marks.refuses_distributed_metrics(proc.stderr):
        assert proc.returncode != 0
        return
    assert proc.returncode == 0 and lines, proc.stderr[-3000:]
    out = json.loads(lines[-1][len("RESULT"):])
    assert out["two"]["replicas"] == 2
    y, predicted, w = np.array(out["y"]), np.array(out["predicted"]), np.array(out["w"])
    expected_f1 = sc.sklearn_score("f1", y, predicted, 3, None, sample_weight=w)
    expected_mp = sc.sklearn_score("precision", y, predicted, 3, "macro", sample_weight=w)
    for label in ("one", "two"):
        got = [out[label][f"f1_{i}"] for i in range(3)]
        np.testing.assert_allclose(got, expected_f1, rtol=1e-5, atol=1e-6, err_msg=label)
        np.testing.assert_allclose(out[label]["mp"], expected_mp, rtol=1e-5, err_msg=label)


@pytest.mark.parametrize("form", sc.MULTI_OUTPUT_FORMS)
def test_multi_output_metrics_equal_sklearn_per_output(form, tmp_path):
    model, x, ys, expected = sc.check_multi_output_metrics(form)
    for suffix in saving.save_formats():  # the loaded model gives each output the same metrics
        path = str(tmp_path / ("two" + suffix))
        model.save(path) if suffix else model.save(path, save_format="tf")
        if suffix == "" and form != "list":  # Keras 2 SavedModel, per-class views sharing one matrix per output
            loaded = _load_saved_model_of_shared_matrices(path)
        else:  # h5, .keras, and Keras 2's copies of a list's metrics for each output (a matrix each)
            loaded = compat_metrics.load_model(path)
        results = scenarios.evaluate_dict(loaded, x, ys, batch_size=8)
        got = {name: value for name, value in results.items() if not name.endswith("loss")}
        # TF 2.2-2.5 save a multi-output model's metric names with their output's prefix, and prefix them
        # again on load ("a_a_acc"): the library's metrics are named as Keras's own.
        named = {name[:2] + name if "a_a_acc" in got else name: value for name, value in expected.items()}
        assert sorted(got) == sorted(named), (suffix, sorted(got))  # a_p -> a_a_p where Keras does that
        np.testing.assert_allclose([got[k] for k in sorted(named)], [named[k] for k in sorted(named)],
                                   rtol=1e-5, atol=1e-6, err_msg=suffix)


def _load_saved_model_of_shared_matrices(path):
    """Keras 2 cannot revive metrics sharing a matrix from a SavedModel: a clear error, then its fix."""
    with pytest.raises(ValueError) as error:
        compat_metrics.load_model(path)
    first_line = str(error.value).splitlines()[0]
    assert first_line.startswith("Invalid SavedModel") and "share a ConfusionMatrix" in first_line, first_line
    if caps.LOAD_ALLOWS_PARTIAL_CHECKPOINT:
        assert "allow_partial_checkpoint=True" in first_line
        return compat_metrics.load_model(path, options=tf.saved_model.LoadOptions(allow_partial_checkpoint=True))
    assert "model.load_weights(path + '/variables/variables')" in first_line
    model = sc.two_output_model(seed=99)
    model.load_weights(path + "/variables/variables")
    metrics = {output: [cmm.F1Score(3, name="f1"), cmm.Precision(3, average="macro", name="p"),
                        keras.metrics.SparseCategoricalAccuracy(name="acc")] for output in ("a", "b")}
    return compat_metrics.compile(model, optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=metrics)


class TwoHeads(compat_metrics.keras.Model):
    """A subclassed two-output model: its outputs are unknown until its first call."""

    def __init__(self):
        super().__init__()
        self.a = compat_metrics.keras.layers.Dense(3, activation="softmax")
        self.b = compat_metrics.keras.layers.Dense(3, activation="softmax")

    def call(self, inputs):
        return [self.a(inputs), self.b(inputs)]


def test_a_matrix_read_by_two_outputs_is_refused_or_right():
    """Keras 3 gives entry i of a list to output i: metrics reading one matrix there would mix outputs."""
    x, ys = sc.two_output_data()
    loss = "sparse_categorical_crossentropy"

    def sharing():
        shared = cmm.ConfusionMatrix(3)
        return [cmm.F1Score(3, average="macro", name="f1", confusion_matrix=shared),
                cmm.Precision(3, average="macro", name="p", confusion_matrix=shared)]

    if not caps.METRICS_LIST_PER_OUTPUT:  # Keras 2: every metric on every output, right values
        model = sc.two_output_model()
        compat_metrics.compile(model, optimizer="sgd", loss=loss, metrics=sharing())
        expected = sc.two_output_expected(model, x, ys)
        results = scenarios.evaluate_dict(model, x, ys, batch_size=8)
        for output, y in zip(("a", "b"), ys):
            ids = model.predict(x)[("a", "b").index(output)].argmax(1)
            np.testing.assert_allclose(results[f"{output}_p"], expected[f"{output}_p"], rtol=1e-5)
            np.testing.assert_allclose(results[f"{output}_f1"], sc.sklearn_score("f1", y, ids, 3, "macro"), rtol=1e-5)
        model = TwoHeads()  # outputs unknown at compile: per-class views on each output
        compat_metrics.compile(model, optimizer="sgd", loss=loss, metrics=[cmm.F1Score(3, name="f1")])
        results = scenarios.evaluate_dict(model, x, ys, batch_size=8)
        names = sorted({key.rsplit("_f1_", 1)[0] for key in results if "_f1_" in key})  # output_1, output_2
        assert len(names) == 2, sorted(results)
        for name, y, scores in zip(names, ys, model.predict(x)):
            got = [results[f"{name}_f1_{i}"] for i in range(3)]
            np.testing.assert_allclose(got, sc.sklearn_score("f1", y, scores.argmax(1), 3, None), rtol=1e-5, atol=1e-6)
        return
    with pytest.raises(ValueError, match=r"^Invalid `metrics`: 'f1' \(in metrics\[0\]\) and 'p' \(in metrics\[1\]\)"):
        compat_metrics.compile(sc.two_output_model(), optimizer="sgd", loss=loss, metrics=sharing())
    with pytest.raises(ValueError, match=r"^Invalid `metrics` for a model with 2 outputs: .*\{'a': \[...\], 'b'"):
        compat_metrics.compile(sc.two_output_model(), optimizer="sgd", loss=loss, metrics=[cmm.F1Score(3)])
    model = TwoHeads()  # outputs unknown at compile: refused at the first step
    compat_metrics.compile(model, optimizer="sgd", loss=loss, metrics=sharing())
    with pytest.raises(ValueError, match=r"^Invalid `metrics`: 'f1' \(in metrics\[0\]\) and 'p' \(in metrics\[1\]\)"):
        model.fit(x, ys, batch_size=16, verbose=0)
