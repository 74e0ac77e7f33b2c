"""Gradient-norm metrics on every version, TF 1.15 graph mode included.

Put :class:`GradientNorm` in ``metrics=[...]`` of
:func:`compat_metrics.compile`; it reports the global L2 norm of the
gradients of the loss, optionally over a group of variables. No custom
``train_step`` is needed, and models with it save and load through
:func:`compat_metrics.load_model`.

How the gradients are observed, per version:

- TF 1.15, eager disabled, TF 2.0/2.1: the gradients of ``model.total_loss``
  are built once in the Keras graph at compile time (TF 2.0/2.1 are compiled
  with ``experimental_run_tf_function=False`` for that); the metric's read is
  ordered after their recording in every ``session.run``.
- Keras 2 from TF 2.2, ``tf_keras`` and Keras 3: training records the
  gradients the model passes to ``optimizer.apply_gradients``; ``evaluate``
  takes the gradients of the loss from ``compute_loss`` on a tape inside
  ``test_step`` (they are not applied).

In both cases the training value is the norm of the gradient of the training
loss (regularisation losses included, before any clipping by the optimizer)
on each batch, and the ``evaluate``/``val_`` value is the norm of the
gradient of the loss on each evaluated batch.

Under ``tf.distribute`` (TF >= 2.2, Keras 3) the replicas' gradients are
summed before the norm is taken, so the value is that of the whole batch;
TF 2.0/2.1 raise ``NotImplementedError`` there. Before TF 2.8 (no
``compute_loss``) ``evaluate`` takes the gradients of ``compiled_loss``. Limit:
TF 2.0/2.1 with ``run_eagerly=True`` have no Keras graph: there ``evaluate``
keeps the last training value.
"""

import contextlib
import itertools
import re

import tensorflow as tf

from ._backend import impl
from ._backend._hooks import set_state, state
from ._readout import ReadoutMetric
from .components import ComponentTracker

__all__ = ["GradientNorm", "bind_gradient_metrics", "gradient_norm_metrics", "restore_gradient_norms"]

_COUNTER = itertools.count()


def _variable_path(variable):
    """``"dense/kernel"`` for a Keras 2 ``tf.Variable`` or a Keras 3 variable."""
    path = getattr(variable, "path", None) or variable.name
    return path[:-2] if path.endswith(":0") else path


def _short_name(variable):
    return _variable_path(variable).split("/")[-1]


def layer_paths(model):
    """``{id(variable): "layer_name/kernel"}`` for the trainable variables of ``model``.

    Built from the layers' own names, so a pattern such as ``"^encoder/"``
    matches on every version: Keras 2 graph-mode variable names get suffixes
    (``encoder_1/kernel:0``) when several models share a graph. The innermost
    layer holding a variable names it.
    """
    paths = {}

    def visit(layer):
        for variable in layer.trainable_weights:
            paths[id(variable)] = f"{layer.name}/{_short_name(variable)}"
        for sublayer in getattr(layer, "layers", None) or ():
            if sublayer is not layer:
                visit(sublayer)

    for layer in getattr(model, "layers", None) or ():
        visit(layer)
    return paths


def _dense(gradient):
    if isinstance(gradient, tf.IndexedSlices):
        return tf.convert_to_tensor(gradient)  # duplicate indices summed, as applied
    return gradient


class GradientNorm(ReadoutMetric):
    """Global L2 norm of the gradients of the loss, as a Keras metric.

    Args:
        variables: optional regular expression; only variables whose path
            ``"layer_name/variable_name"`` (e.g. ``"encoder/kernel"``, built
            from the layer names, the same on every version) it matches
            (``re.search``) count. Several metrics with different patterns
            give per-group norms. Default: all trainable variables.
        reduction: ``"mean"`` (default): per-batch norms averaged over the
            epoch, weighted by batch size, as Keras reports the loss;
            ``"last"``: the norm of the last batch.
        name: metric name (default ``"gradient_norm"``).
        dtype: dtype of the metric.

    Compile with :func:`compat_metrics.compile`, which hands the model's
    gradients to the metric; plain ``model.compile`` cannot (the metric never
    sees the model) and the metric then raises a ``ValueError`` saying so.
    See the module docstring for the mechanism each version uses.

    Example:
        >>> compat_metrics.compile(model, optimizer="adam", loss="mse",
        ...                        metrics=[compat_metrics.GradientNorm(),
        ...                                 compat_metrics.GradientNorm("^encoder/", name="encoder_grad")])
        >>> model.fit(x, y).history["gradient_norm"]
    """

    def __init__(self, variables=None, reduction="mean", name="gradient_norm", dtype=None, **kwargs):
        if variables is not None:
            if not isinstance(variables, str):
                raise TypeError("GradientNorm(variables=...) must be a regular expression string matched "
                                f"against variable paths such as 'dense/kernel', got {variables!r}")
            try:
                self._pattern = re.compile(variables)
            except re.error as error:
                raise ValueError(f"GradientNorm(variables={variables!r}) is not a valid regular expression: {error}"
                                 ) from error
        else:
            self._pattern = None
        super().__init__(reduction=reduction, name=name, dtype=dtype, **kwargs)
        # The tracker stores each step's norm and orders the metric's read after the store.
        self._norm_store = ComponentTracker(("norm",), name=f"{name}_{next(_COUNTER)}")
        self._norm_store._one_build_per_graph = False  # built again, after Keras's compile, by each compile
        self.variables_pattern = variables
        self._gradient_source = False

    def _connect(self, layer_paths):
        """Mark the metric connected to a model whose variables have these ``layer_paths``."""
        self._gradient_source = True
        set_state(self, "layer_paths", layer_paths)  # int keys: not a Keras-tracked attribute

    def _path(self, variable):
        return (state(self, "layer_paths") or {}).get(id(variable)) or _variable_path(variable)

    def _selected(self, grads_and_vars):
        selected = []
        for gradient, variable in grads_and_vars:
            if gradient is None:
                continue
            if self._pattern is None or self._pattern.search(self._path(variable)):
                selected.append(_dense(gradient))
        return selected

    def record(self, grads_and_vars):
        """Store the norm of ``grads_and_vars`` (pairs as given to ``apply_gradients``).

        Called by the mechanism :func:`compat_metrics.compile` installs; call
        it yourself from a hand-written training step if you have one.

        Returns:
            The norm, a scalar tensor that depends on the store.

        Raises:
            ValueError: no variable matches ``variables``.
        """
        grads_and_vars = list(grads_and_vars)
        selected = self._selected(grads_and_vars)
        if not selected:
            raise ValueError(
                f"GradientNorm {self.name!r}: no trainable variable with a gradient matches variables={self.variables_pattern!r}; "
                f"variables are {[self._path(v) for _, v in grads_and_vars]}")
        norm = tf.linalg.global_norm([tf.cast(g, tf.float32) for g in selected])
        self._gradient_source = True
        return self._norm_store.track("norm", tf.cast(norm, self.dtype))

    def _sources(self):
        return [self._norm_store]

    def step_value(self):
        """The norm :meth:`record` stored in this step."""
        if not self._gradient_source:
            raise ValueError(
                f"GradientNorm {self.name!r} is not connected to a model's gradients. Compile with "
                "compat_metrics.compile(model, optimizer=..., loss=..., metrics=[GradientNorm()]) "
                "instead of model.compile, load saved models with compat_metrics.load_model, or "
                "call compat_metrics.bind_gradient_metrics(model) after model.compile. In a model "
                "with several outputs list it for one output only, metrics={output_name: "
                "[GradientNorm()]}: Keras copies metrics listed for every output.")
        return self._norm_store.read("norm")

    def get_config(self):
        config = super().get_config()
        config.update(variables=self.variables_pattern, reduction=self.reduction)
        return config


def restore_gradient_norms(metrics):
    """Replace saved ``GradientNorm`` configs in a ``metrics`` argument by metric objects.

    TF 1.15 and TF 2.0/2.1 store the compile metrics of an h5 file as
    ``{"class_name": "GradientNorm", "config": ...}`` under the bare class
    name; the library rebuilds them so it can connect them before compiling.
    """
    def restore(item):
        if isinstance(item, dict) and set(item) >= {"class_name", "config"} and \
                str(item["class_name"]).split(">")[-1] == GradientNorm.__name__:
            return GradientNorm.from_config(item["config"])
        return item

    if isinstance(metrics, dict) and "class_name" not in metrics:
        return {key: restore_gradient_norms(value) for key, value in metrics.items()}
    if isinstance(metrics, (list, tuple)):
        return type(metrics)(restore_gradient_norms(item) for item in metrics)
    return restore(metrics)


def gradient_norm_metrics(metrics):
    """The :class:`GradientNorm` objects in a ``compile(metrics=...)`` argument (lists, dicts, nested)."""
    if metrics is None:
        return []
    found = []
    for item in tf.nest.flatten(metrics):
        if isinstance(item, GradientNorm) and item not in found:
            found.append(item)
    return found


def bind_gradient_metrics(model, metrics=None):
    """Connect the :class:`GradientNorm` metrics of a compiled ``model`` to its gradients.

    :func:`compat_metrics.compile` and :func:`compat_metrics.load_model` call
    it; call it yourself only after a plain ``model.compile`` (Keras 2 from
    TF 2.2, ``tf_keras`` and Keras 3: before the first ``fit``/``evaluate``;
    in TF1 graph mode plain ``compile`` already fails, use
    :func:`compat_metrics.compile`).

    Args:
        model: a compiled Keras model.
        metrics: the metrics to bind; default those found in the model's compile arguments.

    Returns:
        The list of bound metrics.
    """
    metrics = gradient_norm_metrics(impl.compiled_metric_objects(model) if metrics is None else metrics)
    if not metrics:
        return []
    bound = state(model, "gradient_norms", list)
    paths = layer_paths(model)
    for metric in metrics:
        metric._connect(paths)
        metric._counts_non_finite = not impl.skips_non_finite_steps(model.optimizer)
    bound[:] = metrics  # a new compile replaces the metrics of the previous one
    impl.bind_gradient_recorder(model, _recorder(model, bound))
    return metrics


def bind_loaded_gradient_metrics(model):
    """Bind the :class:`GradientNorm` metrics of a loaded model that loading did not connect."""
    unbound = [m for m in gradient_norm_metrics(impl.compiled_metric_objects(model)) if not m._gradient_source]
    return bind_gradient_metrics(model, unbound) if unbound else []


@contextlib.contextmanager
def connecting(metrics):
    """The :class:`GradientNorm` ``metrics`` count as connected inside (compile binds them after).

    TF1 Keras builds the metrics inside ``model.compile``, before they can be
    bound; if compiling fails, they are left as they were.
    """
    connected = [metric._gradient_source for metric in metrics]
    for metric in metrics:
        metric._gradient_source = True
    try:
        yield
    except BaseException:
        for metric, was_connected in zip(metrics, connected):
            metric._gradient_source = was_connected
        raise


def _recorder(model, bound):
    """One recording function per model, so binding twice hooks once."""
    record = state(model, "record_gradients")
    if record is None:
        def record(grads_and_vars):
            for metric in bound:
                metric.record(grads_and_vars)
        set_state(model, "record_gradients", record)
    return record
