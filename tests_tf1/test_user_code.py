"""Users' own metric, loss and layer code through the library in TF1 graph mode."""

import pytest
import tensorflow as tf
import user_code_scenarios as uc

pytestmark = pytest.mark.graph_mode_only


def _run(tensor, metric):
    session = tf.compat.v1.keras.backend.get_session()
    if not getattr(metric, "_test_initialised", False):
        session.run(tf.compat.v1.variables_initializer(metric.variables))
        metric._test_initialised = True
    return None if tensor is None else float(session.run(tensor)) if isinstance(tensor, tf.Tensor) else session.run(tensor)


def test_reset_overrides_run_each_epoch():
    uc.check_reset_overrides_run_each_epoch()


def test_result_returning_its_variable_keeps_the_training_value():
    uc.check_result_returning_its_variable_keeps_the_training_value()


def test_user_calls_to_either_reset_name_reset_the_state():
    uc.check_user_calls_both_reset_names(_run)


def test_untracked_declared_component_is_a_clear_error():
    uc.check_untracked_declared_component_is_a_clear_error()


def test_losses_with_constructor_arguments_load(tmp_path):
    uc.check_losses_with_constructor_arguments_load(tmp_path, [".h5"])


def test_unsavable_constructor_argument_is_refused_at_save(tmp_path):
    uc.check_unsavable_constructor_argument_is_refused_at_save(tmp_path, ".h5")


def test_metric_layer_over_three_outputs_keeps_per_output_losses():
    uc.check_metric_layer_over_three_outputs()


def test_load_model_passes_keras_arguments(tmp_path):
    uc.check_load_model_passes_keras_arguments(tmp_path, ".h5")


def test_same_named_keras_and_library_metrics_load_as_themselves(tmp_path):
    uc.check_same_named_keras_and_library_metrics_load_as_themselves(tmp_path)


def test_users_classes_named_like_the_librarys_load_as_themselves(tmp_path):
    uc.check_users_classes_named_like_the_librarys_load_as_themselves(tmp_path, ".h5")


def test_subclass_views_keep_constructor_arguments(tmp_path):
    uc.check_subclass_views_keep_constructor_arguments(tmp_path, ".h5")


def test_component_losses_read_their_own_model_after_loading(tmp_path):
    uc.check_component_losses_read_their_own_model_after_loading(tmp_path, ".h5")


def test_one_component_loss_for_two_outputs_is_refused():
    uc.check_one_component_loss_for_two_outputs_is_refused(plain_compile_checked=False)


def test_colliding_metric_names_are_refused():
    uc.check_colliding_metric_names_are_refused()


def test_seed_classes_epoch_by_epoch():
    uc.check_seed_classes_epoch_by_epoch()


def test_plain_tracker_component_never_tracked_is_a_clear_error():
    uc.check_plain_tracker_component_never_tracked_is_a_clear_error()


def test_rank_one_labels_count_as_on_keras2():
    uc.check_rank_one_labels_count_as_on_keras2()
