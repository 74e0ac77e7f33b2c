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


import re
import sys

from packaging.requirements import InvalidRequirement, Requirement

from compat_metrics import _matrix

# Reading and checking live in their own modules; re-exported for the command and its users.
from compat_metrics._toxcheck import Finding, _requirements, check, check_config, combo_for  # noqa: F401
from compat_metrics._toxread import EnvConfig, ToxConfig, ToxMatrixError, read, read_ini, read_ini_text, read_toml  # noqa: F401

HELP = "generate a tox configuration for TF versions from the known-good table, or --check one"

COMMON_SETENV = (("TF_CPP_MIN_LOG_LEVEL", "2"), ("PYTHONHASHSEED", "0"))


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
            raise ToxMatrixError(str(error)) from None
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
        raise ToxMatrixError(f"--format must be 'ini' or 'toml', got {fmt!r}")
    for dep in deps:
        try:
            Requirement(dep)
        except InvalidRequirement as error:
            raise ToxMatrixError(f"--deps: {dep!r} is not a valid requirement: {error}") from error
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
    out += [f"    {k} = {v}" for k, v in COMMON_SETENV]
    out += ["commands = pytest {posargs}", ""]
    for plan in plans:
        out.append("# " + plan["note"])
        out += ["# " + reason for reason in plan["reasons"]]
        out += ["[testenv:{}]".format(plan["name"]), "base_python = " + plan["python"], "deps ="]
        out += ["    " + dep for dep in plan["deps"]]
        out += ["set_env ="] + [f"    {k} = {v}" for k, v in plan["setenv"]]
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
    out += ["set_env = {{ {} }}".format(", ".join(f"{k} = {_toml_str(v)}" for k, v in COMMON_SETENV)),
            ""]
    for plan in plans:
        out.append("# " + plan["note"])
        out += ["# " + reason for reason in plan["reasons"]]
        out += ["[env.{}]".format(_toml_str(plan["name"])),
                "base_python = " + _toml_list([plan["python"]]),
                "deps = " + _toml_list(plan["deps"]),
                "set_env = {{ {} }}".format(", ".join(f"{k} = {_toml_str(v)}" for k, v in plan["setenv"])),
                "commands = [[{}, {{ replace = \"posargs\", extend = true }}]]".format(
                    ", ".join(_toml_str(c) for c in plan["commands"])),
                ""]
    return "\n".join(out)

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
                print(f"{args.check}: {finding.level}: {finding.env}: {finding.message}")
            errors = [f for f in findings if f.level == "error"]
            if not errors:
                print(f"{args.check}: TF envs match the known-good table")
            return 1 if errors else 0
        text = generate(args.tf, args.legacy_keras, args.format, args.tests, args.graph_tests, args.deps,
                        args.skip_install, command_line=_command_line(args))
    except ToxMatrixError as error:
        print(f"compat-metrics tox-matrix: error: {error}", file=sys.stderr)
        return 2
    if args.output:
        with open(args.output, "w") as handle:
            handle.write(text)
    else:
        sys.stdout.write(text)
    return 0


def _quote(arg):
    return arg if re.match(r"^[\w.,:/=+-]+$", arg) else f"'{arg}'"


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
