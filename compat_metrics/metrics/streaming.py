"""``(value, update_op)`` pairs for TF1 graphs: raw sessions and Estimators."""

import tensorflow as tf

from .. import runtime

__all__ = ["streaming"]


def streaming(metric, y_true, y_pred, sample_weight=None):
    """Wrap a Keras metric in the contract of ``tf.compat.v1.metrics.*``.

    The metric's state variables are moved to the ``LOCAL_VARIABLES`` and
    ``METRIC_VARIABLES`` collections, so ``tf.compat.v1.local_variables_initializer()``
    resets them and savers leave them out, as with ``tf.compat.v1.metrics``.
    Use the pair in a raw ``tf.compat.v1.Session`` loop or as a value of an
    Estimator's ``eval_metric_ops``.

    Only TF1-style graph mode has sessions: TF 1.15, or Keras 2 / ``tf_keras``
    with eager execution disabled. Eagerly, call ``metric.update_state`` and
    ``metric.result`` instead.

    Args:
        metric: a metric built in the current graph (e.g. ``F1Score(3)``, any
            ``compat_metrics`` metric or Keras metric).
        y_true: labels tensor.
        y_pred: predictions tensor.
        sample_weight: optional weights tensor.

    Returns:
        ``(value, update_op)``: ``value`` reads the current result;
        ``update_op`` adds the batch and returns the updated result.

    Raises:
        RuntimeError: called eagerly.
        GraphModeNotSupportedError: graph mode on Keras 3.
        ValueError: the metric's variables belong to another graph.

    Example:
        >>> f1, f1_update = streaming(F1Score(3, average="macro"), labels, logits)
        >>> sess.run(tf.compat.v1.local_variables_initializer())
        >>> for _ in range(batches): sess.run(f1_update)
        >>> sess.run(f1)
    """
    runtime.check_graph_mode_supported("compat_metrics.streaming")
    if tf.executing_eagerly():
        raise RuntimeError(
            "compat_metrics.streaming() builds (value, update_op) for a TF1 graph and session; eager "
            "execution is on. Call metric.update_state(y_true, y_pred) and metric.result() instead.")
    graph = tf.compat.v1.get_default_graph()
    variables = metric._state_variables() if hasattr(metric, "_state_variables") else list(metric.variables)
    global_vars = graph.get_collection_ref(tf.compat.v1.GraphKeys.GLOBAL_VARIABLES)
    local_vars = graph.get_collection(tf.compat.v1.GraphKeys.LOCAL_VARIABLES)
    metric_vars = graph.get_collection(tf.compat.v1.GraphKeys.METRIC_VARIABLES)
    for variable in variables:
        if getattr(variable, "graph", graph) is not graph:
            raise ValueError(f"metric {metric.name!r} was built in another graph: create it inside the graph (for "
                             "an Estimator, inside model_fn) before calling streaming()")
        if variable in global_vars:
            global_vars.remove(variable)
        if variable not in local_vars:
            graph.add_to_collection(tf.compat.v1.GraphKeys.LOCAL_VARIABLES, variable)
        if variable not in metric_vars:
            graph.add_to_collection(tf.compat.v1.GraphKeys.METRIC_VARIABLES, variable)
    if sample_weight is None:
        update_op = metric(y_true, y_pred)
    else:
        update_op = metric(y_true, y_pred, sample_weight=sample_weight)
    with tf.control_dependencies(None):
        value = metric.result()
    return value, update_op
