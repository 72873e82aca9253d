"""The autograder proves itself per chapter: solution full marks, release zero, mutants killed."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from autograder import course, grade, release
from autograder.chapters import Chapter, Mutant, grade_cells, read_notebook

__all__ = ["selftest_chapter", "mutate", "passed"]


def mutate(solution: NotebookNode, mutant: Mutant) -> NotebookNode:
    """Return ``solution`` with the mutant's code in ``<exercise>_solution``, cut after its test.

    Cells after the exercise's test cell cannot change its score, so they are not run.
    """
    nb = nbformat.from_dict(solution)
    ids = [c.get("metadata", {}).get("nbgrader", {}).get("grade_id") for c in nb.cells]
    target = f"{mutant.exercise}_solution"
    if target not in ids:
        raise ValueError(f"mutant {mutant.name}: no solution cell {target!r} in the notebook")
    if mutant.exercise not in ids:
        raise ValueError(f"mutant {mutant.name}: no test cell {mutant.exercise!r} in the notebook")
    nb.cells[ids.index(target)].source = mutant.source
    nb.cells = nb.cells[: ids.index(mutant.exercise) + 1]
    return nb


def _spec(
    chapter: Chapter,
    who: str,
    submission: Path,
    template: Path,
    work: Path,
    options: grade.Options,
    restore: bool,
) -> dict:
    return {
        "student": who,
        "chapter": chapter.name,
        "submission": str(submission),
        "template": str(template),
        "work": str(work / "jobs" / who),
        "feedback_path": str(work / "feedback" / who / f"{chapter.name}.html"),
        "timeout": options.timeout,
        "restore_missing": restore,
        "notes": [],
    }


def _auto_score(result: dict) -> float:
    return sum(c["score"] or 0 for c in result["cells"] if c["auto"])


def selftest_chapter(
    chapter: Chapter, options: grade.Options, notebooks_dir: Path | None = None
) -> dict:
    """Grade the solution, the release and every mutant of ``chapter``; return the figures."""
    started = time.perf_counter()
    problems: list[str] = []
    solution = read_notebook(chapter.solution)
    cells = grade_cells(solution)
    exercises = [c.grade_id for c in cells if c.auto]
    max_score = sum(c.points for c in cells if c.auto)
    try:
        mutants = chapter.mutants()
    except ValueError as exc:
        mutants, problems = [], [str(exc)]
    for exercise in exercises:
        if not any(m.exercise == exercise for m in mutants):
            problems.append(f"{exercise}: no mutant (every autograded exercise needs one)")

    with tempfile.TemporaryDirectory(prefix=f"selftest-{chapter.name}-") as tmp:
        work = Path(tmp)
        template = work / "template"
        course.build_course(template, [chapter])
        released = course.release_path(template, chapter.name)
        specs = [
            _spec(chapter, "solution", chapter.solution, template, work, options, True),
            _spec(chapter, "release", released, template, work, options, True),
        ]
        graded_mutants = []
        for mutant in mutants:
            try:
                nb = mutate(solution, mutant)
            except ValueError as exc:
                problems.append(str(exc))
                continue
            who = f"mutant{mutant.number:02d}"
            path = work / "mutants" / f"{who}.ipynb"
            path.parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(nb, str(path))
            specs.append(_spec(chapter, who, path, template, work, options, False))
            graded_mutants.append(mutant)
        results = grade.run_jobs(specs, options)

        leaks = release.find_leaks(solution, read_notebook(released))
        committed = (
            notebooks_dir or chapter.solution.parent.parent / "notebooks"
        ) / f"{chapter.name}.ipynb"
        if committed.exists():
            leaks += [
                f"notebooks/{committed.name}: {line}"
                for line in release.find_leaks(solution, read_notebook(committed))
            ]

    sol, rel = results[0], results[1]
    for who, result in (("solution", sol), ("release", rel)):
        if result["status"] != "graded":
            problems.append(f"{who} was not graded: {'; '.join(result['notes'][:2])}")
    problems += [f"solution: {err}" for err in sol.get("errors", [])]
    mutant_rows = []
    for mutant, result in zip(graded_mutants, results[2:], strict=True):
        cell = next((c for c in result["cells"] if c["grade_id"] == mutant.exercise), None)
        killed = (
            result["status"] == "graded" and cell is not None and (cell["score"] or 0) < cell["max"]
        )
        if not killed:
            problems.append(
                f"mutant {mutant.name} ({mutant.description}) was not killed [{result['status']}]"
            )
        mutant_rows.append(
            {"name": mutant.name, "description": mutant.description, "killed": killed}
        )
    return {
        "max_score": max_score,
        "solution_score": _auto_score(sol),
        "release_score": _auto_score(rel),
        "exercises": len(exercises),
        "written": sum(1 for c in cells if not c.auto),
        "mutants": len(mutants),
        "mutants_killed": sum(row["killed"] for row in mutant_rows),
        "mutant_details": mutant_rows,
        "leaks": leaks,
        "problems": problems,
        "seconds": round(time.perf_counter() - started, 1),
    }


def passed(figures: dict) -> bool:
    """True when the chapter's self-test holds: full marks, zero, all mutants killed, no leaks."""
    return (
        figures["exercises"] > 0
        and figures["solution_score"] == figures["max_score"]
        and figures["release_score"] == 0
        and figures["mutants"] > 0
        and figures["mutants_killed"] == figures["mutants"]
        and not figures["leaks"]
        and not figures["problems"]
    )
