"""Version-specific tests select themselves from the capability table
(``compat_metrics._capabilities``), never from a list of release numbers, so the
suite is right on any release, including those the tox matrix does not run."""

import pytest

from compat_metrics import _capabilities as caps


def needs(flag, what):
    """Skip unless capability ``flag`` holds; the reason names it and the installed stack."""
    return pytest.mark.skipif(not getattr(caps, flag), reason=f"needs {what} ({flag}; installed {caps.STACK})")


def lacks(flag, what):
    """Run only where capability ``flag`` does not hold (tests of the clear error there)."""
    return pytest.mark.skipif(getattr(caps, flag), reason=f"only without {what} ({flag}; installed {caps.STACK})")


train_step = needs("HAS_TRAIN_STEP", "Model.train_step")
no_train_step = lacks("HAS_TRAIN_STEP", "Model.train_step")
run_tf_function_honoured = needs("HONOURS_RUN_TF_FUNCTION", "compile(experimental_run_tf_function=False) honoured")
loss_scale_optimizer = needs("HAS_LOSS_SCALE_OPTIMIZER", "keras.mixed_precision.LossScaleOptimizer")


def refuses_distributed_metrics(message):
    """Where Keras counts only part of each batch in a strategy's metrics (Keras 3 < 3.10,
    ``DISTRIBUTED_METRICS`` false), the library refuses with an error naming the fix: check
    ``message`` (the error's text) names it and return True; elsewhere return False."""
    if caps.DISTRIBUTED_METRICS:
        return False
    assert "pip install 'keras>=3.10'" in message, message[-3000:]
    return True
