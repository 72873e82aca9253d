"""Chapters, their graded cells and their mutants, read from the source tree."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbformat import NotebookNode
from nbgrader.utils import is_grade, is_locked, is_solution

__all__ = [
    "REPO_ROOT",
    "Chapter",
    "Mutant",
    "GradeCell",
    "find_chapters",
    "read_mutants",
    "grade_cells",
    "chapter_number",
    "read_notebook",
    "cell_grade_id",
    "is_grade",
    "is_solution",
    "is_locked",
    "is_test_cell",
    "is_answer_cell",
]

REPO_ROOT = Path(__file__).resolve().parent.parent
CHAPTER_RE = re.compile(r"^(\d\d)_[a-z0-9_]+$")
GRADE_ID_RE = re.compile(r"^ch(\d\d)_")
MUTANT_HEADER_RE = re.compile(r"^# %% mutant (?P<exercise>ch\d\d_\w+):\s*(?P<why>.+?)\s*$")


@dataclass(frozen=True)
class Mutant:
    """A known-wrong answer: ``source`` replaces the cell ``<exercise>_solution``."""

    exercise: str
    description: str
    source: str
    number: int  # 1-based position in the chapter's mutant file

    @property
    def name(self) -> str:
        return f"{self.exercise}#{self.number}"


@dataclass(frozen=True)
class Chapter:
    """One chapter: ``NN_topic`` with its solution notebook and mutant file."""

    name: str
    solution: Path
    mutants_file: Path

    @property
    def number(self) -> str:
        return self.name[:2]

    def mutants(self) -> list[Mutant]:
        return read_mutants(self.mutants_file) if self.mutants_file.exists() else []


@dataclass(frozen=True)
class GradeCell:
    """A graded cell: an autograded test cell or a manually graded answer."""

    grade_id: str
    points: float
    auto: bool  # True for code test cells, False for written answers
    source: str


# nbgrader metadata is read in one way everywhere: nbgrader's own ``is_grade``, ``is_solution`` and
# ``is_locked`` (re-exported here), ``cell_grade_id``, and the two kinds of cell the course uses.


def cell_grade_id(cell: NotebookNode) -> str | None:
    """Return the cell's nbgrader grade_id, or None for a plain cell."""
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def is_test_cell(cell: NotebookNode) -> bool:
    """An autograded test cell: code, graded, not a solution (its points come from running it)."""
    return cell.cell_type == "code" and bool(is_grade(cell)) and not is_solution(cell)


def is_answer_cell(cell: NotebookNode) -> bool:
    """A cell the student writes in: an exercise's solution cell or a written answer."""
    return bool(is_solution(cell))


def read_notebook(path: Path) -> NotebookNode:
    """Read and validate a notebook (nbformat 4); raise ValueError with a readable reason."""
    try:
        nb = nbformat.read(str(path), as_version=4)
    except Exception as exc:  # nbformat raises several types for bad JSON / schema
        raise ValueError(
            f"not a readable notebook ({type(exc).__name__}: {str(exc)[:200]})"
        ) from exc
    try:
        nbformat.validate(nb)
    except nbformat.ValidationError as exc:
        raise ValueError(
            f"notebook fails the nbformat schema ({str(exc).splitlines()[0][:200]})"
        ) from exc
    return nb


def find_chapters(
    solutions_dir: Path | None = None, names: list[str] | None = None
) -> list[Chapter]:
    """Return the chapters in ``solutions_dir`` (all, or those in ``names``), sorted by number."""
    solutions_dir = Path(solutions_dir or REPO_ROOT / "solutions")
    found = {
        p.stem: Chapter(p.stem, p, solutions_dir / "mutants" / f"{p.stem}.py")
        for p in sorted(solutions_dir.glob("*.ipynb"))
        if CHAPTER_RE.match(p.stem)
    }
    if not names:
        return list(found.values())
    chapters = []
    for name in names:
        matches = [c for key, c in found.items() if key == name or key[:2] == name]
        if not matches:
            raise ValueError(f"unknown chapter {name!r}; known: {', '.join(found) or 'none'}")
        chapters.append(matches[0])
    return chapters


def read_mutants(path: Path) -> list[Mutant]:
    """Parse a mutant file: blocks headed ``# %% mutant <exercise>: <what is wrong>``."""
    mutants: list[Mutant] = []
    header: re.Match[str] | None = None
    body: list[str] = []

    def close() -> None:
        if header is not None:
            source = "\n".join(body).strip("\n")
            if not source.strip():
                raise ValueError(f"{path}: mutant {header['exercise']!r} has no code")
            mutants.append(Mutant(header["exercise"], header["why"], source, len(mutants) + 1))

    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.startswith("# %%"):
            close()
            header = MUTANT_HEADER_RE.match(line)
            if header is None:
                raise ValueError(
                    f"{path}:{lineno}: expected '# %% mutant chNN_name: what is wrong'"
                )
            body = []
        elif header is not None:
            body.append(line)
    close()
    return mutants


def grade_cells(nb: NotebookNode) -> list[GradeCell]:
    """Return the graded cells of a notebook in order (first occurrence of each grade_id)."""
    cells: dict[str, GradeCell] = {}
    for cell in nb.cells:
        grade_id = cell_grade_id(cell)
        if is_grade(cell) and grade_id and grade_id not in cells:
            points = float(cell.metadata["nbgrader"].get("points", 0))
            cells[grade_id] = GradeCell(grade_id, points, is_test_cell(cell), cell.source)
    return list(cells.values())


def chapter_number(nb: NotebookNode) -> str | None:
    """Return the chapter number ``NN`` that most nbgrader grade_ids in ``nb`` name, if any."""
    counts: dict[str, int] = {}
    for cell in nb.cells:
        match = GRADE_ID_RE.match(cell_grade_id(cell) or "")
        if match:
            counts[match[1]] = counts.get(match[1], 0) + 1
    return max(counts, key=counts.__getitem__) if counts else None
