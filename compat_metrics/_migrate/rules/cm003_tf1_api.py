"""CM003: TF1-only API names -> the names TensorFlow's own ``tf_upgrade_v2`` tables give.

The renames come from the installed TensorFlow (:mod:`.._tf_tables`); only
sessions are this library's own: ``tf.Session`` becomes
``compat_metrics.Session`` (works eagerly too). Names whose arguments
``tf_upgrade_v2`` also changes go to ``tf.compat.v1`` (same signature); names
in removed modules (``tf.contrib``) are reported, not rewritten. Keras names
(``tf.keras.optimizers.Adam``) are left alone, apart from the backend's
session functions: they work on TF 2, and the tables' targets
(``tf.compat.v1.keras``, ``keras.optimizers.legacy``) would break Keras 3. Without
TensorFlow in this Python only sessions are rewritten, and the command says so.
"""

import re

import libcst as cst

from .. import _tf_tables
from .._context import Rule
from .._syntax import canonical, code, dotted

# canonical name -> compat_metrics replacement (this library's own, not a rename of TF's)
SESSIONS = {
    "tensorflow.Session": "compat_metrics.Session",
    "tensorflow.InteractiveSession": "compat_metrics.Session",
    "keras.backend.set_session": "compat_metrics.set_session",
}
_LOOKUP = {}


def _canonical_tf(name):
    """``tf.x.y`` (the tables' spelling) -> the canonical name the rules compare."""
    return canonical("tensorflow" + name[2:]) if name.startswith("tf.") else name


def lookup(tables):
    """``canonical old name -> (tables' old name, new name or None)`` and the deprecated module prefixes."""
    key = id(tables)
    if key not in _LOOKUP:
        renames = {}
        for old, new in tables.renames.items():
            if _canonical_tf(old).startswith("keras.") and not old.startswith("tf.keras.backend."):
                # Keras names still work on TF 2 (their targets, tf.compat.v1.keras and
                # keras.optimizers.legacy, are Keras 2 only and break a Keras 3 model)
                continue
            if old in tables.special and not new.startswith("tf.compat.v1."):
                new = None  # tf_upgrade_v2 changes the arguments too: keep the v1 signature instead
            renames[_canonical_tf(old)] = (old, new)
        modules = tuple(sorted((_canonical_tf(m) for m in tables.deprecated), key=len, reverse=True))
        for old in tables.transformed:
            if not _canonical_tf(old).startswith("keras."):
                renames.setdefault(_canonical_tf(old), (old, "call"))  # see Tf1ApiRule.leave_Call
        _LOOKUP[key] = (renames, modules)
    return _LOOKUP[key]


_IMPORT_AS = re.compile(r"^[ \t]*import[ \t]+((?:tensorflow|keras|tf_keras)(?:\.[\w.]+)?)[ \t]+as[ \t]+(\w+)", re.M)
_FROM_IMPORT = re.compile(r"^[ \t]*from[ \t]+((?:tensorflow|keras|tf_keras)[\w.]*)[ \t]+import[ \t]+(\([^)]*\)|[^\n#;]+)", re.M)
_API_ROOTS = ("tensorflow", "keras", "tf_keras")


_PAIR = re.compile(r"(\w+)[ \t]*\.[ \t]*(?=(\w+))")


def triggers(tables, tf1_only=False):
    """``(top, deeper)``: last parts of names directly under tensorflow, ``(parent, name)`` pairs of deeper ones.

    ``tf1_only``: only names that exist in TF 1 alone (not ``tf.nn.dropout``, which TF 2 kept).
    """
    key = ("triggers", id(tables), tf1_only)
    if key not in _LOOKUP:
        renames, modules = lookup(tables)
        names = [n for n, (_, new) in renames.items() if not (tf1_only and new == "call")]
        if not tf1_only:
            names += list(modules) + list(SESSIONS)
        top, deeper = set(), set()
        for name in names:
            parts = name.split(".")
            if len(parts) == 2 and parts[0] == "tensorflow":
                top.add(parts[1])
            else:
                deeper.add(tuple(parts[-2:]))
        _LOOKUP[key] = (frozenset(top), frozenset(deeper))
    return _LOOKUP[key]


def aliases_in(text):
    """``name -> {last part of what it is bound to}`` for TensorFlow/Keras imports spelled in ``text``."""
    found = {root: {root} for root in _API_ROOTS}
    for imported, alias in _IMPORT_AS.findall(text):
        found.setdefault(alias, set()).add(imported.rsplit(".", 1)[-1])
    for _, names in _FROM_IMPORT.findall(text):
        for item in names.strip("()").split(","):
            parts = item.split()
            if parts:
                found.setdefault(parts[-1], set()).add(parts[0])
    return found


def could_match(text, aliases=None, tf1_only=False):
    """Whether ``text`` spells a name this rule may rewrite or report (cheap, no parsing).

    ``aliases``: :func:`aliases_in` of the whole file, when ``text`` is a part of it.
    """
    top, deeper = triggers(_tf_tables.load(), tf1_only)
    for match in _PAIR.finditer(text):
        parent, name = match.groups()
        if (parent, name) in deeper:
            return True
        if aliases is None:
            aliases = aliases_in(text)
        for bound in aliases.get(parent, ()):
            if (bound, name) in deeper or (bound == "tensorflow" and name in top):
                return True
    return False


class Tf1ApiRule(Rule, rule_id="CM003", name="tf1-api"):
    """TF1-only names that TF 2.x removed (tf.Session, tf.placeholder, tf.scatter_sub, ...), found with the
    rename tables TensorFlow ships for tf_upgrade_v2. Renamed as those tables say (tf.compat.v1 where
    tf_upgrade_v2 would also change the arguments); sessions become compat_metrics.Session /
    compat_metrics.set_session, which also work eagerly; names in removed modules (tf.contrib) are reported.
    Without TensorFlow installed only sessions are rewritten, and the report says so."""

    @classmethod
    def could_match(cls, text):
        return could_match(text)

    def __init__(self, ctx):
        super().__init__(ctx)
        self.tables = _tf_tables.load()
        self.renames, self.modules = lookup(self.tables)
        self._removed = {}  # start position -> (node, name): the longest name in a removed module

    def prepare(self, module):
        self.aliases = {root: {root} for root in _API_ROOTS}
        for name, bound in self.names.bindings.items():
            for target in bound:
                if target.split(".")[0] in _API_ROOTS:
                    self.aliases.setdefault(name, set()).add(target.rsplit(".", 1)[-1])

        # TF 1 code: names only TF 1 has appear (then `tf.nn.dropout(x, keep_prob)` is TF 1's)
        self.tf1_file = could_match(self.ctx.text, self.aliases, tf1_only=True)

    def relevant(self, text):
        return could_match(text, self.aliases)

    def leave_Attribute(self, original, updated):
        qualified = self.names.of(original)
        for q in qualified:
            if q in SESSIONS:
                self.ctx.needs_compat_import = True
                text = SESSIONS[q]
                self.report(original, f"`{code(original)}` does not exist in TF 2.x -> `{text}`", True)
                return dotted(text)
        if any(r.startswith(("tensorflow.compat.v1.", "tensorflow.compat.v2.")) for r in self.names.raw(original)):
            return updated  # already a compat name
        for q in qualified:
            if q in self.renames and self.renames[q][1] != "call":
                old, new = self.renames[q]
                new = new or "tf.compat.v1." + old[len("tf."):]
                text = "{}.{}".format(self.ctx.tf(), new[len("tf."):])
                self.report(original, "`{}` is a TF 1 name -> `{}` (TensorFlow's tf_upgrade_v2 table{})"
                            .format(code(original), text, "" if new == self.tables.renames[old]
                                    else f"; tf_upgrade_v2 would use {self.tables.renames[old]} with changed arguments"), True)
                return dotted(text)
            for module in self.modules:
                if q == module or q.startswith(module + "."):
                    self._removed[self.ctx.position(original)] = (original, module)
                    break
        return updated

    def leave_Call(self, original, updated):
        """``tf.nn.dropout(x, keep_prob)``: still a TF 2 name, with other arguments (there ``rate``)."""
        if len(original.args) < 2 or not isinstance(original.func, cst.Attribute):
            return updated
        if any(r.startswith(("tensorflow.compat.v1.", "tensorflow.compat.v2.")) for r in self.names.raw(original.func)):
            return updated
        for q in self.names.of(original.func):
            if self.renames.get(q, (None, None))[1] == "call":
                old = self.renames[q][0]
                if not self.tf1_file:
                    self.report(original, "`{}`: TF 1 and TF 2 read these arguments differently (tf_upgrade_v2 "
                                "rewrites them); if this is TF 1 code use `tf.compat.v1.{}`".format(
                                    code(original.func), old[len("tf."):]), False)
                    return updated
                text = "{}.compat.v1.{}".format(self.ctx.tf(), old[len("tf."):])
                self.report(original, f"`{code(original.func)}` with these arguments means something else in TF 2 (tf_upgrade_v2 "
                            f"rewrites them) -> `{text}`, which keeps the TF 1 meaning",
                            True)
                return updated.with_changes(func=dotted(text))
        return updated

    def finish(self):
        for node, module in self._removed.values():
            self.report(node, "`{}`: {} was removed in TF 2.x and TensorFlow's tables have no rename for it "
                        "(tf_upgrade_v2 converts a few tf.contrib names by hand: run it, or replace this)".format(
                            code(node), module.replace("tensorflow.", "tf.", 1)), False)
