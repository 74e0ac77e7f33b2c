"""CM001: a loss writes a part of itself into a variable for a metric to read -> ComponentLoss."""


import libcst as cst

from .._context import Rule
from .._syntax import (
    VARIABLE_MAKERS,
    assign_call,
    assigns_self_attr_from,
    call_func,
    code,
    drop_statements,
    is_docstring,
    methods,
    self_assignments,
    string_value,
    walk,
    zero_times_assign,
)


class ComponentPlan:
    """How one Loss class with the assign hack is rewritten."""

    def __init__(self, classdef):
        self.classdef = classdef
        self.components = []
        init = methods(classdef).get("__init__")
        self.created = dict(self_assignments(init)) if init is not None else {}
        self.call = methods(classdef).get("call")


class ComponentLossRule(Rule, rule_id="CM001", name="assign-in-loss", trigger=r"\.assign\("):
    """A loss writes a part of itself into a variable (`loss + 0 * var.assign(x)`, or a discarded
    `var.assign(x)`) for a metric to read: TF 1.15 never runs a discarded assign and the read may come first.
    Replaced by compat_metrics.ComponentLoss with self.track(...) and loss.metric(...)."""

    def prepare(self, module):
        for name, classdef in self.a.loss_classes.items():
            plan = ComponentPlan(classdef)
            if plan.call is None:
                continue
            for node in walk(plan.call):
                found = zero_times_assign(node) or assign_call(node)
                if found and found[0] not in plan.components:
                    plan.components.append(found[0])
            if plan.components:
                self.ctx.component_plans[name] = plan

    def relevant(self, text):
        plans = self._plans()
        instances = [name for name, cls in self.a.instances.items() if cls in plans]
        return self.could_match(text) or self.mentions(text, list(plans) + instances)

    # --- which plans apply ------------------------------------------------------------------
    def _plans(self):
        return {name: plan for name, plan in self.ctx.component_plans.items() if name not in self.ctx.input_plans}

    def _fixable(self, plan):
        return all(c in plan.created and self.names.is_(call_func(plan.created[c][1]), VARIABLE_MAKERS)
                   for c in plan.components)

    def _current_plan(self):
        """The plan of the class whose ``call`` is being left, else None."""
        ctx = self.ctx
        if ctx.classes and ctx.functions and ctx.functions[-1] == "call":
            return self._plans().get(ctx.classes[-1].name.value)
        return None

    def _component_read(self, node):
        """``(instance, attr)`` if ``node`` is ``<instance of a planned loss>.<component>``."""
        if not (isinstance(node, cst.Attribute) and isinstance(node.value, cst.Name)):
            return None
        plan = self._plans().get(self.a.instances.get(node.value.value))
        if plan is not None and node.attr.value in plan.components and self._fixable(plan):
            return node.value.value, node.attr.value
        return None

    # --- hooks -----------------------------------------------------------------------------
    def leave_ClassDef(self, original, updated):
        plan = self._plans().get(original.name.value)
        if plan is None or not self._fixable(plan):
            return updated  # reported at the assign; not rewritten
        components = plan.components
        init = methods(original).get("__init__")
        for stmt in init.body.body if init is not None else ():
            if any(assigns_self_attr_from(stmt, c) for c in components):
                self.ctx.discard_findings_in(stmt)  # dropped whole
        updated = self.ctx.replace_base(original, updated, "ComponentLoss")
        declaration = cst.parse_statement("components = ({}{})\n".format(
            ", ".join(f'"{c}"' for c in components), "," if len(components) == 1 else ""))
        body = []
        inserted = False
        for stmt in updated.body.body:
            if not inserted and not is_docstring(stmt):
                body.append(declaration)
                inserted = True
            if isinstance(stmt, cst.FunctionDef) and stmt.name.value == "__init__":
                stmt = stmt.with_changes(body=stmt.body.with_changes(body=drop_statements(
                    stmt.body.body, lambda s: any(assigns_self_attr_from(s, c) for c in components))))
            body.append(stmt)
        if not inserted:
            body.append(declaration)
        return updated.with_changes(body=updated.body.with_changes(body=body))

    def leave_BinaryOperation(self, original, updated):
        plan = self._current_plan()
        if plan is None or not isinstance(original.operator, cst.Add):
            return updated
        for keep, hack in ((original.left, original.right), (original.right, original.left)):
            found = zero_times_assign(hack)
            if not found:
                continue
            attr, value = found
            fixable = self._fixable(plan)
            self.report(original, f"`{code(original)}` -> `self.track(\"{attr}\", {code(value)})` on a compat_metrics.ComponentLoss",
                        fixable)
            if not fixable:
                return updated
            track = cst.parse_expression(f'self.track("{attr}", {code(value)})')
            if keep.deep_equals(value):
                return track
            zero_track = cst.BinaryOperation(left=cst.Integer("0"), operator=cst.Multiply(
                whitespace_before=cst.SimpleWhitespace(" "), whitespace_after=cst.SimpleWhitespace(" ")),
                right=track)
            if hack is original.right:
                return updated.with_changes(right=zero_track)
            return updated.with_changes(left=zero_track)
        return updated

    def leave_SimpleStatementLine(self, original, updated):
        if not (len(original.body) == 1 and isinstance(original.body[0], cst.Expr)):
            return updated
        found = assign_call(original.body[0].value)
        plan = self._current_plan() if found else None
        if plan is None:
            return updated
        attr, value = found
        fixable = isinstance(value, cst.Name) and self._fixable(plan)
        self.report(original, f"discarded `{code(original.body[0].value)}` (never run on TF 1.15) -> "
                    f"`{code(value)} = self.track(\"{attr}\", {code(value)})` "
                    "on a compat_metrics.ComponentLoss", fixable)
        if fixable:
            return updated.with_changes(body=[cst.parse_statement(
                f'{value.value} = self.track("{attr}", {value.value})\n').body[0]])
        return updated

    def leave_Call(self, original, updated):
        """A metric built from a loss's component variable -> ``loss.metric(...)``."""
        func = original.func
        if not (isinstance(func, cst.Name) and func.value in self.a.metric_classes):
            return updated
        for arg in original.args:
            component = self._component_read(arg.value)
            if component is None:
                continue
            instance, attr = component
            name = None
            for other in original.args:
                if other.keyword is not None and other.keyword.value == "name":
                    name = other.value
                elif other.keyword is None and string_value(other.value) is not None and name is None:
                    name = other.value
            text = '{}.metric("{}", reduction="last"{})'.format(
                instance, attr, ", name=" + code(name) if name is not None else "")
            self.ctx.discard_findings_in(original)  # replaced whole
            self.report(original, f"metric reading `{instance}.{attr}` -> `{text}`", True)
            return cst.parse_expression(text)
        return updated

    def leave_Attribute(self, original, updated):
        """Other reads of a component variable -> ``loss.variable(...)``."""
        component = self._component_read(original)
        if component is None:
            return updated
        text = '{}.variable("{}")'.format(*component)
        self.report(original, f"`{code(original)}` reads a loss component -> `{text}`", True)
        return cst.parse_expression(text)
