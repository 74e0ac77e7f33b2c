"""A generated tox matrix, run for real: TF 1.15 on Python 3.7 and current TF, for a sample user project.

Runs where the ``tox`` package is installed (the project's ``tf-latest`` env
installs it; elsewhere the test is skipped with that reason), so the whole CI
run does it once. The two envs install TensorFlow from PyPI through pip's
cache; about two minutes here.
"""

import glob
import os
import pathlib
import re
import shutil
import subprocess
import sys

import pytest

from compat_metrics.cli import main

ROOT = pathlib.Path(__file__).resolve().parents[1]
TIMEOUT = 900

USER_TESTS = '''
import numpy as np
import pytest
import tensorflow as tf


def test_sum_of_squares(tf_mode):
    out = tf_mode.run(lambda x: tf.reduce_sum(tf.square(x)), tf.constant([1.0, 2.0, 3.0]))
    np.testing.assert_allclose(out, 14.0)


@pytest.mark.tf1_only
def test_tf1_graph():
    assert not tf.executing_eagerly()


@pytest.mark.keras3_only
def test_keras3():
    import keras
    assert keras.__version__.startswith("3.")


def test_protobuf_and_h5py_pins():
    import google.protobuf
    import h5py
    if tf.__version__.startswith("1."):
        assert tuple(int(p) for p in google.protobuf.__version__.split(".")[:2]) < (3, 21)
        assert h5py.__version__.startswith("2.")
'''


def _find_python(version):
    """A real interpreter for ``version`` ("3.7"): on PATH or under pyenv's versions (not a pyenv shim)."""
    candidates = [os.path.join(d, "python" + version) for d in os.environ.get("PATH", "").split(os.pathsep)]
    root = os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv")
    candidates += sorted(glob.glob(os.path.join(root, "versions", version + ".*", "bin", "python" + version)))
    for path in candidates:
        if not os.path.isfile(path) or os.sep + "shims" + os.sep in path:
            continue
        try:
            out = subprocess.run([path, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                                 stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, timeout=30)
        except (OSError, subprocess.SubprocessError):
            continue
        if out.returncode == 0 and out.stdout.decode().strip() == version:
            return path
    return None


def _user_project(tmp_path, keys):
    """A user project with USER_TESTS and a tox.ini generated (and checked) for ``keys``."""
    # compat_metrics as the user installs it: from a copy of this source tree.
    source = tmp_path / "compat_metrics_src"
    shutil.copytree(str(ROOT / "compat_metrics"), str(source / "compat_metrics"),
                    ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(str(ROOT / name), str(source / name))
    project = tmp_path / "project"
    (project / "tests").mkdir(parents=True)
    (project / "tests" / "test_user.py").write_text(USER_TESTS)
    tox_ini = project / "tox.ini"
    assert main(["tox-matrix", "--tf"] + list(keys) + ["--tests", "tests", "--skip-install",
                 "--deps", "pytest", "compat_metrics @ " + source.as_uri(), "-o", str(tox_ini)]) == 0
    assert main(["tox-matrix", "--check", str(tox_ini)]) == 0
    return project, tox_ini


def test_generated_matrix_runs_tf115_and_current_tf(tmp_path):
    pytest.importorskip("tox", reason="runs a tox matrix: needs the tox package (installed in the tf-latest env)")
    pythons = {v: _find_python(v) for v in ("3.7", "3.11")}
    missing = [v for v, path in pythons.items() if path is None]
    assert not missing, "Python {} not found on PATH or under pyenv".format(", ".join(missing))

    project, tox_ini = _user_project(tmp_path, ["1.15", "latest"])

    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("TOX_", "VIRTUAL_ENV", "PYTHONPATH", "TF_USE_LEGACY_KERAS", "_TOX"))}
    command = [sys.executable, "-m", "tox", "-c", str(tox_ini), "-e", "tf115,tf-latest",
               "--workdir", str(tmp_path / ".tox"), "--discover", pythons["3.7"], pythons["3.11"],
               "--", "-v", "-p", "no:cacheprovider"]
    out = subprocess.run(command, cwd=str(project), env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         timeout=TIMEOUT)
    text = out.stdout.decode(errors="replace")
    assert out.returncode == 0, text[-8000:]
    # One pytest header per env, written by the plugin that came in with compat_metrics.
    assert re.search(r"compat_metrics: Python 3\.7\.\d+, TensorFlow 1\.15\.\d+, Keras flavour keras2 \S+, graph mode",
                     text), text[-8000:]
    assert re.search(r"compat_metrics: Python 3\.11\.\d+, TensorFlow 2\.\d+\.\d+, Keras flavour keras3 3\.\S+, "
                     r"eager mode", text), text[-8000:]
    for line in ("test_user.py::test_sum_of_squares[graph] PASSED", "test_user.py::test_tf1_graph PASSED",
                 "test_user.py::test_sum_of_squares[eager] PASSED", "test_user.py::test_sum_of_squares[function] PASSED",
                 "test_user.py::test_keras3 PASSED"):
        assert line in text, (line, text[-8000:])
    assert re.search(r"test_user\.py::test_keras3 SKIPPED \(needs Keras 3", text), text[-8000:]
    assert re.search(r"test_user\.py::test_tf1_graph SKIPPED \(needs TensorFlow 1\.x", text), text[-8000:]
    assert re.search(r"tf115: OK", text) and re.search(r"tf-latest: OK", text), text[-3000:]


MIDDLE_RELEASES = os.environ.get("COMPAT_METRICS_TOX_RUN", "").split()


@pytest.mark.skipif(not MIDDLE_RELEASES, reason="set COMPAT_METRICS_TOX_RUN='2.5 2.11 2.17' to run generated "
                                                "envs of more releases (minutes per release; not in CI)")
def test_generated_matrix_runs_middle_releases(tmp_path):
    """``tox-matrix --tf <release>`` for releases the CI matrix does not run: the env installs and passes."""
    pytest.importorskip("tox", reason="runs a tox matrix: needs the tox package (installed in the tf-latest env)")
    from compat_metrics import _matrix
    combos = [_matrix.lookup(key) for key in MIDDLE_RELEASES]
    pythons = {c.python: _find_python(c.python) for c in combos}
    assert all(pythons.values()), pythons
    project, tox_ini = _user_project(tmp_path, MIDDLE_RELEASES)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("TOX_", "VIRTUAL_ENV", "PYTHONPATH", "TF_USE_LEGACY_KERAS", "_TOX"))}
    command = [sys.executable, "-m", "tox", "-c", str(tox_ini), "-e", ",".join(c.env for c in combos),
               "--workdir", str(tmp_path / ".tox"), "--discover"] + sorted(set(pythons.values())) + \
        ["--", "-v", "-p", "no:cacheprovider"]
    out = subprocess.run(command, cwd=str(project), env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         timeout=TIMEOUT * len(combos))
    text = out.stdout.decode(errors="replace")
    assert out.returncode == 0, text[-8000:]
    for combo in combos:
        version = re.escape(combo.tf.split("==")[1]) if "==" in combo.tf else r"2\.\d+\.\d+"
        assert re.search(rf"compat_metrics: Python {re.escape(combo.python)}\.\d+, TensorFlow {version}",
                         text), (combo.key, text[-8000:])
        assert re.search(rf"{re.escape(combo.env)}: OK", text), (combo.key, text[-3000:])
