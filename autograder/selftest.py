"""The autograder proves itself per chapter: solution full marks, release zero, mutants killed.

Mutants run in one of two ways. Isolated: one graded notebook per mutant, the solution with that
mutant's code in place (the strictest, and slow: every run re-executes the lesson). Together (the
default): one graded notebook in which each exercise's test cell is followed, per mutant, by the
mutant's code and a graded copy of the test, and then by the solution's code again, so the lesson
runs once. A mutant whose copy never ran (an earlier mutant killed the kernel) is re-run isolated.
"""

from __future__ import annotations

import copy
import re
import tempfile
import time
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from autograder import course, grade, release, steps
from autograder.chapters import Chapter, Mutant, cell_grade_id, grade_cells, read_notebook

__all__ = ["selftest_chapter", "mutate", "mutants_together", "mutant_cell_id", "passed"]

MARKER_RE = re.compile(r"^\s*### (BEGIN|END) SOLUTION\s*$\n?", re.M)


def mutant_cell_id(mutant: Mutant) -> str:
    """The grade_id of the graded copy of the test cell that checks ``mutant``."""
    return f"{mutant.exercise}__mutant{mutant.number:02d}"


def mutants_together(solution: NotebookNode, mutants: list[Mutant]) -> NotebookNode:
    """Return ``solution`` with every mutant and a graded copy of its test after the exercise's test.

    After an exercise's mutants, the solution's own code runs again (markers removed), so later
    cells see the right definitions.
    """
    nb = nbformat.from_dict(solution)
    sources = {cell_grade_id(c): c.source for c in nb.cells if cell_grade_id(c)}
    cells = []
    for cell in nb.cells:
        cells.append(cell)
        grade_id = cell_grade_id(cell)
        own = [m for m in mutants if m.exercise == grade_id]
        if not own or cell.cell_type != "code" or not cell.metadata["nbgrader"].get("grade"):
            continue
        for mutant in own:
            cells.append(
                nbformat.v4.new_code_cell(
                    mutant.source, metadata={"autograder": {"mutant": mutant.name}}
                )
            )
            test = nbformat.v4.new_code_cell(
                cell.source, metadata=copy.deepcopy(dict(cell.metadata))
            )
            test.metadata["nbgrader"]["grade_id"] = mutant_cell_id(mutant)
            cells.append(test)
        cells.append(
            nbformat.v4.new_code_cell(MARKER_RE.sub("", sources.get(f"{grade_id}_solution", "")))
        )
    nb.cells = cells
    return nb


def mutate(solution: NotebookNode, mutant: Mutant) -> NotebookNode:
    """Return ``solution`` with the mutant's code in ``<exercise>_solution``, cut after its test.

    Cells after the exercise's test cell cannot change its score, so they are not run.
    """
    nb = nbformat.from_dict(solution)
    ids = [cell_grade_id(c) for c in nb.cells]
    target = f"{mutant.exercise}_solution"
    if target not in ids:
        raise ValueError(f"mutant {mutant.name}: no solution cell {target!r} in the notebook")
    if mutant.exercise not in ids:
        raise ValueError(f"mutant {mutant.name}: no test cell {mutant.exercise!r} in the notebook")
    nb.cells[ids.index(target)].source = mutant.source
    nb.cells = nb.cells[: ids.index(mutant.exercise) + 1]
    return nb


def _job(
    chapter: Chapter,
    who: str,
    submission: Path,
    template: Path,
    work: Path,
    options: grade.Options,
    restore: bool,
) -> steps.Job:
    return steps.Job(
        student=who,
        chapter=chapter.name,
        submission=submission,
        template=template,
        work=work / "jobs" / who,
        feedback_path=work / "feedback" / who / f"{chapter.name}.html",
        timeout=options.timeout,
        restore_missing=restore,
    )


def _auto_score(result: dict) -> float:
    return sum(c["score"] or 0 for c in result["cells"] if c["auto"])


def selftest_chapter(
    chapter: Chapter,
    options: grade.Options,
    notebooks_dir: Path | None = None,
    isolated: bool = False,
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
    for mutant in mutants:
        if mutant.exercise not in exercises:
            problems.append(
                f"mutant {mutant.name}: {mutant.exercise!r} is not an autograded exercise"
            )
    mutants = [m for m in mutants if m.exercise in exercises]

    with tempfile.TemporaryDirectory(prefix=f"selftest-{chapter.name}-") as tmp:
        work = Path(tmp)
        template = work / "template"
        course.build_course(template, [chapter])
        released = course.release_path(template, chapter.name)
        jobs = [
            _job(chapter, "solution", chapter.solution, template, work, options, True),
            _job(chapter, "release", released, template, work, options, True),
        ]
        if mutants and not isolated:
            together = work / "together" / f"{chapter.name}.ipynb"
            together.parent.mkdir(parents=True)
            nbformat.write(mutants_together(solution, mutants), str(together))
            together_template = work / "together-template"
            course.build_course(
                together_template, [Chapter(chapter.name, together, chapter.mutants_file)]
            )
            jobs.append(_job(chapter, "mutants", together, together_template, work, options, False))
        results = grade.run_jobs(jobs, options)

        outcome: dict[str, dict] = {}  # mutant name -> its copy's result row, or None to re-run
        if mutants and not isolated:
            rows = {c["grade_id"]: c for c in results[2]["cells"]}
            for mutant in mutants:
                cell_id = mutant_cell_id(mutant)
                if (
                    results[2]["status"] == "graded"
                    and cell_id not in results[2]["not_run"]
                    and cell_id in rows
                ):
                    outcome[mutant.name] = rows[cell_id]
        rerun = [m for m in mutants if m.name not in outcome]
        rerun_jobs = []
        for mutant in rerun:
            path = work / "mutants" / f"mutant{mutant.number:02d}.ipynb"
            path.parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(mutate(solution, mutant), str(path))
            rerun_jobs.append(
                _job(chapter, f"mutant{mutant.number:02d}", path, template, work, options, False)
            )
        for mutant, result in zip(rerun, grade.run_jobs(rerun_jobs, options), strict=True):
            cell = next((c for c in result["cells"] if c["grade_id"] == mutant.exercise), None)
            if result["status"] == "graded" and cell is not None:
                outcome[mutant.name] = cell

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
    for mutant in mutants:
        cell = outcome.get(mutant.name)
        killed = cell is not None and (cell["score"] or 0) < cell["max"]
        if not killed:
            why = "its test still passes" if cell is not None else "it could not be graded"
            problems.append(f"mutant {mutant.name} ({mutant.description}) was not killed: {why}")
        mutant_rows.append(
            {"name": mutant.name, "description": mutant.description, "killed": killed}
        )
    return {
        "max_score": max_score,
        "solution_score": _auto_score(sol),
        "release_score": _auto_score(rel),
        "exercises": len(exercises),
        "written": sum(1 for c in cells if not c.auto),
        "mutants": len(mutant_rows),
        "mutants_killed": sum(row["killed"] for row in mutant_rows),
        "mutants_rerun_isolated": len(rerun),
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
