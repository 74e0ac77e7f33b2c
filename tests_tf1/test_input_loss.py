"""Input-dependent losses in TF1 graph mode: a closure over model.inputs."""

import pytest
import saving
import scenarios

pytestmark = pytest.mark.graph_mode_only


def test_input_loss_evaluate_matches_numpy_using_inputs():
    scenarios.check_input_loss_fit_and_evaluate()


def test_input_loss_accepts_old_compile_arguments():
    model = scenarios.compiled_loc_model(experimental_run_tf_function=False)
    scenarios.check_input_loss_evaluate(model)


@pytest.mark.parametrize("suffix", saving.save_formats())
def test_input_loss_model_saves_and_loads_without_custom_objects(tmp_path, suffix):
    saving.check_input_loss_model_roundtrip(tmp_path, suffix)


def test_input_loss_sees_inputs_as_the_model_does():
    scenarios.check_input_loss_sees_inputs_as_the_model_does()
