"""TensorFlow's own ``tf_upgrade_v2`` tables, read from the installed TensorFlow without importing it.

``tensorflow/tools/compatibility/`` ships the symbol renames
(``renames_v2.renames`` and ``all_renames_v2.manual_symbol_renames``) and the
functions whose arguments ``tf_upgrade_v2`` also changes (reorders, keyword
renames, transformers) or only warns about. The files are parsed with
:mod:`ast` (importing them would import TensorFlow); the result is cached per
process. Where TensorFlow is not installed, :func:`load` returns a table with
``available = False`` and the reason.
"""

import ast
import importlib.util
import os

_CACHE = {}
# TFAPIChangeSpec attributes naming functions tf_upgrade_v2 does more than rename
_SPECIAL = ("function_keyword_renames", "manual_function_reorders", "function_transformers",
            "function_warnings", "function_arg_warnings", "change_to_function")


class Tables:
    """``renames`` old -> new (``tf.`` spelling), ``special`` old names with argument changes, ``deprecated`` modules."""

    def __init__(self, renames=None, special=(), deprecated=(), source=None, reason=None, transformed=()):
        self.renames = renames or {}
        self.transformed = set(transformed)  # kept in TF 2, but tf_upgrade_v2 rewrites their calls' arguments
        self.special = set(special)
        self.deprecated = tuple(deprecated)
        self.source = source
        self.reason = reason

    @property
    def available(self):
        return bool(self.renames)


def _folder():
    try:
        spec = importlib.util.find_spec("tensorflow")
    except (ImportError, ValueError) as error:
        return None, f"TensorFlow cannot be found ({error})"
    if spec is None or not spec.submodule_search_locations:
        return None, "TensorFlow is not installed in this Python"
    for location in spec.submodule_search_locations:
        # TF 1.15 to 2.1 keep the sources in tensorflow_core, next to the tensorflow package
        for package in (location, os.path.join(os.path.dirname(location), "tensorflow_core")):
            folder = os.path.join(package, "tools", "compatibility")
            if os.path.isfile(os.path.join(folder, "renames_v2.py")):
                return folder, None
    return None, "this TensorFlow does not ship tools/compatibility/renames_v2.py"


def _tree(folder, name):
    with open(os.path.join(folder, name), encoding="utf-8") as handle:
        return ast.parse(handle.read())


def _dict_named(tree, name):
    """The dict literal assigned to ``name`` or ``self.name`` anywhere in ``tree``."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Dict):
            for target in node.targets:
                if ((isinstance(target, ast.Name) and target.id == name)
                        or (isinstance(target, ast.Attribute) and target.attr == name)):
                    return node.value
    return None


def _string(node):
    """The value of a string literal node, else None (``ast.Str`` on Python 3.7)."""
    value = getattr(node, "value", getattr(node, "s", None))
    return value if isinstance(node, (ast.Constant, getattr(ast, "Str", ast.Constant))) and isinstance(value, str) \
        else None


def _string_items(node):
    """``{key: value}`` of the string-to-string entries of a dict literal."""
    found = {}
    for key, value in zip(node.keys if node is not None else (), node.values if node is not None else ()):
        if _string(key) is not None:
            found[_string(key)] = _string(value)
    return found


def load():
    """The tables of the TensorFlow installed in this Python (cached)."""
    if "tables" in _CACHE:
        return _CACHE["tables"]
    folder, reason = _folder()
    tables = Tables(reason=reason)
    if folder is not None:
        try:
            renames = _string_items(_dict_named(_tree(folder, "renames_v2.py"), "renames"))
            renames.update(_string_items(_dict_named(_tree(folder, "all_renames_v2.py"), "manual_symbol_renames")))
            special = set(_string_items(_dict_named(_tree(folder, "reorders_v2.py"), "reorders")))
            spec = _tree(folder, "tf_upgrade_v2.py")
            for name in _SPECIAL:
                special.update(_string_items(_dict_named(spec, name)))
            deprecated = _string_items(_dict_named(_tree(folder, "module_deprecations_v2.py"), "MODULE_DEPRECATIONS"))
            transformed = {name for name in _string_items(_dict_named(spec, "function_transformers"))
                           if name.startswith("tf.") and name not in renames}
            tables = Tables({k: v for k, v in renames.items() if v}, special, deprecated, source=folder,
                            transformed=transformed)
            if not tables.available:
                tables.reason = f"no renames found in {folder}"
        except (OSError, SyntaxError, ValueError) as error:
            tables = Tables(reason=f"cannot read {folder}: {error}")
    _CACHE["tables"] = tables
    return tables
