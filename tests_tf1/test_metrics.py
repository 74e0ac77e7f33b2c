"""compat_metrics.metrics in TF 1.15 graph mode: Keras compile/fit, streaming() in a Session and an Estimator.

Expected values come from scikit-learn via tests/metric_scenarios.py.
"""

import os
import sys

import numpy as np
import pytest
import tensorflow as tf

import compat_metrics
from compat_metrics import metrics as cmm

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests"))
import metric_scenarios as sc  # noqa: E402

keras = compat_metrics.keras


@pytest.fixture
def graph_session():
    graph = tf.Graph()
    with graph.as_default(), tf.compat.v1.Session(graph=graph) as session:
        yield session


@pytest.mark.parametrize("method", ["fit", "evaluate"])
def test_fit_reports_the_library_check_first(method):
    sc.check_fit_reports_the_library_check_first(method)


@pytest.mark.parametrize("class_names", [None, ["cat", "dog", "owl"]])
def test_keras_fit_puts_per_class_values_in_history(class_names):
    # read in the session Keras uses after the scenario's clear_session()
    sc.check_fit_puts_per_class_values_in_history(
        class_names, lambda tensor: tf.compat.v1.keras.backend.get_session().run(tensor))


def test_compile_logs_vector_metrics_per_class_for_callbacks(tmp_path):
    sc.check_compile_logs_vector_metrics_per_class(
        str(tmp_path), lambda tensor: tf.compat.v1.keras.backend.get_session().run(tensor))


def test_evaluate_weights_only_weighted_metrics():
    sc.check_evaluate_weights_only_weighted_metrics()


@pytest.mark.parametrize("average", sc.AVERAGES)
def test_streaming_in_raw_session_matches_sklearn_and_resets(graph_session, average):
    ids, probs = sc.make_data(1, 53, 4)
    weights = np.random.RandomState(2).uniform(0.1, 2.0, size=53).astype("float32")
    labels = tf.compat.v1.placeholder(tf.int64, [None])
    scores = tf.compat.v1.placeholder(tf.float32, [None, 4])
    sample_weight = tf.compat.v1.placeholder(tf.float32, [None])
    cm = cmm.ConfusionMatrix(4)
    pairs = {name: cmm.streaming(make, labels, scores, sample_weight)
             for name, make in [("f1", lambda: cmm.F1Score(4, average=average, confusion_matrix=cm)),
                                ("recall", lambda: cmm.Recall(4, average=average, confusion_matrix=cm)),
                                ("f2", lambda: cmm.FBetaScore(4, beta=2.0, average=average))]
             for make in [make()]}
    assert not tf.compat.v1.global_variables()
    graph_session.run(tf.compat.v1.local_variables_initializer())
    for _ in range(2):  # the second pass checks that local_variables_initializer resets the state
        for start, stop in sc.split_points(53, [7, 30]):
            feed = {labels: ids[start:stop], scores: probs[start:stop], sample_weight: weights[start:stop]}
            graph_session.run([update for _, update in pairs.values()], feed)
        predicted = probs.argmax(1)
        for name, (value, _) in pairs.items():
            np.testing.assert_allclose(graph_session.run(value),
                                       sc.sklearn_score(name, ids, predicted, 4, average, sample_weight=weights),
                                       rtol=1e-5, atol=1e-6, err_msg=name)
        assert graph_session.run(cm.batches_added()) == 3
        graph_session.run(tf.compat.v1.local_variables_initializer())


def test_streaming_in_estimator_eval_metric_ops(tmp_path):
    ids, probs = sc.make_data(3, 41, 3)
    features = np.random.RandomState(4).randn(41, 3).astype("float32")
    kernel = np.random.RandomState(5).randn(3, 3).astype("float32")

    def model_fn(features, labels, mode):
        logits = tf.matmul(features["x"], tf.constant(kernel))
        step = tf.compat.v1.train.get_or_create_global_step()
        loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits))
        f1 = cmm.F1Score(3, name="f1")
        ops = {f"f1_{i}": cmm.streaming(m, labels, logits) for i, m in enumerate(f1.per_class_metrics())}
        ops["macro_f1"] = cmm.streaming(cmm.F1Score(3, average="macro"), labels, logits)
        return tf.estimator.EstimatorSpec(mode, loss=loss, eval_metric_ops=ops,
                                          train_op=tf.compat.v1.assign_add(step, 1))

    estimator = tf.estimator.Estimator(model_fn, model_dir=str(tmp_path))
    input_fn = tf.compat.v1.estimator.inputs.numpy_input_fn({"x": features}, ids.astype("int32"), batch_size=8,
                                                            shuffle=False, num_epochs=1)
    estimator.train(input_fn, steps=1)
    results = estimator.evaluate(input_fn)
    predicted = features.dot(kernel).argmax(1)
    expected = sc.sklearn_score("f1", ids, predicted, 3, None)
    np.testing.assert_allclose([results[f"f1_{i}"] for i in range(3)], expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(results["macro_f1"], sc.sklearn_score("f1", ids, predicted, 3, "macro"), rtol=1e-5)


@pytest.mark.parametrize("y_bad,p_bad,message", [
    (np.array([0, 3, 1]), np.eye(3, dtype="float32"), "outside"),
    (np.array([0.0, 1.5, 2.0]), np.eye(3, dtype="float32"), "fractional"),
    (np.array([0, 1, 2]), np.array([[1, 0, 0], [np.nan, 0, 1], [0, 0, 1]], "float32"), "NaN"),
    (np.array([0, 1]), np.eye(3, dtype="float32"), "different numbers of samples"),
])
def test_bad_input_fails_when_run_and_keeps_state(graph_session, y_bad, p_bad, message):
    labels = tf.compat.v1.placeholder(tf.float32, [None])
    scores = tf.compat.v1.placeholder(tf.float32, [None, 3])
    value, update = cmm.streaming(cmm.Recall(3, average="macro"), labels, scores)
    graph_session.run(tf.compat.v1.local_variables_initializer())
    ids, probs = sc.make_data(6, 9, 3)
    graph_session.run(update, {labels: ids, scores: probs})
    before = graph_session.run(value)
    with pytest.raises(tf.errors.InvalidArgumentError, match=message):
        graph_session.run(update, {labels: y_bad, scores: p_bad})
    assert graph_session.run(value) == before
    np.testing.assert_allclose(before, sc.sklearn_score("recall", ids, probs.argmax(1), 3, "macro"), rtol=1e-5)


def test_reset_states_is_what_tf1_keras_calls(graph_session):
    tf.compat.v1.keras.backend.set_session(graph_session)
    metric = cmm.CategoricalTruePositives()
    update = metric.update_state(tf.constant([0, 1]), tf.constant([[0.9, 0.1], [0.8, 0.2]]))
    graph_session.run(tf.compat.v1.variables_initializer(metric.variables))
    graph_session.run(update)
    assert graph_session.run(metric.result()) == 1.0
    metric.reset_states()
    assert graph_session.run(metric.result()) == 0.0


def test_confusion_matrix_plot_reads_the_keras_session(tmp_path, graph_session):
    pytest.importorskip("matplotlib", reason="matplotlib is the optional 'plot' extra")
    import matplotlib.image

    from compat_metrics import plot
    tf.compat.v1.keras.backend.set_session(graph_session)
    cm = cmm.ConfusionMatrix(2, class_names=["cat", "dog"])
    update = cm.update_state(tf.constant([0, 1, 1, 0]), tf.constant([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7]]))
    graph_session.run(tf.compat.v1.variables_initializer(cm.variables))
    graph_session.run(update)
    path = plot.plot_confusion_matrix(cm, str(tmp_path / "cm.png"))
    image = matplotlib.image.imread(path)
    assert image.ndim == 3 and image.shape[0] > 100 and image.std() > 0


@pytest.mark.parametrize("form", sc.MULTI_OUTPUT_FORMS)
def test_multi_output_metrics_equal_sklearn_per_output(form):
    sc.check_multi_output_metrics(form)
