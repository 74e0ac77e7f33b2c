"""Gradient norm, layer metrics and save/load in TF1 graph mode (TF 1.15, TF 2.x with v2 disabled)."""

import numpy as np
import pytest
import saving
import tensorflow as tf
import training_scenarios as ts

import compat_metrics

pytestmark = pytest.mark.graph_mode_only


def test_gradient_norm_equals_tf_gradients_norm_per_batch_in_fit_and_evaluate():
    ts.check_gradient_norms_in_fit_and_evaluate()


def test_gradient_norm_is_the_norm_of_the_applied_gradient():
    ts.check_gradient_norm_is_the_applied_gradient()


def test_gradient_norm_is_before_clipping():
    ts.check_gradient_norm_is_before_clipping()


def test_validation_values_are_over_batches_in_order():
    ts.check_validation_values_are_over_batches_in_order()


def test_layer_metric_called_twice_or_nested():
    ts.check_layer_metric_called_twice_or_nested()


def test_evaluate_before_fit_reports_the_gradient_norm():
    m = ts.compiled_gradient_model()
    x, y = ts.data()
    norms, sizes = ts.reference_batch_norms(m, x, y)
    np.testing.assert_allclose(ts.evaluate_dict(m, x, y)["gradient_norm"], ts.weighted_mean(norms, sizes), rtol=1e-4)


def test_gradient_norm_with_plain_compile_says_what_to_use():
    m = ts.model()
    with pytest.raises(ValueError, match="compat_metrics.compile"):
        m.compile(optimizer="sgd", loss="mse", metrics=[compat_metrics.GradientNorm()])


def test_layer_add_metric_and_metric_layer_in_fit_and_evaluate():
    ts.check_layer_metrics_in_fit_and_evaluate()


def test_train_step_helper_explains_missing_train_step():
    m = ts.model()
    compat_metrics.compile(m, optimizer="sgd", loss="mse")
    x, y = ts.data()
    graph = tf.compat.v1.get_default_graph()
    operations = len(graph.get_operations())
    with pytest.raises(RuntimeError, match="compat_metrics.compile"):
        compat_metrics.train_step(m, (x, y))
    assert len(graph.get_operations()) == operations, "raised before the model was called"


def test_group_pattern_matches_layer_names():
    ts.check_group_pattern_with_a_second_model_of_the_same_layer_names()


def test_embedding_gradient_norm_counts_repeated_ids():
    ts.check_embedding_gradient_norm()


def test_metrics_reset_between_runs():
    ts.check_metrics_reset_between_runs()


def test_metric_layer_over_several_outputs():
    ts.check_metric_over_several_outputs()


@pytest.mark.parametrize("suffix", saving.save_formats())
@pytest.mark.parametrize("stem", sorted(ts.MODELS))
def test_model_saves_and_loads_without_custom_objects(tmp_path, stem, suffix):
    """Gradient norms and layer metrics, with an input loss, with a component loss."""
    ts.check_saves_and_loads(stem, tmp_path, suffix)
