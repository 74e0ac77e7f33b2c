"""What every rule shares: the file's names, a first-pass analysis, the findings.

A rule (see :mod:`.rules`) is a class with an ``ID``, a ``NAME``, a ``DOC``
and ``leave_<Node>(original, updated)`` hooks; one :class:`Context` per file
gives it name resolution, the analysis and ``report``. Rules never read
another rule's state except the plans kept here (``component_plans``,
``input_plans``), which two rules need.
"""

import collections
import re

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

from ._syntax import (
    INPUT_MAKERS,
    LOSS_BASES,
    METRIC_BASES,
    bound_name,
    canonical,
    code,
    comma_space,
    compile_keywords,
    dotted,
    is_tfa_from_import,
    walk,
)

Finding = collections.namedtuple("Finding", "line column rule message fixed")


class MigrateError(Exception):
    """A file that cannot be migrated (not decodable, or not valid Python)."""


class Names:
    """Qualified-name look-ups through the file's imports.

    ``import tensorflow.keras as k`` makes ``k.losses.Loss`` resolve to
    ``tensorflow.keras.losses.Loss``. Bindings are collected file-wide (an
    import inside a function counts everywhere): cheaper than LibCST's scope
    analysis, and the rules only ask about imported APIs.
    """

    def __init__(self, module):
        self.bindings = collections.defaultdict(set)  # bound name -> dotted names it may hold
        for node in _imports(module):
            if isinstance(node, cst.Import):
                for alias in node.names:
                    dotted = code(alias.name)
                    if alias.asname is not None:
                        self.bindings[alias.asname.name.value].add(dotted)
                    else:
                        self.bindings[dotted.split(".")[0]].add(dotted.split(".")[0])
            elif not node.relative and node.module is not None and not isinstance(node.names, cst.ImportStar):
                module_name = code(node.module)
                for alias in node.names:
                    self.bindings[bound_name(alias)].add(module_name + "." + code(alias.name))
        self._cache = {}

    def raw(self, node):
        """The qualified names as the file spells them (not canonicalized); empty when not imported."""
        found = self._cache.get(node)
        if found is None:
            parts = []
            current = node
            while isinstance(current, cst.Attribute):
                parts.append(current.attr.value)
                current = current.value
            if isinstance(current, cst.Name) and current.value in self.bindings:
                rest = "".join("." + p for p in reversed(parts))
                found = {base + rest for base in self.bindings[current.value]}
            else:
                found = set()
            self._cache[node] = found
        return found

    def of(self, node):
        return {canonical(q) for q in self.raw(node)}

    def is_(self, node, names):
        return not self.of(node).isdisjoint(names)

    def imported(self, node):
        """Canonical names of ``node`` when an import binds it (``re``, ``py_compile``), else an empty set."""
        return self.of(node)


def _imports(module):
    """Every Import/ImportFrom statement of ``module`` (at any depth)."""
    stack = [module]
    while stack:
        current = stack.pop()
        if isinstance(current, (cst.Import, cst.ImportFrom)):
            yield current
        elif isinstance(current, (cst.SimpleStatementLine, cst.Module, cst.IndentedBlock, cst.BaseCompoundStatement,
                                  cst.Else, cst.ExceptHandler, cst.Finally)):
            stack.extend(current.children)


class Analysis:
    """First pass: what the file defines, so the rewrite can act across statements.

    ``Analysis(names).run(module)`` walks the tree once (:func:`._syntax.walk`)
    and calls ``visit_<Node>`` for the node types below.
    """

    def __init__(self, names):
        self.names = names
        self.loss_classes = {}       # class name -> ClassDef (Keras Loss subclasses)
        self.metric_classes = {}     # class name -> ClassDef (Keras Metric subclasses)
        self.input_names = set()     # names holding symbolic model inputs
        self.tensor_names = set()    # names holding a layer's output (`h = Dense(8)(x)`): symbolic in a model
        self.instances = {}          # variable name -> class name (module-level `x = Cls(...)`)
        self.tf_alias = None
        self.tfa_aliases = set()
        self.imported_names = set()  # names the file's imports bind
        self.calls = []              # every Call node, in order
        self.assigns = []            # every Assign node
        self.loops = []              # every For and CompFor node

    def run(self, module):
        for node in walk(module):
            visit = getattr(self, "visit_" + type(node).__name__, None)
            if visit is not None:
                visit(node)
        return self

    def visit_Import(self, node):
        for alias in node.names:
            dotted = code(alias.name)
            bound = alias.asname.name.value if alias.asname else dotted.split(".")[0]
            self.imported_names.add(bound)
            if dotted == "tensorflow":
                self.tf_alias = self.tf_alias or bound
            if dotted == "tensorflow_addons":
                self.tfa_aliases.add(bound)

    def visit_ImportFrom(self, node):
        if not isinstance(node.names, cst.ImportStar):
            self.imported_names.update(bound_name(alias) for alias in node.names)
        if is_tfa_from_import(node):
            self.tfa_aliases.update(bound_name(alias) for alias in node.names)

    def visit_ClassDef(self, node):
        for base in node.bases:
            if self.names.is_(base.value, LOSS_BASES):
                self.loss_classes[node.name.value] = node
            if self.names.is_(base.value, METRIC_BASES):
                self.metric_classes[node.name.value] = node

    def visit_For(self, node):
        self.loops.append(node)

    def visit_CompFor(self, node):
        self.loops.append(node)

    def visit_Assign(self, node):
        self.assigns.append(node)
        if len(node.targets) != 1 or not isinstance(node.targets[0].target, cst.Name):
            return
        target = node.targets[0].target.value
        value = node.value
        if isinstance(value, cst.Call):
            if self.names.is_(value.func, INPUT_MAKERS):
                self.input_names.add(target)
            elif isinstance(value.func, cst.Call):
                self.tensor_names.add(target)
            if isinstance(value.func, cst.Name):
                self.instances[target] = value.func.value

    def visit_Call(self, node):
        self.calls.append(node)
        for arg in node.args:
            if arg.keyword is not None and arg.keyword.value == "inputs" and isinstance(arg.value, cst.Name):
                self.input_names.add(arg.value.value)


class Context:
    """One file's shared state: names, analysis, enclosing classes/functions, findings, imports to add."""

    def __init__(self, wrapper, names, analysis, helpers, text=""):
        self.wrapper = wrapper
        self.text = text           # the file's source
        self.names = names
        self.a = analysis
        self.helpers = helpers
        self.findings = []
        self.needs_compat_import = False
        self.tf_alias = analysis.tf_alias
        self.needs_tf_import = False
        self.classes = []          # enclosing ClassDef nodes (original), innermost last
        self.functions = []        # enclosing function names, innermost last
        self.function_nodes = []   # the same FunctionDef nodes (original)
        self.component_plans = {}  # CM001: loss class name -> ComponentPlan
        self.input_plans = {}      # CM007: loss class name -> (param, attr, position)
        self.removed_uses = collections.Counter()  # imported name -> uses of it a rewrite removed
        self._positions = None
        self.top_index = {}        # top-level statement -> its index in module.body
        self.current_top = None    # index of the top-level statement being rewritten
        self._spans = None
        self._top_positions = {}   # index -> (positions, line offset)

    def set_spans(self, module, spans):
        """``spans[i]``: first and last line of ``module.body[i]``, so positions are computed per statement."""
        self.top_index = {element: i for i, element in enumerate(module.body)}
        self._spans = spans

    def _range(self, node):
        """``(start, end)`` as ((line, column), (line, column)), 1-based lines and 0-based columns."""
        top = self.top_index.get(node)
        if top is not None and self._spans is not None:
            return (self._spans[top][0], 0), (self._spans[top][1] + 1, 0)
        if self.current_top is not None and self._spans is not None:
            # only the statement being rewritten is rendered, as a module of its own
            if self.current_top not in self._top_positions:
                statement = self.wrapper.module.body[self.current_top]
                alone = self.wrapper.module.with_changes(header=(), body=[statement], footer=())
                positions = MetadataWrapper(alone, unsafe_skip_copy=True).resolve(PositionProvider)
                offset = self._spans[self.current_top][0] - (1 + len(statement.leading_lines))
                self._top_positions[self.current_top] = (positions, offset)
            positions, offset = self._top_positions[self.current_top]
        else:
            if self._positions is None:
                self._positions = self.wrapper.resolve(PositionProvider)
            positions, offset = self._positions, 0
        span = positions[node]
        return (span.start.line + offset, span.start.column), (span.end.line + offset, span.end.column)

    def position(self, node):
        """``(line, column)`` where ``node`` (an original node) starts: 1-based line, 0-based column."""
        return self._range(node)[0]

    def discard_findings_in(self, node):
        """Forget findings inside ``node`` (an original node a rule replaces or drops whole)."""
        (line, column), (end_line, end_column) = self._range(node)
        start, end = (line, column + 1), (end_line, end_column + 1)
        self.findings = [f for f in self.findings if not start <= (f.line, f.column) < end]

    def report(self, node, rule, message, fixed):
        """Record a finding at ``node`` (an original node)."""
        line, column = self.position(node)
        self.findings.append(Finding(line, column + 1, rule, message, fixed))

    def tf(self):
        """The name TensorFlow is bound to in the file, importing it when it is not."""
        if self.tf_alias is None:
            # `import tensorflow.compat.v1 as tf` must keep its meaning
            self.tf_alias = "tensorflow" if "tf" in self.a.imported_names else "tf"
            self.needs_tf_import = True
        return self.tf_alias

    def compat(self, name):
        """The expression ``compat_metrics.<name>`` (and remember to import compat_metrics)."""
        self.needs_compat_import = True
        return dotted("compat_metrics." + name)

    def other_module(self, node):
        """Whether an import binds ``node`` to something that is not Keras (``re.compile``, ``py_compile.compile``)."""
        imported = self.names.imported(node)
        return bool(imported) and not any(q == "keras" or q.startswith("keras.") for q in imported)

    def is_keras_compile(self, func):
        """Whether ``func`` (a call's func) is ``<model>.compile`` (not compat_metrics', re's, ...)."""
        return (isinstance(func, cst.Attribute) and func.attr.value == "compile" and not self.other_module(func.value)
                and "compat_metrics" not in self.names.of(func.value) and code(func.value) != "compat_metrics")

    def replace_base(self, original, updated, new_base):
        """``updated`` (a ClassDef) with its Keras Loss/Metric base replaced by ``compat_metrics.<new_base>``."""
        bases = []
        for old, base in zip(original.bases, updated.bases):
            if self.names.is_(old.value, LOSS_BASES | METRIC_BASES):
                base = base.with_changes(value=self.compat(new_base))
            bases.append(base)
        return updated.with_changes(bases=bases)

    def compat_compile(self, updated):
        """``model.compile(...)`` -> ``compat_metrics.compile(model, <keyword arguments>)``."""
        args = [cst.Arg(value=updated.func.value)] + compile_keywords(updated.args)
        args[0] = args[0].with_changes(comma=comma_space() if len(args) > 1 else cst.MaybeSentinel.DEFAULT)
        return updated.with_changes(func=self.compat("compile"), args=args)


class Rule:
    """A rule: ``ID``, ``NAME``, ``DOC`` and hooks.

    A rule module declares ``class X(Rule, rule_id="CM002", name="run-tf-function",
    trigger=r"experimental_run_tf_function")`` with its ``DOC`` as the class
    docstring; ``trigger`` is optional (see :meth:`could_match`).

    Hooks are ``prepare(module)`` (before rewriting, with the whole original
    tree) and ``leave_<Node>(original, updated)`` for ``Call``, ``Attribute``,
    ``ClassDef``, ``FunctionDef``, ``BinaryOperation`` and ``SimpleStatementLine``. A hook
    returns ``updated`` to leave the node to the next rule, or a new node
    (the first rule that returns one wins).
    """

    ID = NAME = DOC = None
    TRIGGER = None  # a compiled regex: a file it does not match cannot have a finding of this rule

    def __init_subclass__(cls, rule_id=None, name=None, trigger=None, **kwargs):
        super().__init_subclass__(**kwargs)
        if rule_id is not None:
            cls.ID, cls.NAME, cls.DOC = rule_id, name, " ".join((cls.__doc__ or "").split())
            cls.TRIGGER = re.compile(trigger) if trigger is not None else None

    @classmethod
    def could_match(cls, text):
        """Cheap test on the source text: False only when the rule cannot find anything in it."""
        return cls.TRIGGER is None or cls.TRIGGER.search(text) is not None

    def __init__(self, ctx):
        self.ctx = ctx
        self.names = ctx.names
        self.a = ctx.a

    def prepare(self, module):
        pass

    def relevant(self, text):
        """Whether this rule may change or report something in ``text``, one top-level statement's source.

        Statements no rule finds relevant are not visited. Rules acting across
        statements add the names they track (classes, instances, aliases).
        """
        return self.could_match(text)

    def finish(self):
        """After the rewrite: report what could only be decided with the whole file seen."""

    def mentions(self, text, names):
        """Whether ``text`` contains one of ``names`` as a word."""
        return any(re.search(rf"\b{re.escape(name)}\b", text) for name in names)

    def report(self, node, message, fixed, rule=None):
        self.ctx.report(node, rule or self.ID, message, fixed)
