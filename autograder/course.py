"""A throw-away nbgrader course directory: source, release, gradebook, through nbgrader's API."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import jinja2
import nbformat
from nbconvert.exporters import HTMLExporter, TemplateExporter
from nbconvert.filters.highlight import Highlight2HTML
from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter
from nbformat import NotebookNode
from nbgrader.api import Gradebook
from nbgrader.apps import NbGraderAPI
from nbgrader.preprocessors import (
    AssignLatePenalties,
    IgnorePattern,
    LimitOutput,
    SaveAutoGrades,
)
from traitlets import Unicode
from traitlets.config import Config

from autograder.chapters import Chapter
from autograder.preprocessors import SafeExecute, StderrNotCounted
from autograder.sandbox import Sandbox

__all__ = [
    "COURSE_ID",
    "FeedbackExporter",
    "NbgraderError",
    "make_api",
    "build_course",
    "release_path",
    "copy_course",
    "highlight_file",
    "autograde",
    "feedback",
    "scores",
]

COURSE_ID = "torch-course"


def _venv_on_path() -> None:
    """nbgrader runs ``alembic`` as a command: make this interpreter's scripts findable."""
    scripts = str(Path(sys.executable).parent)
    if scripts not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = scripts + os.pathsep + os.environ.get("PATH", "")


class _CompiledTemplates(jinja2.BytecodeCache):
    """Compiled Jinja templates kept in this process, checked against their source's hash.

    nbgrader makes a new exporter, so a new Jinja environment, for every page; without this each
    page compiles its nine templates again. Filled in the grading fork server (autograder.warm),
    so grading processes start with it.
    """

    def __init__(self) -> None:
        self.code: dict[str, bytes] = {}

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        if bucket.key in self.code:
            bucket.bytecode_from_string(self.code[bucket.key])

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        self.code[bucket.key] = bucket.bytecode_to_string()


class FeedbackExporter(HTMLExporter):
    """nbconvert's HTML exporter, for nbgrader's feedback pages, less its BeautifulSoup pass, with
    its compiled templates kept between pages.

    That pass parses the whole rendered page again (about half of a feedback page's cost) to add
    alt text to images that lack it and tab stops to JupyterLab-layout cells. The first is done
    here with a regular expression; the second does not apply to nbgrader's feedback template,
    which has the classic layout. (Written against nbconvert 7.17's HTMLExporter.)
    """

    compiled = _CompiledTemplates()
    highlights = Unicode(
        "", help="JSON file of code cells' highlighted HTML by highlight_key (see highlight_file)"
    ).tag(config=True)

    def _create_environment(self) -> jinja2.Environment:
        environment = super()._create_environment()
        environment.bytecode_cache = self.compiled
        return environment

    def from_notebook_node(
        self, nb: NotebookNode, resources: dict | None = None, **kw: Any
    ) -> tuple[str, dict]:
        highlight = self.filters.get("highlight_code", _highlighter(nb, self))
        if self.highlights and os.path.exists(self.highlights):
            with open(self.highlights, encoding="utf-8") as f:
                highlight = _KnownHighlights(highlight, json.load(f))
        resources = self._init_resources(resources)
        data_types = WidgetsDataTypeFilter(
            notebook_metadata=self._nb_metadata, parent=self, resources=resources
        )
        self.register_filter("highlight_code", highlight)
        self.register_filter("filter_data_type", data_types)
        page, resources = TemplateExporter.from_notebook_node(self, nb, resources, **kw)
        return IMG_WITHOUT_ALT.sub(f'<img alt="{NO_ALT}"', page), resources


def _highlighter(nb: NotebookNode, exporter: HTMLExporter) -> Highlight2HTML:
    """nbconvert's code highlighter for ``nb``'s language, as its HTML exporter makes it."""
    langinfo = nb.metadata.get("language_info", {})
    lexer = langinfo.get("pygments_lexer", langinfo.get("name", None))
    return Highlight2HTML(pygments_lexer=lexer, parent=exporter)


def highlight_key(language: str, source: str) -> str:
    return hashlib.sha256(f"{language}\0{source}".encode()).hexdigest()


class _KnownHighlights:
    """A highlight_code filter that answers from HTML made beforehand (highlight_file) for the
    code it has seen, and asks Pygments for the rest (a student's own code)."""

    def __init__(self, highlight: Highlight2HTML, known: dict[str, str]) -> None:
        self.highlight, self.known = highlight, known

    def __call__(self, source: str, language: str | None = None, metadata: Any = None) -> str:
        if not (metadata and "magics_language" in metadata):
            page = self.known.get(highlight_key(language or self.highlight.pygments_lexer, source))
            if page is not None:
                return page
        return self.highlight(source, language, metadata)


def highlight_file(root: Path, chapter: str) -> Path:
    """Where a course keeps ``chapter``'s highlighted code (outside ``source``, which nbgrader
    would hand out)."""
    return root / "highlights" / f"{chapter}.json"


def _write_highlights(root: Path, chapter: str) -> None:
    """Highlight every code cell of the chapter's source and release once, for all its pages:
    Pygments is about 60% of a feedback page's cost, and most cells reach it unchanged."""
    exporter = FeedbackExporter()
    known: dict[str, str] = {}
    for path in (root / "source" / chapter / f"{chapter}.ipynb", release_path(root, chapter)):
        nb = nbformat.read(str(path), as_version=4)
        highlight = _highlighter(nb, exporter)
        for cell in nb.cells:
            if cell.cell_type == "code":
                key = highlight_key(highlight.pygments_lexer, cell.source)
                known.setdefault(key, highlight(cell.source))
    target = highlight_file(root, chapter)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(known), encoding="utf-8")


IMG_WITHOUT_ALT = re.compile(r"<img\b(?![^>]*\salt=)", re.IGNORECASE)
NO_ALT = "No description has been provided for this image"  # nbconvert's words


class NbgraderError(RuntimeError):
    """An nbgrader command failed; the message carries the end of its log."""


def make_api(
    root: Path,
    *,
    timeout: int = 60,
    restore_missing: bool = True,
    sandbox: Sandbox | None = None,
    scratch: Path | None = None,
    guard_imports: Sequence[str] = (),
    guard_names: Sequence[str] = (),
    highlights: Path | None = None,
) -> NbGraderAPI:
    """Return nbgrader's API on the course directory ``root`` with the autograder's settings.

    ``sandbox`` (autograder.sandbox) confines the kernels, with their files under ``scratch``;
    test cells always run through the guard, which binds ``guard_names`` afresh from the
    chapter's ``guard_imports`` before each test (autograder.guard). ``highlights`` (a
    highlight_file) holds the chapter's code highlighted beforehand, for the feedback pages.
    """
    _venv_on_path()
    c = Config()
    c.CourseDirectory.root = str(root)
    c.CourseDirectory.course_id = COURSE_ID
    c.CourseDirectory.db_url = f"sqlite:///{root / 'gradebook.db'}"
    c.Autograde.autograde_preprocessors = [
        SafeExecute,
        IgnorePattern,
        LimitOutput,
        StderrNotCounted,
        SaveAutoGrades,
        AssignLatePenalties,
    ]  # nbgrader's list less CheckCellMetadata, which its sanitizing step ran before execution
    # (nothing after it can change nbgrader's metadata)
    c.Exporter.optimistic_validation = True  # validate each notebook once, not after each step
    c.Execute.timeout = timeout
    c.Execute.interrupt_on_timeout = True
    c.Execute.startup_timeout = 120
    # Once the last cell has run the kernel holds nothing the grade needs: kill it (and all it
    # started) at once instead of asking it to exit and waiting, which costs 1.5-3 s a notebook.
    c.Execute.shutdown_kernel = "immediate"
    c.SafeExecute.guard = True
    c.SafeExecute.sandbox = sandbox
    c.SafeExecute.scratch = str(scratch) if scratch else ""
    c.SafeExecute.guard_imports = list(guard_imports)
    c.SafeExecute.guard_names = list(guard_names)
    c.GenerateFeedback.exporter_class = FeedbackExporter
    c.FeedbackExporter.highlights = str(highlights or "")
    c.OverwriteCells.add_missing_cells = restore_missing
    c.OverwriteCells.missing_cell_notification = (
        "This test cell was missing from the submission; the autograder restored it.\n"
    )
    api = NbGraderAPI(config=c)
    api.log.setLevel(logging.WARNING)
    return api


def _check(result: dict, what: str) -> None:
    if not result.get("success"):
        detail = (result.get("error") or "") + "\n" + (result.get("log") or "")
        tail = "\n".join(detail.strip().splitlines()[-15:])
        raise NbgraderError(f"nbgrader {what} failed:\n{tail}")


def build_course(root: Path, chapters: list[Chapter]) -> NbGraderAPI:
    """Create a course at ``root`` holding ``chapters`` as assignments; generate their releases."""
    root.mkdir(parents=True, exist_ok=True)
    api = make_api(root)
    for chapter in chapters:
        source = root / "source" / chapter.name
        source.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(chapter.solution, source / f"{chapter.name}.ipynb")
        _check(api.generate_assignment(chapter.name), f"generate_assignment {chapter.name}")
        _write_highlights(root, chapter.name)
    return api


def release_path(root: Path, chapter: str) -> Path:
    """Where nbgrader put the student version of ``chapter`` in the course at ``root``."""
    return root / "release" / chapter / f"{chapter}.ipynb"


def copy_course(template: Path, root: Path, chapter: str) -> None:
    """Make ``root`` a private course with ``template``'s gradebook and ``chapter``'s source."""
    (root / "source").mkdir(parents=True, exist_ok=True)
    shutil.copytree(template / "source" / chapter, root / "source" / chapter, dirs_exist_ok=True)
    shutil.copyfile(template / "gradebook.db", root / "gradebook.db")
    known = highlight_file(template, chapter)
    if known.exists():
        highlight_file(root, chapter).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(known, highlight_file(root, chapter))


def autograde(api: NbGraderAPI, chapter: str, student: str) -> None:
    """Autograde ``submitted/<student>/<chapter>`` (raise NbgraderError on failure)."""
    _check(
        api.autograde(chapter, student, force=True, create=True),
        f"autograde {chapter} for {student}",
    )


def feedback(api: NbGraderAPI, chapter: str, student: str) -> Path:
    """Generate nbgrader's HTML feedback; return its path."""
    _check(
        api.generate_feedback(chapter, student, force=True),
        f"generate_feedback {chapter} for {student}",
    )
    root = Path(api.coursedir.root)
    return root / "feedback" / student / chapter / f"{chapter}.html"


def scores(root: Path, chapter: str, student: str) -> dict[str, float | None]:
    """Return grade_id -> score for ``student``'s ``chapter`` from the gradebook.

    The score is None for a written answer that still needs manual grading.
    """
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}", COURSE_ID) as gb:
        notebook = gb.find_submission_notebook(chapter, chapter, student)
        return {
            grade.name: None
            if grade.score is None or grade.needs_manual_grade
            else float(grade.score)
            for grade in notebook.grades
        }
