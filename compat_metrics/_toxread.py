"""Reading a ``tox.ini``/``tox.toml``: what ``tox-matrix --check`` needs of each env.

The files are parsed with the standard library (``configparser`` for ini,
``tomllib``/``tomli`` for TOML); what remains here is tox's own layer on top of
ini: generative env names (``tf{115,21}``), factor conditions
(``tf115,tf21: python3.7``) and ``{[section]key}`` substitution. tox itself has
no public API for reading a configuration without creating its environments
(``tox.config`` is internal and needs a tox run), so that layer is ours and is
tested against the project's own ``tox.ini``.
"""

import collections
import configparser
import itertools
import os
import re


class ToxMatrixError(ValueError):
    """Bad arguments or an unreadable configuration."""


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
    return f"{match.group(1)}.{match.group(2)}" if match else None


def read_ini(path):
    """Read what ``--check`` needs from a ``tox.ini``: requires and, per env, Python, deps, set_env."""
    try:
        with open(path) as handle:
            text = handle.read()
    except OSError as error:
        raise ToxMatrixError(f"cannot read {path}: {error}") from error
    return read_ini_text(text, path)


def read_ini_text(text, path="tox.ini"):
    """:func:`read_ini` for the text of a ``tox.ini``."""
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str
    try:
        parser.read_string(text, source=path)
    except configparser.Error as error:
        raise ToxMatrixError(f"cannot read {path}: {error}") from error

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
        except ImportError as error:
            raise ToxMatrixError(f"checking {path} needs Python 3.11+ or the tomli package") from error
    try:
        with open(path, "rb") as handle:
            data = toml.load(handle)
    except (OSError, ValueError) as error:
        raise ToxMatrixError(f"cannot read {path}: {error}") from error
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
        raise ToxMatrixError(f"{path}: no such file")
    return read_toml(path) if path.endswith(".toml") else read_ini(path)
