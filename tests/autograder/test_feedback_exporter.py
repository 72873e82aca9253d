"""The feedback pages' exporter: nbconvert's page, without its slow second parse."""

from __future__ import annotations

import base64

import nbformat
from bs4 import BeautifulSoup
from nbconvert.exporters import HTMLExporter
from nbconvert.filters import highlight
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from autograder import course, grade, runner, sandbox, steps, warm
from autograder.course import NO_ALT, FeedbackExporter

PNG = base64.b64encode(bytes.fromhex("89504e470d0a1a0a")).decode()  # only has to look like one


def _notebook():
    return new_notebook(
        cells=[
            new_markdown_cell('# Scores\n\nAn image: <img src="x.png" alt="a cat"> and $x^2$.'),
            new_code_cell(
                "print('hi')",
                outputs=[
                    new_output("stream", name="stdout", text="hi <b>&amp;</b>\n"),
                    new_output("display_data", data={"image/png": PNG, "text/plain": "<Figure>"}),
                ],
            ),
        ],
        metadata={"language_info": {"name": "python"}},
    )


def test_the_page_says_what_nbconvert_s_says_and_every_image_has_alt_text():
    """Same text as nbconvert's own page; images without alt text get nbconvert's sentence,
    and an image's own alt text stays."""
    ours, _ = FeedbackExporter(template_name="classic").from_notebook_node(_notebook())
    theirs, _ = HTMLExporter(template_name="classic").from_notebook_node(_notebook())
    soup, reference = BeautifulSoup(ours, "html.parser"), BeautifulSoup(theirs, "html.parser")
    assert soup.get_text() == reference.get_text()
    alts = [img.get("alt") for img in soup.find_all("img")]
    assert alts == [img.get("alt") for img in reference.find_all("img")]
    assert sorted(alts) == sorted(["a cat", NO_ALT])


def _graded(chapter, tmp_path, monkeypatch, submission: bytes) -> steps.Job:
    """A job for ``submission`` taken up to its feedback page (autograded, no sandbox)."""
    templates = grade.build_templates([chapter])
    options = grade.Options(timeout=60, workers=1, sandbox=sandbox.resolve("none"))
    for name, value in options.kernel_env().items():
        monkeypatch.setenv(name, value)
    course_dir = templates[chapter.name].unpack(tmp_path / "template")
    job = runner._make_job(
        runner.Task("ann", chapter.name, submission), course_dir, tmp_path, options
    )
    for step in steps.GRADE_STEPS[: steps.GRADE_STEPS.index(steps.nbgrader_feedback)]:
        step(job)
    return job


def test_feedback_pages_use_the_templates_the_fork_server_compiled(
    fixture_chapter, tmp_path, monkeypatch
):
    """After autograder.warm (run in the grading fork server), does nbgrader's own feedback
    step compile no Jinja template (and without it, does it compile them)?"""
    job = _graded(fixture_chapter, tmp_path, monkeypatch, fixture_chapter.solution.read_bytes())
    cache = FeedbackExporter.compiled
    compiled: list[str] = []
    dump = cache.dump_bytecode
    monkeypatch.setattr(cache, "dump_bytecode", lambda b: (compiled.append(b.key), dump(b)))
    monkeypatch.setattr(cache, "code", {})
    steps.nbgrader_feedback(job)
    assert len(compiled) >= 5 and job.nbgrader_feedback.exists()  # a cold process compiles
    monkeypatch.setattr(cache, "code", {})
    warm.warm()
    compiled.clear()
    job.nbgrader_feedback.unlink()
    steps.nbgrader_feedback(job)
    assert compiled == [] and job.nbgrader_feedback.exists()


def test_code_highlighted_with_the_template_makes_the_same_page(
    fixture_chapter, tmp_path, monkeypatch
):
    """Is a feedback page made with the template's highlighted code the page Pygments makes,
    with only the student's own code left to Pygments?"""
    nb = nbformat.read(str(fixture_chapter.solution), as_version=4)
    own = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution"))
    own.source += "\n# my own comment"
    job = _graded(fixture_chapter, tmp_path, monkeypatch, nbformat.writes(nb).encode())
    known = course.highlight_file(job.work / "course", job.chapter)
    assert known.exists()
    highlighted: list[str] = []
    pygments = highlight.Highlight2HTML.__call__
    monkeypatch.setattr(
        highlight.Highlight2HTML,
        "__call__",
        lambda self, source, *a, **k: (highlighted.append(source), pygments(self, source, *a, **k))[
            1
        ],
    )
    steps.nbgrader_feedback(job)
    with_known, calls = job.nbgrader_feedback.read_text(), list(highlighted)
    known.unlink()
    highlighted.clear()
    steps.nbgrader_feedback(job)
    assert with_known == job.nbgrader_feedback.read_text()
    code_cells = sum(1 for c in nb.cells if c.cell_type == "code")
    assert calls == [own.source] and len(highlighted) >= code_cells
