"""``compat-metrics doctor``: the installed stack, the mechanism per feature, broken set-ups."""

import importlib.util
import json
import os
import platform
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from compat_metrics import _capabilities as caps
from compat_metrics import _doctor, _matrix, cli, runtime
from compat_metrics._backend import impl


def test_json_report_describes_this_install(capsys):
    status = cli.main(["doctor", "--json"])
    report = json.loads(capsys.readouterr().out)
    assert report["python"] == platform.python_version()
    assert report["packages"]["tensorflow"] and tf.__version__.startswith(report["packages"]["tensorflow"])
    assert report["packages"]["numpy"] == np.__version__
    assert report["stack"]["keras_flavour"] == runtime.KERAS_FLAVOUR
    assert report["stack"]["backend"] == runtime.BACKEND
    assert report["features"] == dict(impl.MECHANISMS)
    assert report["TF_USE_LEGACY_KERAS"] == os.environ.get("TF_USE_LEGACY_KERAS", "")
    assert status == (1 if any(p["level"] == "error" for p in report["problems"]) else 0)
    assert not [p for p in report["problems"] if p["level"] == "error"], report["problems"]


def test_text_report_lists_every_feature(capsys):
    cli.main(["doctor"])
    out = capsys.readouterr().out
    assert f"TensorFlow {runtime.TF_VERSION}" in out
    for feature, mechanism in impl.MECHANISMS.items():
        assert feature in out and mechanism in out


def _levels(problems):
    return [(p["level"], p["message"].split(":")[0]) for p in problems]


def test_legacy_keras_without_tf_keras_is_an_error():
    problems = _doctor.diagnose({"tensorflow": "2.21.0", "numpy": "2.4.0"}, {"TF_USE_LEGACY_KERAS": "1"})
    assert ("error", "TF_USE_LEGACY_KERAS=1 but tf-keras is not installed") in _levels(problems)
    clean = _doctor.diagnose({"tensorflow": "2.21.0", "tf-keras": "2.21.0", "libcst": "1.9"}, {"TF_USE_LEGACY_KERAS": "1"})
    assert clean == []


def test_tf115_pins():
    problems = _levels(_doctor.diagnose(
        {"tensorflow": "1.15.0", "numpy": "1.21.6", "protobuf": "4.24.0", "h5py": "3.1.0", "libcst": "1.0"}, {}))
    assert sorted(problems) == [("error", "TensorFlow 1.15.0 with protobuf 4.24.0"),
                                ("warning", "TensorFlow 1.15.0 with h5py 3.1.0"),
                                ("warning", "TensorFlow 1.15.0 with numpy 1.21.6")], problems
    assert _doctor.diagnose({"tensorflow": "1.15.0", "numpy": "1.18.5", "protobuf": "3.20.3", "h5py": "2.10.0",
                             "libcst": "1.0"}, {}) == []


def test_pins_of_other_pinned_releases():
    # TF 2.2 needs protobuf<3.21 too; TF 2.15 and current TF pin nothing.
    assert _levels(_doctor.diagnose({"tensorflow": "2.2.3", "protobuf": "3.21.1", "libcst": "1"}, {})) == [
        ("error", "TensorFlow 2.2.3 with protobuf 3.21.1")]
    assert _doctor.diagnose({"tensorflow": "2.15.1", "protobuf": "4.25.0", "h5py": "3.10.0", "libcst": "1"}, {}) == []


def test_mismatched_tf_keras_and_missing_tensorflow():
    assert ("warning", "tf-keras 2.20.0 does not match TensorFlow 2.21.0") in _levels(_doctor.diagnose(
        {"tensorflow": "2.21.0", "tf-keras": "2.20.0", "libcst": "1"}, {"TF_USE_LEGACY_KERAS": "1"}))
    assert _levels(_doctor.diagnose({"libcst": "1"}, {}))[0] == ("error", "TensorFlow is not installed")


@pytest.mark.skipif(importlib.util.find_spec("tf_keras") is not None or not caps.KERAS3,
                    reason="needs TF >= 2.16 without tf-keras installed (the tf-latest env)")
def test_command_runs_where_keras_cannot_be_imported():
    """TF_USE_LEGACY_KERAS=1 without tf-keras: ``tf.keras`` fails to import, the doctor still reports."""
    env = dict(os.environ, TF_USE_LEGACY_KERAS="1", TF_CPP_MIN_LOG_LEVEL="2")
    broken = subprocess.run([sys.executable, "-c", "import tensorflow as tf; tf.keras.layers"],
                            capture_output=True, env=env, timeout=300)
    assert broken.returncode != 0  # the set-up really is broken
    out = subprocess.run([sys.executable, "-m", "compat_metrics", "doctor", "--json"], capture_output=True,
                         env=env, timeout=300)
    assert out.returncode == 1, out.stderr.decode()[-2000:]
    report = json.loads(out.stdout.decode())
    errors = [p["message"] for p in report["problems"] if p["level"] == "error"]
    assert any("TF_USE_LEGACY_KERAS=1" in message and "tf-keras" in message for message in errors), errors


@pytest.mark.parametrize("value,requested", [("1", True), ("true", True), ("True", True), ("yes", False),
                                             ("0", False), ("", False), (None, False)])
def test_legacy_keras_is_requested_by_the_values_tensorflow_accepts(value, requested):
    environ = {} if value is None else {"TF_USE_LEGACY_KERAS": value}
    assert _matrix.legacy_keras_requested(environ) is requested
    legacy_error = [p for p in _doctor.diagnose({"tensorflow": "2.21.0", "libcst": "1"}, environ)
                    if "tf-keras is not installed" in p["message"]]
    assert bool(legacy_error) is requested
