"""Loss-component extraction: record parts of a loss, read them as metrics.

A composite loss calls ``track(name, value)`` on each part. The value is
assigned to a non-trainable variable and the returned tensor carries a control
dependency on that assignment, so the assignment runs whenever the loss runs:
in a TF1 ``Session``, inside ``tf.function`` and eagerly. Metrics from
``metric(name)`` read the variable; nothing is recomputed.

Version notes:
- TF 1.15 Keras builds metrics *before* the loss. The metric's read is gated
  on a no-op that the assignment is attached to once the loss is built, so the
  read always follows the write in the same ``session.run``
  (:class:`compat_metrics._ordering.StateOrder`, which also orders metrics
  sharing a confusion matrix). The metrics reduce the values with
  :class:`compat_metrics._readout.ReadoutMetric`, as ``GradientNorm`` does.
- TF1 Keras initialises only variables it knows; component variables are
  registered with the Keras session, including after ``clear_session()``.
- Under ``tf.distribute`` each replica writes its own copy (``ON_READ``);
  metrics weight each replica's value by its batch size, as Keras does for
  the loss; reading the variable across replicas gives the replica mean.
"""

import functools
import gc
import weakref

import tensorflow as tf

from . import runtime
from ._backend import impl
from ._backend._common import called_by_keras, orders_stateful_ops
from ._config import capture_init_args, init_args_config, loss_from_config
from ._ordering import StateOrder
from ._readout import ReadoutMetric

__all__ = ["ComponentTracker", "ComponentLoss", "ComponentMetric"]

# Live trackers by name: a ComponentMetric built from a name (not from its loss)
# finds its tracker here, if exactly one of that name is alive.
# compat_metrics.load_model binds a loaded model's metrics to its own losses.
_TRACKERS = {}


def _live_trackers(name):
    trackers = _TRACKERS.get(name)
    if not trackers:
        return []
    if len(trackers) > 1:
        gc.collect()  # losses of models gone but not yet collected
    return list(trackers)


def _current_graph():
    return tf.compat.v1.get_default_graph()


class ComponentTracker:
    """Records named scalar parts of a loss into variables; serves metrics on them.

    Use it directly from a plain loss function, or through
    :class:`ComponentLoss`, which owns one.

    Args:
        components: names of the components, declared up front (optional).
            When given, ``metrics()`` works before the loss first runs and
            ``track`` rejects other names.
        name: prefix of the variable names, and the key by which metrics loaded
            from a saved model find this tracker.
        dtype: dtype of the stored values.

    Example:
        >>> tracker = ComponentTracker(("ce", "reg"))
        >>> def loss_fn(y_true, y_pred):
        ...     ce = tf.reduce_mean(tf.square(y_true - y_pred))
        ...     return tracker.track("ce", ce) + tracker.track("reg", 0.1 * ce)
        >>> model.compile("adam", loss=loss_fn, metrics=tracker.metrics())
    """

    def __init__(self, components=None, name="components", dtype="float32"):
        runtime.check_graph_mode_supported("compat_metrics.ComponentTracker")
        self.name = name
        self.dtype = tf.as_dtype(dtype)
        self._declared = self._validate_names(components) if components else None
        self._eager_variables = {}
        self._graph_variables = weakref.WeakKeyDictionary()
        self._order = StateOrder(name)  # each component's read follows its write (TF1-style graphs)
        self._tracked = []
        self._in_call = None  # components tracked by the ComponentLoss.call running now
        self._step_writes = weakref.WeakKeyDictionary()  # tf.function graph -> {(replica, component)}
        self._one_build_per_graph = True  # see _check_built_once (GradientNorm's store is rebuilt on recompile)
        _TRACKERS.setdefault(name, weakref.WeakSet()).add(self)
        for component in self._declared or ():
            self.variable(component)

    @staticmethod
    def _validate_names(components):
        if isinstance(components, str):
            raise TypeError(f"components must be a sequence of names, got the string {components!r}; "
                            f"write ({components!r},)")
        names = tuple(components)
        for component in names:
            if not isinstance(component, str) or not component:
                raise TypeError(f"component names must be non-empty strings, got {component!r}")
        if len(set(names)) != len(names):
            raise ValueError(f"component names must be unique, got {list(names)}")
        return names

    @property
    def components(self):
        """Declared component names, else the names tracked so far."""
        return self._declared if self._declared is not None else tuple(self._tracked)

    def _check_declared(self, component):
        if self._declared is not None and component not in self._declared:
            raise ValueError(
                f"{self.name!r} tracks unknown component {component!r}: declared components are {list(self._declared)}. Declare it "
                "in components=... or fix the name.")

    def _variables(self):
        with tf.init_scope():
            if tf.executing_eagerly():
                return self._eager_variables
            graph = _current_graph()
        return self._graph_variables.setdefault(graph, {})

    def variable(self, component):
        """The variable holding ``component`` (in the current graph in TF1 graph mode)."""
        self._check_declared(component)
        variables = self._variables()
        variable = variables.get(component)
        if variable is None:
            with tf.init_scope():
                variable = impl.new_state_variable(f"{self.name}_{component}", self.dtype)
            variables[component] = variable
        return variable

    def track(self, component, value):
        """Store scalar ``value`` as ``component``; return ``value`` depending on the store.

        Args:
            component: the component's name.
            value: a scalar tensor (reduce it first).

        Returns:
            A tensor equal to ``value`` with a control dependency on the
            assignment: use it in the returned loss so the assignment runs.
        """
        runtime.check_graph_mode_supported("compat_metrics.ComponentTracker.track")
        if not isinstance(component, str):
            raise TypeError(f"component name must be a string, got {component!r}")
        variable = self.variable(component)
        value = tf.convert_to_tensor(value)
        if value.shape.ndims not in (None, 0):
            raise ValueError(f"track({component!r}, value): value must be a scalar, got shape {value.shape}; reduce it "
                             "first (e.g. tf.reduce_mean).")
        self._check_one_write_per_step(component)
        if component not in self._tracked:
            self._tracked.append(component)
        if self._in_call is not None:
            self._in_call.append(component)
        assign = variable.assign(tf.cast(value, self.dtype), read_value=False)
        if tf.executing_eagerly():
            return value
        self._check_built_once(component)
        if self._order.wrote(component, assign) and runtime.in_graph_mode():
            tf.compat.v1.add_to_collection(tf.compat.v1.GraphKeys.UPDATE_OPS, self._order.writes()[component])
        with tf.control_dependencies([assign]):
            return tf.identity(value)

    def _check_built_once(self, component=None):
        """Refuse building ``component`` (any, if None) a second time in one TF1-style graph outside Keras.

        Its one variable cannot hold two heads' values (a training and an
        evaluation head calling one loss instance): ``update_ops()`` and the
        reads would follow the last build. (Keras builds the loss again when a
        model is compiled again, and then uses only the last build.)
        """
        if not self._one_build_per_graph:
            return
        built = self._order.writes()
        if (component in built if component is not None else built) and not called_by_keras():
            name = component if component is not None else next(iter(built))
            raise ValueError(
                f"Invalid use of {self.name!r}: component {name!r} is built a second time in this graph (a "
                "training and an evaluation head calling one loss instance?), and its one variable cannot hold "
                "both heads' values: update_ops() and the reads would follow the last build. Give each head its "
                "own loss instance with its own name, e.g. MyLoss(name='train_loss') and MyLoss(name='eval_loss'). "
                f"Received: a second build of {name!r} in one graph")

    def _check_one_write_per_step(self, component):
        """Refuse a second ``track`` of ``component`` in one ``tf.function`` step (per replica).

        Its variable holds one value: the metrics would read only the last
        one, e.g. that of another output when one loss instance is given for
        several outputs. (TF1-style graphs build a loss again when a model is
        compiled again; ``compat_metrics.compile`` checks the outputs there.)
        """
        graph = tf.compat.v1.get_default_graph()
        if tf.executing_eagerly() or not orders_stateful_ops(graph):
            return
        key = (id(tf.distribute.get_replica_context()), component)
        written = self._step_writes.setdefault(graph, set())
        if key in written:
            raise ValueError(
                f"Invalid use of {self.name!r}: component {component!r} is tracked twice in one step, so its "
                "metrics would read only the last value (another output's, when one loss instance is given for "
                "several outputs). Give each output its own loss instance with its own name, e.g. "
                "loss_a, loss_b = MyLoss(name='loss_a'), MyLoss(name='loss_b') with loss={'a': loss_a, 'b': loss_b}, "
                "metrics={'a': loss_a.metrics(), 'b': loss_b.metrics()}, or track each call under its own component "
                "name. "
                f"Received: a second track({component!r}, ...) in {graph.name!r}")
        written.add(key)

    def update_ops(self):
        """Assignments built in the current graph (for raw TF1 loops).

        Keras fetches the loss, so the assignments run. A raw
        ``sess.run(optimizer.minimize(loss))`` fetches only the train op,
        whose gradients need not run the assignment (tensorflow#9179): group
        these with it, or use the ``UPDATE_OPS`` collection they are added to.
        """
        return list(self._order.writes().values())

    def _check_known(self, component):
        self._check_declared(component)
        if self._tracked and component not in self._tracked:
            raise ValueError(
                f"metric {component!r} reads component {component!r}, which {self.name!r} never tracked; tracked components "
                f"are {self._tracked}.")

    def read(self, component):
        """The stored value of ``component``, ordered after this step's assignment."""
        self._check_known(component)
        variable = self.variable(component)
        # Eager and tf.function read after the loss's write in program order; TF1 Keras
        # builds the metrics before the loss: the read waits for the write built next, and
        # fails the step until then (a component the loss never tracks would read 0.0).
        never_tracked = (f"metric {component} of {self.name} reads component {component}, which the loss never tracked: call "
                         f"track(\"{component}\", value) in the loss, or fix the name.")
        with self._order.after(component, wait=True, never_written=never_tracked):
            return tf.identity(variable.read_value())

    def metric(self, component, reduction="mean", name=None):
        """A Keras metric reading ``component``; see :class:`ComponentMetric`."""
        self._check_declared(component)
        return ComponentMetric(self, component, reduction=reduction, name=name)

    def metrics(self, reduction="mean"):
        """One metric per declared (or already tracked) component."""
        if not self.components:
            raise ValueError(
                f"{self.name!r} has no components yet: declare them (components=(...) or a class attribute) "
                "to get metrics() before the loss runs, or use metric(name).")
        return [self.metric(component, reduction=reduction) for component in self.components]


class ComponentMetric(ReadoutMetric):
    """Reads a tracked loss component; never recomputes it.

    Args:
        tracker: name of the :class:`ComponentTracker` (or :class:`ComponentLoss`).
        component: the component to read.
        reduction: ``"mean"`` (default): per-batch values averaged over the
            epoch, weighted by batch size, exactly as Keras reports the loss, so
            a component that is the whole loss reads the same as ``loss``;
            ``"last"``: the value of the last batch.
        name: metric name, by default the component name.
    """

    def __init__(self, tracker, component, reduction="mean", name=None, dtype=None, **kwargs):
        super().__init__(reduction=reduction, name=name or component, dtype=dtype, **kwargs)
        self.tracker_name = tracker if isinstance(tracker, str) else tracker.name
        self.component = component
        self._source_tracker = None if isinstance(tracker, str) else tracker

    def _find_tracker(self):
        if self._source_tracker is None:
            found = _live_trackers(self.tracker_name)
            if not found:
                raise ValueError(
                    f"metric {self.name!r} reads component {self.component!r} of {self.tracker_name!r}, "
                    "but no ComponentLoss or ComponentTracker "
                    "of that name exists.")
            if len(found) > 1:
                raise ValueError(
                    f"Invalid metric `{self.name}`: it reads component {self.component!r} of "
                    f"{self.tracker_name!r}, and {len(found)} ComponentLoss/ComponentTracker objects of that name "
                    "exist, so it cannot tell which one. Build it from its loss (loss.metric(...) or "
                    "loss.metrics()), give each loss its own name=..., or load saved models with "
                    "compat_metrics.load_model, which reads each loaded model's metrics from its own losses. "
                    f"Received: tracker={self.tracker_name!r}")
            self._source_tracker = found[0]
        return self._source_tracker

    def _sources(self):
        return [self._source_tracker] if self._source_tracker is not None else []

    def step_value(self):
        """The component's value stored by this step's loss."""
        return self._find_tracker().read(self.component)

    def get_config(self):
        config = super().get_config()
        config.update(tracker=self.tracker_name, component=self.component, reduction=self.reduction)
        return _ConfigOfTracker(config, self._source_tracker)

    @classmethod
    def from_config(cls, config):
        """The metric of ``config``; a copy made in this process (Keras 2 copies a metrics list per output
        this way) reads the same loss, a saved one finds its loss by name or through ``load_model``."""
        metric = super().from_config(config)
        metric._source_tracker = getattr(config, "tracker_object", None)
        return metric


class _ConfigOfTracker(dict):
    """A config that also holds, outside its keys (never saved), the tracker of the metric it came from."""

    def __init__(self, config, tracker):
        super().__init__(config)
        self.tracker_object = tracker


def _check_declared_are_tracked(call):
    """Wrap a ``ComponentLoss.call`` so that every declared component must be tracked by it.

    Where Keras builds metrics before the loss (TF1 graph mode), a metric of a
    component that ``call`` never tracks would read the variable's initial 0.0
    every epoch; on TF 2.x the metric raises when it reads it. Checked here,
    when the loss is built, the same on every version.
    """

    @functools.wraps(call)
    def wrapped(self, *args, **kwargs):
        tracker = self.tracker
        outer = tracker._in_call
        tracker._in_call = []
        try:
            result = call(self, *args, **kwargs)
            missing = [name for name in (tracker._declared or ()) if name not in tracker._in_call]
        finally:
            tracker._in_call = outer
        if missing:
            raise ValueError(
                f"{type(self).__name__}.call did not track declared component(s) {missing}: their metrics would read nothing. Call "
                f"self.track({missing[0]!r}, value) in call() (its value is usually part of the returned loss), or "
                "remove it from components=.")
        return impl.reducible_loss_value(self, result) if getattr(self, "_reducing", False) else result

    wrapped._compat_checks_tracked = True
    return wrapped


@impl.register_serializable
class ComponentLoss(impl.Loss):
    """A Keras ``Loss`` whose ``call`` records its parts with ``self.track``.

    Subclass it and implement ``call(y_true, y_pred)``; declare components as a
    class attribute ``components = ("ce", "reg")`` or with
    ``MyLoss(components=...)``. ``metric(name)``, ``metrics()``,
    ``variable(name)`` and ``update_ops()`` are those of its
    :class:`ComponentTracker`. Subclasses are registered for loading by class
    name, so saved models load without ``custom_objects``.

    Example:
        >>> class MyLoss(ComponentLoss):
        ...     components = ("ce", "reg")
        ...     def call(self, y_true, y_pred):
        ...         ce = tf.reduce_mean(tf.keras.losses.mse(y_true, y_pred))
        ...         reg = 0.01 * tf.reduce_mean(tf.square(y_pred))
        ...         return self.track("ce", ce) + self.track("reg", reg)
        >>> loss = MyLoss()
        >>> model.compile("adam", loss=loss, metrics=loss.metrics())
    """

    components = None

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "__init__" in cls.__dict__:
            cls.__init__ = capture_init_args(cls.__dict__["__init__"])
        if "call" in cls.__dict__ and not getattr(cls.__dict__["call"], "_compat_checks_tracked", False):
            cls.call = _check_declared_are_tracked(cls.__dict__["call"])
        impl.register_serializable(cls)

    @capture_init_args
    def __init__(self, components=None, name=None, **kwargs):
        name = name or type(self).__name__
        super().__init__(name=name, **kwargs)
        self.tracker = ComponentTracker(components or type(self).components, name=name)

    def __call__(self, *args, **kwargs):
        # Checked here too, before Keras runs call (through AutoGraph, which would bury the message).
        self.tracker._check_built_once()
        self._reducing = True  # call's value goes to Keras's reduction (see impl.reducible_loss_value)
        try:
            return super().__call__(*args, **kwargs)
        finally:
            self._reducing = False

    def track(self, component, value):
        """See :meth:`ComponentTracker.track`."""
        return self.tracker.track(component, value)

    def metric(self, component, reduction="mean", name=None):
        """See :meth:`ComponentTracker.metric`."""
        return self.tracker.metric(component, reduction=reduction, name=name)

    def metrics(self, reduction="mean"):
        """See :meth:`ComponentTracker.metrics`."""
        return self.tracker.metrics(reduction=reduction)

    def variable(self, component):
        """See :meth:`ComponentTracker.variable`."""
        return self.tracker.variable(component)

    def update_ops(self):
        """See :meth:`ComponentTracker.update_ops`."""
        return self.tracker.update_ops()

    def get_config(self):
        """The constructor arguments (as for :class:`compat_metrics.Metric`) plus Keras's ``name`` and ``reduction``."""
        config = init_args_config(self, super().get_config(),
                                  overridden=type(self).get_config is not ComponentLoss.get_config)
        config.pop("components", None)
        if self.tracker._declared is not None and type(self).components is None:
            config["components"] = list(self.tracker._declared)
        return config

    @classmethod
    def from_config(cls, config):
        """Build the loss from ``get_config()``, dropping keys the constructor does not take."""
        return loss_from_config(cls, config)


def _tracker_of(loss):
    if isinstance(loss, ComponentLoss):
        return loss.tracker
    return loss if isinstance(loss, ComponentTracker) else None


def _trackers_by_output(loss, output_names):
    """``{output: tracker}`` for compile's ``loss`` argument, keyed by output index and name."""
    names = list(output_names or [])
    if isinstance(loss, dict):
        pairs = [(names.index(key) if key in names else key, key, item) for key, item in loss.items()]
    elif isinstance(loss, (list, tuple)):
        pairs = [(index, names[index] if index < len(names) else index, item) for index, item in enumerate(loss)]
    else:
        return {}
    found = {}
    for index, name, item in pairs:
        tracker = _tracker_of(item)
        if tracker is not None:
            found[index] = found[name] = tracker
    return found


def bind_component_metrics(loss, metrics, output_names=()):
    """Make each :class:`ComponentMetric` in ``metrics`` read the tracker of a loss in ``loss``.

    For a loaded model, whose metrics know their loss by name only: another
    loss of that name (another output's, or another loaded model's) must not
    take its place. ``loss`` and ``metrics`` (``{"metrics": ..., "weighted_metrics":
    ...}``) are compile's arguments; a metric of one output reads that
    output's loss, else the one loss of that name. Two losses of one name
    that no output tells apart are a ``ValueError``. A metric of a tracker
    that no loss here holds (a plain loss function's) is left to find it by
    name.
    """
    from .metrics.per_class import per_output  # here: metrics.base imports the training modules
    by_output = _trackers_by_output(loss, output_names)
    trackers = []
    for item in tf.nest.flatten(loss) if isinstance(loss, (list, tuple, dict)) else [loss]:
        tracker = _tracker_of(item)
        if tracker is not None and all(tracker is not other for other in trackers):
            trackers.append(tracker)
    for value in metrics.values():
        if per_output(value):
            groups = value.items() if isinstance(value, dict) else enumerate(value)
        else:
            groups = [(None, value)]
        for output, group in groups:
            for metric in tf.nest.flatten(group):
                if not isinstance(metric, ComponentMetric) or metric._source_tracker is not None:
                    continue
                own = by_output.get(output)
                named = [own] if own is not None and own.name == metric.tracker_name else \
                    [tracker for tracker in trackers if tracker.name == metric.tracker_name]
                if len(named) > 1:
                    raise ValueError(
                        f"Invalid saved model: metric {metric.name!r} reads component {metric.component!r} of "
                        f"loss {metric.tracker_name!r}, and {len(named)} losses of the model have that name, so it "
                        "cannot tell which one. Give each loss its own name=... (and the metrics of each output "
                        "by output: metrics={'a': loss_a.metrics(), ...}), then save the model again. "
                        f"Received: losses named {[tracker.name for tracker in trackers]}")
                if named:
                    metric._source_tracker = named[0]


def check_one_loss_per_output(loss, metrics, n_outputs):
    """Refuse one component loss given for several outputs while its metrics are compiled.

    Its tracker holds one value per component: the metrics would read
    whichever output's loss ran last. (``tf.function`` steps also refuse it
    when the loss is tracked twice, see :meth:`ComponentTracker.track`.)
    """
    if isinstance(loss, dict):
        given = list(loss.values())
    elif isinstance(loss, (list, tuple)):
        given = list(loss)
    else:
        given = [loss] * max(int(n_outputs or 1), 1)
    read = {id(metric._source_tracker) for metric in tf.nest.flatten(list(metrics.values()))
            if isinstance(metric, ComponentMetric)}
    for item in given:
        tracker = _tracker_of(item)
        uses = sum(1 for other in given if _tracker_of(other) is tracker) if tracker is not None else 0
        if uses > 1 and id(tracker) in read:
            kind = type(item).__name__
            raise ValueError(
                f"Invalid `loss`: one {kind} ({tracker.name!r}) is given for {uses} outputs, and its component "
                "metrics would read whichever output's loss ran last. Give each output its own instance with its "
                f"own name, e.g. loss_a, loss_b = {kind}(name='loss_a'), {kind}(name='loss_b') with "
                "loss={'a': loss_a, 'b': loss_b}, metrics={'a': loss_a.metrics(), 'b': loss_b.metrics()}. "
                f"Received: loss={kind}(name={tracker.name!r}) for {uses} outputs")


def forget_builds(arguments):
    """Before a model is compiled (again): the trackers its ``loss`` and metrics use forget their builds in
    this TF1-style graph, so the reads built by this compile follow this compile's writes."""
    from ._readout import ReadoutMetric
    for item in tf.nest.flatten(arguments):
        trackers = [_tracker_of(item)] if _tracker_of(item) is not None else \
            item._sources() if isinstance(item, ReadoutMetric) else []
        for tracker in trackers:
            tracker._order.forget()
