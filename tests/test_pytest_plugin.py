"""The pytest plugin on a small user project, in eager TF 2.x (TF1 graph mode: tests_tf1/)."""

import plugin_sample
import pytest

pytest_plugins = ["pytester"]

TIMEOUT = 300


def test_sample_project_header_markers_and_fixtures(pytester, monkeypatch):
    args = plugin_sample.prepare(pytester, monkeypatch, graph=False)
    result = pytester.runpytest_subprocess(*args, "-v", "-rs", "-p", "no:cacheprovider", timeout=TIMEOUT)
    plugin_sample.check_run(result, graph=False)


def test_bad_version_specifiers_are_usage_errors(pytester, monkeypatch):
    args = plugin_sample.prepare(pytester, monkeypatch, graph=False)
    pytester.makepyfile(test_sample=plugin_sample.BAD_MARKERS)
    result = pytester.runpytest_subprocess(*args, "-p", "no:cacheprovider", timeout=TIMEOUT)
    assert result.ret == pytest.ExitCode.USAGE_ERROR, result.stdout.str() + result.stderr.str()
    err = result.stderr.str()
    assert "test_no_operator: @pytest.mark.requires_tf('2.13'): not a version specifier" in err, err
    assert "test_no_specifier: @pytest.mark.requires_keras takes one version specifier string" in err, err


def test_plugin_is_registered_through_the_entry_point():
    """Installed (tox installs the wheel), the plugin needs no -p or conftest."""
    try:
        from importlib.metadata import PackageNotFoundError, distribution
    except ImportError:  # Python 3.7
        from importlib_metadata import PackageNotFoundError, distribution
    try:
        dist = distribution("compat_metrics")
    except PackageNotFoundError:
        pytest.skip("compat_metrics is not installed as a distribution here (a checkout); tox installs it")
    points = [(ep.name, ep.value) for ep in dist.entry_points if ep.group == "pytest11"]
    assert points == [("compat_metrics.pytest_plugin", "compat_metrics.pytest_plugin")], points
    assert plugin_sample.plugin_entry_point() == "compat_metrics.pytest_plugin"


def test_installed_plugin_does_not_break_a_project_without_tensorflow(pytester, monkeypatch):
    """Unmarked tests run where TensorFlow cannot be imported; marked ones say why they cannot."""
    args = plugin_sample.prepare(pytester, monkeypatch, graph=False)
    pytester.makeconftest("import sys\nsys.modules['tensorflow'] = None  # import tensorflow raises ImportError\n")
    pytester.makepyfile(test_sample='''
import numpy as np
import pytest


def test_plain_test_is_seeded():
    assert np.random.rand() == np.random.RandomState(1234).rand()


@pytest.mark.tf2_only
def test_marked():
    pass
''')
    result = pytester.runpytest_subprocess(*args, "-p", "no:cacheprovider", timeout=TIMEOUT)
    text = result.stdout.str()
    assert "compat_metrics: TensorFlow/Keras cannot be imported" in text, text[-3000:]
    result.assert_outcomes(passed=1, errors=1)
    assert "import of tensorflow halted" in text, text[-3000:]  # the marked test names the cause
