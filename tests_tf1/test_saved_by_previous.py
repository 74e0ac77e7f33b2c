"""Models saved in graph mode by the previous metric layout (GradientNorm's total/count) load here."""

import pytest
import saved_by_previous as previous


def test_models_saved_by_the_previous_layout_load(tmp_path):
    if not previous.saved_by_previous(str(tmp_path), graph_mode=True):
        pytest.skip(f"needs the git history holding revision {previous.PREVIOUS}")
    previous.load_and_check(str(tmp_path))
