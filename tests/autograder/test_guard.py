"""The guard: test cells run as written, prove it with signed receipts, and report tampering."""

from __future__ import annotations

import pytest
from nbformat.v4 import new_code_cell, new_notebook
from traitlets.config import Config

from autograder import guard
from autograder.preprocessors import (
    FORGED_RECEIPT,
    MARK,
    NO_RECEIPT,
    RESULT_DROPPED,
    UNDONE,
    SafeExecute,
)


def _test_cell(source: str, grade_id: str) -> dict:
    meta = {"grade": True, "grade_id": grade_id, "locked": True, "points": 1}
    meta.update(schema_version=3, solution=False, task=False)
    return new_code_cell(source, metadata={"nbgrader": meta})


@pytest.fixture(scope="module")
def executed():
    """One kernel runs a notebook with honest, failing, faking and tampering cells."""
    cells = [
        new_code_cell("import math"),
        _test_cell("assert math.sqrt(4) == 2", "honest"),
        _test_cell("assert math.sqrt(4) == 3, 'sqrt(4) should be 3'", "failing"),
        new_code_cell(
            "from IPython.display import publish_display_data\n"
            f"publish_display_data({{{guard.MIME!r}: {{'stage': 'after', 'nonce': 'x', 'mac': 'y'}}}})"
        ),
        new_code_cell("math.sqrt = lambda x: 3"),
        _test_cell("assert math.sqrt(4) == 2", "patched"),
        new_code_cell("get_ipython().input_transformers_post.append(lambda lines: ['1\\n'])"),
        _test_cell("assert False", "transformed"),
        new_code_cell("import torch"),
        _test_cell("x = torch.arange(12).to('meta')\nassert (x // 4).shape == (12,)", "lazy"),
        _test_cell("torch.manual_seed(0)", "seeded"),
        new_code_cell("torch.manual_seed = torch._disable_dynamo(lambda seed: None)"),
        _test_cell("torch.manual_seed(0)", "look-alike"),
        new_code_cell(
            "import functools\n"
            "torch.manual_seed = functools.wraps(torch.manual_seed)(lambda seed: None)"
        ),
        _test_cell("torch.manual_seed(0)", "wrapped"),
    ]
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    config = Config()
    config.SafeExecute.timeout = 30
    config.SafeExecute.guard = True
    config.SafeExecute.guard_imports = ["import math", "import torch"]
    config.SafeExecute.guard_names = ["math", "torch"]
    SafeExecute(config=config).preprocess(nb, {"metadata": {"path": "."}})
    return {c.metadata.get("nbgrader", {}).get("grade_id", i): c for i, c in enumerate(nb.cells)}


def _errors(cell) -> list[str]:
    return [o["ename"] for o in cell.outputs if o["output_type"] == "error"]


def test_an_honest_test_passes_and_keeps_its_own_source(executed):
    """Does a passing test show no error, no receipt and its original text in the notebook?"""
    cell = executed["honest"]
    assert _errors(cell) == [] and cell.outputs == []
    assert cell.source == "assert math.sqrt(4) == 2"
    assert not cell.metadata.get(MARK)


def test_a_failing_test_fails_with_its_own_error(executed):
    """Is an assert failure still an AssertionError with its message (the self-test relies on it)?"""
    error = next(o for o in executed["failing"].outputs if o["output_type"] == "error")
    assert error["ename"] == "AssertionError" and error["evalue"] == "sqrt(4) should be 3"


def test_an_imitated_receipt_is_noticed(executed):
    """Does an output that imitates the grader's receipt get marked, and removed?"""
    cell = executed[3]
    assert cell.metadata[MARK][FORGED_RECEIPT] and cell.outputs == []


def test_a_patched_library_is_restored_before_the_test(executed):
    """Does a test run against the real math.sqrt, and does the grader say it had to undo a patch?"""
    cell = executed["patched"]
    assert _errors(cell) == []
    assert any("math.sqrt was replaced" in line for line in cell.metadata[MARK][UNDONE])


def test_a_transformer_cannot_turn_a_test_into_a_pass(executed):
    """Is a test that a transformer rewrote still run as written (and its fake value ignored)?"""
    cell = executed["transformed"]
    assert _errors(cell) == ["AssertionError"]
    assert any("input_transformers_post" in line for line in cell.metadata[MARK][UNDONE])
    assert not cell.metadata[MARK].get(RESULT_DROPPED) and not cell.metadata[MARK].get(NO_RECEIPT)


def test_a_first_meta_kernel_in_a_test_is_not_tampering(executed):
    """Is torch._dynamo's lazy import (it wraps torch.manual_seed) inside a test left unflagged?"""
    cell = executed["lazy"]
    assert _errors(cell) == [] and not cell.metadata.get(MARK)


def test_torch_s_own_wrapper_is_accepted_and_no_other(executed):
    """After torch._dynamo wrapped torch.manual_seed, is that kept clean while a look-alike
    wrapper (torch's maker around another function) and a functools.wraps wrapper are undone?"""
    seeded = executed["seeded"]
    assert _errors(seeded) == [] and not seeded.metadata.get(MARK)
    for name in ("look-alike", "wrapped"):
        undone = executed[name].metadata[MARK][UNDONE]
        assert any("torch.manual_seed was replaced" in line for line in undone), name


def test_receipts_are_signed_with_the_kernel_secret():
    """Does a receipt's signature depend on the secret and on every field?"""
    payload = {"stage": "after", "nonce": "n", "sha256": "s", "during": []}
    assert guard.sign(b"k", payload) == guard.sign(b"k", dict(payload))
    assert guard.sign(b"k", payload) != guard.sign(b"other", payload)
    assert guard.sign(b"k", payload) != guard.sign(b"k", {**payload, "during": ["x"]})
