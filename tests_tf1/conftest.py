"""TF1 graph mode for the whole folder: native on TF 1.15, and on TF 2.x with
v2 behaviour disabled (the usual first step of a migration)."""

import os
import sys

import tensorflow as tf

from compat_metrics import runtime

# The plugin's markers and fixtures when the package is only on PYTHONPATH (a checkout).
pytest_plugins = ["compat_metrics.pytest_plugin"]

if not runtime.IS_TF1:
    tf.compat.v1.disable_v2_behavior()

# Shared scenarios and NumPy references live in tests/.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests"))
