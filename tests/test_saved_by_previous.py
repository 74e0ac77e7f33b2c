"""Models saved by the previous metric layout (GradientNorm's total/count) load and report right numbers."""

import pytest
import saved_by_previous as previous

from compat_metrics import _capabilities as caps


# The library at previous.PREVIOUS predates Keras 3.0 support: it passes aggregation= to
# Metric.add_variable, which Keras 3.0 lacks, so no model of that layout can have been saved on it.
@pytest.mark.skipif(caps.KERAS3 and not caps.KERAS3_VARIABLE_AGGREGATION,
                    reason="the previous layout's library could not build its metrics on Keras 3.0 "
                           f"(KERAS3_VARIABLE_AGGREGATION; installed {caps.STACK}): nothing saved by it to load")
def test_models_saved_by_the_previous_layout_load(tmp_path):
    if not previous.saved_by_previous(str(tmp_path), graph_mode=False):
        pytest.skip(f"needs the git history holding revision {previous.PREVIOUS}")
    previous.load_and_check(str(tmp_path))
