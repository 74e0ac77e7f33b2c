"""Small LibCST helpers shared by the rules (no state, no metadata)."""

import dataclasses

import libcst as cst

# Keras 2 Model.compile positional order (the order old scripts were written against)
COMPILE_POSITIONAL = ("optimizer", "loss", "metrics", "loss_weights", "sample_weight_mode", "weighted_metrics")
VARIABLE_MAKERS = {"tensorflow.get_variable", "tensorflow.compat.v1.get_variable", "tensorflow.Variable",
                   "tensorflow.compat.v1.Variable", "keras.backend.variable"}
LOSS_BASES = {"keras.losses.Loss"}
METRIC_BASES = {"keras.metrics.Metric"}
INPUT_MAKERS = {"keras.Input", "keras.layers.Input"}


def canonical(name):
    """Map the spellings of one API to one name (``tensorflow.keras.x`` and ``tf_keras.x`` -> ``keras.x``)."""
    for prefix, repl in (("tensorflow.python.keras.", "keras."), ("tensorflow.keras.", "keras."),
                         ("tf_keras.", "keras."), ("keras.src.", "keras."), ("tensorflow.compat.v1.keras.", "keras."),
                         ("tensorflow.python.ops.", "tensorflow.")):
        if name.startswith(prefix):
            name = repl + name[len(prefix):]
    if name.startswith("keras.api._v2.keras."):
        name = "keras." + name[len("keras.api._v2.keras."):]
    return name


_EMPTY_MODULE = cst.Module(body=[])


def code(node):
    """The source text of ``node``."""
    return _EMPTY_MODULE.code_for_node(node)


def dotted(text):
    """The expression for a dotted name (``"tf.compat.v1.placeholder"``), built without the parser."""
    parts = text.split(".")
    node = cst.Name(parts[0])
    for part in parts[1:]:
        node = cst.Attribute(value=node, attr=cst.Name(part))
    return node


def is_self_attr(node, attr=None):
    """Whether ``node`` is ``self.<attr>`` (any attribute when ``attr`` is None)."""
    return (isinstance(node, cst.Attribute) and isinstance(node.value, cst.Name) and node.value.value == "self"
            and (attr is None or node.attr.value == attr))


def assign_call(node):
    """``(attribute name, value)`` if ``node`` is ``self.<attr>.assign(value)``."""
    if (isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and node.func.attr.value == "assign"
            and is_self_attr(node.func.value) and len(node.args) == 1 and node.args[0].keyword is None):
        return node.func.value.attr.value, node.args[0].value
    return None


def zero_times_assign(node):
    """``(attr, value)`` if ``node`` is ``0 * self.<attr>.assign(value)`` (either order)."""
    if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Multiply):
        for zero, other in ((node.left, node.right), (node.right, node.left)):
            if isinstance(zero, (cst.Integer, cst.Float)) and float(zero.value) == 0.0:
                found = assign_call(other)
                if found:
                    return found
    return None


def string_value(node):
    """The value of a plain string literal, else None."""
    if isinstance(node, cst.SimpleString):
        return node.evaluated_value
    return None


def methods(classdef):
    """``name -> FunctionDef`` of the methods defined directly in ``classdef``."""
    return {stmt.name.value: stmt for stmt in classdef.body.body if isinstance(stmt, cst.FunctionDef)}


def self_assignments(function):
    """``attr -> (statement, value)`` for ``self.<attr> = value`` statements directly in ``function``."""
    found = {}
    for stmt in function.body.body:
        if isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1 and isinstance(stmt.body[0], cst.Assign):
            assign = stmt.body[0]
            if len(assign.targets) == 1 and is_self_attr(assign.targets[0].target):
                found[assign.targets[0].target.attr.value] = (stmt, assign.value)
    return found


def drop_statements(statements, drop):
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


def keyword_arg(arg, keyword):
    """``arg`` given as ``keyword=value`` (no spaces around ``=``)."""
    return arg.with_changes(keyword=cst.Name(keyword), equal=cst.AssignEqual(
        whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace("")))


def compile_keywords(args):
    """``compile`` arguments with the positional ones named, in Keras 2's order."""
    named = []
    for i, arg in enumerate(args):
        if arg.keyword is None and arg.star == "" and i < len(COMPILE_POSITIONAL):
            arg = keyword_arg(arg, COMPILE_POSITIONAL[i])
        named.append(arg)
    return named


def keyword_value(call, keyword):
    """The value of ``keyword=`` in ``call``'s arguments, else None."""
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == keyword:
            return arg.value
    return None


_FIELDS = {}
# node types of no interest to any rule (whitespace, comments, punctuation, operators): not walked
_LEAVES = frozenset(
    kind for kind in vars(cst).values() if isinstance(kind, type) and issubclass(kind, cst.CSTNode) and issubclass(
        kind, (cst.BaseParenthesizableWhitespace, cst.TrailingWhitespace, cst.EmptyLine, cst.Newline, cst.Comment,
               cst.Comma, cst.Dot, cst.LeftParen, cst.RightParen, cst.AssignEqual, cst.Colon, cst.Semicolon,
               cst.LeftSquareBracket, cst.RightSquareBracket, cst.LeftCurlyBrace, cst.RightCurlyBrace,
               cst.BaseBinaryOp, cst.BaseUnaryOp, cst.BaseBooleanOp, cst.BaseCompOp, cst.BaseAugOp, cst.ImportStar,
               cst.Annotation)))
_IS_NODE = {}


def _child_fields(kind):
    names = _FIELDS.get(kind)
    if names is None:
        names = _FIELDS[kind] = tuple(f.name for f in dataclasses.fields(kind))
    return names


def _walked(kind):
    """Whether values of type ``kind`` are nodes to walk into (exact types: isinstance on ABCs is slow)."""
    found = _IS_NODE.get(kind)
    if found is None:
        found = _IS_NODE[kind] = issubclass(kind, cst.CSTNode) and kind not in _LEAVES
    return found


def walk(node):
    """Every node under ``node`` (pre-order), whitespace and comments left out.

    Reads the dataclass fields directly: LibCST's ``children`` rebuilds each
    node, which made walking a file cost as much as parsing it.
    """
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        found = []
        for name in _child_fields(type(current)):
            value = getattr(current, name)
            kind = type(value)
            if kind is list or kind is tuple:
                found.extend(v for v in value if _walked(type(v)))
            elif _walked(kind):
                found.append(value)
        stack.extend(reversed(found))


def call_func(node):
    return node.func if isinstance(node, cst.Call) else node


def bound_name(alias):
    """The name an import alias binds as written: ``x`` of ``... as x``, else the imported name."""
    return alias.asname.name.value if alias.asname else code(alias.name)


def is_tfa_from_import(node):
    """Whether ``node`` is ``from tensorflow_addons[...] import names`` (not ``*``)."""
    return (isinstance(node, cst.ImportFrom) and not node.relative and node.module is not None
            and code(node.module).split(".")[0] == "tensorflow_addons" and not isinstance(node.names, cst.ImportStar))


def is_docstring(stmt):
    return (isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1 and isinstance(stmt.body[0], cst.Expr)
            and isinstance(stmt.body[0].value, (cst.SimpleString, cst.ConcatenatedString)))


def assigns_self_attr_from(stmt, attr, param=None):
    """Whether ``stmt`` is ``self.<attr> = ...`` (``= <param>`` when ``param`` is given)."""
    if not (isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1 and isinstance(stmt.body[0], cst.Assign)
            and len(stmt.body[0].targets) == 1 and is_self_attr(stmt.body[0].targets[0].target, attr)):
        return False
    value = stmt.body[0].value
    return param is None or (isinstance(value, cst.Name) and value.value == param)


def without_last_comma(args):
    """``args`` (a list) with the trailing comma of the last one removed."""
    if args:
        args[-1] = args[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
    return args


def comma_space():
    return cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
