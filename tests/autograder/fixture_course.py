"""A tiny two-exercise chapter and a class of students who submit every kind of bad input."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from autograder.chapters import cell_grade_id

CHAPTER = "98_fixture"


def _nbgrader(
    grade_id: str, *, grade: bool, solution: bool, locked: bool, points: float = 0
) -> dict:
    meta = {
        "grade": grade,
        "grade_id": grade_id,
        "locked": locked,
        "schema_version": 3,
        "solution": solution,
        "task": False,
    }
    if grade:
        meta["points"] = points
    return {"nbgrader": meta}


def solution_notebook() -> nbformat.NotebookNode:
    """Return the fixture chapter: two autograded exercises and one written question."""
    cells = [
        new_markdown_cell("# Fixture chapter\nTwo small exercises."),
        new_code_cell("import math"),
        new_code_cell(
            'def add(a, b):\n    """Return a + b."""\n    ### BEGIN SOLUTION\n    return a + b\n    ### END SOLUTION',
            metadata=_nbgrader("ch98_add_solution", grade=False, solution=True, locked=False),
        ),
        new_code_cell(
            "assert add(1, 2) == 3, 'add(1, 2) should be 3'\n### BEGIN HIDDEN TESTS\nassert add(-1, 1) == 0\n### END HIDDEN TESTS",
            metadata=_nbgrader("ch98_add", grade=True, solution=False, locked=True, points=1),
        ),
        new_code_cell(
            'def hypot(a, b):\n    """Return the length of the hypotenuse."""\n    ### BEGIN SOLUTION\n    return math.sqrt(a * a + b * b)\n    ### END SOLUTION',
            metadata=_nbgrader("ch98_hypot_solution", grade=False, solution=True, locked=False),
        ),
        new_code_cell(
            "assert abs(hypot(3, 4) - 5) < 1e-9, 'hypot(3, 4) should be 5'\n### BEGIN HIDDEN TESTS\nassert abs(hypot(5, 12) - 13) < 1e-9\n### END HIDDEN TESTS",
            metadata=_nbgrader("ch98_hypot", grade=True, solution=False, locked=True, points=2),
        ),
        new_markdown_cell("Why test on hidden inputs as well as visible ones?"),
        new_markdown_cell(
            "Because visible tests alone can be passed by special-casing their inputs.",
            metadata=_nbgrader("ch98_q_hidden", grade=True, solution=True, locked=False, points=1),
        ),
        new_code_cell("print('the end')"),
    ]
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
    }
    return nb


MUTANTS = """\
# %% mutant ch98_add: subtracts instead of adding
def add(a, b):
    return a - b


# %% mutant ch98_hypot: forgets the square root
def hypot(a, b):
    return a * a + b * b
"""


def write_chapter(solutions: Path) -> Path:
    """Write the fixture chapter and its mutants into ``solutions``; return the notebook path."""
    (solutions / "mutants").mkdir(parents=True, exist_ok=True)
    path = solutions / f"{CHAPTER}.ipynb"
    nbformat.write(solution_notebook(), str(path))
    (solutions / "mutants" / f"{CHAPTER}.py").write_text(MUTANTS, encoding="utf-8")
    return path


def _cell(nb: nbformat.NotebookNode, grade_id: str) -> nbformat.NotebookNode:
    return next(c for c in nb.cells if cell_grade_id(c) == grade_id)


def write_class(class_dir: Path, release: Path, solution: Path) -> dict[str, str]:
    """Write one student per kind of submission; return student -> what they did."""
    good = nbformat.read(str(solution), as_version=4)
    students: dict[str, str] = {}

    def save(
        student: str,
        what: str,
        nb: nbformat.NotebookNode | None = None,
        name: str = CHAPTER + ".ipynb",
    ) -> Path:
        folder = class_dir / student
        folder.mkdir(parents=True, exist_ok=True)
        students[student] = what
        path = folder / name
        if nb is not None:
            nbformat.write(nb, str(path))
        return path

    def solved() -> nbformat.NotebookNode:
        return nbformat.from_dict(json.loads(json.dumps(good)))

    save("ada", "correct answers", solved())
    save("bob", "untouched release", nbformat.read(str(release), as_version=4))
    text = json.dumps(solved())
    save("cat", "corrupted JSON").write_text(text.replace('"cells"', '"cells', 1), encoding="utf-8")
    save("dan", "truncated file").write_text(text[: len(text) // 2], encoding="utf-8")
    save("eve", "no notebook at all")
    save("fay", "renamed notebook", solved(), name="my homework (1).ipynb")

    nb = solved()
    nb.cells = [c for c in nb.cells if cell_grade_id(c) != "ch98_add"]
    save("gus", "deleted test cell", nb)

    nb = solved()
    _cell(nb, "ch98_add_solution").source = "def add(a, b):\n    return 0"
    _cell(nb, "ch98_add").source = "assert True"
    save("hal", "wrong answer and edited test cell", nb)

    nb = solved()
    index = nb.cells.index(_cell(nb, "ch98_hypot"))
    nb.cells.insert(index, nbformat.from_dict(json.loads(json.dumps(nb.cells[index]))))
    save("ivy", "duplicated test cell", nb)

    nb = solved()
    _cell(nb, "ch98_add_solution").source = "def add(a, b):\n    while True:\n        pass"
    save("jon", "infinite loop", nb)

    nb = solved()
    _cell(nb, "ch98_hypot_solution").source = "import os\nos._exit(1)"
    save("kim", "crashing kernel", nb)

    nb = solved()
    nb.cells.insert(
        2, nbformat.v4.new_code_cell("for i in range(100000):\n    print('spam spam spam spam', i)")
    )
    save("lee", "huge output", nb)

    nb = solved()
    _cell(nb, "ch98_add_solution").source = (
        "import sys, warnings\n"
        "def add(a, b):\n"
        "    warnings.warn('this is only a warning')\n"
        "    print('progress 50%', file=sys.stderr)\n"
        "    return a + b"
    )
    save("max", "warnings on stderr", nb)
    nb = solved()
    extra = nbformat.from_dict(json.loads(json.dumps(_cell(nb, "ch98_hypot"))))
    extra.metadata["nbgrader"]["grade_id"] = "ch98_from_next_year"
    extra.id = "extra-cell"
    nb.cells.append(extra)
    save("nia", "a graded cell the assignment does not have", nb)
    return students
