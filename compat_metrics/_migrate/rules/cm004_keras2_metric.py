"""CM004: a Metric subclass written against Keras 2 (``reset_states``, ``add_weight('name')``)."""


import libcst as cst

from .._context import Rule
from .._syntax import is_self_attr, methods, string_value, walk


class Keras2MetricRule(Rule, rule_id="CM004", name="keras2-metric",
                       trigger=r"reset_states|add_weight\(\s*[rbuRBU]?['\"]"):
    """A Metric subclass overriding `reset_states` (Keras 3 calls only `reset_state`) or calling
    `add_weight('name', ...)` (Keras 3 takes `shape` first). Replaced by the portable base
    compat_metrics.Metric, which accepts both."""

    def leave_ClassDef(self, original, updated):
        if original.name.value not in self.a.metric_classes:
            return updated
        reasons = []
        if "reset_states" in methods(original):
            reasons.append("overrides reset_states (Keras 3 calls only reset_state)")
        for node in walk(original):
            if (isinstance(node, cst.Call) and is_self_attr(node.func, "add_weight") and node.args
                    and node.args[0].keyword is None and string_value(node.args[0].value) is not None):
                reasons.append("calls add_weight with the name first (Keras 3 takes shape first)")
                break
        if not reasons:
            return updated
        self.report(original, "{} {}: base class -> compat_metrics.Metric".format(
            original.name.value, " and ".join(reasons)), True)
        return self.ctx.replace_base(original, updated, "Metric")
