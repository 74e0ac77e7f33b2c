"""experimental_run_tf_function and the compile shim on TF 2.x."""

import warnings

import capability_marks
import pytest
import scenarios

import compat_metrics
from compat_metrics import _capabilities as caps
from compat_metrics._backend import _common

FLAG = "experimental_run_tf_function"


def _expected_kept():
    # Honoured by TF 2.0/2.1; popped from 2.2; TypeError on Keras 3.
    return caps.HONOURS_RUN_TF_FUNCTION


def test_compile_kwargs_keeps_or_drops_the_flag_as_this_tf_needs():
    _common._WARNED.clear()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        kwargs = compat_metrics.compile_kwargs(optimizer="sgd", loss="mse", **{FLAG: False})
        again = compat_metrics.compile_kwargs(optimizer="sgd", loss="mse", **{FLAG: False})
    assert kwargs["optimizer"] == "sgd" and kwargs["loss"] == "mse"
    assert (FLAG in kwargs) == _expected_kept()
    assert kwargs == again
    dropped = [w for w in caught if FLAG in str(w.message)]
    assert len(dropped) == (0 if _expected_kept() else 1), [str(w.message) for w in caught]


def test_compile_with_the_flag_trains_on_this_version():
    scenarios.check_compile_with_flag_trains()


@pytest.mark.keras3_only
def test_plain_keras3_compile_raises_on_the_flag():
    # What the shim protects against: Keras 3 rejects the argument old code passes.
    model = scenarios.dense_model()
    with pytest.raises(TypeError, match=FLAG):
        model.compile(optimizer="sgd", loss="mse", **{FLAG: False})


@capability_marks.run_tf_function_honoured
def test_input_loss_forces_the_flag_off_on_tf20_21():
    kwargs = compat_metrics.compile_kwargs(loss=scenarios.LocLoss(), **{FLAG: True})
    assert kwargs[FLAG] is False


@capability_marks.run_tf_function_honoured
def test_gradient_norm_forces_the_flag_off_on_tf20_21_and_says_why():
    _common._WARNED.clear()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        kwargs = compat_metrics.compile_kwargs(loss="mse", metrics=[compat_metrics.GradientNorm()], **{FLAG: True})
    assert kwargs[FLAG] is False
    assert any("GradientNorm" in str(w.message) for w in caught), [str(w.message) for w in caught]


@capability_marks.train_step
def test_dropped_flag_warning_points_at_the_callers_line():
    _common._WARNED.clear()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        compat_metrics.compile(scenarios.dense_model(), optimizer="sgd", loss="mse", **{FLAG: False})
    dropped = [w for w in caught if FLAG in str(w.message)]
    assert [w.filename for w in dropped] == [__file__], [(w.filename, str(w.message)) for w in caught]
