"""Generate the student notebooks from the solutions (nbgrader generate_assignment) and check them."""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from autograder import course
from autograder.chapters import Chapter, is_solution, read_notebook

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


def _blocks(solution: NotebookNode) -> tuple[list[str], list[str]]:
    """Split the source notebook's text into secret blocks and the public rest."""
    secret, public = [], []
    for cell in solution.cells:
        text = cell.source
        hidden = HIDDEN_RE.findall(text)
        text = HIDDEN_RE.sub("", text)
        if is_solution(cell):
            answers = SOLUTION_RE.findall(text)
            if answers:
                text = SOLUTION_RE.sub("", text)
            else:  # a written answer without markers is all model answer
                answers, text = [text], ""
            hidden += answers
        secret += hidden
        public.append(text)
    return secret, public


def secret_lines(solution: NotebookNode) -> set[str]:
    """Return the lines a student must not see: solution bodies, model answers, hidden tests.

    Lines that the public part of the notebook also contains (a visible test's loop header, say)
    are not secrets; neither are short ones, which are too common to call a leak.
    """
    secret, public = _blocks(solution)
    public_lines = {line.strip() for block in public for line in block.splitlines()}
    return {
        line.strip()
        for block in secret
        for line in block.splitlines()
        if len(line.replace(" ", "").strip()) >= MIN_SECRET_CHARS
        and line.strip() not in public_lines
    }


def find_leaks(solution: NotebookNode, released: NotebookNode) -> list[str]:
    """Return the secret lines of ``solution`` that appear anywhere in ``released``."""
    text = "\n".join(cell.source for cell in released.cells)
    return sorted(line for line in secret_lines(solution) if line in text)


def check(chapters: list[Chapter], notebooks_dir: Path, strays: bool = True) -> list[str]:
    """Return every problem: a student notebook missing, out of date, stray or leaking answers.

    ``strays``: also report notebooks that no chapter generates (when checking the whole course,
    not when checking a few chapters by name).
    """
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
    for path in sorted(notebooks_dir.glob("*.ipynb")) if strays else []:
        if path.stem not in names:
            problems.append(f"{path}: no solutions/{path.name} generates it")
    return problems
