"""``compat-metrics tox-matrix``: tox configurations from the known-good table.

Generates a tox configuration (``tox.ini`` or ``tox.toml``) that runs a
project's tests on the TensorFlow versions asked for, with the Python version,
pins and environment variables each one needs (:mod:`compat_metrics._matrix`);
``--check`` reads an existing ``tox.ini``/``tox.toml`` and reports the TF
environments whose Python, pins or variables are missing or wrong. Envs that
install no TensorFlow (docs, lint, packaging) are ignored.

Example::

    compat-metrics tox-matrix --tf 1.15 2.1 2.15 latest --legacy-keras > tox.ini
    compat-metrics tox-matrix --tf 1.15 latest --tests tests --graph-tests tests_tf1 --format toml
    compat-metrics tox-matrix --check tox.ini
"""

import collections
import configparser
import itertools
import os
import re
import sys

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

from compat_metrics import _matrix

HELP = "generate a tox configuration for TF versions from the known-good table, or --check one"

COMMON_SETENV = (("TF_CPP_MIN_LOG_LEVEL", "2"), ("PYTHONHASHSEED", "0"))


class ToxMatrixError(ValueError):
    """Bad arguments or an unreadable configuration."""


# --------------------------------------------------------------------------- selection

def select(keys, legacy_keras=False):
    """The table entries for ``--tf`` values, in the order given, without repeats.

    Args:
        keys: ``--tf`` values (``"1.15"``, ``"2.15-graph"``, ``"latest"``, ...).
        legacy_keras: also add the current-TF env with ``tf_keras``.

    Raises:
        ToxMatrixError: a value is not in the table (the message lists the known ones),
            or nothing was selected.
    """
    combos = []
    for key in list(keys or []) + (["legacy"] if legacy_keras else []):
        try:
            combo = _matrix.lookup(key)
        except ValueError as error:
            raise ToxMatrixError(str(error))
        if combo not in combos:
            combos.append(combo)
    if not combos:
        raise ToxMatrixError("no TF version selected: pass --tf with some of {} (or --legacy-keras)".format(
            ", ".join(_matrix.known_keys())))
    return combos


def _tox_requires(combos):
    reqs = list(_matrix.TOX_REQUIRES)
    if any(c.python == "3.7" for c in combos):
        reqs += list(_matrix.PY37_TOX_REQUIRES)
    return reqs


def _env_plan(combo, tests, graph_tests, deps):
    folder = graph_tests if combo.mode == "graph" else tests
    setenv = list(COMMON_SETENV) + [(k, v) for k, (v, _) in sorted(combo.setenv.items())]
    reasons = [reason for _, reason in combo.deps] + [reason for _, reason in combo.setenv.values()]
    return {
        "name": combo.env, "python": "python" + combo.python, "note": combo.note,
        "deps": list(deps) + [combo.tf] + [req for req, _ in combo.deps],
        "setenv": setenv, "reasons": reasons,
        "commands": ["pytest", folder] if folder else ["pytest"],
    }


# --------------------------------------------------------------------------- generation

def generate(keys, legacy_keras=False, fmt="ini", tests="tests", graph_tests=None,
             deps=("pytest", "compat_metrics"), skip_install=False, command_line=None):
    """Return a tox configuration for the selected TF versions.

    Args:
        keys: ``--tf`` values, see :func:`select`.
        legacy_keras: add a current-TF env with ``tf_keras`` (``TF_USE_LEGACY_KERAS=1``).
        fmt: ``"ini"`` (``tox.ini``, tox >= 4) or ``"toml"`` (``tox.toml``, tox >= 4.21).
        tests: folder of tests the eager (TF 2.x) envs run.
        graph_tests: folder the graph-mode envs (TF 1.15, ``X-graph``) run;
            defaults to ``tests``.
        deps: requirements every env installs besides TensorFlow and its pins.
        skip_install: do not build and install the project itself.
        command_line: shown in the header comment.

    Returns:
        The file's text.
    """
    combos = select(keys, legacy_keras)
    if fmt not in ("ini", "toml"):
        raise ToxMatrixError("--format must be 'ini' or 'toml', got {!r}".format(fmt))
    for dep in deps:
        try:
            Requirement(dep)
        except InvalidRequirement as error:
            raise ToxMatrixError("--deps: {!r} is not a valid requirement: {}".format(dep, error))
    graph_tests = tests if graph_tests is None else graph_tests
    plans = [_env_plan(c, tests, graph_tests, deps) for c in combos]
    header = [
        "tox configuration for TensorFlow {}, from the known-good table of compat_metrics {}.".format(
            ", ".join(c.key for c in combos), _matrix.TABLE_VERSION),
        "Made by: {}".format(command_line or "compat-metrics tox-matrix --tf " + " ".join(c.key for c in combos)),
        "Re-check after editing: compat-metrics tox-matrix --check <this file>",
    ]
    if any(c.python == "3.7" for c in combos):
        header.append("Python 3.7 must be on PATH for tox; pyenv's shims do not expose it unless selected: "
                      "tox --discover $(pyenv root)/versions/3.7.*/bin/python3.7")
    requires = _tox_requires(combos)
    if fmt == "ini":
        return _ini(header, requires, plans, skip_install)
    return _toml(header, requires, plans, skip_install)


def _ini(header, requires, plans, skip_install):
    out = ["# " + line for line in header]
    out += ["[tox]", "requires ="] + ["    " + req for req, _ in requires]
    out += ["env_list = " + ", ".join(p["name"] for p in plans), "", "[testenv]"]
    if skip_install:
        out.append("skip_install = true")
    out += ["set_env ="]
    out += ["    {} = {}".format(k, v) for k, v in COMMON_SETENV]
    out += ["commands = pytest {posargs}", ""]
    for plan in plans:
        out.append("# " + plan["note"])
        out += ["# " + reason for reason in plan["reasons"]]
        out += ["[testenv:{}]".format(plan["name"]), "base_python = " + plan["python"], "deps ="]
        out += ["    " + dep for dep in plan["deps"]]
        out += ["set_env ="] + ["    {} = {}".format(k, v) for k, v in plan["setenv"]]
        out += ["commands = {} {{posargs}}".format(" ".join(plan["commands"])), ""]
    return "\n".join(out)


def _toml_str(value):
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _toml_list(values):
    return "[" + ", ".join(_toml_str(v) for v in values) + "]"


def _toml(header, requires, plans, skip_install):
    out = ["# " + line for line in header]
    out += ["requires = " + _toml_list([req for req, _ in requires]),
            "env_list = " + _toml_list([p["name"] for p in plans]), "", "[env_run_base]"]
    if skip_install:
        out.append("skip_install = true")
    out += ["set_env = {{ {} }}".format(", ".join("{} = {}".format(k, _toml_str(v)) for k, v in COMMON_SETENV)),
            ""]
    for plan in plans:
        out.append("# " + plan["note"])
        out += ["# " + reason for reason in plan["reasons"]]
        out += ["[env.{}]".format(_toml_str(plan["name"])),
                "base_python = " + _toml_list([plan["python"]]),
                "deps = " + _toml_list(plan["deps"]),
                "set_env = {{ {} }}".format(", ".join("{} = {}".format(k, _toml_str(v)) for k, v in plan["setenv"])),
                "commands = [[{}, {{ replace = \"posargs\", extend = true }}]]".format(
                    ", ".join(_toml_str(c) for c in plan["commands"])),
                ""]
    return "\n".join(out)


# --------------------------------------------------------------------------- reading tox files

EnvConfig = collections.namedtuple("EnvConfig", "name python deps setenv")
ToxConfig = collections.namedtuple("ToxConfig", "requires envs")


def _expand_braces(text):
    """``tf{115,21}-x`` -> ``["tf115-x", "tf21-x"]`` (tox's generative names)."""
    parts = re.split(r"(\{[^{}]*\})", text)
    choices = [p[1:-1].split(",") if p.startswith("{") else [p] for p in parts]
    return ["".join(c).strip() for c in itertools.product(*choices)]


def _split_names(value):
    names = []
    for chunk in re.split(r"[\n]", value or ""):
        for item in re.split(r",(?![^{]*\})", chunk):
            item = item.strip()
            if item and not item.startswith("#"):
                names.extend(_expand_braces(item))
    return names


def _condition_matches(expr, factors):
    """tox factor condition: ``a,b`` is a or b; ``a-b`` is a and b; ``!a`` is not a."""
    for option in expr.split(","):
        if all((factor.lstrip("!") in factors) != factor.startswith("!") for factor in option.strip().split("-")):
            return True
    return False


_CONDITION = re.compile(r"^([\w{}.!,-]+):\s+(.*)$")


def _lines_for(value, env_name):
    """The lines of a tox ini value that apply to an env (factor conditions evaluated)."""
    factors = set(env_name.split("-"))
    lines = []
    for line in (value or "").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        match = _CONDITION.match(line)
        if match:
            if not _condition_matches(match.group(1), factors):
                continue
            line = match.group(2).strip()
        lines.append(line)
    return lines


def _python_of(text):
    match = re.search(r"(?:python|py)?(\d)\.?(\d+)", text or "")
    return "{}.{}".format(match.group(1), match.group(2)) if match else None


def read_ini(path):
    """Read what ``--check`` needs from a ``tox.ini``: requires and, per env, Python, deps, set_env."""
    try:
        with open(path) as handle:
            text = handle.read()
    except OSError as error:
        raise ToxMatrixError("cannot read {}: {}".format(path, error))
    return read_ini_text(text, path)


def read_ini_text(text, path="tox.ini"):
    """:func:`read_ini` for the text of a ``tox.ini``."""
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str
    try:
        parser.read_string(text, source=path)
    except configparser.Error as error:
        raise ToxMatrixError("cannot read {}: {}".format(path, error))

    def raw(section, *keys):
        for key in keys:
            if parser.has_section(section) and parser.has_option(section, key):
                return parser.get(section, key)
        return None

    def substitute(value, depth=0):
        def repl(match):
            found = raw(match.group(1), match.group(2))
            return substitute(found, depth + 1) if found is not None and depth < 10 else ""
        return re.sub(r"\{\[([^\]]+)\]([\w-]+)\}", repl, value or "")

    def env_value(env, *keys):
        value = raw("testenv:" + env, *keys)
        if value is None:
            value = raw("testenv", *keys)
        return substitute(value)

    names = _split_names(raw("tox", "env_list", "envlist"))
    names += [s.split(":", 1)[1].strip() for s in parser.sections() if s.startswith("testenv:")]
    envs = collections.OrderedDict()
    for name in names:
        if name in envs or not name or name.startswith("."):
            continue
        setenv = {}
        for line in _lines_for(env_value(name, "set_env", "setenv"), name):
            if "=" in line:
                key, _, value = line.partition("=")
                setenv[key.strip()] = value.strip()
        python_lines = _lines_for(env_value(name, "base_python", "basepython"), name)
        python = _python_of(python_lines[0]) if python_lines else None
        if python is None:
            python = next((_python_of(f) for f in name.split("-") if re.match(r"^py3\d+$", f)), None)
        envs[name] = EnvConfig(name, python, _lines_for(env_value(name, "deps"), name), setenv)
    requires = _lines_for(raw("tox", "requires"), "")
    return ToxConfig(requires, envs)


def read_toml(path):
    """Read what ``--check`` needs from a ``tox.toml`` (Python 3.11+, or with ``tomli`` installed)."""
    try:
        import tomllib as toml
    except ImportError:
        try:
            import tomli as toml
        except ImportError:
            raise ToxMatrixError("checking {} needs Python 3.11+ or the tomli package".format(path))
    try:
        with open(path, "rb") as handle:
            data = toml.load(handle)
    except (OSError, ValueError) as error:
        raise ToxMatrixError("cannot read {}: {}".format(path, error))
    base = data.get("env_run_base", {})
    tables = data.get("env", {})
    names = list(data.get("env_list", [])) + [n for n in tables if n not in data.get("env_list", [])]
    envs = collections.OrderedDict()
    for name in names:
        table = dict(base, **tables.get(name, {}))
        python = table.get("base_python")
        python = python[0] if isinstance(python, list) and python else python
        python = _python_of(python) if isinstance(python, str) else None
        if python is None:
            python = next((_python_of(f) for f in name.split("-") if re.match(r"^py3\d+$", f)), None)
        deps = [d for d in table.get("deps", []) if isinstance(d, str)]
        setenv = {k: v for k, v in table.get("set_env", {}).items() if isinstance(v, str)}
        envs[name] = EnvConfig(name, python, deps, setenv)
    return ToxConfig(list(data.get("requires", [])), envs)


def read(path):
    """Read a ``tox.ini`` or ``tox.toml`` (chosen by the file name)."""
    if not os.path.isfile(path):
        raise ToxMatrixError("{}: no such file".format(path))
    return read_toml(path) if path.endswith(".toml") else read_ini(path)


# --------------------------------------------------------------------------- checking

Finding = collections.namedtuple("Finding", "level env message")


def _requirements(lines):
    reqs = []
    for line in lines:
        if line.startswith("-") or "{" in line:
            continue  # -r files, options, unresolved substitutions
        try:
            reqs.append(Requirement(line))
        except InvalidRequirement:
            continue
    return reqs


def _tf_requirement(reqs):
    return next((r for r in reqs if canonicalize_name(r.name) in _matrix.TF_PACKAGES), None)


def _pinned_minor(req):
    for spec in req.specifier:
        if spec.operator in ("==", "===", "~="):
            match = re.match(r"(\d+)\.(\d+)", spec.version)
            if match:
                return "{}.{}".format(*match.groups())
    return None


def combo_for(env, reqs):
    """The table entry an env corresponds to, by name or else by its TensorFlow requirement."""
    if env.name in _matrix.BY_ENV:
        return _matrix.BY_ENV[env.name]
    tf_req = _tf_requirement(reqs)
    if tf_req is None:
        return None
    names = {canonicalize_name(r.name) for r in reqs}
    legacy = "tf-keras" in names or env.setenv.get("TF_USE_LEGACY_KERAS") in ("1", "true", "True")
    minor = _pinned_minor(tf_req)
    if minor is None:
        return _matrix.TABLE["legacy" if legacy else "latest"]
    return _matrix.TABLE.get(minor, False)


def _excludes(user_spec, required_spec):
    """Whether the user's specifier is at least as strict as a required upper bound.

    ``protobuf<3.20`` satisfies ``protobuf<3.21``; ``protobuf<4`` or a bare
    ``protobuf`` does not. Other operators must appear as written.
    """
    for spec in required_spec:
        if spec.operator == "<":
            bad = [Version(spec.version)]
        elif spec.operator == "<=":
            bad = [Version(spec.version + ".post1")]
        else:
            if spec not in set(user_spec):
                return False
            continue
        if not str(user_spec) or any(user_spec.contains(v, prereleases=True) for v in bad):
            return False
    return True


def _check_requirement(have, need_text):
    """None if a requirement from the table is satisfied by the user's requirements, else why not."""
    need = Requirement(need_text)
    same = [r for r in have if canonicalize_name(r.name) == canonicalize_name(need.name)]
    if not same:
        return "missing"
    if not str(need.specifier):
        return None
    if any(_excludes(r.specifier, need.specifier) for r in same):
        return None
    return "has {}".format(", ".join(str(r) for r in same))


def check_config(config):
    """Findings for a read configuration: ``Finding(level, env, message)`` with level ``"error"``/``"note"``."""
    findings = []
    needs_py37_tools = False
    for env in config.envs.values():
        reqs = _requirements(env.deps)
        combo = combo_for(env, reqs)
        if combo is None:
            continue  # not a TensorFlow env
        tf_req = _tf_requirement(reqs)
        if combo is False:
            findings.append(Finding("note", env.name, "{} is not in the known-good table ({}); not checked".format(
                tf_req, ", ".join(_matrix.known_keys()))))
            continue
        if tf_req is None:
            findings.append(Finding("error", env.name, "installs no TensorFlow; the known-good install is {} "
                                    "({})".format(combo.tf, combo.note)))
        elif canonicalize_name(tf_req.name) != canonicalize_name(Requirement(combo.tf).name) and \
                canonicalize_name(Requirement(combo.tf).name) == "tensorflow":
            findings.append(Finding("error", env.name, "installs {}, but TF {} needs {}".format(
                tf_req, combo.key, combo.tf)))
        elif _pinned_minor(Requirement(combo.tf)) and _pinned_minor(tf_req) != _pinned_minor(Requirement(combo.tf)):
            findings.append(Finding("error", env.name, "installs {}; the env name says TF {} ({})".format(
                tf_req, combo.key, combo.tf)))
        if env.python is None:
            findings.append(Finding("error", env.name, "no base_python: TF {} needs Python {} ({})".format(
                combo.key, combo.python, combo.note)))
        elif not SpecifierSet(combo.pythons).contains(env.python):
            findings.append(Finding("error", env.name, "Python {}: TF {} has wheels for Python {} only".format(
                env.python, combo.key, combo.pythons)))
        if env.python and Version(env.python) < Version("3.8"):
            needs_py37_tools = True
        for need, reason in combo.deps:
            problem = _check_requirement(reqs, need)
            if problem:
                findings.append(Finding("error", env.name, "missing pin {} ({}): {}".format(need, problem, reason)))
        for name, (value, reason) in sorted(combo.setenv.items()):
            if env.setenv.get(name) != value:
                findings.append(Finding("error", env.name, "missing set_env {}={} (has {!r}): {}".format(
                    name, value, env.setenv.get(name), reason)))
    if needs_py37_tools:
        have = _requirements(config.requires)
        for need, reason in _matrix.PY37_TOX_REQUIRES:
            problem = _check_requirement(have, need)
            if problem:
                findings.append(Finding("error", "tox", "[tox] requires: missing {} ({}): {}".format(
                    need, problem, reason)))
    return findings


def check(path):
    """Check a ``tox.ini``/``tox.toml`` against the table; returns a list of :data:`Finding`."""
    return check_config(read(path))


# --------------------------------------------------------------------------- command line

def add_arguments(parser):
    """Arguments of ``compat-metrics tox-matrix``."""
    parser.add_argument("--tf", nargs="+", metavar="VERSION", default=[],
                        help="TF versions: {} ('-graph': TF 2.x with v2 behaviour disabled, runs "
                             "--graph-tests)".format(", ".join(_matrix.known_keys())))
    parser.add_argument("--legacy-keras", action="store_true",
                        help="add current TF with tf_keras (tf-keras, TF_USE_LEGACY_KERAS=1)")
    parser.add_argument("--format", choices=("ini", "toml"), default="ini", help="tox.ini (default) or tox.toml")
    parser.add_argument("--tests", default="tests", help="test folder of the eager (TF 2.x) envs (default: tests)")
    parser.add_argument("--graph-tests", default=None,
                        help="test folder of the graph-mode envs (TF 1.15, X-graph); default: --tests")
    parser.add_argument("--deps", nargs="+", metavar="REQ", default=["pytest", "compat_metrics"],
                        help="requirements every env installs (default: pytest compat_metrics)")
    parser.add_argument("--skip-install", action="store_true", help="do not install the project itself")
    parser.add_argument("-o", "--output", help="write to this file instead of standard output")
    parser.add_argument("--check", metavar="PATH",
                        help="check an existing tox.ini or tox.toml against the table instead of generating")
    parser.set_defaults(run=run)


def run(args):
    """Generate or check; returns the exit status (1: the check found problems, 2: bad arguments)."""
    try:
        if args.check:
            findings = check(args.check)
            for finding in findings:
                print("{}: {}: {}: {}".format(args.check, finding.level, finding.env, finding.message))
            errors = [f for f in findings if f.level == "error"]
            if not errors:
                print("{}: TF envs match the known-good table".format(args.check))
            return 1 if errors else 0
        text = generate(args.tf, args.legacy_keras, args.format, args.tests, args.graph_tests, args.deps,
                        args.skip_install, command_line=_command_line(args))
    except ToxMatrixError as error:
        print("compat-metrics tox-matrix: error: {}".format(error), file=sys.stderr)
        return 2
    if args.output:
        with open(args.output, "w") as handle:
            handle.write(text)
    else:
        sys.stdout.write(text)
    return 0


def _quote(arg):
    return arg if re.match(r"^[\w.,:/=+-]+$", arg) else "'{}'".format(arg)


def _command_line(args):
    """The command that regenerates this output (shown in its header)."""
    words = ["compat-metrics", "tox-matrix", "--tf"] + list(args.tf)
    if args.legacy_keras:
        words.append("--legacy-keras")
    if args.format != "ini":
        words += ["--format", args.format]
    words += ["--tests", args.tests]
    if args.graph_tests is not None:
        words += ["--graph-tests", args.graph_tests]
    words += ["--deps"] + list(args.deps)
    if args.skip_install:
        words.append("--skip-install")
    return " ".join(_quote(w) for w in words)
