"""The autograder proves itself per chapter: solution full marks, release zero, mutants killed.

``selftest_chapter`` runs four named steps: :func:`plan` (read the chapter and its mutants),
:func:`grade_runs` (grade the solution, the release and the mutants), :func:`judge_mutants`
(decide, per mutant, how its test cell failed) and :func:`find_leaks` (answers in the release).

A mutant is *killed* only when its own test cell fails on a check: an ``AssertionError`` from an
``assert`` or a ``course_lib.grading`` check. A mutant whose test dies of a ``NameError`` or a
``TypeError`` has gone *stale* against a changed solution (a renamed function, a new parameter);
one whose test dies of another error *crashed* past the checks. Both fail the self-test, so a kill
always means a check caught the mistake.

Mutants run in one of two ways. Isolated: one graded notebook per mutant, the solution with that
mutant's code in place (the strictest, and slow: every run re-executes the lesson). Together (the
default): one graded notebook in which each exercise's test cell is followed, per mutant, by the
mutant's code and a graded copy of the test, and then by the solution's code again, so the lesson
runs once. A mutant whose copy never ran (an earlier mutant killed the kernel) is re-run isolated.
"""

from __future__ import annotations

import ast
import contextlib
import copy
import re
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from autograder import course, grade, release, steps
from autograder.chapters import (
    Chapter,
    GradeCell,
    Mutant,
    cell_grade_id,
    grade_cells,
    is_answer_cell,
    is_test_cell,
    read_notebook,
)
from autograder.runner import GRADED, Result
from autograder.validate import shorten

__all__ = [
    "ChapterReport",
    "MutantOutcome",
    "Plan",
    "Runs",
    "selftest_chapter",
    "selftest_chapters",
    "plan",
    "grade_runs",
    "prepare_runs",
    "collect_runs",
    "judge_mutants",
    "find_leaks",
    "mutate",
    "mutants_together",
    "mutant_cell_id",
    "first_error",
    "lesson_errors",
    "passed",
]

MARKER_RE = re.compile(r"^\s*### (BEGIN|END) SOLUTION\s*$\n?", re.M)
MUTANT_MARK = "mutant"  # key under the autograder cell metadata of a mutant's code cell
CHECK_FAILED = {"AssertionError"}
STALE = {"NameError", "TypeError", "AttributeError", "ImportError", "ModuleNotFoundError"}
STALE_AT_DEFINITION = STALE | {"SyntaxError", "IndentationError"}


@dataclass(frozen=True)
class MutantOutcome:
    """How one mutant fared: ``verdict`` is killed, survived, stale, crashed or not graded."""

    name: str
    exercise: str
    description: str
    verdict: str
    detail: str = ""

    @property
    def killed(self) -> bool:
        return self.verdict == "killed"


@dataclass
class Plan:
    """What the self-test of a chapter works from (step 1)."""

    chapter: Chapter
    solution: NotebookNode
    cells: list[GradeCell]
    mutants: list[Mutant]
    problems: list[str] = field(default_factory=list)
    stale: dict[str, str] = field(default_factory=dict)  # mutant name -> what it fails to define

    @property
    def exercises(self) -> list[str]:
        return [c.grade_id for c in self.cells if c.auto]


@dataclass
class Runs:
    """The graded runs of a chapter (step 2): results and executed notebooks."""

    solution: Result
    release: Result
    released: NotebookNode  # the student version nbgrader generated
    executed: dict[str, NotebookNode]  # who ("solution", "release", "mutants", ...) -> notebook
    together: Result | None = None  # the run with every mutant in one notebook


@dataclass
class ChapterReport:
    """The figures of one chapter's self-test (``figures()`` is the ``--json`` record)."""

    chapter: str
    max_score: float
    solution_score: float
    release_score: float
    exercises: int
    written: int
    mutants: list[MutantOutcome]
    mutants_rerun_isolated: int
    leaks: list[str]
    release_lesson_errors: list[str]
    problems: list[str]
    seconds: float

    @property
    def mutants_killed(self) -> int:
        return sum(m.killed for m in self.mutants)

    def passed(self) -> bool:
        """True when the chapter's self-test holds.

        Full marks, zero, all mutants killed, no leaks, and every lesson cell of the untouched
        release runs (lessons never wait for exercises).
        """
        return (
            self.exercises > 0
            and self.solution_score == self.max_score
            and self.release_score == 0
            and len(self.mutants) > 0
            and self.mutants_killed == len(self.mutants)
            and not self.leaks
            and not self.release_lesson_errors
            and not self.problems
        )

    def figures(self) -> dict:
        return {
            "max_score": self.max_score,
            "solution_score": self.solution_score,
            "release_score": self.release_score,
            "exercises": self.exercises,
            "written": self.written,
            "mutants": len(self.mutants),
            "mutants_killed": self.mutants_killed,
            "mutants_rerun_isolated": self.mutants_rerun_isolated,
            "mutant_details": [asdict(m) for m in self.mutants],
            "leaks": self.leaks,
            "release_lesson_errors": self.release_lesson_errors,
            "problems": self.problems,
            "seconds": self.seconds,
        }


# ---------------------------------------------------------------------------------------------
# notebooks the self-test grades


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
        if not own or not is_test_cell(cell):
            continue
        for mutant in own:
            cells.append(
                nbformat.v4.new_code_cell(
                    mutant.source, metadata={"autograder": {MUTANT_MARK: mutant.name}}
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
    nb.cells[ids.index(target)].metadata.setdefault("autograder", {})[MUTANT_MARK] = mutant.name
    nb.cells = nb.cells[: ids.index(mutant.exercise) + 1]
    return nb


def first_error(cell: NotebookNode) -> tuple[str, str] | None:
    """Return ``(ename, evalue)`` of the first error a code cell raised, or None."""
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            return output.get("ename", "Error"), str(output.get("evalue", "")).strip()
    return None


def lesson_errors(executed: NotebookNode) -> list[str]:
    """Return ``cell [n]: Error: message`` for each lesson cell that raised (not tests or answers).

    ``n`` counts code cells only, as Jupyter numbers them after "Run All".
    """
    found = []
    code = [c for c in executed.cells if c.cell_type == "code"]
    for number, cell in enumerate(code, start=1):
        error = first_error(cell)
        if error and not is_test_cell(cell) and not is_answer_cell(cell):
            found.append(f"cell [{number}]: {error[0]}: {shorten(error[1], 300)}")
    return found


def defined_names(source: str) -> set[str]:
    """Return the names a cell's code defines at top level (functions, classes, assignments)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    names = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names |= {t.id for t in targets if isinstance(t, ast.Name)}
    return names


# ---------------------------------------------------------------------------------------------
# the steps


def plan(chapter: Chapter) -> Plan:
    """Step 1: read the solution and the mutants; note exercises without a mutant and strays."""
    solution = read_notebook(chapter.solution)
    cells = grade_cells(solution)
    problems: list[str] = []
    try:
        mutants = chapter.mutants()
    except ValueError as exc:
        mutants, problems = [], [str(exc)]
    result = Plan(chapter, solution, cells, [], problems)
    exercises = result.exercises
    for exercise in exercises:
        if not any(m.exercise == exercise for m in mutants):
            problems.append(f"{exercise}: no mutant (every autograded exercise needs one)")
    for mutant in mutants:
        if mutant.exercise not in exercises:
            problems.append(
                f"mutant {mutant.name}: {mutant.exercise!r} is not an autograded exercise"
            )
    result.mutants = [m for m in mutants if m.exercise in exercises]
    answers = {cell_grade_id(c): c.source for c in solution.cells if is_answer_cell(c)}
    for m in result.mutants:
        missing = defined_names(answers.get(f"{m.exercise}_solution", "")) - defined_names(m.source)
        if missing:
            result.stale[m.name] = (
                f"it does not define {', '.join(sorted(missing))}, which the solution cell defines"
            )
    return result


def _job(chapter: str, who: str, submission: Path, template: Path, work: Path, options, restore):
    """A grading job of the self-test (``options`` None: its timeout is set when it is run)."""
    return steps.Job(
        student=who,
        chapter=chapter,
        submission=submission,
        template=template,
        work=work / "jobs" / who,
        feedback_path=work / "feedback" / who / f"{chapter}.html",
        timeout=options.timeout if options is not None else 60,
        restore_missing=restore,
        keep_executed=work / "executed" / f"{who}.ipynb",
    )


def _executed(job: steps.Job) -> NotebookNode | None:
    return read_notebook(job.keep_executed) if job.keep_executed.exists() else None


def prepare_runs(p: Plan, work: Path, isolated: bool) -> list[steps.Job]:
    """Step 2a: the jobs that grade the solution, the release and (unless ``isolated``) all
    mutants together; writes their course templates under ``work``."""
    name = p.chapter.name
    template = work / "template"
    course.build_course(template, [p.chapter])
    released = course.release_path(template, name)
    jobs = [
        _job(name, "solution", p.chapter.solution, template, work, None, True),
        _job(name, "release", released, template, work, None, True),
    ]
    if p.mutants and not isolated:
        together = work / "together" / f"{name}.ipynb"
        together.parent.mkdir(parents=True)
        nbformat.write(mutants_together(p.solution, p.mutants), str(together))
        together_template = work / "together-template"
        course.build_course(together_template, [Chapter(name, together, p.chapter.mutants_file)])
        jobs.append(_job(name, "mutants", together, together_template, work, None, False))
    return jobs


def collect_runs(p: Plan, work: Path, jobs: list[steps.Job], results: list[Result]) -> Runs:
    """Step 2b: the graded runs of :func:`prepare_runs`'s jobs, with their executed notebooks."""
    executed = {job.student: nb for job in jobs if (nb := _executed(job)) is not None}
    return Runs(
        solution=results[0],
        release=results[1],
        released=read_notebook(course.release_path(work / "template", p.chapter.name)),
        executed=executed,
        together=results[2] if len(results) > 2 else None,
    )


def grade_runs(p: Plan, work: Path, options: grade.Options, isolated: bool) -> Runs:
    """Step 2: grade the solution, the release and (unless ``isolated``) all mutants together."""
    jobs = prepare_runs(p, work, isolated)
    for job in jobs:
        job.timeout = options.timeout
    return collect_runs(p, work, jobs, [ran.result for ran in grade.run_jobs(jobs, options)])


def _verdict(mutant: Mutant, score: float | None, points: float, test_cell, code_cell) -> tuple:
    """Classify one mutant from its test cell's score and the errors of its test and code cells."""
    defined = first_error(code_cell) if code_cell is not None else None
    if defined and defined[0] in STALE_AT_DEFINITION:
        return "stale", f"its code raised {defined[0]}: {defined[1][:120]}"
    error = first_error(test_cell) if test_cell is not None else None
    if (score or 0) >= points:
        return "survived", "its test still passes"
    if error is None:
        return "survived", "its test lost points without raising (an output? a partial grade?)"
    if error[0] in CHECK_FAILED:
        return "killed", error[1][:200]
    if error[0] in STALE:
        return "stale", f"its test died of {error[0]}: {error[1][:120]} (update the mutant)"
    return "crashed", f"its test died of {error[0]}: {error[1][:120]}, not of a failed check"


def _cells_by(nb: NotebookNode) -> tuple[dict, dict]:
    """Index an executed notebook: grade_id -> cell, and mutant name -> its code cell."""
    tests = {cell_grade_id(c): c for c in nb.cells if cell_grade_id(c)}
    codes = {
        c.metadata["autograder"][MUTANT_MARK]: c
        for c in nb.cells
        if MUTANT_MARK in c.get("metadata", {}).get("autograder", {})
    }
    return tests, codes


def judge_mutants(
    p: Plan, runs: Runs, work: Path, options: grade.Options
) -> tuple[list[MutantOutcome], int]:
    """Step 3: one outcome per mutant; mutants the together run did not reach are re-run isolated.

    Returns the outcomes (in the mutant file's order) and how many were re-run.
    """
    points = {c.grade_id: c.points for c in p.cells}
    judged: dict[str, tuple[str, str]] = {}
    together = runs.executed.get("mutants")
    if runs.together is not None and together is not None:
        scores = {c.grade_id: c.score for c in runs.together.cells}
        tests, codes = _cells_by(together)
        for m in p.mutants:
            cell_id = mutant_cell_id(m)
            ran = runs.together.status == GRADED and cell_id not in runs.together.not_run
            if ran and cell_id in scores:
                judged[m.name] = _verdict(
                    m, scores[cell_id], points[m.exercise], tests.get(cell_id), codes.get(m.name)
                )
    rerun = [m for m in p.mutants if m.name not in judged]
    name = p.chapter.name
    template = work / "template"
    jobs = []
    for m in rerun:
        path = work / "mutants" / f"mutant{m.number:02d}.ipynb"
        path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(mutate(p.solution, m), str(path))
        jobs.append(_job(name, f"mutant{m.number:02d}", path, template, work, options, False))
    for m, job, (result, _) in zip(rerun, jobs, grade.run_jobs(jobs, options), strict=True):
        executed = _executed(job)
        row = next((c for c in result.cells if c.grade_id == m.exercise), None)
        if result.status != GRADED or row is None or executed is None:
            judged[m.name] = ("not graded", "; ".join(result.notes[:2]))
            continue
        tests, codes = _cells_by(executed)
        judged[m.name] = _verdict(
            m, row.score, points[m.exercise], tests.get(m.exercise), codes.get(m.name)
        )
    judged.update((name, ("stale", why)) for name, why in p.stale.items())
    outcomes = [
        MutantOutcome(m.name, m.exercise, m.description, *judged[m.name]) for m in p.mutants
    ]
    return outcomes, len(rerun)


def find_leaks(p: Plan, runs: Runs, notebooks_dir: Path | None) -> list[str]:
    """Step 4: secret lines of the solution in the fresh release or the committed notebook."""
    leaks = release.find_leaks(p.solution, runs.released)
    committed = (
        notebooks_dir or p.chapter.solution.parent.parent / "notebooks"
    ) / f"{p.chapter.name}.ipynb"
    if committed.exists():
        leaks += [
            f"notebooks/{committed.name}: {line}"
            for line in release.find_leaks(p.solution, read_notebook(committed))
        ]
    return leaks


def _auto_score(result: Result) -> float:
    return result.auto_score


def selftest_chapter(
    chapter: Chapter,
    options: grade.Options,
    notebooks_dir: Path | None = None,
    isolated: bool = False,
    executed_dir: Path | None = None,
) -> ChapterReport:
    """Grade the solution, the release and every mutant of ``chapter``; return the figures.

    ``executed_dir``: where to keep the executed solution notebook (``<chapter>.ipynb``), for
    readers of its outputs (the course website, the lesson-facts tests).
    """
    return selftest_chapters([chapter], options, notebooks_dir, isolated, executed_dir)[0]


def selftest_chapters(
    chapters: list[Chapter],
    options: grade.Options,
    notebooks_dir: Path | None = None,
    isolated: bool = False,
    executed_dir: Path | None = None,
) -> list[ChapterReport]:
    """Self-test several chapters with one pool of ``options.workers`` kernels for all their runs.

    Each chapter has three runs (solution, release, mutants together). Pooled, no core waits for
    the last run of one chapter before the next chapter starts (a third less time on two cores).
    A report's ``seconds`` adds up its own runs' wall times (what the chapter costs one kernel),
    since pooled runs of different chapters overlap.
    """
    plans = [plan(chapter) for chapter in chapters]
    reports = []
    with contextlib.ExitStack() as stack:
        works = [
            Path(stack.enter_context(tempfile.TemporaryDirectory(prefix=f"selftest-{c.name}-")))
            for c in chapters
        ]
        chapter_jobs = [
            prepare_runs(p, work, isolated) for p, work in zip(plans, works, strict=True)
        ]
        everything = [job for jobs in chapter_jobs for job in jobs]
        for job in everything:
            job.timeout = options.timeout
        # each chapter's mutants run together, the longest runs: they start first
        timed = iter(grade.run_jobs(everything, options, first=lambda j: j.student == "mutants"))
        for p, work, jobs in zip(plans, works, chapter_jobs, strict=True):
            mine = [next(timed) for _ in jobs]
            runs = collect_runs(p, work, jobs, [ran.result for ran in mine])
            started = time.perf_counter()  # re-runs of mutants (rare) happen while judging
            outcomes, rerun = judge_mutants(p, runs, work, options)
            leaks = find_leaks(p, runs, notebooks_dir)
            if executed_dir is not None and (work / "executed" / "solution.ipynb").exists():
                executed_dir.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(
                    work / "executed" / "solution.ipynb", executed_dir / f"{p.chapter.name}.ipynb"
                )
            seconds = sum(ran.seconds for ran in mine)
            seconds += time.perf_counter() - started if rerun else 0.0
            reports.append(_report(p, runs, outcomes, rerun, leaks, seconds))
    return reports


def _report(
    p: Plan, runs: Runs, outcomes: list[MutantOutcome], rerun: int, leaks: list[str], seconds: float
) -> ChapterReport:
    """Step 5: the chapter's figures, with every problem that fails its self-test."""
    problems = list(p.problems)
    for who, result in (("solution", runs.solution), ("release", runs.release)):
        if result.status != GRADED:
            problems.append(f"{who} was not graded: {'; '.join(result.notes[:2])}")
    problems += [f"solution: {err}" for err in runs.solution.errors]
    problems += [
        f"mutant {m.name} ({m.description}) was not killed: {m.verdict}: {m.detail}"
        for m in outcomes
        if not m.killed
    ]
    release_run = runs.executed.get("release")
    lesson = lesson_errors(release_run) if release_run is not None else []
    problems += [
        f"the untouched release fails in a lesson cell, {err} (lessons never wait for exercises)"
        for err in lesson
    ]
    return ChapterReport(
        chapter=p.chapter.name,
        max_score=sum(c.points for c in p.cells if c.auto),
        solution_score=_auto_score(runs.solution),
        release_score=_auto_score(runs.release),
        exercises=len(p.exercises),
        written=sum(1 for c in p.cells if not c.auto),
        mutants=outcomes,
        mutants_rerun_isolated=rerun,
        leaks=leaks,
        release_lesson_errors=lesson,
        problems=problems,
        seconds=round(seconds, 1),
    )


def passed(report: ChapterReport) -> bool:
    """True when the chapter's self-test holds (see :meth:`ChapterReport.passed`)."""
    return report.passed()
