"""Runs the rules of ``compat-metrics migrate`` (:mod:`.rules`) over one file's LibCST tree.

:func:`migrate_source` parses one file, reports every finding with its
position and, where the rule can, rewrites it. Names are resolved through the
file's imports (``import tensorflow.keras as k`` makes ``k.losses.Loss`` the
Keras ``Loss``), never by spelling. Rewrites are idempotent: what they produce
matches no rule.
"""

import libcst as cst
from libcst.metadata import MetadataWrapper

from ._context import Analysis, Context, Finding, MigrateError, Names
from ._syntax import bound_name, code, drop_statements, is_docstring, is_tfa_from_import
from .rules import RULE_CLASSES, RULES

__all__ = ["RULES", "Finding", "MigrateError", "migrate_source"]

_HOOKS = ("Call", "Attribute", "ClassDef", "BinaryOperation", "SimpleStatementLine")


class _Dispatcher(cst.CSTTransformer):
    """One pass over the tree: keeps the enclosing classes/functions and calls each rule's hooks."""

    def __init__(self, ctx, rules):
        super().__init__()
        self.ctx = ctx
        self.hooks = {kind: [getattr(rule, "leave_" + kind) for rule in rules if hasattr(rule, "leave_" + kind)]
                      for kind in _HOOKS}

    def _leave(self, kind, original, updated):
        for hook in self.hooks[kind]:
            result = hook(original, updated)
            if result is not updated:
                return result
        return updated

    def visit_ClassDef(self, node):
        self.ctx.classes.append(node)

    def leave_ClassDef(self, original, updated):
        self.ctx.classes.pop()
        return self._leave("ClassDef", original, updated)

    def visit_FunctionDef(self, node):
        self.ctx.functions.append(node.name.value)

    def leave_FunctionDef(self, original, updated):
        self.ctx.functions.pop()
        return updated

    def leave_Call(self, original, updated):
        return self._leave("Call", original, updated)

    def leave_Attribute(self, original, updated):
        return self._leave("Attribute", original, updated)

    def leave_BinaryOperation(self, original, updated):
        return self._leave("BinaryOperation", original, updated)

    def leave_SimpleStatementLine(self, original, updated):
        return self._leave("SimpleStatementLine", original, updated)


class _Imports(cst.CSTTransformer):
    """Adds ``import compat_metrics`` / ``import tensorflow as tf``; drops unused tensorflow_addons imports."""

    def __init__(self, add, drop_aliases):
        super().__init__()
        self.add, self.drop_aliases = add, drop_aliases

    def leave_Module(self, original, updated):
        body = list(updated.body)
        if self.drop_aliases:
            body = drop_statements(body, lambda stmt: (
                isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1
                and (isinstance(stmt.body[0], cst.Import) or is_tfa_from_import(stmt.body[0])) and all(
                    bound_name(a) in self.drop_aliases
                    for a in stmt.body[0].names)))
        missing = [line for line in self.add if not any(
            isinstance(s, cst.SimpleStatementLine) and code(s).strip() == line for s in body)]
        if missing:
            last_import = 0 if body and is_docstring(body[0]) else -1
            for index, stmt in enumerate(body):
                if isinstance(stmt, cst.SimpleStatementLine) and isinstance(stmt.body[0], (cst.Import, cst.ImportFrom)):
                    last_import = index
                elif not is_docstring(stmt) and last_import >= 0:
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
    names = Names(wrapper)
    analysis = Analysis(names)
    wrapper.module.visit(analysis)
    ctx = Context(wrapper, names, analysis, helpers or {})
    rules = [cls(ctx) for cls in RULE_CLASSES]
    for rule in rules:
        rule.prepare(wrapper.module)
    new_module = wrapper.module.visit(_Dispatcher(ctx, rules))
    add = []
    if ctx.needs_tf_import:
        add.append("import tensorflow as tf" if ctx.tf_alias == "tf" else "import tensorflow")
    if ctx.needs_compat_import:
        add.append("import compat_metrics")
    uses = _Uses(analysis.tfa_aliases)
    new_module.visit(uses)
    drop = analysis.tfa_aliases - uses.used
    if add or drop:
        new_module = new_module.visit(_Imports(add, drop))
    findings = sorted(ctx.findings, key=lambda f: (f.line, f.column, f.rule))
    new_source = new_module.bytes if isinstance(source, bytes) else new_module.code
    return new_source, findings
