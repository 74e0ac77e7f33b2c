"""Runs the rules of ``compat-metrics migrate`` (:mod:`.rules`) over one file's LibCST tree.

:func:`migrate_source` parses one file, reports every finding with its
position and, where the rule can, rewrites it. Names are resolved through the
file's imports (``import tensorflow.keras as k`` makes ``k.losses.Loss`` the
Keras ``Loss``), never by spelling. Rewrites are idempotent: what they produce
matches no rule.
"""

import ast
import collections
import re
import sys

import libcst as cst
from libcst.metadata import MetadataWrapper

from ._context import Analysis, Context, Finding, MigrateError, Names
from ._syntax import bound_name, code, drop_statements, is_docstring, is_tfa_from_import
from .rules import RULE_CLASSES, RULES

__all__ = ["RULES", "Finding", "MigrateError", "could_match", "migrate_source"]

_HOOKS = ("Call", "Attribute", "ClassDef", "FunctionDef", "BinaryOperation", "SimpleStatementLine")
_TYPE_IGNORE = re.compile(r"#\s*type:\s*ignore\b")
# `# compat-metrics: ignore` or `# compat-metrics: ignore[CM005, CM011]` on a finding's line
_MARKER = re.compile(r"#\s*compat-metrics:\s*ignore(?:\[([\w\s,]*)\])?")


class _Shift(cst.CSTTransformer):
    """Moves continuation lines indented at least ``column`` by ``delta`` columns."""

    def __init__(self, column, delta):
        super().__init__()
        self.column, self.delta = column, delta

    def leave_ParenthesizedWhitespace(self, original, updated):
        indent = updated.last_line.value
        if len(indent) >= self.column and not indent.strip(" "):
            return updated.with_changes(last_line=cst.SimpleWhitespace(" " * max(0, len(indent) + self.delta)))
        return updated


def _realign(ctx, original, result):
    """Keep continuation lines aligned with the open parenthesis after a call's name changed length."""
    if not isinstance(result, cst.Call) or not isinstance(original.func, (cst.Name, cst.Attribute)):
        return result
    delta = len(code(result.func)) - len(code(original.func))
    if delta == 0:
        return result
    column = ctx.position(original)[1] + len(code(original.func)) + 1
    return result.with_changes(args=[arg.visit(_Shift(column, delta)) for arg in result.args])


def _without_type_ignore(trailing):
    """A TrailingWhitespace without its ``# type: ignore`` comment."""
    comment = trailing.comment
    if comment is not None and _TYPE_IGNORE.match(comment.value):
        return trailing.with_changes(comment=None, whitespace=cst.SimpleWhitespace(""))
    return trailing


class _Dispatcher(cst.CSTTransformer):
    """One pass over the tree: keeps the enclosing classes/functions and calls each rule's hooks."""

    def __init__(self, ctx, rules, skip=()):
        super().__init__()
        self.ctx = ctx
        self.skip = skip  # top-level statements no rule can change: not visited
        self.hooks = {kind: [getattr(rule, "leave_" + kind) for rule in rules if hasattr(rule, "leave_" + kind)]
                      for kind in _HOOKS}
        self._fixed_before = []  # len(ctx.findings) when each open statement was entered

    def on_visit(self, node):
        top = self.ctx.top_index.get(node)
        if top is not None:
            if node in self.skip:
                return False
            self.ctx.current_top = top
        return super().on_visit(node)

    def on_leave(self, original, updated):
        if original in self.skip:
            return updated
        return super().on_leave(original, updated)

    def _leave(self, kind, original, updated):
        for hook in self.hooks[kind]:
            result = hook(original, updated)
            if result is not updated:
                return result
        return updated

    def _fixed_since(self):
        start = self._fixed_before.pop()
        return any(f.fixed for f in self.ctx.findings[start:])

    def visit_SimpleStatementLine(self, node):
        self._fixed_before.append(len(self.ctx.findings))

    def visit_With(self, node):
        self._fixed_before.append(len(self.ctx.findings))

    def leave_With(self, original, updated):
        if self._fixed_since() and isinstance(updated.body, cst.IndentedBlock):
            return updated.with_changes(body=updated.body.with_changes(header=_without_type_ignore(updated.body.header)))
        return updated

    def visit_ClassDef(self, node):
        self.ctx.classes.append(node)

    def leave_ClassDef(self, original, updated):
        self.ctx.classes.pop()
        result = self._leave("ClassDef", original, updated)
        if (result is not updated and isinstance(result, cst.ClassDef) and result.bases != updated.bases
                and isinstance(result.body, cst.IndentedBlock)):
            result = result.with_changes(body=result.body.with_changes(header=_without_type_ignore(result.body.header)))
        return result

    def visit_FunctionDef(self, node):
        self.ctx.functions.append(node.name.value)
        self.ctx.function_nodes.append(node)

    def leave_FunctionDef(self, original, updated):
        self.ctx.functions.pop()
        self.ctx.function_nodes.pop()
        return self._leave("FunctionDef", original, updated)

    def leave_Call(self, original, updated):
        result = self._leave("Call", original, updated)
        return result if result is original else _realign(self.ctx, original, result)

    def leave_Attribute(self, original, updated):
        return self._leave("Attribute", original, updated)

    def leave_BinaryOperation(self, original, updated):
        return self._leave("BinaryOperation", original, updated)

    def leave_SimpleStatementLine(self, original, updated):
        fixed = self._fixed_since()
        result = self._leave("SimpleStatementLine", original, updated)
        if (fixed or result is not updated) and isinstance(result, cst.SimpleStatementLine):
            result = result.with_changes(trailing_whitespace=_without_type_ignore(result.trailing_whitespace))
        return result


def _fix_imports(module, add, drop_aliases):
    """Add ``import compat_metrics`` / ``import tensorflow as tf``; drop unused tensorflow_addons imports."""
    body = list(module.body)
    if drop_aliases:
        body = drop_statements(body, lambda stmt: _imports_only(stmt, drop_aliases))
    missing = [line for line in add if not any(
        isinstance(s, cst.SimpleStatementLine) and code(s).strip() == line for s in body)]
    if missing:
        last_import = 0 if body and is_docstring(body[0]) else -1
        for index, stmt in enumerate(body):
            if isinstance(stmt, cst.SimpleStatementLine) and isinstance(stmt.body[0], (cst.Import, cst.ImportFrom)):
                last_import = index
            elif not is_docstring(stmt) and last_import >= 0:
                break
        body[last_import + 1:last_import + 1] = [cst.parse_statement(line + "\n") for line in missing]
    return module.with_changes(body=body)


def _imports_only(stmt, aliases):
    """Whether ``stmt`` is an ``import``/``from tensorflow_addons import`` binding only names in ``aliases``."""
    return (bool(aliases) and isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1
            and (isinstance(stmt.body[0], cst.Import) or is_tfa_from_import(stmt.body[0]))
            and all(bound_name(a) in aliases for a in stmt.body[0].names))


def _unmarked(findings, source):
    """``findings`` without the reported-only ones whose line carries a ``# compat-metrics: ignore`` marker."""
    if "compat-metrics:" not in source or all(f.fixed for f in findings):
        return findings
    lines = source.splitlines()
    kept = []
    for finding in findings:
        marker = _MARKER.search(lines[finding.line - 1]) if 0 < finding.line <= len(lines) else None
        if marker and not finding.fixed and (marker.group(1) is None or finding.rule in {
                r.strip() for r in marker.group(1).split(",")}):
            continue
        kept.append(finding)
    return kept


def _unused_imports(tree, names, removed):
    """Which of ``names`` are read only where a rewrite removed them (``removed``: name -> count)."""
    if tree is None:
        return set()  # keep the imports
    reads = collections.Counter(node.id for node in ast.walk(tree) if isinstance(node, ast.Name) and node.id in names)
    return {name for name in names if reads[name] <= removed[name]}


def _statement_spans(tree, module):
    """``(first line, last line)`` of each of ``module.body``, from its :mod:`ast` tree; None when they do not line up."""
    if tree is None or sys.version_info < (3, 8):
        return None  # end_lineno: Python >= 3.8
    statements = tree.body
    spans, index = [], 0
    for element in module.body:
        count = len(element.body) if isinstance(element, cst.SimpleStatementLine) else 1
        group = statements[index:index + count]
        index += count
        if len(group) != count:
            return None
        first = group[0]
        start = min([first.lineno] + [d.lineno for d in getattr(first, "decorator_list", ())])
        spans.append((start, group[-1].end_lineno))
    return spans if index == len(statements) else None


def could_match(text):
    """False only when no rule can find anything in ``text`` (a file's source): it need not be parsed."""
    return any(cls.could_match(text) for cls in RULE_CLASSES)


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
        raise MigrateError(f"cannot decode the file (no coding declaration, and not valid UTF-8: {error})") from error
    except (LookupError, SyntaxError) as error:
        raise MigrateError(f"cannot decode the file: {error}") from error
    except cst.ParserSyntaxError as error:
        raise MigrateError(
            f"not valid Python, skipped: {error.message} (line {error.raw_line}, column {error.raw_column + 1})") from error
    text = source.decode(module.encoding) if isinstance(source, bytes) else source
    wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
    names = Names(module)
    analysis = Analysis(names).run(module)
    ctx = Context(wrapper, names, analysis, helpers or {}, text)
    rules = [cls(ctx) for cls in RULE_CLASSES if cls.could_match(text)]
    for rule in rules:
        rule.prepare(module)
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        tree = None
    spans = _statement_spans(tree, module)
    skip = set()
    if spans is not None:
        ctx.set_spans(module, spans)
        lines = text.splitlines(True)
        for element, (first, last) in zip(module.body, spans):
            chunk = "".join(lines[first - 1:last])
            if not any(rule.relevant(chunk) for rule in rules):
                skip.add(element)
    new_module = module.visit(_Dispatcher(ctx, rules, skip))
    ctx.current_top = None
    for rule in rules:
        rule.finish()
    add = []
    if ctx.needs_tf_import:
        add.append("import tensorflow as tf" if ctx.tf_alias == "tf" else "import tensorflow")
    if ctx.needs_compat_import:
        add.append("import compat_metrics")
    drop = set()
    if analysis.tfa_aliases and ctx.removed_uses:
        drop = _unused_imports(tree, analysis.tfa_aliases, ctx.removed_uses)
        for stmt in module.body:
            if _imports_only(stmt, drop):
                ctx.report(stmt, "CM008", f"`{code(stmt.body[0])}` is unused once its metrics are rewritten -> removed", True)
    if add or drop:
        new_module = _fix_imports(new_module, add, drop)
    findings = sorted(_unmarked(ctx.findings, text), key=lambda f: (f.line, f.column, f.rule))
    new_source = new_module.bytes if isinstance(source, bytes) else new_module.code
    return new_source, findings
