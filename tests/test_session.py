"""``compat_metrics.Session`` / ``set_session``: what migrated TF1 scripts call on TF 2.x."""

import numpy as np
import pytest
import tensorflow as tf

import compat_metrics


@pytest.mark.eager_only
def test_eager_session_returns_values_and_runs_initialisers():
    sess = compat_metrics.Session(config=tf.compat.v1.ConfigProto())
    assert isinstance(sess, compat_metrics.EagerSession)
    compat_metrics.set_session(sess)  # no-op: eager Keras has no session
    variable = tf.Variable([1.0, 2.0])
    init = [tf.compat.v1.global_variables_initializer(), tf.compat.v1.local_variables_initializer()]
    assert sess.run(init) == [None, None]
    values = sess.run({"v": variable, "sum": tf.reduce_sum(variable) * 2.0, "n": 3})
    np.testing.assert_allclose(values["v"], [1.0, 2.0])
    assert values["sum"] == pytest.approx(6.0) and values["n"] == 3
    with pytest.raises(ValueError, match="feed_dict needs graph mode"):
        sess.run(variable, feed_dict={"x": 1})
    with sess as same:
        assert same is sess


def test_graph_mode_inside_a_graph_gives_a_real_session():
    graph = tf.Graph()
    with graph.as_default():
        sess = compat_metrics.Session(graph=graph)
        assert isinstance(sess, tf.compat.v1.Session)
        value = tf.constant(2.0) * 3.0
        assert sess.run(value) == pytest.approx(6.0)
        eager = compat_metrics.EagerSession()
        if compat_metrics.runtime.supports_graph_mode():
            with pytest.raises(TypeError, match="EagerSession made in eager mode"):
                compat_metrics.set_session(eager)
        sess.close()


@pytest.mark.eager_only
def test_session_on_an_explicit_graph_runs_that_graph_in_eager_mode():
    graph = tf.Graph()
    with graph.as_default():
        value = tf.constant(2.0) * 3.0
        operation = tf.no_op()
    sess = compat_metrics.Session(graph=graph)
    assert isinstance(sess, tf.compat.v1.Session)
    assert sess.run(value) == pytest.approx(6.0)
    sess.close()
    eager = compat_metrics.Session()
    for fetch in (value, operation):
        with pytest.raises(TypeError, match="belongs to a tf.Graph.*Session\\(graph="):
            eager.run(fetch)
