"""The pytest plugin's markers and fixtures (``tf_mode``, ``requires_tf``...) also when the
tests run from a checkout where compat_metrics is not installed (only on ``PYTHONPATH``)."""

pytest_plugins = ["compat_metrics.pytest_plugin"]
