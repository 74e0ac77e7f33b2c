"""MkDocs hook: tables generated from the code, so the docs cannot drift from it.

Markers in a page are replaced when the site is built:

- ``<!-- generated: mechanisms -->``: feature x stack -> mechanism, read from the
  ``MECHANISMS`` dict of each ``compat_metrics/_backend`` module;
- ``<!-- generated: tox -->``: the tox envs with their Python, pins and test folder;
- ``<!-- generated: migrate-rules -->``: the rules of ``compat-metrics migrate``.

Everything is read with ``ast``/``configparser``: building the docs imports
neither TensorFlow nor LibCST.
"""

import ast
import configparser
import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[2]
BACKEND = ROOT / "compat_metrics" / "_backend"

# (column title, backend module, value of HONOURS_RUN_TF_FUNCTION there)
STACKS = (
    ("TF 1.15", "tf1", True),
    ("TF 2.0/2.1", "keras2", True),
    ("TF 2.2–2.15, tf_keras", "keras2", False),
    ("Keras 3 (TF ≥ 2.16)", "keras3", False),
)


def _module_constants(tree):
    """Module-level ``NAME = "string"`` assignments."""
    constants = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            try:
                value = ast.literal_eval(node.value)
            except ValueError:
                continue
            if isinstance(value, str):
                constants[node.targets[0].id] = value
    return constants


def _evaluate(node, constants, honours):
    try:
        return ast.literal_eval(node)  # ast.Str on Python 3.7, ast.Constant later
    except ValueError:
        pass
    if isinstance(node, ast.Name):
        if node.id == "HONOURS_RUN_TF_FUNCTION":
            return honours
        return constants[node.id]
    if isinstance(node, ast.IfExp):
        branch = node.body if _evaluate(node.test, constants, honours) else node.orelse
        return _evaluate(branch, constants, honours)
    if isinstance(node, ast.JoinedStr):
        raise ValueError("f-strings are not supported in MECHANISMS")
    raise ValueError(f"cannot read {ast.dump(node)} in MECHANISMS statically")


def mechanisms():
    """``{feature: {column: mechanism}}`` and the column titles, from the backend sources."""
    trees = {name: ast.parse((BACKEND / (name + ".py")).read_text()) for name in ("tf1", "keras2", "keras3")}
    constants = {}
    for tree in trees.values():
        constants.update(_module_constants(tree))
    table = {}
    for title, module, honours in STACKS:
        for node in trees[module].body:
            if (isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)
                    and node.targets[0].id == "MECHANISMS"):
                for key, value in zip(node.value.keys, node.value.values):
                    feature = _evaluate(key, constants, honours)
                    table.setdefault(feature, {})[title] = _evaluate(value, constants, honours)
    return table, [title for title, _, _ in STACKS]


def mechanisms_markdown():
    table, columns = mechanisms()
    lines = ["| feature | " + " | ".join(columns) + " |", "|---" * (len(columns) + 1) + "|"]
    for feature, row in table.items():
        lines.append("| `{}` | {} |".format(feature, " | ".join(row.get(c, "—") for c in columns)))
    return "\n".join(lines)


def _factor_lines(value):
    """``[(factors, text)]`` from a tox multi-line setting (``tf115,tf21: pkg``)."""
    result = []
    for line in value.strip().splitlines():
        line = line.strip()
        match = re.match(r"^([!\w\-,.]+):\s*(.*)$", line)
        if match and not line.startswith("{"):
            result.append((match.group(1), match.group(2)))
        elif line:
            result.append(("", line))
    return result


def _applies(factors, env):
    if not factors:
        return True
    env_factors = set(env.split("-"))
    for alternative in factors.split(","):
        parts = alternative.split("-")
        if all((p[1:] not in env_factors and p[1:] != env) if p.startswith("!") else (p in env_factors or p == env)
               for p in parts):
            return True
    return False


def tox_markdown():
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(ROOT / "tox.ini")
    envlist = [e.strip() for e in parser["tox"]["envlist"].replace("\n", ",").split(",") if e.strip()]
    base = parser["testenv"]
    lines = ["| env | Python | packages | env vars | runs |", "|---|---|---|---|---|"]
    for env in envlist:
        section = parser["testenv:" + env] if parser.has_section("testenv:" + env) else None
        get = ((lambda key, section=section: section.get(key, base.get(key, ""))) if section is not None
               else (lambda key: base.get(key, "")))
        python = [text for f, text in _factor_lines(get("base_python")) if _applies(f, env)]
        deps = [text for f, text in _factor_lines(get("deps")) if _applies(f, env)]
        setenv = [text for f, text in _factor_lines(get("setenv")) if _applies(f, env)
                  and not text.startswith(("TF_CPP_MIN_LOG_LEVEL", "PYTHONHASHSEED"))]
        commands = [text for f, text in _factor_lines(get("commands")) if _applies(f, env)]
        lines.append("| `{}` | {} | {} | {} | {} |".format(
            env, ", ".join(python) or "—", ", ".join(f"`{d}`" for d in deps) or "—",
            ", ".join("`{}`".format(s.replace(" ", "")) for s in setenv) or "—",
            "; ".join("`{}`".format(c.replace(" {posargs}", "")) for c in commands) or "—"))
    return "\n".join(lines)


def migrate_rules_markdown():
    """The rule table, read from the rule classes' ``rule_id``/``name`` and docstrings without importing them (no LibCST)."""
    rules = []
    for path in sorted((ROOT / "compat_metrics" / "_migrate" / "rules").glob("cm*.py")):
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.ClassDef):
                fields = {k.arg: ast.literal_eval(k.value) for k in node.keywords if k.arg in ("rule_id", "name")}
                if len(fields) == 2:
                    rules.append((fields["rule_id"], fields["name"], " ".join(ast.get_docstring(node).split())))
    if not rules:
        raise ValueError("no rules found in compat_metrics/_migrate/rules/cm*.py")
    lines = ["| rule | name | finds and rewrites |", "|---|---|---|"]
    for rule, name, text in sorted(rules):
        lines.append("| {} | `{}` | {} |".format(rule, name, text.replace("|", "\\|")))
    return "\n".join(lines)


GENERATORS = {
    "mechanisms": mechanisms_markdown,
    "tox": tox_markdown,
    "migrate-rules": migrate_rules_markdown,
}


def on_page_markdown(markdown, page, config, files):
    """Replace the ``<!-- generated: NAME -->`` markers."""
    def replace(match):
        return GENERATORS[match.group(1)]()
    return re.sub(r"<!-- generated: ([\w-]+) -->", replace, markdown)
