"""Gradient norm, layer metrics, metric layers, train_step helper and save/load (TF 2.x envs)."""

import capability_marks
import numpy as np
import pytest
import saving
import tensorflow as tf
import training_scenarios as ts

import compat_metrics
from compat_metrics import _capabilities as caps

keras = compat_metrics.keras


def test_gradient_norm_equals_tape_norm_per_batch_in_fit_and_evaluate():
    ts.check_gradient_norms_in_fit_and_evaluate()


def test_gradient_norm_is_the_norm_of_the_applied_gradient():
    ts.check_gradient_norm_is_the_applied_gradient()


def test_gradient_norm_is_before_clipping():
    ts.check_gradient_norm_is_before_clipping()


def test_validation_values_are_over_batches_in_order():
    ts.check_validation_values_are_over_batches_in_order()


@capability_marks.loss_scale_optimizer
def test_gradient_norm_leaves_out_the_steps_a_loss_scale_optimizer_skips():
    ts.check_gradient_norm_leaves_out_the_steps_a_loss_scale_optimizer_skips()


def test_layer_metric_called_twice_or_nested():
    ts.check_layer_metric_called_twice_or_nested()


@pytest.mark.parametrize("run_eagerly", [False, True], ids=["tf_function", "run_eagerly"])
def test_gradient_norm_with_run_eagerly(run_eagerly):
    _check_fit_gradient_norm(ts.zero_lr_sgd(), run_eagerly=run_eagerly)


@capability_marks.run_tf_function_honoured
def test_gradient_norm_evaluate_with_run_eagerly_is_refused_where_no_gradients_exist():
    m = ts.model()
    compat_metrics.compile(m, optimizer=ts.zero_lr_sgd(), loss="mse", metrics=[compat_metrics.GradientNorm()],
                           run_eagerly=True)
    x, y = ts.data()
    m.fit(x, y, batch_size=ts.BATCH, epochs=1, verbose=0)  # training has gradients
    with pytest.raises(RuntimeError, match="^compat_metrics.GradientNorm cannot be evaluated with run_eagerly=True"):
        m.evaluate(x, y, batch_size=ts.BATCH, verbose=0)


def _check_fit_gradient_norm(optimizer, **compile_kwargs):
    """The epoch's ``gradient_norm`` equals the batch-weighted mean of tf.GradientTape norms."""
    m = ts.model()
    compat_metrics.compile(m, optimizer=optimizer, loss="mse", metrics=[compat_metrics.GradientNorm()],
                           **compile_kwargs)
    x, y = ts.data()
    norms, sizes = ts.reference_batch_norms(m, x, y)
    history = m.fit(x, y, batch_size=ts.BATCH, epochs=1, verbose=0, shuffle=False).history
    np.testing.assert_allclose(history["gradient_norm"][0], ts.weighted_mean(norms, sizes), rtol=1e-4)


def test_gradient_norm_under_mirrored_strategy_is_the_whole_batch_norm():
    result = ts.check_gradient_norm_under_mirrored_strategy()
    if capability_marks.refuses_distributed_metrics(result.get("not_implemented", "")):
        return
    if not caps.GRADIENT_NORM_DISTRIBUTED:  # TF 2.0/2.1
        assert "TF >= 2.2" in result["not_implemented"]
        return
    np.testing.assert_allclose(result["fit"], result["reference"], rtol=1e-4)
    np.testing.assert_allclose(result["evaluate"], result["reference"], rtol=1e-4)


@capability_marks.loss_scale_optimizer
def test_gradient_norm_with_a_loss_scale_optimizer_is_the_unscaled_norm():
    # Keras 3's train_step hands the optimizer the gradients of the scaled loss (x 2**15).
    _check_fit_gradient_norm(keras.mixed_precision.LossScaleOptimizer(ts.zero_lr_sgd()))


def test_gradient_norm_with_plain_compile_says_what_to_use():
    m = ts.model()
    x, y = ts.data()
    with pytest.raises(Exception, match="compat_metrics.compile"):
        m.compile(optimizer="sgd", loss="mse", metrics=[compat_metrics.GradientNorm()])  # TF 2.0/2.1 fail here
        m.fit(x, y, epochs=1, verbose=0)


def test_failed_compile_leaves_the_gradient_norm_unconnected():
    metric = compat_metrics.GradientNorm()
    m = ts.model()
    with pytest.raises(ValueError, match="no_such_optimizer"):
        compat_metrics.compile(m, optimizer="no_such_optimizer", loss="mse", metrics=[metric])
    x, y = ts.data()
    with pytest.raises(Exception, match="compat_metrics.compile"):  # not a silent 0
        m.compile(optimizer="sgd", loss="mse", metrics=[metric])
        m.fit(x, y, epochs=1, verbose=0)


@capability_marks.train_step
def test_bind_gradient_metrics_after_plain_compile():
    m = ts.model()
    m.compile(optimizer=ts.zero_lr_sgd(), loss="mse", metrics=[compat_metrics.GradientNorm()])
    assert len(compat_metrics.bind_gradient_metrics(m)) == 1
    x, y = ts.data()
    norms, sizes = ts.reference_batch_norms(m, x, y)
    history = m.fit(x, y, batch_size=ts.BATCH, epochs=1, verbose=0, shuffle=False).history
    np.testing.assert_allclose(history["gradient_norm"][0], ts.weighted_mean(norms, sizes), rtol=1e-4)


@capability_marks.train_step
def test_recompiling_replaces_the_gradient_metrics():
    m = ts.model()
    compat_metrics.compile(m, optimizer="sgd", loss="mse", metrics=[compat_metrics.GradientNorm("^no_such_layer/")])
    compat_metrics.compile(m, optimizer=ts.zero_lr_sgd(), loss="mse", metrics=[compat_metrics.GradientNorm()])
    x, y = ts.data()
    norms, sizes = ts.reference_batch_norms(m, x, y)
    history = m.fit(x, y, batch_size=ts.BATCH, epochs=1, verbose=0, shuffle=False).history
    np.testing.assert_allclose(history["gradient_norm"][0], ts.weighted_mean(norms, sizes), rtol=1e-4)


def test_gradient_norm_rejects_bad_arguments():
    with pytest.raises(TypeError, match="regular expression"):
        compat_metrics.GradientNorm(variables=["hidden"])
    with pytest.raises(ValueError, match="not a valid regular expression"):
        compat_metrics.GradientNorm(variables="(")
    with pytest.raises(ValueError, match="reduction"):
        compat_metrics.GradientNorm(reduction="max")
    m = ts.model()
    with pytest.raises(ValueError, match="no trainable variable .* matches variables='nothing_like_this'"):
        compat_metrics.compile(m, optimizer="sgd", loss="mse",
                               metrics=[compat_metrics.GradientNorm("nothing_like_this")])
        x, y = ts.data()
        m.fit(x, y, epochs=1, verbose=0)


def test_gradient_norm_config_round_trip():
    metric = compat_metrics.GradientNorm("hidden", reduction="last", name="g")
    config = metric.get_config()
    assert (config["variables"], config["reduction"], config["name"]) == ("hidden", "last", "g")
    restored = compat_metrics.GradientNorm.from_config(config)
    assert (restored.variables_pattern, restored.reduction, restored.name) == ("hidden", "last", "g")


def test_psnr_beside_gradient_norm_against_numpy():
    m = ts.compiled_gradient_model(metrics=ts.gradient_metrics() + [ts.PSNR(max_val=2.0)])
    x, y = ts.data()
    m.fit(x, y, batch_size=ts.BATCH, epochs=1, verbose=0)
    results = ts.evaluate_dict(m, x, y)
    np.testing.assert_allclose(results["psnr"], ts.np_psnr(y, m.predict(x, batch_size=ts.BATCH), 2.0), rtol=1e-4)


def test_layer_add_metric_and_metric_layer_in_fit_and_evaluate():
    ts.check_layer_metrics_in_fit_and_evaluate()


class Subclassed(keras.Model):
    """A subclassed model: its layers first run inside the traced training step."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.hidden = ts.DenseLike(4, activation="tanh", name="hidden")
        self.head = keras.layers.Dense(ts.N_OUTPUTS, name="head")

    def call(self, inputs):
        return self.head(self.hidden(inputs))


def test_add_metric_in_a_subclassed_model():
    m = Subclassed()
    compat_metrics.compile(m, optimizer=ts.zero_lr_sgd(), loss="mse")
    x, y = ts.data()
    history = m.fit(x, y, batch_size=ts.BATCH, epochs=2, verbose=0, shuffle=False).history
    kernel, bias = m.hidden.get_weights()
    hidden = np.tanh(x.dot(kernel) + bias)
    expected = np.mean([hidden[s:s + ts.BATCH].mean() for s in range(0, len(x), ts.BATCH)])
    np.testing.assert_allclose(history["activation_mean"], [expected] * 2, rtol=1e-4, atol=1e-6)


def test_add_metric_says_what_to_use_when_called_wrong():
    layer = keras.layers.Dense(2)
    with pytest.raises(ValueError, match="only 'mean'"):
        compat_metrics.add_metric(layer, tf.constant(1.0), name="m", aggregation="sum")
    with pytest.raises(TypeError, match="compile"):
        compat_metrics.add_metric(layer, keras.metrics.Mean(name="mean"), name="m")
    with pytest.raises(TypeError, match="name="):
        compat_metrics.add_metric(layer, tf.constant(1.0), name=None)
    with pytest.raises(TypeError, match="first argument must be the Keras layer"):
        compat_metrics.add_metric("layer", tf.constant(1.0), name="m")


def test_metric_layer_without_compute_is_reported():
    class NoCompute(compat_metrics.MetricLayer):
        pass

    with pytest.raises(NotImplementedError, match="compute"):
        NoCompute().compute(tf.zeros((1, 2)))


class HelperModel(keras.Model):
    """A train_step override written once with compat_metrics.train_step."""

    def train_step(self, data):
        logs = compat_metrics.train_step(self, data)
        self.steps_seen = getattr(self, "steps_seen", 0) + 1
        return logs


@capability_marks.train_step
def test_train_step_helper_matches_independent_values():
    m = ts.model(model_class=HelperModel)
    metrics = ts.gradient_metrics() + [ts.PSNR(max_val=2.0)]
    compat_metrics.compile(m, optimizer=ts.zero_lr_sgd(), loss="mse", metrics=metrics)
    x, y = ts.data()
    norms, sizes = ts.reference_batch_norms(m, x, y)
    pred = m.predict(x, batch_size=ts.BATCH)
    history = m.fit(x, y, batch_size=ts.BATCH, epochs=1, verbose=0, shuffle=False).history
    assert m.steps_seen >= 1
    losses = [np.mean(np.square(y[s:s + ts.BATCH] - pred[s:s + ts.BATCH])) for s in range(0, len(x), ts.BATCH)]
    reg = ts.L2 * np.sum(np.square(m.get_layer("hidden").get_weights()[0]))
    np.testing.assert_allclose(history["loss"][0], ts.weighted_mean(losses, sizes) + reg, rtol=1e-4)
    np.testing.assert_allclose(history["gradient_norm"][0], ts.weighted_mean(norms, sizes), rtol=1e-4)
    np.testing.assert_allclose(history["psnr"][0], ts.np_psnr(y, pred, 2.0), rtol=1e-4)


@capability_marks.train_step
def test_train_step_helper_applies_gradients_hook():
    seen = []

    def zero_gradients(gradients, variables):
        seen.append(len(variables))
        return [tf.zeros_like(g) for g in gradients]

    class ZeroGradients(keras.Model):
        def train_step(self, data):
            return compat_metrics.train_step(self, data, gradients_hook=zero_gradients)

    m = ts.model(model_class=ZeroGradients)
    compat_metrics.compile(m, optimizer="sgd", loss="mse")
    before = m.get_weights()
    x, y = ts.data()
    m.fit(x, y, batch_size=ts.BATCH, epochs=1, verbose=0)
    assert seen and seen[0] == len(m.trainable_weights)
    for b, a in zip(before, m.get_weights()):
        np.testing.assert_array_equal(b, a)


@capability_marks.train_step
def test_train_step_helper_under_mirrored_strategy_reports_the_whole_batch_loss():
    ts.check_train_step_helper_under_mirrored_strategy()


@capability_marks.run_tf_function_honoured
def test_train_step_helper_explains_missing_train_step():
    m = ts.model()
    compat_metrics.compile(m, optimizer="sgd", loss="mse")
    x, y = ts.data()
    with pytest.raises(RuntimeError, match="compat_metrics.compile"):
        compat_metrics.train_step(m, (x, y))


def test_group_pattern_matches_layer_names():
    ts.check_group_pattern_with_a_second_model_of_the_same_layer_names()


def test_embedding_gradient_norm_counts_repeated_ids():
    ts.check_embedding_gradient_norm()


def test_record_in_a_custom_loop():
    ts.check_record_in_a_custom_loop()


def test_metrics_reset_between_runs():
    ts.check_metrics_reset_between_runs()


def test_metric_layer_over_several_outputs():
    ts.check_metric_over_several_outputs()


@pytest.mark.parametrize("suffix", saving.save_formats())
@pytest.mark.parametrize("stem", sorted(ts.MODELS))
def test_model_saves_and_loads_without_custom_objects(tmp_path, stem, suffix):
    """Gradient norms and layer metrics, with an input loss, with a component loss."""
    ts.check_saves_and_loads(stem, tmp_path, suffix)
