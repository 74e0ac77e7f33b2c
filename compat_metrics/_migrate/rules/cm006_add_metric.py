"""CM006: ``self.add_metric(...)`` in a layer -> compat_metrics.add_metric(self, ...)."""


import libcst as cst

from .._context import Rule
from .._syntax import comma_space, is_self_attr, string_value


class AddMetricRule(Rule, rule_id="CM006", name="layer-add-metric", trigger=r"\.add_metric\b"):
    """`self.add_metric(...)` in a layer: removed in Keras 3. A named mean is replaced by
    compat_metrics.add_metric(self, ...); other aggregations are reported only."""

    def leave_Call(self, original, updated):
        func = original.func
        if not (isinstance(func, cst.Attribute) and is_self_attr(func, "add_metric") and self.ctx.classes):
            return updated
        helper = self.ctx.helpers.get("add_metric")
        aggregation = [a.value for a in original.args if a.keyword is not None and a.keyword.value == "aggregation"]
        named = any(a.keyword is not None and a.keyword.value == "name" for a in original.args) or (
            len(original.args) > 1 and original.args[1].keyword is None)
        if helper and named and all(string_value(a) == "mean" for a in aggregation):
            self.report(original, f"`self.add_metric(...)` is removed in Keras 3 -> `compat_metrics.{helper}(self, ...)`", True)
            first = cst.Arg(value=cst.Name("self"), comma=comma_space())
            return updated.with_changes(func=self.ctx.compat(helper), args=[first] + list(updated.args))
        self.report(original, "`self.add_metric(...)` is removed in Keras 3: {}".format(
            f"use compat_metrics.{helper}(self, value, name=..., aggregation=\"mean\") (only a named mean "
            "is portable)" if helper else
            "track the value with compat_metrics.ComponentTracker and list tracker.metric(...) "
            "in compile(metrics=...)"), False)
        return updated
