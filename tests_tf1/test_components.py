"""Loss-component extraction in TF1 graph mode (TF 1.15, and TF 2.x with v2 disabled)."""

import numpy as np
import pytest
import saving
import scenarios
import tensorflow as tf

import compat_metrics

keras = compat_metrics.keras
v1 = tf.compat.v1

pytestmark = pytest.mark.graph_mode_only


class SeedLowCostMetric(keras.metrics.Metric):
    """The pre-library pattern: a metric that reads a variable the loss assigned."""

    def __init__(self, variable, name="low_cost_ce"):
        super().__init__(name=name)
        self.ce = variable

    def update_state(self, y_true, y_pred, sample_weight=None):
        return None

    def result(self):
        return self.ce.read_value()


def test_seed_plain_assign_reads_zero_where_the_library_reads_the_value():
    # The pre-library pattern: the assignment's result is discarded, so in graph
    # mode nothing fetches it and the metric reads the initial 0.
    seed_variable = v1.get_variable("seed_ce", (), tf.float32, v1.zeros_initializer(), use_resource=True)

    class SeedLoss(keras.losses.Loss):
        def call(self, y_true, y_pred):
            ce = tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=y_true, logits=y_pred))
            seed_variable.assign(ce)
            return ce

    tracker = compat_metrics.ComponentTracker(("ce",), name="library")

    def library_loss(y_true, y_pred):
        ce = tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=y_true, logits=y_pred))
        return tracker.track("ce", ce)

    session = v1.keras.backend.get_session()
    session.run(seed_variable.initializer)
    x, y = scenarios.data()
    results = {}
    for name, loss, metric in (("seed", SeedLoss(), SeedLowCostMetric(seed_variable)),
                               ("library", library_loss, tracker.metric("ce", reduction="last", name="low_cost_ce"))):
        model = scenarios.dense_model()
        model.compile(optimizer="sgd", loss=loss, metrics=[metric])
        model.fit(x, y, batch_size=len(x), epochs=1, verbose=0)
        results[name] = scenarios.evaluate_dict(model, x, y, batch_size=len(x))
        expected = scenarios.np_sigmoid_ce(y, model.predict(x))
        np.testing.assert_allclose(results[name]["loss"], expected, rtol=1e-5)
    assert v1.keras.backend.get_session() is session
    assert results["seed"]["low_cost_ce"] == 0.0
    np.testing.assert_allclose(results["library"]["low_cost_ce"], results["library"]["loss"], rtol=1e-6)


def test_read_built_before_write_still_sees_this_runs_value():
    # TF1 Keras builds metrics before the loss; a raw graph can do the same.
    tracker = compat_metrics.ComponentTracker(("total",), name="order")
    values = v1.placeholder(tf.float32, (None,))
    read = tracker.read("total")
    loss = tracker.track("total", tf.reduce_sum(values))
    with v1.Session() as session:
        session.run(v1.global_variables_initializer())
        rng = np.random.RandomState(0)
        for _ in range(25):
            feed = rng.normal(size=7).astype("float32")
            got_read, got_loss = session.run([read, loss], {values: feed})
            np.testing.assert_allclose(got_read, feed.sum(), rtol=1e-6)
            np.testing.assert_allclose(got_loss, feed.sum(), rtol=1e-6)


def test_raw_training_loop_runs_assignments_through_update_ops():
    # sess.run(train_op) alone need not run the assignment (tensorflow#9179).
    loss_obj = scenarios.SeedLoss()
    x, y = scenarios.data()
    features = v1.placeholder(tf.float32, (None, scenarios.N_FEATURES))
    labels = v1.placeholder(tf.float32, (None, scenarios.N_OUTPUTS))
    logits = v1.layers.dense(features, scenarios.N_OUTPUTS)
    loss = loss_obj(labels, logits)
    with tf.control_dependencies(v1.get_collection(v1.GraphKeys.UPDATE_OPS)):
        train_op = v1.train.GradientDescentOptimizer(0.1).minimize(loss)
    assert set(loss_obj.update_ops()) <= set(v1.get_collection(v1.GraphKeys.UPDATE_OPS))
    with v1.Session() as session:
        session.run(v1.global_variables_initializer())
        before = session.run(logits, {features: x})
        session.run(train_op, {features: x, labels: y})
        ce, reg = session.run([loss_obj.variable("ce"), loss_obj.variable("reg")])
    np.testing.assert_allclose(ce, scenarios.np_sigmoid_ce(y, before), rtol=1e-5)
    np.testing.assert_allclose(reg, scenarios.np_reg(before), rtol=1e-5)


def test_one_loss_instance_for_a_training_and_an_evaluation_head_is_refused():
    """The TF1 two-head pattern: one instance's variable held the last-built head's value (eval ce 3.5 read
    after a training step whose ce is 14.0); one instance per head tracks each head's own value."""
    x, y = scenarios.data()
    features = v1.placeholder(tf.float32, (None, scenarios.N_FEATURES))
    labels = v1.placeholder(tf.float32, (None, scenarios.N_OUTPUTS))
    dense = v1.layers.Dense(scenarios.N_OUTPUTS)
    train_logits, eval_logits = dense(2.0 * features), dense(features)  # e.g. dropout in the training head
    shared = scenarios.SeedLoss()
    shared(labels, train_logits)
    with pytest.raises(ValueError, match="^Invalid use of 'SeedLoss': component 'ce' is built a second time"):
        shared(labels, eval_logits)
    train_part, eval_part = scenarios.SeedLoss(name="train_loss"), scenarios.SeedLoss(name="eval_loss")
    train_loss, eval_loss = train_part(labels, train_logits), eval_part(labels, eval_logits)
    step = tf.group(v1.train.GradientDescentOptimizer(0.0).minimize(train_loss), *train_part.update_ops())
    with v1.Session() as session:
        session.run(v1.global_variables_initializer())
        before = session.run(train_logits, {features: x})
        session.run(step, {features: x, labels: y})
        session.run(eval_loss, {features: x, labels: y})
        ce, eval_ce = session.run([train_part.variable("ce"), eval_part.variable("ce")])
        evaluated = session.run(eval_logits, {features: x})
    np.testing.assert_allclose(ce, scenarios.np_sigmoid_ce(y, before), rtol=1e-5)
    np.testing.assert_allclose(eval_ce, scenarios.np_sigmoid_ce(y, evaluated), rtol=1e-5)


def test_keras_fit_and_evaluate_match_numpy():
    model, _ = scenarios.compiled_seed_model()
    x, y = scenarios.data()
    history = model.fit(x, y, batch_size=10, epochs=2, verbose=0)
    scenarios.check_history_components(history)
    scenarios.check_components_evaluate(model)


def test_loss_made_before_clear_session_is_read_by_metrics_made_before_it_runs():
    keras.backend.clear_session()
    loss = scenarios.SeedLoss()
    keras.backend.clear_session()  # a reset after the loss exists: its variables follow Keras's graph
    model = scenarios.dense_model()
    # the metrics exist before the loss first runs (compile builds them first)
    compat_metrics.compile(model, optimizer="sgd", loss=loss, metrics=[
        loss.metric("ce"), loss.metric("reg"), loss.metric("ce", reduction="last", name="ce_last")])
    scenarios.check_components_evaluate(model)
    assert loss.variable("ce").graph is v1.keras.backend.get_session().graph


@pytest.mark.parametrize("suffix", saving.save_formats())
def test_component_loss_model_saves_and_loads_without_custom_objects(tmp_path, suffix):
    saving.check_component_model_roundtrip(tmp_path, suffix)


def test_components_after_compiling_again():
    scenarios.check_components_after_compiling_again()
