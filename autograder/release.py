"""Generate the student notebooks from the solutions (nbgrader generate_assignment) and check them."""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from autograder import course
from autograder.chapters import Chapter, read_notebook

__all__ = ["generate", "release", "check", "find_leaks", "secret_lines"]

MIN_SECRET_CHARS = 20  # shorter lines (``return x``) are too common to call a leak
SOLUTION_RE = re.compile(r"### BEGIN SOLUTION(.*?)### END SOLUTION", re.S)
HIDDEN_RE = re.compile(r"### BEGIN HIDDEN TESTS(.*?)### END HIDDEN TESTS", re.S)


def generate(chapters: list[Chapter], root: Path) -> dict[str, NotebookNode]:
    """Run nbgrader's generate_assignment for ``chapters`` in a course at ``root``; return releases."""
    course.build_course(root, chapters)
    return {c.name: read_notebook(course.release_path(root, c.name)) for c in chapters}


def _text(nb: NotebookNode) -> str:
    return json.dumps(nb, sort_keys=True, indent=1, ensure_ascii=False)


def release(chapters: list[Chapter], notebooks_dir: Path) -> list[Path]:
    """Regenerate ``notebooks_dir/<chapter>.ipynb`` for each chapter; return the files written."""
    notebooks_dir.mkdir(parents=True, exist_ok=True)
    written = []
    with tempfile.TemporaryDirectory(prefix="release-") as tmp:
        for name, nb in generate(chapters, Path(tmp)).items():
            path = notebooks_dir / f"{name}.ipynb"
            nbformat.write(nb, str(path))
            written.append(path)
    return written


def secret_lines(solution: NotebookNode) -> set[str]:
    """Return the lines a student must not see: solution bodies, model answers, hidden tests."""
    secrets: set[str] = set()
    for cell in solution.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        blocks = HIDDEN_RE.findall(cell.source)
        if meta.get("solution"):
            found = SOLUTION_RE.findall(cell.source)
            blocks += found or [cell.source]  # a written answer without markers is all model answer
        for block in blocks:
            for line in block.splitlines():
                stripped = line.strip()
                if len(stripped.replace(" ", "")) >= MIN_SECRET_CHARS:
                    secrets.add(stripped)
    return secrets


def find_leaks(solution: NotebookNode, released: NotebookNode) -> list[str]:
    """Return the secret lines of ``solution`` that appear anywhere in ``released``."""
    text = "\n".join(cell.source for cell in released.cells)
    return sorted(line for line in secret_lines(solution) if line in text)


def check(chapters: list[Chapter], notebooks_dir: Path) -> list[str]:
    """Return every problem: a student notebook missing, out of date, stray or leaking answers."""
    problems = []
    with tempfile.TemporaryDirectory(prefix="release-check-") as tmp:
        fresh = generate(chapters, Path(tmp))
    names = {c.name for c in chapters}
    for chapter in chapters:
        path = notebooks_dir / f"{chapter.name}.ipynb"
        if not path.exists():
            problems.append(f"{path}: missing; run 'python -m autograder release {chapter.name}'")
            continue
        try:
            committed = read_notebook(path)
        except ValueError as exc:
            problems.append(f"{path}: {exc}")
            continue
        if _text(committed) != _text(fresh[chapter.name]):
            problems.append(
                f"{path}: out of date with solutions/; run 'python -m autograder release {chapter.name}'"
            )
        for line in find_leaks(read_notebook(chapter.solution), committed):
            problems.append(f"{path}: leaks solution or hidden-test text: {line[:80]!r}")
    for path in sorted(notebooks_dir.glob("*.ipynb")):
        if path.stem not in names and len(chapters) > 1:
            problems.append(f"{path}: no solutions/{path.name} generates it")
    return problems
