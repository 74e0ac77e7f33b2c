"""The rules of ``compat-metrics migrate`` on a LibCST tree.

:func:`migrate_source` parses one file, reports every finding with its
position and, where the rule can, rewrites it. Names are resolved through the
file's imports (``import tensorflow.keras as k`` makes ``k.losses.Loss`` the
Keras ``Loss``), never by spelling. Rewrites are idempotent: what they produce
matches no rule.
"""

import collections

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider, QualifiedNameProvider, QualifiedNameSource

__all__ = ["RULES", "Finding", "MigrateError", "migrate_source"]

# rule id -> (short name, what it finds and what replaces it)
RULES = collections.OrderedDict([
    ("CM001", ("assign-in-loss",
               "A loss writes a part of itself into a variable (`loss + 0 * var.assign(x)`, or a discarded "
               "`var.assign(x)`) for a metric to read: TF 1.15 never runs a discarded assign and the read may "
               "come first. Replaced by compat_metrics.ComponentLoss with self.track(...) and loss.metric(...).")),
    ("CM002", ("run-tf-function",
               "`experimental_run_tf_function` in compile(): changes code path on TF 2.0/2.1, ignored from 2.2, "
               "TypeError on Keras 3. Replaced by compat_metrics.compile(model, ...), which passes it only "
               "where TF honours it.")),
    ("CM003", ("tf1-api",
               "TF1-only names (tf.ConfigProto, tf.Session, keras.backend.set_session, tf.get_variable, "
               "tf.global_variables_initializer, ...) that TF 2.x removed. Replaced by tf.compat.v1 names, "
               "and sessions by compat_metrics.Session / compat_metrics.set_session, which also work eagerly.")),
    ("CM004", ("keras2-metric",
               "A Metric subclass overriding `reset_states` (Keras 3 calls only `reset_state`) or calling "
               "`add_weight('name', ...)` (Keras 3 takes `shape` first). Replaced by the portable base "
               "compat_metrics.Metric, which accepts both.")),
    ("CM005", ("train-step-compiled",
               "`self.compiled_loss(...)` / `self.compiled_metrics.update_state(...)` in train_step/test_step: "
               "no train_step before TF 2.2, deprecated shims on Keras 3. Reported only: the message points at "
               "`return compat_metrics.train_step(self, data)`.")),
    ("CM006", ("layer-add-metric",
               "`self.add_metric(...)` in a layer: removed in Keras 3. A named mean is replaced by "
               "compat_metrics.add_metric(self, ...); other aggregations are reported only.")),
    ("CM007", ("input-loss",
               "A loss constructed with the model's symbolic inputs (`loss=LocLoss(inputs, ...)`): fails on "
               "TF >= 2.2 and Keras 3, and the model cannot be loaded. Replaced by compat_metrics.InputLoss "
               "(call(self, inputs, y_true, y_pred)) compiled with compat_metrics.compile.")),
    ("CM008", ("tfa-metric",
               "tensorflow_addons metrics (end of life, no wheels for current TF). F1Score and FBetaScore are "
               "replaced by compat_metrics.F1Score / FBetaScore.")),
    ("CM009", ("compile-positional",
               "compile() with metrics as the third positional argument: Keras 3's third parameter is "
               "loss_weights. The arguments are given by keyword, in Keras 2's order.")),
])

Finding = collections.namedtuple("Finding", "line column rule message fixed")


class MigrateError(Exception):
    """A file that cannot be migrated (not decodable, or not valid Python)."""


# Canonical names (see _canonical) of TF1-only APIs -> (replacement, needs compat_metrics import)
_TF1_RENAMES = {
    "tensorflow.ConfigProto": ("{tf}.compat.v1.ConfigProto", False),
    "tensorflow.GPUOptions": ("{tf}.compat.v1.GPUOptions", False),
    "tensorflow.Session": ("compat_metrics.Session", True),
    "tensorflow.InteractiveSession": ("compat_metrics.Session", True),
    "keras.backend.set_session": ("compat_metrics.set_session", True),
    "keras.backend.get_session": ("{tf}.compat.v1.keras.backend.get_session", False),
    "tensorflow.get_variable": ("{tf}.compat.v1.get_variable", False),
    "tensorflow.global_variables_initializer": ("{tf}.compat.v1.global_variables_initializer", False),
    "tensorflow.local_variables_initializer": ("{tf}.compat.v1.local_variables_initializer", False),
    "tensorflow.global_variables": ("{tf}.compat.v1.global_variables", False),
    "tensorflow.placeholder": ("{tf}.compat.v1.placeholder", False),
    "tensorflow.variable_scope": ("{tf}.compat.v1.variable_scope", False),
    "tensorflow.RunOptions": ("{tf}.compat.v1.RunOptions", False),
}
_VARIABLE_MAKERS = {"tensorflow.get_variable", "tensorflow.compat.v1.get_variable", "tensorflow.Variable",
                    "tensorflow.compat.v1.Variable", "keras.backend.variable"}
_LOSS_BASES = {"keras.losses.Loss"}
_METRIC_BASES = {"keras.metrics.Metric"}
_INPUT_MAKERS = {"keras.Input", "keras.layers.Input"}
# Keras 2 Model.compile positional order (the order old scripts were written against)
_COMPILE_POSITIONAL = ("optimizer", "loss", "metrics", "loss_weights", "sample_weight_mode", "weighted_metrics")
# tensorflow_addons metric -> (compat_metrics name, tfa positional order)
_TFA_METRICS = {
    "F1Score": ("F1Score", ("num_classes", "average", "threshold", "name", "dtype")),
    "FBetaScore": ("FBetaScore", ("num_classes", "average", "beta", "threshold", "name", "dtype")),
}


def _canonical(name):
    """Map the spellings of one API to one name (``tensorflow.keras.x`` and ``tf_keras.x`` -> ``keras.x``)."""
    for prefix, repl in (("tensorflow.python.keras.", "keras."), ("tensorflow.keras.", "keras."),
                         ("tf_keras.", "keras."), ("keras.src.", "keras."), ("tensorflow.compat.v1.keras.", "keras."),
                         ("tensorflow.python.ops.", "tensorflow.")):
        if name.startswith(prefix):
            name = repl + name[len(prefix):]
    if name.startswith("keras.api._v2.keras."):
        name = "keras." + name[len("keras.api._v2.keras."):]
    return name


def _code(node):
    return cst.Module(body=[]).code_for_node(node)


def _is_self_attr(node, attr=None):
    return (isinstance(node, cst.Attribute) and isinstance(node.value, cst.Name) and node.value.value == "self"
            and (attr is None or node.attr.value == attr))


def _assign_call(node):
    """``(attribute name, value)`` if ``node`` is ``self.<attr>.assign(value)``."""
    if (isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and node.func.attr.value == "assign"
            and _is_self_attr(node.func.value) and len(node.args) == 1 and node.args[0].keyword is None):
        return node.func.value.attr.value, node.args[0].value
    return None


def _zero_times_assign(node):
    """``(attr, value)`` if ``node`` is ``0 * self.<attr>.assign(value)`` (either order)."""
    if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Multiply):
        for zero, other in ((node.left, node.right), (node.right, node.left)):
            if isinstance(zero, (cst.Integer, cst.Float)) and float(zero.value) == 0.0:
                found = _assign_call(other)
                if found:
                    return found
    return None


def _string_value(node):
    if isinstance(node, cst.SimpleString):
        return node.evaluated_value
    return None


def _methods(classdef):
    return {stmt.name.value: stmt for stmt in classdef.body.body if isinstance(stmt, cst.FunctionDef)}


def _self_assignments(function):
    """``attr -> (statement, value)`` for ``self.<attr> = value`` statements directly in ``function``."""
    found = {}
    for stmt in function.body.body:
        if isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1 and isinstance(stmt.body[0], cst.Assign):
            assign = stmt.body[0]
            if len(assign.targets) == 1 and _is_self_attr(assign.targets[0].target):
                found[assign.targets[0].target.attr.value] = (stmt, assign.value)
    return found


class _Names(object):
    """Qualified-name look-ups through the file's imports."""

    def __init__(self, wrapper):
        self._names = wrapper.resolve(QualifiedNameProvider)

    def _qualified(self, node):
        found = self._names.get(node, ())
        if callable(found):  # LibCST >= 1.1 resolves qualified names lazily
            found = found()
        return found

    def of(self, node):
        return {_canonical(q.name) for q in self._qualified(node)}

    def is_(self, node, names):
        return bool(self.of(node) & set(names))

    def raw(self, node):
        """The qualified names as the file spells them (not canonicalized)."""
        return {q.name for q in self._qualified(node)}

    def imported(self, node):
        """Canonical names of ``node`` when an import binds it (``re``, ``py_compile``), else an empty set."""
        return {_canonical(q.name) for q in self._qualified(node) if q.source == QualifiedNameSource.IMPORT}


class _Analysis(cst.CSTVisitor):
    """First pass: what the file defines, so the rewrite can act across statements."""

    def __init__(self, names):
        super().__init__()
        self.names = names
        self.loss_classes = {}       # class name -> ClassDef (Keras Loss subclasses)
        self.metric_classes = {}     # class name -> ClassDef (Keras Metric subclasses)
        self.input_names = set()     # names holding symbolic model inputs
        self.instances = {}          # variable name -> class name (module-level `x = Cls(...)`)
        self.tf_alias = None
        self.tfa_aliases = set()
        self.imported_names = set()  # names the file's imports bind

    def visit_Import(self, node):
        for alias in node.names:
            dotted = _code(alias.name)
            bound = alias.asname.name.value if alias.asname else dotted.split(".")[0]
            self.imported_names.add(bound)
            if dotted == "tensorflow":
                self.tf_alias = self.tf_alias or bound
            if dotted == "tensorflow_addons":
                self.tfa_aliases.add(bound)

    def visit_ImportFrom(self, node):
        if not isinstance(node.names, cst.ImportStar):
            self.imported_names.update(_bound_name(alias) for alias in node.names)
        if _is_tfa_from_import(node):
            self.tfa_aliases.update(_bound_name(alias) for alias in node.names)

    def visit_ClassDef(self, node):
        for base in node.bases:
            if self.names.is_(base.value, _LOSS_BASES):
                self.loss_classes[node.name.value] = node
            if self.names.is_(base.value, _METRIC_BASES):
                self.metric_classes[node.name.value] = node

    def visit_Assign(self, node):
        if len(node.targets) != 1 or not isinstance(node.targets[0].target, cst.Name):
            return
        target = node.targets[0].target.value
        value = node.value
        if isinstance(value, cst.Call):
            if self.names.is_(value.func, _INPUT_MAKERS):
                self.input_names.add(target)
            if isinstance(value.func, cst.Name):
                self.instances[target] = value.func.value

    def visit_Call(self, node):
        for arg in node.args:
            if arg.keyword is not None and arg.keyword.value == "inputs" and isinstance(arg.value, cst.Name):
                self.input_names.add(arg.value.value)


class _ComponentPlan(object):
    """How one Loss class with the assign hack is rewritten (CM001)."""

    def __init__(self, classdef):
        self.classdef = classdef
        self.components = []
        methods = _methods(classdef)
        init = methods.get("__init__")
        self.created = {}
        if init is not None:
            for attr, (stmt, value) in _self_assignments(init).items():
                self.created[attr] = (stmt, value)
        self.call = methods.get("call")


class _Transformer(cst.CSTTransformer):
    METADATA_DEPENDENCIES = (PositionProvider, QualifiedNameProvider)

    def __init__(self, analysis, names, helpers):
        super().__init__()
        self.a = analysis
        self.names = names
        self.helpers = helpers
        self.findings = []
        self.needs_compat_import = False
        self.tf_alias = analysis.tf_alias
        self.needs_tf_import = False
        self._class_stack = []
        self._function_stack = []
        self.component_plans = self._plan_components()
        self.input_plans = {}      # class name -> (param, attr, position)

    # --- helpers ---------------------------------------------------------------------------
    def report(self, node, rule, message, fixed):
        pos = self.get_metadata(PositionProvider, node).start
        self.findings.append(Finding(pos.line, pos.column + 1, rule, message, fixed))

    def tf(self):
        if self.tf_alias is None:
            # `import tensorflow.compat.v1 as tf` must keep its meaning
            self.tf_alias = "tensorflow" if "tf" in self.a.imported_names else "tf"
            self.needs_tf_import = True
        return self.tf_alias

    def compat(self, name):
        self.needs_compat_import = True
        return cst.parse_expression("compat_metrics." + name)

    def _plan_components(self):
        plans = {}
        for name, classdef in self.a.loss_classes.items():
            plan = _ComponentPlan(classdef)
            if plan.call is None:
                continue
            for node in _walk(plan.call):
                found = _zero_times_assign(node) or _assign_call(node)
                if found and found[0] not in plan.components:
                    plan.components.append(found[0])
            if plan.components:
                plans[name] = plan
        return plans

    def plan_input_losses(self, module):
        """Find ``LossClass(<model input>, ...)`` constructions (CM007) before rewriting."""
        for node in _walk(module):
            if not (isinstance(node, cst.Call) and isinstance(node.func, cst.Name)):
                continue
            cls = self.a.loss_classes.get(node.func.value)
            if cls is None:
                continue
            for position, arg in enumerate(node.args):
                if arg.keyword is None and isinstance(arg.value, cst.Name) and arg.value.value in self.a.input_names:
                    plan = _input_plan(cls, position)
                    if plan is not None:
                        self.input_plans.setdefault(cls.name.value, plan)
                    break

    # --- classes ---------------------------------------------------------------------------
    def visit_ClassDef(self, node):
        self._class_stack.append(node)

    def leave_ClassDef(self, original, updated):
        self._class_stack.pop()
        name = original.name.value
        if name in self.component_plans and name not in self.input_plans:
            return self._rewrite_component_loss(original, updated)
        if name in self.input_plans:
            return self._rewrite_input_loss(original, updated)
        if name in self.a.metric_classes:
            return self._rewrite_metric(original, updated)
        return updated

    def _replace_base(self, updated, bases_of, new_base):
        bases = []
        for base in updated.bases:
            if self.names.is_(bases_of.get(id(base), base).value, _LOSS_BASES | _METRIC_BASES):
                bases.append(base.with_changes(value=self.compat(new_base)))
            else:
                bases.append(base)
        return updated.with_changes(bases=bases)

    def _base_map(self, original, updated):
        return {id(u): o for u, o in zip(updated.bases, original.bases)}

    def _rewrite_metric(self, original, updated):
        methods = _methods(original)
        reasons = []
        if "reset_states" in methods:
            reasons.append("overrides reset_states (Keras 3 calls only reset_state)")
        for node in _walk(original):
            if (isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and _is_self_attr(node.func, "add_weight")
                    and node.args and node.args[0].keyword is None and _string_value(node.args[0].value) is not None):
                reasons.append("calls add_weight with the name first (Keras 3 takes shape first)")
                break
        if not reasons:
            return updated
        self.report(original, "CM004", "{} {}: base class -> compat_metrics.Metric".format(
            original.name.value, " and ".join(reasons)), True)
        return self._replace_base(updated, self._base_map(original, updated), "Metric")

    def _rewrite_component_loss(self, original, updated):
        plan = self.component_plans[original.name.value]
        components = [c for c in plan.components if c in plan.created and self.names.is_(
            _call_func(plan.created[c][1]), _VARIABLE_MAKERS)]
        if components != plan.components:
            return updated  # reported at the assign; not rewritten
        updated = self._replace_base(updated, self._base_map(original, updated), "ComponentLoss")
        declaration = cst.parse_statement("components = ({}{})\n".format(
            ", ".join('"{}"'.format(c) for c in components), "," if len(components) == 1 else ""))
        body = []
        inserted = False
        for stmt in updated.body.body:
            if not inserted and not _is_docstring(stmt):
                body.append(declaration)
                inserted = True
            if isinstance(stmt, cst.FunctionDef) and stmt.name.value == "__init__":
                stmt = stmt.with_changes(body=stmt.body.with_changes(body=_drop_statements(
                    stmt.body.body, lambda s: any(_assigns_self_attr_from(s, c) for c in components))))
            body.append(stmt)
        if not inserted:
            body.append(declaration)
        return updated.with_changes(body=updated.body.with_changes(body=body))

    def _rewrite_input_loss(self, original, updated):
        param, attr, _ = self.input_plans[original.name.value]
        updated = self._replace_base(updated, self._base_map(original, updated), "InputLoss")
        body = []
        for stmt in updated.body.body:
            if isinstance(stmt, cst.FunctionDef) and stmt.name.value == "__init__":
                params = [p for p in stmt.params.params if p.name.value != param]
                if params:
                    params[-1] = params[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
                lines = _drop_statements(stmt.body.body, lambda s: _assigns_self_attr_from(s, attr, param))
                stmt = stmt.with_changes(params=stmt.params.with_changes(params=params),
                                         body=stmt.body.with_changes(body=lines))
            elif isinstance(stmt, cst.FunctionDef) and stmt.name.value == "call":
                params = list(stmt.params.params)
                params.insert(1, cst.Param(name=cst.Name(param), comma=cst.Comma(
                    whitespace_after=cst.SimpleWhitespace(" "))))
                stmt = stmt.with_changes(params=stmt.params.with_changes(params=params))
                stmt = stmt.visit(_ReplaceSelfAttr(attr, param))
            body.append(stmt)
        return updated.with_changes(body=updated.body.with_changes(body=body))

    # --- functions -------------------------------------------------------------------------
    def visit_FunctionDef(self, node):
        self._function_stack.append(node.name.value)

    def leave_FunctionDef(self, original, updated):
        self._function_stack.pop()
        return updated

    def _in_component_call(self):
        return (self._class_stack and self._function_stack and self._function_stack[-1] == "call"
                and self._class_stack[-1].name.value in self.component_plans
                and self._class_stack[-1].name.value not in self.input_plans)

    def _component_fixable(self):
        plan = self.component_plans[self._class_stack[-1].name.value]
        return all(c in plan.created and self.names.is_(_call_func(plan.created[c][1]), _VARIABLE_MAKERS)
                   for c in plan.components)

    def leave_BinaryOperation(self, original, updated):
        if not self._in_component_call():
            return updated
        if isinstance(original.operator, cst.Add):
            for keep, hack, u_keep, u_hack in ((original.left, original.right, updated.left, updated.right),
                                               (original.right, original.left, updated.right, updated.left)):
                found = _zero_times_assign(hack)
                if found:
                    attr, value = found
                    fixable = self._component_fixable()
                    self.report(original, "CM001", "`{}` -> `self.track(\"{}\", {})` on a "
                                "compat_metrics.ComponentLoss".format(_code(original), attr, _code(value)), fixable)
                    if not fixable:
                        return updated
                    track = cst.parse_expression('self.track("{}", {})'.format(attr, _code(value)))
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
        if len(original.body) == 1 and isinstance(original.body[0], cst.Expr):
            found = _assign_call(original.body[0].value)
            if found and self._in_component_call():
                attr, value = found
                fixable = isinstance(value, cst.Name) and self._component_fixable()
                self.report(original, "CM001", "discarded `{}` (never run on TF 1.15) -> `{} = self.track(\"{}\", {})` "
                            "on a compat_metrics.ComponentLoss".format(
                                _code(original.body[0].value), _code(value), attr, _code(value)), fixable)
                if fixable:
                    return updated.with_changes(body=[cst.parse_statement(
                        '{0} = self.track("{1}", {0})\n'.format(value.value, attr)).body[0]])
        return updated

    # --- calls and names -------------------------------------------------------------------
    def leave_Call(self, original, updated):
        func = original.func
        # CM005: compiled_loss / compiled_metrics in train_step
        if self._function_stack and self._function_stack[-1] in ("train_step", "test_step"):
            target = _code(func)
            if target in ("self.compiled_loss", "self.compiled_metrics.update_state"):
                helper = self.helpers.get("train_step")
                self.report(original, "CM005", "`{}` in {}: {}".format(
                    target, self._function_stack[-1],
                    "`return compat_metrics.{}(self, data)` does the whole step on Keras 2 and 3 (put extra "
                    "metrics in compile(metrics=...))".format(helper) if helper else
                    "no train_step before TF 2.2 and a deprecated shim on Keras 3; put metrics in "
                    "compile(metrics=...) (streaming metrics, loss.metric(...)) instead of a custom train_step"),
                    False)
        # CM006: add_metric in a layer
        if isinstance(func, cst.Attribute) and _is_self_attr(func, "add_metric") and self._class_stack:
            helper = self.helpers.get("add_metric")
            aggregation = [a.value for a in original.args if a.keyword is not None and a.keyword.value == "aggregation"]
            named = any(a.keyword is not None and a.keyword.value == "name" for a in original.args) or (
                len(original.args) > 1 and original.args[1].keyword is None)
            fixable = bool(helper) and named and all(_string_value(a) == "mean" for a in aggregation)
            if fixable:
                self.report(original, "CM006", "`self.add_metric(...)` is removed in Keras 3 -> "
                            "`compat_metrics.{}(self, ...)`".format(helper), True)
                first = cst.Arg(value=cst.Name("self"), comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
                return updated.with_changes(func=self.compat(helper), args=[first] + list(updated.args))
            self.report(original, "CM006", "`self.add_metric(...)` is removed in Keras 3: {}".format(
                "use compat_metrics.{}(self, value, name=..., aggregation=\"mean\") (only a named mean "
                "is portable)".format(helper) if helper else
                "track the value with compat_metrics.ComponentTracker and list tracker.metric(...) "
                "in compile(metrics=...)"), False)
        # CM008: tensorflow_addons metrics
        qnames = self.names.of(func)
        for q in qnames:
            if q.startswith("tensorflow_addons.metrics."):
                return self._rewrite_tfa(original, updated, q.rsplit(".", 1)[1])
        # CM007: LossClass(<model inputs>, ...)
        if isinstance(func, cst.Name) and func.value in self.input_plans:
            _, _, position = self.input_plans[func.value]
            args = list(updated.args)
            given = original.args[position].value if len(original.args) > position else None
            if not (isinstance(given, cst.Name) and given.value in self.a.input_names):
                self.report(original, "CM007", "{} is rewritten to a compat_metrics.InputLoss; this call does not "
                            "pass the model's inputs: check its arguments".format(func.value), False)
            elif args[position].keyword is None:
                self.report(original, "CM007", "`{}` closes over the model's symbolic inputs -> {} as a "
                            "compat_metrics.InputLoss (inputs become call's first argument), compiled with "
                            "compat_metrics.compile".format(_code(original), func.value), True)
                del args[position]
                if args:
                    args[-1] = args[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
                return updated.with_changes(args=args)
        # CM001: a metric built from a loss's component variable; other reads of it
        metric_class = isinstance(func, cst.Name) and func.value in self.a.metric_classes
        for arg in original.args if metric_class else ():
            component = self._component_read(arg.value)
            if component is not None:
                instance, attr = component
                name = None
                for other in original.args:
                    if other.keyword is not None and other.keyword.value == "name":
                        name = other.value
                    elif other.keyword is None and _string_value(other.value) is not None and name is None:
                        name = other.value
                text = '{}.metric("{}", reduction="last"{})'.format(
                    instance, attr, ", name=" + _code(name) if name is not None else "")
                self.report(original, "CM001", "metric reading `{}.{}` -> `{}`".format(instance, attr, text), True)
                return cst.parse_expression(text)
        # CM002 / CM007: compile
        if (isinstance(func, cst.Attribute) and func.attr.value == "compile" and not self._other_module(func.value)
                and not self.names.of(func.value) & {"compat_metrics"} and _code(func.value) != "compat_metrics"):
            flag = any(a.keyword is not None and a.keyword.value == "experimental_run_tf_function" for a in original.args)
            input_loss = any(self._is_input_loss_call(a, i) for i, a in enumerate(original.args))
            positional = sum(1 for a in original.args if a.keyword is None and a.star == "")
            if not (flag or input_loss) and positional > 2:
                self.report(original, "CM009", "`{}` passes metrics positionally (Keras 3 reads the third argument "
                            "as loss_weights) -> keyword arguments".format(_code(func)), True)
                return updated.with_changes(args=_keywords(updated.args))
            if flag or input_loss:
                if flag:
                    self.report(original, "CM002", "`experimental_run_tf_function` in compile() -> "
                                "`compat_metrics.compile({}, ...)`".format(_code(func.value)), True)
                args = [cst.Arg(value=updated.func.value)] + _keywords(updated.args)
                first = args[0]
                args[0] = first.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
                                             if len(args) > 1 else cst.MaybeSentinel.DEFAULT)
                return updated.with_changes(func=self.compat("compile"), args=args)
        return updated

    def _other_module(self, node):
        """Whether an import binds ``node`` to something that is not Keras (``re.compile``, ``py_compile.compile``)."""
        imported = self.names.imported(node)
        return bool(imported) and not any(q == "keras" or q.startswith("keras.") for q in imported)

    def _is_input_loss_call(self, arg, index):
        if not ((arg.keyword is not None and arg.keyword.value == "loss") or (arg.keyword is None and index == 1)):
            return False
        value = arg.value
        return isinstance(value, cst.Call) and isinstance(value.func, cst.Name) and value.func.value in self.input_plans

    def _component_read(self, node):
        if (isinstance(node, cst.Attribute) and isinstance(node.value, cst.Name)
                and self.a.instances.get(node.value.value) in self.component_plans):
            cls = self.a.instances[node.value.value]
            if cls in self.input_plans:
                return None
            plan = self.component_plans[cls]
            if node.attr.value in plan.components and all(
                    c in plan.created and self.names.is_(_call_func(plan.created[c][1]), _VARIABLE_MAKERS)
                    for c in plan.components):
                return node.value.value, node.attr.value
        return None

    def _rewrite_tfa(self, original, updated, name):
        if name not in _TFA_METRICS:
            self.report(original, "CM008", "tensorflow_addons metric `{}` has no compat_metrics equivalent; "
                        "keras.metrics may have one (TF >= 2.13)".format(name), False)
            return updated
        new_name, order = _TFA_METRICS[name]
        args = []
        threshold = False
        for i, arg in enumerate(updated.args):
            keyword = arg.keyword.value if arg.keyword is not None else (order[i] if i < len(order) else None)
            if keyword == "threshold" and not (isinstance(arg.value, cst.Name) and arg.value.value == "None"):
                threshold = True
            if arg.keyword is None and i > 0 and keyword is not None:
                arg = arg.with_changes(keyword=cst.Name(keyword), equal=cst.AssignEqual(
                    whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace("")))
            args.append(arg)
        if threshold:
            if args:
                args[-1] = args[-1].with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
            args.append(cst.parse_expression("f(multilabel=True)").args[0])
        self.report(original, "CM008", "`{}` -> `compat_metrics.{}`{} (sparse or one-hot labels, matches "
                    "scikit-learn)".format(_code(original.func), new_name,
                                          " with multilabel=True (tfa thresholds each class)" if threshold else ""),
                    True)
        return updated.with_changes(func=self.compat(new_name), args=args)

    def leave_Attribute(self, original, updated):
        for q in self.names.of(original):
            if q in _TF1_RENAMES:
                text, compat = _TF1_RENAMES[q]
                if text.startswith("{tf}.compat.v1.") and any(
                        r.startswith("tensorflow.compat.v1.") for r in self.names.raw(original)):
                    continue  # already the tf.compat.v1 name
                if "{tf}" in text:
                    text = text.format(tf=self.tf())
                if compat:
                    self.needs_compat_import = True
                self.report(original, "CM003", "`{}` does not exist in TF 2.x -> `{}`".format(_code(original), text),
                            True)
                return cst.parse_expression(text)
        if self._component_read(original) is not None:
            # a metric built from it is replaced whole in leave_Call
            instance, attr = self._component_read(original)
            return cst.parse_expression('{}.variable("{}")'.format(instance, attr))
        return updated


def _drop_statements(statements, drop):
    """``statements`` without those ``drop`` selects; their comment lines move to the next statement kept."""
    kept, pending = [], []
    for stmt in statements:
        if drop(stmt):
            pending.extend(getattr(stmt, "leading_lines", ()))
            continue
        if pending and hasattr(stmt, "leading_lines"):
            stmt = stmt.with_changes(leading_lines=list(pending) + list(stmt.leading_lines))
            pending = []
        kept.append(stmt)
    return kept


def _keywords(args):
    """``compile`` arguments with the positional ones named, in Keras 2's order."""
    named = []
    for i, arg in enumerate(args):
        if arg.keyword is None and arg.star == "" and i < len(_COMPILE_POSITIONAL):
            arg = arg.with_changes(keyword=cst.Name(_COMPILE_POSITIONAL[i]), equal=cst.AssignEqual(
                whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace("")))
        named.append(arg)
    return named


def _walk(node):
    """Every node under ``node`` (pre-order)."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(current.children))


def _call_func(node):
    return node.func if isinstance(node, cst.Call) else node


def _bound_name(alias):
    """The name an import alias binds as written: ``x`` of ``... as x``, else the imported name."""
    return alias.asname.name.value if alias.asname else _code(alias.name)


def _is_tfa_from_import(node):
    """Whether ``node`` is ``from tensorflow_addons[...] import names`` (not ``*``)."""
    return (isinstance(node, cst.ImportFrom) and not node.relative and node.module is not None
            and _code(node.module).split(".")[0] == "tensorflow_addons" and not isinstance(node.names, cst.ImportStar))


def _is_docstring(stmt):
    return (isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1 and isinstance(stmt.body[0], cst.Expr)
            and isinstance(stmt.body[0].value, (cst.SimpleString, cst.ConcatenatedString)))


def _assigns_self_attr_from(stmt, attr, param=None):
    """Whether ``stmt`` is ``self.<attr> = ...`` (``= <param>`` when ``param`` is given)."""
    if not (isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1 and isinstance(stmt.body[0], cst.Assign)
            and len(stmt.body[0].targets) == 1 and _is_self_attr(stmt.body[0].targets[0].target, attr)):
        return False
    value = stmt.body[0].value
    return param is None or (isinstance(value, cst.Name) and value.value == param)


def _input_plan(classdef, position):
    """``(param, attr, position)`` when ``__init__``'s argument ``position`` is stored as ``self.attr``
    and read only in ``call``; None when the class cannot be rewritten safely."""
    methods = _methods(classdef)
    init, call = methods.get("__init__"), methods.get("call")
    if init is None or call is None or len(call.params.params) != 3:
        return None
    params = [p for p in init.params.params][1:]
    if position >= len(params):
        return None
    param = params[position].name.value
    attr = None
    for name, (stmt, value) in _self_assignments(init).items():
        if isinstance(value, cst.Name) and value.value == param:
            attr = name
    if attr is None:
        return None
    for name, method in methods.items():
        if name in ("__init__", "call"):
            continue
        if any(_is_self_attr(n, attr) for n in _walk(method)):
            return None
    return param, attr, position


class _ReplaceSelfAttr(cst.CSTTransformer):
    def __init__(self, attr, name):
        super().__init__()
        self.attr, self.name = attr, name

    def leave_Attribute(self, original, updated):
        if _is_self_attr(original, self.attr):
            return cst.Name(self.name)
        return updated


class _Imports(cst.CSTTransformer):
    """Adds ``import compat_metrics`` / ``import tensorflow as tf``; drops unused tensorflow_addons imports."""

    def __init__(self, add, drop_aliases):
        super().__init__()
        self.add, self.drop_aliases = add, drop_aliases

    def leave_Module(self, original, updated):
        body = list(updated.body)
        if self.drop_aliases:
            body = _drop_statements(body, lambda stmt: (
                isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1
                and (isinstance(stmt.body[0], cst.Import) or _is_tfa_from_import(stmt.body[0])) and all(
                    _bound_name(a) in self.drop_aliases
                    for a in stmt.body[0].names)))
        missing = [line for line in self.add if not any(
            isinstance(s, cst.SimpleStatementLine) and _code(s).strip() == line for s in body)]
        if missing:
            last_import = 0 if body and _is_docstring(body[0]) else -1
            for index, stmt in enumerate(body):
                if isinstance(stmt, cst.SimpleStatementLine) and isinstance(stmt.body[0], (cst.Import, cst.ImportFrom)):
                    last_import = index
                elif not _is_docstring(stmt) and last_import >= 0:
                    break
            new = [cst.parse_statement(line + "\n") for line in missing]
            body[last_import + 1:last_import + 1] = new
        return updated.with_changes(body=body)


class _Uses(cst.CSTVisitor):
    def __init__(self, names):
        super().__init__()
        self.names, self.used = names, set()

    def visit_Import(self, node):
        return False

    def visit_ImportFrom(self, node):
        return False

    def visit_Attribute(self, node):
        node.value.visit(self)  # `x.F1Score` does not use a name F1Score
        return False

    def visit_Name(self, node):
        if node.value in self.names:
            self.used.add(node.value)


def migrate_source(source, helpers=None):
    """Find and rewrite the patterns of :data:`RULES` in one file's source.

    Args:
        source: the file's contents, ``bytes`` (encoding found as Python does:
            a coding declaration, else UTF-8) or ``str``.
        helpers: names exported by ``compat_metrics`` that some rules rewrite
            to when present (``{"train_step": ..., "add_metric": ...}``);
            without them those rules only report.

    Returns:
        ``(new_source, findings)``: the rewritten source, of the type given,
        and a list of :class:`Finding` sorted by position.

    Raises:
        MigrateError: the source cannot be decoded or is not valid Python.
    """
    try:
        module = cst.parse_module(source)
    except UnicodeDecodeError as error:
        raise MigrateError("cannot decode the file (no coding declaration, and not valid UTF-8: {})".format(error))
    except (LookupError, SyntaxError) as error:
        raise MigrateError("cannot decode the file: {}".format(error))
    except cst.ParserSyntaxError as error:
        raise MigrateError("not valid Python, skipped: {} (line {}, column {})".format(
            error.message, error.raw_line, error.raw_column + 1))
    wrapper = MetadataWrapper(module)
    names = _Names(wrapper)
    analysis = _Analysis(names)
    wrapper.visit(analysis)
    transformer = _Transformer(analysis, names, helpers or {})
    transformer.plan_input_losses(wrapper.module)
    new_module = wrapper.visit(transformer)
    add = []
    if transformer.needs_tf_import:
        add.append("import tensorflow as tf" if transformer.tf_alias == "tf" else "import tensorflow")
    if transformer.needs_compat_import:
        add.append("import compat_metrics")
    uses = _Uses(analysis.tfa_aliases)
    new_module.visit(uses)
    drop = analysis.tfa_aliases - uses.used
    if add or drop:
        new_module = new_module.visit(_Imports(add, drop))
    findings = sorted(transformer.findings, key=lambda f: (f.line, f.column, f.rule))
    new_source = new_module.bytes if isinstance(source, bytes) else new_module.code
    return new_source, findings
