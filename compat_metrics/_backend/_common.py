"""Helpers shared by the backend modules; what differs by version is asked of the capability table."""

import sys
import warnings

import tensorflow as tf

from .. import _capabilities as caps
from .. import runtime
from ._hooks import state, wrap

_WARNED = set()


# Modules of the Keras training loops and compile (fit/evaluate/compile) of every supported Keras.
_KERAS_ENGINES = ("keras.src.trainers", "keras.src.engine", "keras.engine", "tf_keras.src.engine",
                  "tensorflow.python.keras.engine", "tensorflow_core.python.keras.engine")


def called_by_keras():
    """Whether the caller's caller runs inside Keras's ``fit``/``evaluate``/``compile`` code."""
    frame = sys._getframe(2)
    while frame is not None:
        if frame.f_globals.get("__name__", "").startswith(_KERAS_ENGINES):
            return True
        frame = frame.f_back
    return False


def warn_once(key, message):
    """Emit ``message`` as a UserWarning the first time ``key`` is seen, pointing at the caller's code."""
    if key not in _WARNED:
        _WARNED.add(key)
        frame, level = sys._getframe(1), 2
        while frame is not None and frame.f_globals.get("__name__", "").startswith(LIBRARY_PACKAGE + "."):
            frame, level = frame.f_back, level + 1
        warnings.warn(message, UserWarning, stacklevel=level)


_REGISTERED = set()
LIBRARY_PACKAGE = "compat_metrics"
_LIBRARY_CLASSES = {}  # bare class name -> library class
# The library's metrics add this key to their config, so where a file names classes bare
# (TF 1.15-2.1, TF 2.2/2.3 SavedModels) its library class and a user's class of the same name load apart.
LIBRARY_CONFIG_KEY = "compat_metrics_class"


def register_serializable(cls):
    """Make ``cls`` loadable without ``custom_objects``.

    The library's own classes are registered under the package-qualified name
    ``compat_metrics>Name`` where Keras serialises registered names
    (``get_registered_name``: TF >= 2.2, ``tf_keras``, Keras 3), so ``compat_metrics.Precision`` never shadows
    ``keras.metrics.Precision``. Users' subclasses, and everything on TF 1.15-2.1
    (which serialise bare class names), are registered by class name in
    ``keras.utils.get_custom_objects()``, which every Keras consults; a
    redefined class replaces the old entry instead of raising. A library
    class whose bare name is also a Keras class (``Precision``, ``Recall``,
    ``F1Score``, ...) is registered there as :func:`bare_name_object`, which
    tells the two apart by their config; so is one that a user's class of the
    same name (the seeds' ``CategoricalTruePositives``) would otherwise replace.
    """
    utils = runtime.keras.utils
    library = is_library_class(cls)
    if library:
        _LIBRARY_CLASSES[cls.__name__] = cls
    if library and caps.REGISTERED_NAMES:
        if cls not in _REGISTERED:
            _REGISTERED.add(cls)
            utils.register_keras_serializable(package=LIBRARY_PACKAGE)(cls)
        return cls
    if library:
        entry = bare_name_object(cls)
    elif not caps.REGISTERED_NAMES and cls.__name__ in _LIBRARY_CLASSES:
        entry = bare_name_object(_LIBRARY_CLASSES[cls.__name__], other=cls)
    else:
        entry = cls
    utils.get_custom_objects()[cls.__name__] = entry
    return cls


def is_library_class(cls):
    return cls.__module__.split(".")[0] == LIBRARY_PACKAGE


def _users_class(name):
    """A user's class registered under a library class's bare name, if any."""
    found = runtime.keras.utils.get_custom_objects().get(name)
    if isinstance(found, type) and not is_library_class(found) and not hasattr(found, "library_class"):
        return found
    return None


def _keras_class(name):
    """The Keras class of this bare name (metric, loss or layer), if any."""
    keras = runtime.keras
    for module in (keras.metrics, keras.losses, keras.layers):
        found = getattr(module, name, None)
        if isinstance(found, type):
            return found
    return None


def _init_parameters(cls):
    import inspect
    try:
        return set(inspect.signature(cls.__init__).parameters)
    except (TypeError, ValueError):  # pragma: no cover - builtins without a signature
        return set()


def bare_name_object(cls, other=None):
    """What a bare class name in a saved file resolves to: ``cls``, or a chooser if another class has the name.

    Files saved by TF 1.15-2.1 name the library's classes by bare class name
    (``"F1Score"``), which newer Keras resolves to its own, different class
    (or refuses), and which a user's class of that name (``other``) would
    take over. The chooser builds the library's class when the config carries
    :data:`LIBRARY_CONFIG_KEY` (written where names are bare) or, beside
    Keras's own class, an argument only the library's constructor takes
    (``num_classes``); else the other class.
    """
    theirs = other or _keras_class(cls.__name__)
    if theirs is None or theirs is cls:
        return cls
    ours_only = set() if other is not None else \
        _init_parameters(cls) - _init_parameters(theirs) - {"self", "args", "kwargs"}

    def from_config(chooser, config, custom_objects=None):
        ours = config.get(LIBRARY_CONFIG_KEY) == cls.__name__ or bool(ours_only & set(config))
        return cls.from_config(config) if ours else theirs.from_config(config)

    return type(cls.__name__, (object,), {
        "__doc__": f"Loads {cls.__module__}.{cls.__name__} or {theirs.__module__}.{cls.__name__} from a saved config.",
        "from_config": classmethod(from_config), "library_class": cls, "keras_class": theirs,
    })


def library_custom_objects():
    """Bare names of the library's classes, for files saved where Keras wrote bare names (TF 1.15-2.1).

    Empty where this Keras writes bare names itself: they are registered globally then.
    """
    if not caps.REGISTERED_NAMES:
        return {}
    return {name: bare_name_object(cls, other=_users_class(name)) for name, cls in _LIBRARY_CLASSES.items()}


def mark_library_config(obj, config):
    """``config`` of the library's ``obj``, marked as the library's (:data:`LIBRARY_CONFIG_KEY`).

    Every version marks it: files of TF 1.15-2.1, and SavedModels of TF
    2.2/2.3, name classes bare, and a file may be loaded on any later version.
    """
    if is_library_class(type(obj)):
        config[LIBRARY_CONFIG_KEY] = type(obj).__name__
    return config


def _x_of_step(data):
    """``x`` from the ``data`` a ``train_step``/``test_step`` receives."""
    if isinstance(data, (tuple, list)):
        return data[0]
    return data


def _x_of_compute_loss(*args, **kwargs):
    """``x`` from the arguments of ``Model.compute_loss(x, y, y_pred, ...)``."""
    return kwargs["x"] if "x" in kwargs else (args[0] if args else None)


def _x_of_call(*args, **kwargs):
    """``x`` from the arguments of ``Model.call(inputs, ...)``."""
    return kwargs["inputs"] if "inputs" in kwargs else (args[0] if args else None)


# method -> (how to find x in its arguments, whether x is forgotten after it returns)
HOOKS = {
    "train_step": (_x_of_step, True),
    "test_step": (_x_of_step, True),
    "compute_loss": (_x_of_compute_loss, True),
    # TF 2.0/2.1 with run_eagerly=True: the loss runs after the model call.
    "call": (_x_of_call, False),
}


def install_input_hook(model, loss, methods):
    """Make ``model``'s ``methods`` hand the batch's ``x`` to ``loss``.

    The hook runs while Keras traces the step, so ``loss`` sees the traced
    input tensors of the same step. Keras 2 (TF >= 2.2) hooks
    ``train_step``/``test_step``; Keras 3 hooks ``compute_loss``, which it
    also calls outside any step to build the model symbolically. The hook is
    the outermost wrapper (``_hooks.ORDER``): the inputs are set for the
    whole call, gradient hooks included.
    """
    hooked = state(model, "input_losses", list)
    for method_name in methods:
        x_of, forget = HOOKS[method_name]

        def hooked_method(call, *args, _x_of=x_of, _forget=forget, **kwargs):
            x = as_model_inputs(model, _x_of(*args, **kwargs))
            for bound in hooked:
                bound._set_step_inputs(x)
            try:
                return call(*args, **kwargs)
            finally:
                if _forget:
                    for bound in hooked:
                        bound._set_step_inputs(None)

        wrap(model, method_name, "input_loss", hooked_method, "inputs")
    if loss not in hooked:
        hooked.append(loss)


def _rank(value):
    shape = getattr(value, "shape", None)
    try:
        return len(shape)
    except (TypeError, ValueError):  # no shape, or a TensorShape of unknown rank
        return None


def as_model_inputs(model, x):
    """A step's ``x`` as the model's own input tensors look, which TF1-style Keras hands an input loss.

    One tensor, or a list in ``model.inputs`` order (a dict of inputs is read
    by input name); a batch of rank 1 given its last axis where the model's
    input has rank 2 (and the reverse), as Keras does before the model sees
    it: ``inputs * y_pred`` must not broadcast ``(n,)`` against ``(n, 1)``.
    Unchanged where the model has no symbolic inputs (a subclassed model).
    """
    try:
        inputs = list(model.inputs or [])
    except (AttributeError, ValueError):
        return x
    if not inputs or x is None:
        return x
    names = list(getattr(model, "input_names", None) or [str(getattr(t, "name", "")).split(":")[0] for t in inputs])
    if isinstance(x, dict):
        if not all(name in x for name in names):
            return x
        x = [x[name] for name in names]
    given = list(x) if isinstance(x, (list, tuple)) else [x]
    if len(given) != len(inputs):
        return x
    adjusted = []
    for tensor, value in zip(inputs, given):
        want, have = _rank(tensor), _rank(value)
        if want == 2 and have == 1:
            value = tf.expand_dims(value, -1)
        elif want == 1 and have == 2 and value.shape[-1] == 1:
            value = tf.squeeze(value, -1)
        adjusted.append(value)
    return adjusted[0] if len(adjusted) == 1 else adjusted


def model_inputs(model):
    """The symbolic inputs of a functional model: one tensor or a list."""
    inputs = model.inputs
    if not inputs:
        raise ValueError(
            "compat_metrics.InputLoss needs a model built from keras.Input tensors "
            f"(a functional or Sequential model with an input shape); {model.name!r} has no "
            "symbolic inputs.")
    return inputs[0] if len(inputs) == 1 else list(inputs)


def state_variable(name, dtype):
    """A scalar non-trainable variable for a tracked loss component.

    ``ON_READ``/``MEAN``: under ``tf.distribute`` every replica assigns its own
    copy (no cross-device traffic per step); a cross-replica read averages them.
    """
    return tf.Variable(
        tf.zeros((), dtype=dtype), trainable=False, name=name,
        synchronization=tf.VariableSynchronization.ON_READ,
        aggregation=tf.VariableAggregation.MEAN)


def compiled_loss_objects(model):
    """The loss objects a compiled model holds (``model.loss``, flattened)."""
    loss = getattr(model, "loss", None)
    if isinstance(loss, dict):
        return list(loss.values())
    if isinstance(loss, (list, tuple)):
        return list(loss)
    return [loss] if loss is not None else []


def orders_stateful_ops(graph):
    """Whether ``graph`` orders stateful ops by program order (a ``tf.function``).

    TF1-style graphs (TF 1.15, eager disabled, the Keras graph of TF 2.0/2.1
    with ``experimental_run_tf_function=False``) do not: reads and writes of a
    variable in one ``session.run`` are ordered only by explicit dependencies.
    """
    return bool(getattr(graph, "_add_control_dependencies", False))


def explicit_ordering_graph(graph):
    """The graph in which a variable write and a later read need explicit ordering.

    Walks out of ``tf.function`` graphs (which order stateful ops themselves)
    to the first TF1-style graph: the TF 1.15 / eager-disabled graph, or the
    Keras graph of TF 2.0/2.1's ``experimental_run_tf_function=False`` path.
    Returns None when the outermost context is eager (a TF 2.x ``tf.function``
    or eager code: program order already holds).
    """
    while orders_stateful_ops(graph) and getattr(graph, "outer_graph", None) is not None:
        graph = graph.outer_graph
    if orders_stateful_ops(graph):
        return None
    if runtime.in_graph_mode() or getattr(graph, "outer_graph", None) is not None:
        return graph
    return None


def as_operation(op_or_tensor):
    """The ``tf.Operation`` behind an assign result (op in some versions, tensor in others)."""
    return getattr(op_or_tensor, "op", op_or_tensor)


def validation_batches_in_order():
    """Make TF1-style Keras ``fit`` run validation arrays in order, as ``evaluate`` and later Keras do.

    Its ``training_arrays`` loop calls itself for validation without
    ``shuffle=False``, so every epoch splits the validation arrays into other
    batches: a value of the batch (``GradientNorm``, a ``MetricLayer``'s) then
    changes from epoch to epoch with fixed weights (val_ 24.1, 24.4, 25.3
    where evaluate gives 25.0). Patched once, in the module that Keras's
    ``Model`` comes from; the validation call looks ``model_iteration`` up there.
    """
    import importlib
    import inspect
    package = inspect.getmodule(runtime.keras.Model).__name__.rsplit(".", 1)[0]
    for name in ("training_arrays", "training_arrays_v1"):
        try:
            module = importlib.import_module(f"{package}.{name}")
        except ImportError:
            continue
        original = getattr(module, "model_iteration", None)
        if original is None or getattr(original, "_compat_metrics_in_order", False):
            continue

        def model_iteration(*args, _original=original, **kwargs):
            if kwargs.get("validation_in_fit"):
                kwargs.setdefault("shuffle", False)
            return _original(*args, **kwargs)

        model_iteration.__doc__ = original.__doc__
        model_iteration._compat_metrics_in_order = True
        module.model_iteration = model_iteration


def _adds_metrics(layer):
    """Whether ``layer`` logs values with ``add_metric`` (Keras 2 keeps their ``Mean`` in ``_metrics``)."""
    from ..layer_metrics import MetricLayer
    return isinstance(layer, MetricLayer) or (
        not isinstance(layer, runtime.keras.Model) and bool(getattr(layer, "_metrics", None)))


def _calls_in(model, layer):
    """How many of ``layer``'s calls belong to ``model``'s graph (Keras 2 functional models; 1 otherwise)."""
    nodes = getattr(model, "_network_nodes", None)
    if nodes is None:
        return 1
    return sum(1 for index in range(len(getattr(layer, "_inbound_nodes", []))) if f"{layer.name}_ib-{index}" in nodes)


def refuse_layer_metrics(model, nested, reused):
    """Refuse layers whose ``add_metric`` values TF1-style Keras misreports, with a ``ValueError``.

    ``reused``: a layer called twice in one model logs only its last call in
    TF1-style graphs (the mean of both calls elsewhere). ``nested``: TF 1.15
    loses the keys of such layers inside a nested model, and the outer
    model's keys shift onto their values.
    """
    for layer in getattr(model, "layers", []):
        if isinstance(layer, runtime.keras.Model):
            inner = [sub.name for sub in _all_layers(layer) if _adds_metrics(sub)]
            if nested and inner:
                raise ValueError(
                    f"Invalid model for {caps.STACK}: layers {inner} of the nested model {layer.name!r} log "
                    "metrics (MetricLayer, add_metric), and this Keras reports them under other keys (theirs go "
                    "missing, the outer model's shift onto their values). Call them in the outermost model, "
                    f"or use TF >= 2.0. Received: model {model.name!r} holding model {layer.name!r}")
            refuse_layer_metrics(layer, nested, reused)
        elif reused and _adds_metrics(layer) and _calls_in(model, layer) > 1:
            raise ValueError(
                f"Invalid model for {caps.STACK}: layer {layer.name!r} logs a metric and is called "
                f"{_calls_in(model, layer)} times in model {model.name!r}; in graph mode Keras logs only its "
                "last call (the mean of all calls elsewhere). Use one instance per call, each with its own "
                "name. Received: the same layer object at several places of the model")


def _all_layers(model):
    for layer in getattr(model, "layers", []):
        yield layer
        if isinstance(layer, runtime.keras.Model):
            yield from _all_layers(layer)
