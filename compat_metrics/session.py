"""``Session`` and ``set_session`` that TF1 scripts can keep on TF 2.x.

TF 1.15 scripts create a ``tf.Session`` (often only to set
``gpu_options.allow_growth``), hand it to Keras with
``keras.backend.set_session`` and run initialisers with ``sess.run``. On TF 2.x
``tf.Session`` is gone (``tf.compat.v1.Session`` runs only graph ops, and
``run`` on an empty graph raises ``RuntimeError``), and Keras 3 has no
``set_session``. ``compat-metrics migrate`` rewrites those calls to these:

- In graph mode (TF 1.15, or TF 2.x with eager execution disabled) they are
  ``tf.compat.v1.Session`` and ``tf.compat.v1.keras.backend.set_session``.
- In eager mode (TF 2.x by default, Keras 3 always) ``Session`` returns an
  :class:`EagerSession` whose ``run`` returns the values of what it is given,
  and ``set_session`` does nothing: Keras does not use sessions there.
  ``Session(graph=g)`` is a ``tf.compat.v1.Session`` in every mode: it runs
  the ops built in ``g``.
"""

import tensorflow as tf

from . import runtime

__all__ = ["Session", "EagerSession", "set_session"]


class EagerSession:
    """Stands in for ``tf.compat.v1.Session`` when eager execution is on.

    ``run(fetches)`` returns the NumPy value of each eager tensor or variable
    in ``fetches`` (any nesting of lists, tuples and dicts); operations, which
    eager execution has already run, give ``None`` as ``tf.compat.v1``
    initialisers do. ``feed_dict`` is not supported: there is no graph to feed,
    and tensors or operations of a ``tf.Graph`` raise ``TypeError`` (run them
    in ``compat_metrics.Session(graph=that_graph)``).
    """

    def __init__(self, config=None):
        self.config = config

    def run(self, fetches, feed_dict=None, options=None, run_metadata=None):
        """Return the values of ``fetches``, which eager execution has computed."""
        if feed_dict:
            raise ValueError("compat_metrics.Session: feed_dict needs graph mode; in eager mode "
                             "call the model or function on the values instead.")

        def value(item):
            numpy = getattr(item, "numpy", None)
            if callable(numpy):
                return numpy()
            if isinstance(item, (tf.Tensor, tf.Operation)):
                raise TypeError(f"compat_metrics.Session: {item!r} belongs to a tf.Graph, which an eager "
                                "session cannot run; create the session with "
                                "compat_metrics.Session(graph=that_graph).")
            return item

        return tf.nest.map_structure(value, fetches)

    def close(self):
        """Nothing to release in eager mode."""

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()
        return False


def Session(target="", graph=None, config=None):  # noqa: N802 - mirrors tf.Session
    """A ``tf.compat.v1.Session`` in graph mode, an :class:`EagerSession` otherwise.

    Args:
        target: execution engine, as for ``tf.compat.v1.Session`` (graph mode only).
        graph: graph to run, as for ``tf.compat.v1.Session``; when given, the
            result is a ``tf.compat.v1.Session`` in eager mode too.
        config: a ``tf.compat.v1.ConfigProto``; in eager mode it is kept on the
            returned object but not applied (use ``tf.config`` for devices).

    Returns:
        A session whose ``run`` works in the current execution mode (on ``graph``, if given).

    Example:
        >>> sess = compat_metrics.Session(config=tf.compat.v1.ConfigProto())
        >>> compat_metrics.set_session(sess)
        >>> sess.run(tf.compat.v1.global_variables_initializer())
    """
    if graph is not None or runtime.in_graph_mode():
        return tf.compat.v1.Session(target=target, graph=graph, config=config)
    return EagerSession(config=config)


def set_session(session):
    """Make ``session`` Keras's session in graph mode; a no-op in eager mode.

    TF 1.15 and Keras 2 with eager execution disabled use
    ``tf.compat.v1.keras.backend.set_session``; eager Keras (TF 2.x, Keras 3,
    which has no ``set_session``) does not use a session.

    Raises:
        TypeError: an :class:`EagerSession` is given in graph mode.
    """
    if not runtime.in_graph_mode():
        return
    if isinstance(session, EagerSession):
        raise TypeError("compat_metrics.set_session: got an EagerSession made in eager mode, "
                        "but eager execution is now disabled; create the session after "
                        "disabling eager execution.")
    tf.compat.v1.keras.backend.set_session(session)
