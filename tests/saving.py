"""Save in this process, load and evaluate in a fresh one (shared by both suites)."""

import json
import os
import subprocess
import sys

import numpy as np

import compat_metrics
from compat_metrics import _capabilities as caps

SCENARIOS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "scenarios.py")


def save_formats():
    """The formats this Keras saves a whole model in, as file suffixes."""
    if caps.KERAS3:
        return [".keras"]
    if compat_metrics.runtime.in_graph_mode() or not caps.SAVED_MODEL_FORMAT:
        return [".h5"]  # TF1 graph mode, and TF 2.0/2.1 whose Keras builds losses at compile
    return [".h5", ""]  # "" = SavedModel directory


def roundtrip(model, expected, tmp_path, stem, suffix):
    """Save ``model``, then check in a fresh process that evaluate gives ``expected``."""
    path = str(tmp_path / (stem + suffix))
    model.save(path) if suffix else model.save(path, save_format="tf")
    mode = "graph" if compat_metrics.runtime.in_graph_mode() else "eager"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    out = subprocess.run([sys.executable, SCENARIOS, mode, path], capture_output=True,
                         env=env, timeout=300)
    assert out.returncode == 0, out.stderr.decode()[-3000:]
    loaded = json.loads(out.stdout.decode().strip().splitlines()[-1])
    if isinstance(expected, dict):
        for key, value in expected.items():
            np.testing.assert_allclose(loaded["result"][key], value, rtol=1e-5)
    else:
        np.testing.assert_allclose(loaded["result"], expected, rtol=1e-5)
    assert np.isfinite(loaded["fit_loss"])
    return loaded


def check_component_model_roundtrip(tmp_path, suffix):
    """Component-loss model: train, save, load in a fresh process, same evaluate."""
    import scenarios
    model, _ = scenarios.compiled_seed_model()
    x, y = scenarios.data()
    model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    expected = scenarios.check_components_evaluate(model)
    roundtrip(model, {k: expected[k] for k in ("loss", "ce", "reg")}, tmp_path, "seed", suffix)


def check_input_loss_model_roundtrip(tmp_path, suffix):
    """Input-loss model: train, save, load in a fresh process, same evaluate."""
    import scenarios
    model = scenarios.compiled_loc_model()
    x, y = scenarios.data()
    model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    expected = scenarios.check_input_loss_evaluate(model)
    roundtrip(model, expected, tmp_path, "loc", suffix)
