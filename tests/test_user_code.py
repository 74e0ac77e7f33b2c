"""Users' own metric, loss and layer code through the library (eager and tf.function)."""

import capability_marks
import numpy as np
import pytest
import user_code_scenarios as uc

import compat_metrics
from compat_metrics import _capabilities as caps


def _value(tensor, metric):
    return None if tensor is None else float(np.asarray(tensor))


def test_reset_overrides_run_each_epoch():
    uc.check_reset_overrides_run_each_epoch()


def test_result_returning_its_variable_keeps_the_training_value():
    uc.check_result_returning_its_variable_keeps_the_training_value()


def test_user_calls_to_either_reset_name_reset_the_state():
    uc.check_user_calls_both_reset_names(_value)


def test_untracked_declared_component_is_a_clear_error():
    uc.check_untracked_declared_component_is_a_clear_error()


def test_losses_with_constructor_arguments_load(tmp_path):
    import saving
    uc.check_losses_with_constructor_arguments_load(tmp_path, saving.save_formats()[:1])


def test_unsavable_constructor_argument_is_refused_at_save(tmp_path):
    import saving
    uc.check_unsavable_constructor_argument_is_refused_at_save(tmp_path, saving.save_formats()[0])


def test_metric_layer_over_three_outputs_keeps_per_output_losses():
    uc.check_metric_layer_over_three_outputs()


def test_load_model_passes_keras_arguments(tmp_path):
    import saving
    uc.check_load_model_passes_keras_arguments(tmp_path, saving.save_formats()[0])


def test_same_named_keras_and_library_metrics_load_as_themselves(tmp_path):
    uc.check_same_named_keras_and_library_metrics_load_as_themselves(tmp_path)


def test_users_classes_named_like_the_librarys_load_as_themselves(tmp_path):
    import saving
    for suffix in saving.save_formats():
        uc.check_users_classes_named_like_the_librarys_load_as_themselves(tmp_path, suffix)


def test_subclass_views_keep_constructor_arguments(tmp_path):
    import saving
    for suffix in saving.save_formats():  # not SavedModel: Keras 2 revives each view with a matrix of its own
        if suffix:
            uc.check_subclass_views_keep_constructor_arguments(tmp_path, suffix)


def test_component_losses_read_their_own_model_after_loading(tmp_path):
    import saving
    for suffix in saving.save_formats():
        uc.check_component_losses_read_their_own_model_after_loading(tmp_path, suffix)


def test_one_component_loss_for_two_outputs_is_refused():
    uc.check_one_component_loss_for_two_outputs_is_refused(plain_compile_checked=True)


def test_colliding_metric_names_are_refused():
    uc.check_colliding_metric_names_are_refused()


def test_seed_classes_epoch_by_epoch():
    uc.check_seed_classes_epoch_by_epoch()


def test_plain_tracker_component_never_tracked_is_a_clear_error():
    uc.check_plain_tracker_component_never_tracked_is_a_clear_error()


def test_rank_one_labels_count_as_on_keras2():
    uc.check_rank_one_labels_count_as_on_keras2()


@capability_marks.lacks("SAVED_MODEL_FORMAT", "a SavedModel Keras loads with its metrics")
@pytest.mark.skipif(caps.KERAS3, reason="Keras 3 saves no SavedModel with model.save")
def test_saved_model_directory_losing_its_metrics_is_refused(tmp_path):
    """TF 2.0/2.1 load a SavedModel directory without the metrics it was compiled with: their keys vanished
    (a MetricLayer's; the library's scores cannot be saved there at all: Keras refuses their variables)."""
    x, y = uc.classification_data()
    inputs = compat_metrics.keras.Input((uc.N_FEATURES,))
    hidden = uc.WarpAccuracy(name="warp")([inputs, inputs, inputs])[0]
    model = compat_metrics.keras.Model(inputs, compat_metrics.keras.layers.Dense(uc.N_CLASSES, activation="softmax")(hidden))
    compat_metrics.compile(model, optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, y, epochs=1, verbose=0)
    path = str(tmp_path / "saved_model")
    model.save(path, save_format="tf")
    with pytest.raises(ValueError, match="^Invalid path for TF .*SavedModel directory"):
        compat_metrics.load_model(path)
