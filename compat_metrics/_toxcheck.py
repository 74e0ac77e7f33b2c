"""Checking a read tox configuration against the known-good table (``tox-matrix --check``)."""

import collections
import re

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

from compat_metrics import _matrix
from compat_metrics._toxread import read

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
    legacy = "tf-keras" in names or _matrix.legacy_keras_requested(env.setenv)
    combo = _matrix.for_install(_pinned_minor(tf_req), legacy)
    return False if combo is None else combo


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
            findings.append(Finding("error", env.name, f"installs no TensorFlow; the known-good install is {combo.tf} "
                                    f"({combo.note})"))
        elif canonicalize_name(tf_req.name) != canonicalize_name(Requirement(combo.tf).name) and \
                canonicalize_name(Requirement(combo.tf).name) == "tensorflow":
            findings.append(Finding("error", env.name, f"installs {tf_req}, but TF {combo.key} needs {combo.tf}"))
        elif _pinned_minor(Requirement(combo.tf)) and _pinned_minor(tf_req) != _pinned_minor(Requirement(combo.tf)):
            findings.append(Finding("error", env.name, f"installs {tf_req}; the env name says TF {combo.key} ({combo.tf})"))
        if env.python is None:
            findings.append(Finding("error", env.name, f"no base_python: TF {combo.key} needs Python {combo.python} ({combo.note})"))
        elif not SpecifierSet(combo.pythons).contains(env.python):
            findings.append(Finding("error", env.name, f"Python {env.python}: TF {combo.key} has wheels for Python {combo.pythons} only"))
        if env.python and Version(env.python) < Version("3.8"):
            needs_py37_tools = True
        for need, reason in combo.deps:
            problem = _check_requirement(reqs, need)
            if problem:
                findings.append(Finding("error", env.name, f"missing pin {need} ({problem}): {reason}"))
        for name, (value, reason) in sorted(combo.setenv.items()):
            if env.setenv.get(name) != value:
                findings.append(Finding("error", env.name, f"missing set_env {name}={value} (has {env.setenv.get(name)!r}): {reason}"))
    if needs_py37_tools:
        have = _requirements(config.requires)
        for need, reason in _matrix.PY37_TOX_REQUIRES:
            problem = _check_requirement(have, need)
            if problem:
                findings.append(Finding("error", "tox", f"[tox] requires: missing {need} ({problem}): {reason}"))
    return findings


def check(path):
    """Check a ``tox.ini``/``tox.toml`` against the table; returns a list of :data:`Finding`."""
    return check_config(read(path))
