"""CM010: ``metric.reset_states()`` on a Keras metric -> ``metric.reset_state()``."""


import libcst as cst

from .._context import Rule
from .._syntax import code

_COMPAT_METRICS = {"compat_metrics.Metric", "compat_metrics.ConfusionMatrix", "compat_metrics.Precision",
                   "compat_metrics.Recall", "compat_metrics.FBetaScore", "compat_metrics.F1Score",
                   "compat_metrics.BinaryTruePositives", "compat_metrics.CategoricalTruePositives",
                   "compat_metrics.GradientNorm"}


def _target_key(node):
    """``"name"`` or ``"self.attr"`` for an assignment/loop target or a receiver, else None."""
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute) and isinstance(node.value, cst.Name) and node.value.value == "self":
        return "self." + node.attr.value
    return None


class ResetStatesRule(Rule, rule_id="CM010", name="metric-reset-states", trigger=r"\.reset_states\b"):
    """`m.reset_states()` on a Keras metric (built from keras.metrics / a Metric subclass, or taken from
    `model.metrics`), e.g. in a train_step or a custom loop: Keras 3 metrics have no reset_states. Replaced by
    `m.reset_state()` (Keras 3, TF >= 2.5). Other objects' reset_states (stateful RNN layers) are left alone."""

    def prepare(self, module):
        self.metrics = set()
        for node in self.a.assigns:
            if isinstance(node.value, cst.Call) and self._is_metric(node.value):
                for target in node.targets:
                    key = _target_key(target.target)
                    if key:
                        self.metrics.add(key)
        for node in self.a.loops:
            if self._metric_list(node.iter):
                key = _target_key(node.target)
                if key:
                    self.metrics.add(key)

    def _is_metric(self, call):
        func = call.func
        if isinstance(func, cst.Name) and func.value in self.a.metric_classes:
            return True
        return any(q.startswith("keras.metrics.") or q in _COMPAT_METRICS for q in self.names.of(func))

    def _metric_list(self, node):
        """``<x>.metrics`` or a list/tuple of known metrics."""
        if isinstance(node, cst.Attribute) and node.attr.value == "metrics":
            return True
        return isinstance(node, (cst.List, cst.Tuple)) and node.elements and all(
            _target_key(e.value) in self.metrics for e in node.elements)

    def _is_metric_receiver(self, node):
        """``m``/``self.m`` holding a metric, or ``obj.m`` where some class sets ``self.m`` to one."""
        if _target_key(node) in self.metrics:
            return True
        return isinstance(node, cst.Attribute) and "self." + node.attr.value in self.metrics

    def leave_Call(self, original, updated):
        func = original.func
        if not (isinstance(func, cst.Attribute) and func.attr.value == "reset_states" and not original.args
                and self._is_metric_receiver(func.value)):
            return updated
        self.report(original, f"`{code(original)}`: Keras 3 metrics have no reset_states -> `{code(func.value)}.reset_state()`", True)
        return updated.with_changes(func=updated.func.with_changes(attr=cst.Name("reset_state")))
