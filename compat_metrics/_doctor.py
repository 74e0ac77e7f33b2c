"""``compat-metrics doctor``: what is installed, which mechanism each feature uses, what is broken.

The install is read from package metadata first, without importing
TensorFlow, so set-ups where ``import tensorflow`` or ``tf.keras`` fails are
still diagnosed; then compat_metrics is imported and its backend reports the
mechanism of each feature (``MECHANISMS`` of ``compat_metrics._backend``).
``import compat_metrics`` loads TensorFlow only on first use of a public name,
so the command runs even where that fails (for example ``TF_USE_LEGACY_KERAS=1``
without ``tf-keras``) and reports the failure as a problem.
"""

import importlib
import json
import os
import platform
import sys

from packaging.requirements import Requirement

from compat_metrics import _matrix

HELP = "show the installed TF/Keras stack, the mechanism of each feature, and broken set-ups"

# distribution names -> label (the first installed name of each group wins)
_PACKAGES = (
    ("tensorflow", ("tensorflow", "tensorflow-cpu", "tensorflow-gpu", "tensorflow-macos", "tensorflow-intel",
                    "tf-nightly", "tf-nightly-cpu")),
    ("keras", ("keras",)),
    ("tf-keras", ("tf-keras", "tf_keras")),
    ("numpy", ("numpy",)),
    ("protobuf", ("protobuf",)),
    ("h5py", ("h5py",)),
    ("tensorflow-addons", ("tensorflow-addons",)),
    ("libcst", ("libcst",)),
)

# Known-bad combinations beyond the pins of the known-good table (compat_metrics._matrix),
# which _pin_problems reads: (level, test, message).
_RULES = (
    ("warning", lambda v: _at_least(v, "tensorflow", (2, 16)) and "tf-keras" in v
     and _minor_pair(v["tf-keras"]) != _minor_pair(v["tensorflow"]),
     "tf-keras {tf-keras} does not match TensorFlow {tensorflow}: install tf-keras of the same minor version."),
)
# A pin that is not met: import fails (error) or something else breaks (warning).
_FAILS_TO_IMPORT = ("protobuf",)


def _pin_problems(versions, environ):
    """The table's pins for the installed TF release that the installed packages break."""
    combo = _matrix.for_install("{}.{}".format(*_minor_pair(versions["tensorflow"])),
                                _matrix.legacy_keras_requested(environ)) if "tensorflow" in versions else None
    if combo is None:
        return []  # a release the table does not pin (e.g. current TF)
    problems = []
    for requirement, reason in combo.deps:
        wanted = Requirement(requirement)
        if wanted.name == "tf-keras":
            continue  # _RULES says it for every release
        installed = versions.get(wanted.name)
        if installed is None or not wanted.specifier or wanted.specifier.contains(installed, prereleases=True):
            continue
        problems.append({"level": "error" if wanted.name in _FAILS_TO_IMPORT else "warning",
                         "message": "TensorFlow {} with {} {}: {}. Install {}.".format(
                             versions["tensorflow"], wanted.name, installed, reason, requirement)})
    return problems


def _parts(text):
    numbers = []
    for piece in text.split(".")[:3]:
        digits = "".join(ch for ch in piece if ch.isdigit())
        if not digits or digits != piece[:len(digits)]:
            numbers.append(int(digits) if digits else 0)
            break
        numbers.append(int(digits))
    return tuple(numbers)


def _minor_pair(text):
    return _parts(text)[:2]


def _at_least(versions, name, release):
    return name in versions and _parts(versions[name]) >= release


def _distribution_version(name):
    try:
        from importlib import metadata
    except ImportError:  # Python 3.7
        import pkg_resources
        try:
            return pkg_resources.get_distribution(name).version
        except pkg_resources.DistributionNotFound:
            return None
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def installed_packages():
    """``label -> version`` of the packages that matter here, from metadata (no imports)."""
    found = {}
    for label, names in _PACKAGES:
        for name in names:
            version = _distribution_version(name)
            if version is not None:
                found[label] = version
                break
    return found


def diagnose(versions, environ):
    """Return the problems of an install: a list of ``{"level", "message"}``.

    Args:
        versions: ``label -> version`` as from :func:`installed_packages`.
        environ: the environment variables (``os.environ``).
    """
    problems = []
    legacy = _matrix.legacy_keras_requested(environ)
    if "tensorflow" not in versions:
        problems.append({"level": "error", "message": "TensorFlow is not installed: pip install tensorflow-cpu "
                                                        "(or tensorflow-cpu==1.15.0 on Python 3.7)."})
    if legacy and "tf-keras" not in versions:
        problems.append({"level": "error", "message": "TF_USE_LEGACY_KERAS={} but tf-keras is not installed: "
                                                        "tf.keras fails with \"Keras cannot be imported\". pip install "
                                                        "tf-keras, or unset TF_USE_LEGACY_KERAS.".format(
                                                            environ.get("TF_USE_LEGACY_KERAS"))})
    if "tf-keras" in versions and not legacy and _at_least(versions, "tensorflow", (2, 16)):
        problems.append({"level": "info", "message": "tf-keras is installed but TF_USE_LEGACY_KERAS is not set: "
                                                       "Keras 3 is used. Set TF_USE_LEGACY_KERAS=1 for Keras 2."})
    problems += _pin_problems(versions, environ)
    for level, test, message in _RULES:
        try:
            hit = test(versions)
        except (KeyError, ValueError, IndexError):
            hit = False
        if hit:
            problems.append({"level": level, "message": message.format(**_DefaultDict(versions))})
    if "tensorflow-addons" in versions:
        problems.append({"level": "info", "message": "tensorflow-addons is installed (end of life): "
                                                       "`compat-metrics migrate` rewrites its F1Score/FBetaScore."})
    if "libcst" not in versions:
        problems.append({"level": "info", "message": "libcst is not installed: `compat-metrics migrate` needs "
                                                       "pip install 'compat_metrics[migrate]'."})
    return problems


class _DefaultDict(dict):
    def __missing__(self, key):
        return "?"


def collect(environ=None):
    """Everything ``doctor`` reports, as a JSON-serialisable dict."""
    environ = os.environ if environ is None else environ
    versions = installed_packages()
    report = {
        "python": platform.python_version(),
        "executable": sys.executable,
        "packages": versions,
        "TF_USE_LEGACY_KERAS": environ.get("TF_USE_LEGACY_KERAS", ""),
        "stack": None,
        "features": {},
        "problems": diagnose(versions, environ),
    }
    if any(p["level"] == "error" for p in report["problems"]):
        return report
    try:
        runtime = importlib.import_module("compat_metrics.runtime")
        impl = importlib.import_module("compat_metrics._backend").impl
    except Exception as error:  # noqa: BLE001 - any import failure is what doctor reports
        report["problems"].append({"level": "error", "message": f"importing compat_metrics failed: {type(error).__name__}: {error}"})
        return report
    report["stack"] = runtime.describe()
    report["features"] = dict(impl.MECHANISMS)
    return report


def format_text(report):
    """The plain-text form of :func:`collect`'s report."""
    lines = ["Python      {}  ({})".format(report["python"], report["executable"])]
    for label, _ in _PACKAGES:
        lines.append("{:<20}{}".format(label, report["packages"].get(label, "-")))
    lines.append("{:<20}{}".format("TF_USE_LEGACY_KERAS", report["TF_USE_LEGACY_KERAS"] or "(unset)"))
    stack = report["stack"]
    if stack:
        lines.append("")
        lines.append("Stack: TensorFlow {tensorflow}, Keras {keras_version} ({keras_flavour}), backend {backend}, "
                     "{mode} mode".format(**stack))
        lines.append("")
        lines.append("Feature mechanisms on this install:")
        width = max(len(name) for name in report["features"]) if report["features"] else 0
        for name, mechanism in report["features"].items():
            lines.append("  {:<{}}  {}".format(name, width, mechanism))
    lines.append("")
    if report["problems"]:
        lines.append("Problems:")
        for problem in report["problems"]:
            lines.append("  {:<8}{}".format(problem["level"].upper(), problem["message"]))
    else:
        lines.append("No problems found.")
    return "\n".join(lines)


def add_arguments(parser):
    """Arguments of ``compat-metrics doctor``."""
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.set_defaults(run=run)


def run(args):
    """Print the report; exit status 1 when an error-level problem was found."""
    report = collect()
    if args.json:
        json.dump(report, sys.stdout, indent=2, sort_keys=True)
        sys.stdout.write("\n")
    else:
        print(format_text(report))
    return 1 if any(p["level"] == "error" for p in report["problems"]) else 0

