"""Loss-component extraction on TF 2.x: eager, tf.function, fit/evaluate, distribution."""

import json
import os
import subprocess
import sys

import capability_marks
import numpy as np
import pytest
import saving
import scenarios
import tensorflow as tf

import compat_metrics

RUN_MODES = [pytest.param(False, id="tf_function"), pytest.param(True, id="run_eagerly")]


@pytest.mark.parametrize("run_eagerly", RUN_MODES)
def test_components_read_without_recomputing_match_numpy(run_eagerly):
    model, _ = scenarios.compiled_seed_model(run_eagerly=run_eagerly)
    scenarios.check_components_evaluate(model)


@pytest.mark.parametrize("run_eagerly", RUN_MODES)
def test_fit_history_components_add_up_to_loss(run_eagerly):
    model, _ = scenarios.compiled_seed_model(run_eagerly=run_eagerly)
    x, y = scenarios.data()
    history = model.fit(x, y, batch_size=10, epochs=2, verbose=0)
    scenarios.check_history_components(history)


def test_whole_loss_as_component_reads_exactly_the_keras_loss():
    tracker = compat_metrics.ComponentTracker(("total",), name="whole")

    def loss_fn(y_true, y_pred):
        return tracker.track("total", tf.reduce_mean(tf.square(y_true - y_pred)))

    model = scenarios.dense_model()
    compat_metrics.compile(model, optimizer="sgd", loss=loss_fn, metrics=tracker.metrics())
    x, y = scenarios.data()
    history = model.fit(x, y, batch_size=10, epochs=2, verbose=0)
    np.testing.assert_allclose(history.history["total"], history.history["loss"], rtol=1e-5)
    results = scenarios.evaluate_dict(model, x, y, batch_size=7)
    np.testing.assert_allclose(results["total"], results["loss"], rtol=1e-5)


def test_track_stores_value_in_every_mode(tf_mode):
    tracker = compat_metrics.ComponentTracker(("double",), name="modes")
    value = tf.constant([1.5, 2.0])

    def fn(v):
        return tracker.track("double", 2.0 * tf.reduce_sum(v))

    returned = tf_mode.run(fn, value)
    np.testing.assert_allclose(returned, 7.0)
    np.testing.assert_allclose(tracker.variable("double").numpy(), 7.0)


def test_plain_function_loss_with_tracker_and_undeclared_components():
    tracker = compat_metrics.ComponentTracker(name="fn_tracker")

    def loss_fn(y_true, y_pred):
        ce = tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=y_true, logits=y_pred))
        reg = scenarios.REG_WEIGHT * tf.reduce_mean(tf.square(y_pred))
        return tracker.track("ce", ce) + tracker.track("reg", reg)

    model = scenarios.dense_model()
    metrics = [tracker.metric("ce"), tracker.metric("reg"), tracker.metric("ce", reduction="last", name="ce_last")]
    compat_metrics.compile(model, optimizer="sgd", loss=loss_fn, metrics=metrics)
    scenarios.check_components_evaluate(model)
    assert tracker.components == ("ce", "reg")


def test_undeclared_component_is_rejected_when_training_starts():
    class Typo(compat_metrics.ComponentLoss):
        components = ("ce",)

        def call(self, y_true, y_pred):
            return self.track("cee", tf.reduce_mean(tf.square(y_true - y_pred)))

    model = scenarios.dense_model()
    loss = Typo()
    x, y = scenarios.data()
    # Raised at compile where Keras builds the loss there (TF 1.x/2.0/2.1), else at fit.
    with pytest.raises(ValueError, match="unknown component 'cee'.*declared components are \\['ce'\\]"):
        compat_metrics.compile(model, optimizer="sgd", loss=loss, metrics=loss.metrics())
        model.fit(x, y, epochs=1, verbose=0)


def test_metric_of_a_component_never_tracked_fails_at_training_start():
    tracker = compat_metrics.ComponentTracker(name="never")

    def loss_fn(y_true, y_pred):
        return tracker.track("mse", tf.reduce_mean(tf.square(y_true - y_pred)))

    model = scenarios.dense_model()
    x, y = scenarios.data()
    with pytest.raises(ValueError, match="'msee'.*never tracked.*\\['mse'\\]"):
        compat_metrics.compile(model, optimizer="sgd", loss=loss_fn, metrics=[tracker.metric("msee")])
        model.fit(x, y, epochs=1, verbose=0)


def test_bad_arguments_have_clear_errors():
    tracker = compat_metrics.ComponentTracker(("a",), name="bad")
    with pytest.raises(ValueError, match="must be a scalar"):
        tracker.track("a", tf.ones((3,)))
    with pytest.raises(ValueError, match="unknown component 'b'"):
        tracker.metric("b")
    with pytest.raises(TypeError, match="got the string .ce.; write"):
        compat_metrics.ComponentTracker("ce")
    with pytest.raises(ValueError, match="unique"):
        compat_metrics.ComponentTracker(("a", "a"))
    with pytest.raises(ValueError, match="Invalid `reduction`"):
        tracker.metric("a", reduction="median")
    with pytest.raises(ValueError, match="no components yet"):
        compat_metrics.ComponentTracker(name="empty").metrics()


@pytest.mark.parametrize("suffix", saving.save_formats())
def test_component_loss_model_saves_and_loads_without_custom_objects(tmp_path, suffix):
    saving.check_component_model_roundtrip(tmp_path, suffix)


DISTRIBUTED = r"""
import json, sys
import numpy as np
import tensorflow as tf
# the experimental names exist from TF 2.0 on (the stable ones from 2.1)
cpu = tf.config.experimental.list_physical_devices("CPU")[0]
tf.config.experimental.set_virtual_device_configuration(cpu, [tf.config.experimental.VirtualDeviceConfiguration()] * 2)
sys.path.insert(0, sys.argv[1])
import scenarios
strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
assert strategy.num_replicas_in_sync == 2
with strategy.scope():
    model, loss = scenarios.compiled_seed_model()
x, y = scenarios.data()
model.fit(x, y, batch_size=16, epochs=1, verbose=0)
results = scenarios.evaluate_dict(model, x, y, batch_size=16)
logits = model.predict(x, batch_size=16)
print(json.dumps({"results": {k: float(v) for k, v in results.items()},
                  "ce": [float(scenarios.np_sigmoid_ce(y[i:i + 16], logits[i:i + 16])) for i in range(0, 48, 16)],
                  "reg": [float(scenarios.np_reg(logits[i:i + 16])) for i in range(0, 48, 16)]}))
"""


def test_mirrored_strategy_two_cpus_gives_single_device_values():
    tests_dir = os.path.dirname(os.path.abspath(__file__))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    out = subprocess.run([sys.executable, "-c", DISTRIBUTED, tests_dir], capture_output=True,
                         env=env, timeout=300)
    if capability_marks.refuses_distributed_metrics(out.stderr.decode()):
        assert out.returncode != 0
        return
    assert out.returncode == 0, out.stderr.decode()[-3000:]
    report = json.loads(out.stdout.decode().strip().splitlines()[-1])
    results = report["results"]
    # Equal batches of 16: the epoch value is the mean of per-batch NumPy values.
    np.testing.assert_allclose(results["ce"], np.mean(report["ce"]), rtol=1e-5)
    np.testing.assert_allclose(results["reg"], np.mean(report["reg"]), rtol=1e-5)
    # A scalar loss divided by the number of replicas as Keras divides per-sample losses (Keras 3 did not: 2x).
    np.testing.assert_allclose(results["loss"], np.mean(report["ce"]) + np.mean(report["reg"]), rtol=1e-5)


def test_components_after_compiling_again():
    scenarios.check_components_after_compiling_again()
