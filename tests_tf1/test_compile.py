"""The compile shim in TF1 graph mode."""

import pytest
import scenarios

import compat_metrics
from compat_metrics import _capabilities as caps

FLAG = "experimental_run_tf_function"
pytestmark = pytest.mark.graph_mode_only


def test_compile_kwargs_keeps_the_flag_where_tf_accepts_it():
    kwargs = compat_metrics.compile_kwargs(optimizer="sgd", loss="mse", **{FLAG: False})
    # TF 1.15 and 2.0/2.1 accept the flag; 2.2+ ignore it and it is dropped.
    assert (FLAG in kwargs) == caps.HONOURS_RUN_TF_FUNCTION


def test_compile_with_the_flag_trains_in_graph_mode():
    scenarios.check_compile_with_flag_trains()
