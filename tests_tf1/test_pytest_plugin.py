"""The pytest plugin on a small user project in TF1 graph mode (TF 1.15, or TF 2.x with v2 disabled)."""

import plugin_sample

pytest_plugins = ["pytester"]

TIMEOUT = 300


def test_sample_project_header_markers_and_fixtures(pytester, monkeypatch):
    args = plugin_sample.prepare(pytester, monkeypatch, graph=True)
    result = pytester.runpytest_subprocess(*args, "-v", "-rs", "-p", "no:cacheprovider", timeout=TIMEOUT)
    plugin_sample.check_run(result, graph=True)
