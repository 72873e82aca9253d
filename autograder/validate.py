"""A student's self-check: run the notebook with its visible tests and report each exercise."""

from __future__ import annotations

import os
import re
from pathlib import Path

from autograder.chapters import cell_grade_id, grade_cells, read_notebook
from autograder.preprocessors import SafeExecute

__all__ = ["validate", "shorten"]


_SENTENCE_END = re.compile(r"(?<=[.;!?])\s+")


def shorten(text: str, limit: int = 600) -> str:
    """Return ``text`` cut to at most ``limit`` characters at a sentence end, never mid-sentence.

    Whole sentences that fit are kept and " [...]" marks what was left out; a first sentence
    longer than ``limit`` is cut at a word boundary instead.
    """
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    kept = ""
    for match in _SENTENCE_END.finditer(text):
        if match.start() > limit - 6:
            break
        kept = text[: match.start()]
    if not kept:
        kept = text[: limit - 6].rsplit(" ", 1)[0]
    return kept + " [...]"


def _first_error(cell) -> tuple[str, str] | None:
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            return output.get("ename", "Error"), str(output.get("evalue", "")).strip()
    return None


def validate(path: Path, timeout: int = 120, fast: bool = True) -> tuple[bool, str]:
    """Execute ``path`` top to bottom; return (all tests pass and no cell failed, readable report)."""
    try:
        nb = read_notebook(path)
    except ValueError as exc:
        return False, f"{path.name}: {exc}\n"
    os.environ.setdefault("COURSE_FAST", "1" if fast else "0")
    executor = SafeExecute(
        timeout=timeout,
        interrupt_on_timeout=True,
        allow_errors=True,
        # the kernel's start-up warnings (e.g. about its TCP transport) are not the student's business
        extra_arguments=["--HistoryManager.hist_file=:memory:", "--IPKernelApp.log_level=ERROR"],
    )
    executor.preprocess(nb, {"metadata": {"path": str(path.parent.resolve())}})

    auto = {c.grade_id: c for c in grade_cells(nb) if c.auto}
    lines, failures, passed = [], 0, 0
    code_cells = [cell for cell in nb.cells if cell.cell_type == "code"]
    for number, cell in enumerate(code_cells, start=1):  # numbered as Jupyter's "Run All" does
        cell_id = cell_grade_id(cell)
        error = _first_error(cell)
        if cell_id in auto:
            points = f"{auto[cell_id].points:g} pt"
            if error is None:
                passed += 1
                lines.append(f"  PASS  {cell_id} ({points})")
            elif error[0] == "NotImplementedError":
                failures += 1
                lines.append(f"  TODO  {cell_id} ({points}): not implemented yet")
            else:
                failures += 1
                lines.append(f"  FAIL  {cell_id} ({points}): {error[0]}: {shorten(error[1])}")
        elif error is not None:  # a lesson or solution cell: lessons never wait for exercises
            failures += 1
            lines.append(f"  ERROR cell [{number}]: {error[0]}: {shorten(error[1])}")
    header = f"{path.name}: {passed} of {len(auto)} visible test cells pass"
    if failures == 0:
        footer = "All visible tests pass. Hidden tests are run when your work is graded."
    else:
        footer = f"{failures} problem(s) to fix."
    return failures == 0, "\n".join([header, *lines, footer]) + "\n"
