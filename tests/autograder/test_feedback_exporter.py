"""The feedback pages' exporter: nbconvert's page, without its slow second parse."""

from __future__ import annotations

import base64

from bs4 import BeautifulSoup
from nbconvert.exporters import HTMLExporter
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from autograder import grade, runner, sandbox, steps, warm
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


def test_feedback_pages_use_the_templates_the_fork_server_compiled(
    fixture_chapter, tmp_path, monkeypatch
):
    """After autograder.warm (run in the grading fork server), does nbgrader's own feedback
    step compile no Jinja template (and without it, does it compile them)?"""
    templates = grade.build_templates([fixture_chapter])
    options = grade.Options(timeout=60, workers=1, sandbox=sandbox.resolve("none"))
    for name, value in options.kernel_env().items():
        monkeypatch.setenv(name, value)
    course_dir = templates[fixture_chapter.name].unpack(tmp_path / "template")
    task = runner.Task("ann", fixture_chapter.name, fixture_chapter.solution.read_bytes())
    job = runner._make_job(task, course_dir, tmp_path, options)
    for step in steps.GRADE_STEPS[: steps.GRADE_STEPS.index(steps.nbgrader_feedback)]:
        step(job)
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
