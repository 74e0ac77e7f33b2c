"""Models saved by earlier tox envs load here; this env saves its own (see saved_across_versions.py)."""

import pytest

import saved_across_versions as sav


def test_models_saved_by_earlier_envs_load_with_the_same_values():
    if sav.folder() is None:
        pytest.skip("runs under tox, which sets {} and runs the envs in order".format(sav.FOLDER_VARIABLE))
    if sav.this_env() not in set(sav.LOADS) | set(sav.SAVES) | set(sav.ORDER):
        pytest.skip("tox env {!r} neither saves nor loads cross-version models".format(sav.this_env()))
    assert sav.check_this_env() or sav.this_env() == sav.ORDER[0]
