"""Models saved by the previous metric layout (GradientNorm's total/count) load and report right numbers."""

import pytest
import saved_by_previous as previous

from compat_metrics import _capabilities as caps


# The library at previous.PREVIOUS predates Keras 3.0-3.4 support: it passes aggregation= to
# Metric.add_variable (not on Keras 3.0) and uses the value variable.assign_add returns (None before
# Keras 3.5), so no model of that layout can have been saved there.
@pytest.mark.skipif(caps.KERAS3 and not (caps.KERAS3_VARIABLE_AGGREGATION and caps.KERAS3_ASSIGN_RETURNS_VALUE),
                    reason="the previous layout's library could not train its metrics on Keras 3.0-3.4 "
                           "(KERAS3_VARIABLE_AGGREGATION, KERAS3_ASSIGN_RETURNS_VALUE; "
                           f"installed {caps.STACK}): nothing saved by it to load")
def test_models_saved_by_the_previous_layout_load(tmp_path):
    if not previous.saved_by_previous(str(tmp_path), graph_mode=False):
        pytest.skip(f"needs the git history holding revision {previous.PREVIOUS}")
    previous.load_and_check(str(tmp_path))
