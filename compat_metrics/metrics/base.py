"""A portable base class for streaming metrics.

:class:`Metric` is ``keras.metrics.Metric`` of the Keras in use
(``tf.keras`` on TF 1.15-2.15, ``keras`` 3 on TF >= 2.16, ``tf_keras`` with
``TF_USE_LEGACY_KERAS=1``) plus the parts that differ between versions:

- Reset: Keras 3 calls only ``reset_state``; Keras 2 before TF 2.5 calls only
  ``reset_states``; later Keras 2 calls ``reset_state``. Override either one:
  both names call it. The default zeroes every state variable (in TF1 graph
  mode through the Keras session, as Keras does); in TF1 graph mode the
  assignments an override builds are run in the Keras session too.
- ``update_state`` of a user's subclass gets ``(n,)`` labels and sample
  weights as ``(n, 1)`` beside ``(n, k)`` predictions (Keras 2's rule; Keras 3
  passes them on), and ``==``/``!=`` between tensors in it compare values in
  TF1 graph mode (TF 1.15 compares identity there).
- ``add_weight``: Keras 2 takes ``name`` first, Keras 3 ``shape`` first. Both
  call forms are accepted here (a string first argument is the name), the
  initializer defaults to ``"zeros"`` on every version (Keras 2 would use
  Glorot uniform for float weights), and ``aggregation`` is ``"sum"``.
- Save/load: every subclass is registered by class name when it is defined,
  so models load without ``custom_objects``; ``get_config`` returns the
  arguments the constructor was called with (override it for arguments that
  are not JSON-serialisable) and ``from_config`` passes back only those the
  constructor accepts.
"""

import functools
import os
import sys

import numpy as np
import tensorflow as tf

from .. import runtime
from .._backend import impl
from .._backend._common import is_library_class, mark_library_config
from .._config import capture_init_args as _capture_init_args
from .._config import from_config as _from_config
from .._config import init_args as _init_args

__all__ = ["Metric"]

_WRITE_OPS = frozenset([
    "AssignVariableOp", "AssignAddVariableOp", "AssignSubVariableOp", "Assign", "AssignAdd", "AssignSub",
    "ResourceScatterUpdate", "ScatterUpdate", "ScatterNdUpdate", "ResourceScatterNdUpdate",
])
_FEEDS = frozenset(["Placeholder", "PlaceholderWithDefault"])


def _run_built_writes(graph, first_new_op):
    """Run the variable writes built in ``graph`` since op number ``first_new_op``.

    In TF1 graph mode an overridden ``reset_state(s)`` that calls
    ``variable.assign(0.)`` only builds an op; nothing would run it and the
    state would carry over to the next epoch. Writes fed from placeholders
    (``keras.backend.batch_set_value`` builds and runs those itself) are skipped.
    """
    new_ops = graph.get_operations()[first_new_op:]
    fed = set()
    writes = []
    for op in new_ops:  # creation order is a topological order
        if op.type in _FEEDS or any(tensor.op in fed for tensor in op.inputs):
            fed.add(op)
        elif op.type in _WRITE_OPS:
            writes.append(op)
    if writes:
        tf.compat.v1.keras.backend.get_session().run(writes)


def _run_in_graph_mode(method):
    """Wrap a user's ``reset_state(s)`` override so that the writes it builds run in graph mode."""

    @functools.wraps(method)
    def wrapped(self, *args, **kwargs):
        if not runtime.in_graph_mode() or getattr(self, "_compat_resetting", False):
            return method(self, *args, **kwargs)
        graph = tf.compat.v1.get_default_graph()
        first_new_op = len(graph.get_operations())
        self._compat_resetting = True
        try:
            result = method(self, *args, **kwargs)
        finally:
            self._compat_resetting = False
        _run_built_writes(graph, first_new_op)
        return None if result is None or isinstance(result, (tf.Tensor, tf.Operation)) else result

    wrapped._compat_runs_in_graph_mode = True
    return wrapped


_LIBRARY_DIRS = tuple(
    os.path.dirname(os.path.abspath(module.__file__)) + os.sep
    for module in (tf, runtime.keras) + tuple(filter(None, [sys.modules.get("tensorflow_core")]))
) + (os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep,)


def _from_user_code(frame):
    return not frame.f_code.co_filename.startswith(_LIBRARY_DIRS)


def _elementwise(compare, original):
    def operator(self, other):
        if _from_user_code(sys._getframe(1)):
            return compare(self, other)
        return original(self, other)
    return operator


def _tf2_tensor_equality(method):
    """Wrap ``update_state`` so that ``a == b`` on tensors in it compares values in TF1 graph mode too.

    TF1 graph mode (TF 1.15, and TF 2.x with v2 behaviour disabled) compares
    tensors by identity: the seeds' ``tf.cast(y_true, "int32") ==
    tf.cast(y_pred, "int32")`` is the Python ``False`` there, and the metric
    silently counts 0. While the user's ``update_state`` is traced in graph
    mode, ``==`` and ``!=`` written in the user's own code compare element-wise,
    as on TF 2.x; TensorFlow's and Keras's own code keep identity.
    """

    def wrapped(self, *args, **kwargs):
        if not runtime.in_graph_mode() or isinstance(tf.Tensor.__dict__.get("__eq__"), _Elementwise):
            return method(self, *args, **kwargs)
        eq, ne = tf.Tensor.__dict__.get("__eq__"), tf.Tensor.__dict__.get("__ne__")
        tf.Tensor.__eq__ = _Elementwise(_elementwise(tf.equal, tf.Tensor.__eq__))
        tf.Tensor.__ne__ = _Elementwise(_elementwise(tf.not_equal, tf.Tensor.__ne__))
        try:
            return method(self, *args, **kwargs)
        finally:
            for name, original in (("__eq__", eq), ("__ne__", ne)):
                if original is None:
                    delattr(tf.Tensor, name)
                else:
                    setattr(tf.Tensor, name, original)

    return _named_like(wrapped, method, _compat_tensor_equality=True)


def _named_like(wrapped, method, **marks):
    """``functools.wraps`` without ``__wrapped__``: AutoGraph (TF 2.1) would convert the inner signature."""
    for name in ("__module__", "__name__", "__qualname__", "__doc__"):
        setattr(wrapped, name, getattr(method, name, None))
    for name, value in marks.items():
        setattr(wrapped, name, value)
    return wrapped


def _rank(value):
    shape = getattr(value, "shape", None)
    if shape is None:
        return np.ndim(value)
    return getattr(shape, "rank", None) if not isinstance(shape, tuple) else len(shape)


def _keras2_ranks(method):
    """Wrap a user's ``update_state`` so it gets labels of the rank Keras 2 hands metrics.

    Keras 2 expands class-id labels of shape ``(n,)`` (and sample weights of
    shape ``(n,)``) to ``(n, 1)`` when predictions are ``(n, k)``; Keras 3 passes
    them unchanged, so the seeds' ``tf.cast(y_true, "int32") == tf.reshape(tf.argmax(y_pred,
    1), (-1, 1))`` broadcasts to an ``(n, n)`` comparison and silently counts
    hundreds of "true positives" in a batch of 48. Done the Keras 2 way on every version.
    """

    def wrapped(self, y_true, y_pred, sample_weight=None, *args, **kwargs):
        if _rank(y_pred) == 2:
            if _rank(y_true) == 1:
                y_true = tf.expand_dims(tf.convert_to_tensor(y_true), -1)
            if sample_weight is not None and _rank(sample_weight) == 1:
                sample_weight = tf.expand_dims(tf.convert_to_tensor(sample_weight), -1)
        return method(self, y_true, y_pred, sample_weight, *args, **kwargs)

    return _named_like(wrapped, method, _compat_tensor_equality=getattr(method, "_compat_tensor_equality", False))


def _is_variable(value):
    return isinstance(value, tf.Variable) or (hasattr(value, "assign") and hasattr(value, "value")
                                              and not isinstance(value, (tf.Tensor, np.ndarray)))


def _result_as_tensors(method):
    """Wrap a user's ``result`` so that returning a state variable returns its value now.

    The keras.io ``CategoricalTruePositives`` body ends ``return
    self.true_positives``. Keras 3.15 keeps what ``result`` returned in the
    training logs until the epoch ends, after validation has reset and
    refilled the variable: History showed the validation count (7 where
    NumPy gives 29). A tensor read here holds the training value on every version.
    """

    def wrapped(self, *args, **kwargs):
        return tf.nest.map_structure(lambda value: tf.identity(value) if _is_variable(value) else value,
                                     method(self, *args, **kwargs))

    return _named_like(wrapped, method, _compat_result_as_tensors=True)


class _Elementwise:
    """A function descriptor marking the patched ``Tensor.__eq__``/``__ne__``."""

    def __init__(self, function):
        self.function = function

    def __get__(self, instance, owner):
        return self.function if instance is None else functools.partial(self.function, instance)


def _overrides(cls, name):
    """Whether ``cls`` defines method ``name`` below :class:`Metric`."""
    for klass in cls.__mro__:
        if klass is Metric:
            return False
        if name in klass.__dict__:
            return True
    return False


class Metric(impl.Metric):
    """Base class for streaming metrics that run on every supported TF/Keras version.

    Write ``__init__`` (create state with ``self.add_weight``),
    ``update_state(y_true, y_pred, sample_weight=None)`` and ``result()``;
    override ``reset_state`` or ``reset_states`` only if zeroing the state is
    not right. See the module docstring for what differs between versions.

    Example:
        >>> class HuberMetric(Metric):
        ...     def __init__(self, threshold=1.0, **kwargs):
        ...         super().__init__(**kwargs)
        ...         self.threshold = threshold
        ...         self.total = self.add_weight("total")
        ...         self.count = self.add_weight("count")
        ...     def update_state(self, y_true, y_pred, sample_weight=None):
        ...         error = tf.abs(tf.cast(y_true, tf.float32) - y_pred)
        ...         loss = tf.where(error < self.threshold, 0.5 * error ** 2,
        ...                         self.threshold * error - 0.5 * self.threshold ** 2)
        ...         self.total.assign_add(tf.reduce_sum(loss))
        ...         self.count.assign_add(tf.cast(tf.size(y_true), tf.float32))
        ...     def result(self):
        ...         return self.total / self.count
        >>> HuberMetric(2.0).get_config()["threshold"]
        2.0
    """

    _compat_adding_weight = False

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "__init__" in cls.__dict__:
            cls.__init__ = _capture_init_args(cls.__dict__["__init__"])
        update_state = cls.__dict__.get("update_state")
        users = not is_library_class(cls)  # the library's own classes need neither
        if users and callable(update_state) and not getattr(update_state, "_compat_tensor_equality", False):
            cls.update_state = _keras2_ranks(_tf2_tensor_equality(update_state))
        result = cls.__dict__.get("result")
        if users and callable(result) and not getattr(result, "_compat_result_as_tensors", False):
            cls.result = _result_as_tensors(result)
        for name in ("reset_state", "reset_states"):
            method = cls.__dict__.get(name)
            if callable(method) and not getattr(method, "_compat_runs_in_graph_mode", False):
                setattr(cls, name, _run_in_graph_mode(method))
        impl.register_serializable(cls)

    def __init__(self, name=None, dtype=None, **kwargs):
        runtime.check_graph_mode_supported(f"compat_metrics.metrics.{type(self).__name__}")
        super().__init__(name=name, dtype=dtype, **kwargs)
        self._compat_weight_count = 0

    # -- state -------------------------------------------------------------
    def add_weight(self, *args, **kwargs):
        """Create a state variable; Keras 2 and Keras 3 call forms both work.

        ``add_weight("total")``, ``add_weight(name="total", shape=(3,))`` and
        ``add_weight((3,), "zeros", name="total")`` are all accepted; positional
        arguments follow ``Metric.add_weight`` of Keras 2 (name, shape,
        aggregation, synchronization, initializer, dtype) when the first is a
        string, else of Keras 3 (shape, initializer, dtype, name).

        Args:
            name: variable name (first positional argument if a string).
            shape: variable shape, default scalar.
            initializer: default ``"zeros"`` on every version.
            dtype: default the metric's dtype.
            aggregation: cross-replica aggregation, ``"sum"`` (default),
                ``"mean"`` or ``"only_first_replica"``.

        Returns:
            The variable.
        """
        if self._compat_adding_weight:  # the backend calling Keras 2's own add_weight
            return super().add_weight(*args, **kwargs)
        args = list(args)
        if args and isinstance(args[0], str):  # Keras 2 Metric.add_weight order
            names = ("name", "shape", "aggregation", "synchronization", "initializer", "dtype")
        else:  # Keras 3 Metric.add_weight order
            names = ("shape", "initializer", "dtype", "name")
        if len(args) > len(names):
            raise TypeError("add_weight() takes at most {} positional arguments ({}); got {}"
                            .format(len(names), ", ".join(names), len(args)))
        for key, value in zip(names, args):
            if key in kwargs:
                raise TypeError(f"add_weight() got multiple values for argument {key!r}")
            kwargs[key] = value
        kwargs.pop("synchronization", None)
        kwargs.pop("trainable", None)
        name = kwargs.pop("name", None)
        if name is None:
            name = f"weight_{self._compat_weight_count}"
        self._compat_weight_count += 1
        shape = kwargs.pop("shape", None)
        shape = () if shape is None else tuple(shape)
        initializer = kwargs.pop("initializer", None) or "zeros"
        dtype = kwargs.pop("dtype", None) or self.dtype
        aggregation = kwargs.pop("aggregation", None) or "sum"
        if not isinstance(aggregation, str):
            aggregation = {tf.VariableAggregation.SUM: "sum", tf.VariableAggregation.MEAN: "mean",
                           tf.VariableAggregation.ONLY_FIRST_REPLICA: "only_first_replica"}[aggregation]
        if kwargs:
            raise TypeError(f"add_weight() got unexpected arguments {sorted(kwargs)}")
        self._compat_adding_weight = True
        try:
            return impl.add_weight(self, name, shape=shape, initializer=initializer,
                                   dtype=tf.as_dtype(dtype).name, aggregation=aggregation)
        finally:
            self._compat_adding_weight = False

    def _state_variables(self):
        """Every variable this metric's value depends on (own and shared)."""
        return list(self.variables)

    def _zero_state(self, variables):
        variables = list(variables)
        if runtime.in_graph_mode():
            # TF1 graph mode: run the assignment now, in the Keras session.
            runtime.keras.backend.batch_set_value(
                [(v, np.zeros(v.shape.as_list(), v.dtype.as_numpy_dtype)) for v in variables])
        else:
            for variable in variables:
                variable.assign(tf.zeros(variable.shape, variable.dtype))

    def _reset(self):
        self._zero_state(self.variables)

    def reset_state(self):
        """Zero the state (Keras 3 and TF >= 2.5 name); calls an overridden ``reset_states``."""
        if _overrides(type(self), "reset_states"):
            return self.reset_states()
        return self._reset()

    def reset_states(self):
        """Zero the state (Keras 2 name); calls an overridden ``reset_state``."""
        if _overrides(type(self), "reset_state"):
            return self.reset_state()
        return self._reset()

    # -- serialisation -----------------------------------------------------
    def get_config(self):
        """The constructor arguments plus ``name`` and ``dtype``.

        Override (merging with ``super().get_config()``) when an argument is
        not JSON-serialisable.
        """
        config = _init_args(self)
        config.update(super().get_config())
        return mark_library_config(self, config)

    @classmethod
    def from_config(cls, config):
        """Build the metric from ``get_config()``, dropping keys the constructor does not take."""
        return _from_config(cls, config)
