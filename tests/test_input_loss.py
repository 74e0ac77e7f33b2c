"""Input-dependent losses on TF 2.x: evaluate vs NumPy, save/load."""

import numpy as np
import pytest
import saving
import scenarios
import tensorflow as tf

import compat_metrics


@pytest.mark.parametrize("run_eagerly", [False, True], ids=["tf_function", "run_eagerly"])
def test_input_loss_evaluate_matches_numpy_using_inputs(run_eagerly):
    scenarios.check_input_loss_fit_and_evaluate(run_eagerly=run_eagerly)


def test_input_loss_accepts_old_compile_arguments():
    model = scenarios.compiled_loc_model(experimental_run_tf_function=False)
    scenarios.check_input_loss_evaluate(model)


def test_input_loss_with_sample_weight_follows_keras_reduction():
    model = scenarios.compiled_loc_model()
    x, y = scenarios.data()
    weights = np.linspace(0.0, 2.0, len(x)).astype("float32")
    result = model.evaluate(x, y, sample_weight=weights, batch_size=len(x), verbose=0)
    result = float(np.atleast_1d(result)[0])
    pred = model.predict(x)
    per_sample = np.mean(np.square(y - 2.0 * x[:, :3] * pred), axis=-1)
    np.testing.assert_allclose(result, np.sum(per_sample * weights) / len(x), rtol=1e-5)


def test_unbound_input_loss_says_how_to_bind_it():
    model = scenarios.dense_model()
    x, y = scenarios.data()
    with pytest.raises(Exception, match="compat_metrics.compile"):
        model.compile(optimizer="sgd", loss=scenarios.LocLoss())  # TF 2.0/2.1 build the loss here
        model.evaluate(x, y, verbose=0)


def test_input_loss_config_round_trip():
    loss = scenarios.LocLoss(scale=3.0, name="loc")
    restored = scenarios.LocLoss.from_config(loss.get_config())
    assert (restored.scale, restored.name) == (3.0, "loc")
    assert compat_metrics.keras.utils.get_custom_objects()["LocLoss"] is scenarios.LocLoss


def test_missing_call_is_reported():
    class NoCall(compat_metrics.InputLoss):
        pass

    with pytest.raises(NotImplementedError, match="call\\(self, inputs, y_true, y_pred\\)"):
        NoCall().call_with_inputs(None, tf.zeros((1,)), tf.zeros((1,)))


@pytest.mark.parametrize("suffix", saving.save_formats())
def test_input_loss_model_saves_and_loads_without_custom_objects(tmp_path, suffix):
    saving.check_input_loss_model_roundtrip(tmp_path, suffix)


def test_input_loss_sees_inputs_as_the_model_does():
    scenarios.check_input_loss_sees_inputs_as_the_model_does()
