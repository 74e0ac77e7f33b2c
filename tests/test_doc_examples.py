"""Every python block of README.md and docs/ runs here, checked against NumPy/scikit-learn (tests/doc_examples.py)."""

import doc_examples
import pytest

BLOCKS = [(page, index) for page, index, _, _ in doc_examples.blocks()]


@pytest.mark.parametrize("page,index", BLOCKS, ids=[f"{p}[{i}]" for p, i in BLOCKS])
def test_doc_example_runs(page, index, tmp_path):
    doc_examples.check_block(page, index, tmp_path)


def test_every_example_entry_is_a_block_of_the_docs():
    assert set(doc_examples.EXAMPLES) <= set(BLOCKS)
