"""Read-after-write order for state that several ops of one step write and read.

In ``tf.function`` and eager code stateful ops run in program order. A
TF1-style graph (TF 1.15, TF 2.x with eager execution disabled, the Keras
graph of TF 2.0/2.1 with ``experimental_run_tf_function=False``) runs the ops
of one ``session.run`` in any order their dependencies allow, so a read of a
variable written in the same step must be ordered explicitly. Two cases occur:

- A loss component (or a gradient norm) is written by the loss and read by a
  metric; TF1 Keras builds the metrics *before* the loss. The read waits for
  the write that is built next (a gate the write is attached to).
- Metrics sharing a confusion matrix each write and read it; their updates
  run in the order they were built. TF1-style Keras builds its weighted
  metrics twice, at compile and again once the sample weights are known, and
  runs only the second build: a write's ``owner`` calling again replaces its
  earlier write and those built after it, so nothing orders the new one after
  the stale build (which would run it too, adding the batch unweighted).

:class:`StateOrder` does both for one piece of state, per graph and key:
``wrote`` records the last write and releases the reads waiting for it;
``after`` orders ops built inside it after that write. Outside TF1-style
graphs both do nothing.
"""

import contextlib
import weakref

import tensorflow as tf

from ._backend._common import as_operation, explicit_ordering_graph

__all__ = ["StateOrder", "ordering_graph"]


def ordering_graph():
    """The TF1-style graph where ops built now need explicit ordering, else None (eager, ``tf.function``)."""
    if tf.executing_eagerly():
        return None
    return explicit_ordering_graph(tf.compat.v1.get_default_graph())


def _dependency(item):
    item = as_operation(item)
    return item if isinstance(item, tf.Operation) else None


class StateOrder:
    """Orders the writes and reads of one piece of state in TF1-style graphs.

    Args:
        name: prefix of the gate ops' names.
    """

    def __init__(self, name):
        self.name = name
        self._writes = weakref.WeakKeyDictionary()  # graph -> {key: last write}
        self._waiting = weakref.WeakKeyDictionary()  # graph -> {key: [gates of reads built before it]}
        self._owners = weakref.WeakKeyDictionary()  # graph -> {key: [(id of owner, write)] in build order}

    def wrote(self, key, op, owner=None):
        """Record ``op`` (an op or a tensor) as the last write of ``key``; reads waiting for it follow it.

        ``owner``: the object writing, as given to :meth:`after`.

        Returns:
            Whether the current graph needs explicit ordering (``op`` was recorded).
        """
        graph = ordering_graph()
        operation = _dependency(op)
        if graph is None or operation is None or operation.graph is not graph:
            return False  # eager, or built inside a tf.function, which orders it itself
        self._writes.setdefault(graph, {})[key] = operation
        if owner is not None:
            self._owners.setdefault(graph, {}).setdefault(key, []).append((id(owner), operation))
        for gate in self._waiting.get(graph, {}).pop(key, []):
            gate._remove_all_control_inputs()  # the never-written assertion
            gate._add_control_input(operation)
        return True

    def writes(self):
        """The last write of each key in the current graph (``{key: op}``)."""
        graph = ordering_graph()
        return dict(self._writes.get(graph, {})) if graph is not None else {}

    def forget(self):
        """Forget the writes built in the current graph: reads built from now on wait for the next write.

        For a model compiled again: its loss and metrics are built anew, and a
        read must not follow the previous compile's write (which needs that
        compile's inputs fed).
        """
        graph = ordering_graph()
        if graph is not None:
            for table in (self._writes, self._waiting, self._owners):
                table.pop(graph, None)

    def _rebuild(self, graph, key, owner):
        """``owner`` builds its write again: forget its previous write and the writes built after it."""
        history = self._owners.get(graph, {}).get(key, [])
        built = [i for i, (who, _) in enumerate(history) if who == id(owner)]
        if not built:
            return
        del history[built[-1]:]
        writes = self._writes.setdefault(graph, {})
        if history:
            writes[key] = history[-1][1]
        else:
            writes.pop(key, None)

    @contextlib.contextmanager
    def after(self, key, wait=False, never_written=None, owner=None):
        """Order the ops built inside after the last write of ``key``.

        Args:
            key: the state written.
            wait: when no write of ``key`` was built yet, wait for the next
                one built (a reader built before its writer); otherwise the
                ops are not ordered.
            never_written: with ``wait``, a message: until the write is
                built, running the ops fails with it (``InvalidArgumentError``).
            owner: the object whose write is built inside (then given to
                :meth:`wrote`); its second build in a graph replaces the first.
        """
        graph = ordering_graph()
        dependency = None
        if graph is not None:
            if owner is not None:
                self._rebuild(graph, key, owner)
            dependency = self._writes.get(graph, {}).get(key)
            if dependency is None and wait:
                with graph.as_default(), graph.control_dependencies(None):
                    guards = [] if never_written is None else [tf.debugging.Assert(
                        tf.constant(False), [never_written], name=f"{self.name}_{key}_never_written")]
                    with graph.control_dependencies(guards):
                        dependency = tf.no_op(name=f"{self.name}_{key}_read_gate")
                self._waiting.setdefault(graph, {}).setdefault(key, []).append(dependency)
        with tf.control_dependencies([dependency] if dependency is not None else []):
            yield
