"""A student's JupyterLab session, end to end in headless Chromium.

The lab is the one `make lab` starts (``jupyter lab --ServerApp.root_dir=...``), serving a
temporary copy of ``notebooks/`` (JupyterLab autosaves) with ``COURSE_FAST=1 COURSE_OFFLINE=1``.
The test opens 01_tensors, runs every cell as a student would (Run All, then on past each exercise
test that fails on its stub), types a right and a wrong answer into one exercise, and presses
nbgrader's Validate button. Screenshots: the tmp folder's ``screenshots/``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from browser_support import free_port, stop, wait_for_http

from autograder.chapters import read_mutants

REPO = Path(__file__).resolve().parents[2]
NOTEBOOK = "01_tensors.ipynb"
EXERCISE = "ch01_pairwise_sq_dists"  # short answer, and a mutant that fails its check
WRONG = "forgets to square"

pytestmark = [pytest.mark.browser, pytest.mark.server, pytest.mark.slow, pytest.mark.timeout(900)]

# Lab settings for a quiet, fully rendered page: no news or update checks (no internet), and every
# cell kept in the page (the default windowing leaves far-away cells out of the DOM).
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
    "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
}

# The notebook as JupyterLab holds it: one record per cell (nbgrader grade_id, outputs, prompt).
CELLS_JS = """() => {
  const panel = window.jupyterapp.shell.currentWidget;
  return panel.content.widgets.map((cell, i) => {
    const m = cell.model, nbg = m.getMetadata('nbgrader') || {};
    const code = m.type === 'code';
    const outputs = code ? m.outputs.toJSON() : [];
    return {
      index: i, type: m.type, grade_id: nbg.grade_id || null, solution: !!nbg.solution,
      count: code ? m.executionCount : null, source: m.sharedModel.getSource(),
      errors: outputs.filter(o => o.output_type === 'error').map(o => o.ename + ': ' + o.evalue),
      images: outputs.filter(o => o.data && o.data['image/png']).length,
      prompt: code ? cell.node.querySelector('.jp-InputPrompt').textContent : '',
    };
  });
}"""
KERNEL_JS = """() => {
  const k = window.jupyterapp.shell.currentWidget.sessionContext.session?.kernel;
  return k ? k.status : 'none';
}"""


@pytest.fixture
def lab(tmp_path):
    """JupyterLab as `make lab` starts it, on a copy of notebooks/, fast and offline; its URL."""
    makefile = (REPO / "Makefile").read_text()
    assert "jupyter lab --ServerApp.root_dir=notebooks" in makefile
    home, root = tmp_path / "home", tmp_path / "notebooks"
    shutil.copytree(REPO / "notebooks", root)
    for name, values in LAB_SETTINGS.items():
        path = home / ".jupyter" / "lab" / "user-settings" / f"{name}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    port = free_port()
    cmd = [
        sys.executable,
        "-m",
        "jupyterlab",
        f"--ServerApp.root_dir={root}",
        "--no-browser",
        f"--port={port}",
        "--ServerApp.ip=127.0.0.1",
        "--ServerApp.token=",
        "--ServerApp.password=",
        "--LabApp.expose_app_in_browser=True",  # lets the test read the notebook's model
        "--allow-root",
    ]
    env = {
        "HOME": str(home),
        "PATH": str(Path(sys.executable).parent) + ":/usr/bin:/bin",
        "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
        "COURSE_FAST": "1",
        "COURSE_OFFLINE": "1",
        "LANG": os.environ.get("LANG", "C.UTF-8"),
    }
    log = (tmp_path / "lab.log").open("w")
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=log, stderr=subprocess.STDOUT, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(f"{base}/api/status", proc, timeout=90)
        yield base
    finally:
        stop(proc)
        log.close()


def _cells(page) -> list[dict]:
    return page.evaluate(CELLS_JS)


def _wait_idle(page, timeout: float = 180) -> list[dict]:
    """Wait until the kernel is idle and no cell is running or queued; return the cells."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        page.wait_for_timeout(500)
        if page.evaluate(KERNEL_JS) != "idle":
            continue
        cells = _cells(page)
        if not any("*" in c["prompt"] for c in cells):
            return cells
    pytest.fail(f"the notebook still runs after {timeout:.0f} s")


def _run_all_as_a_student(page) -> list[int]:
    """Run > Run All Cells; after each cell that fails, run the rest. Return the failed cells."""
    page.get_by_role("menuitem", name="Run", exact=True).click()
    page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
    failed: list[int] = []
    for _ in range(40):
        cells = _wait_idle(page)
        new = [c["index"] for c in cells if c["errors"] and c["index"] not in failed]
        if not new:
            return failed
        failed.append(new[0])
        if new[0] + 1 >= len(cells):
            return failed
        page.evaluate(
            """(i) => {
              const panel = window.jupyterapp.shell.currentWidget;
              panel.content.activeCellIndex = i;
              return window.jupyterapp.commands.execute('notebook:run-all-below');
            }""",
            new[0] + 1,
        )
    pytest.fail("more failing cells than exercises")


def _cell(page, index: int):
    return page.locator(".jp-Notebook .jp-Cell").nth(index)


def _type_answer(page, index: int, code: str) -> None:
    """Click into the cell's editor, select everything and type ``code`` over it."""
    editor = _cell(page, index).locator(".cm-content")
    editor.scroll_into_view_if_needed()
    editor.click()
    page.keyboard.press("Control+a")
    page.keyboard.insert_text(code)
    assert _cells(page)[index]["source"].strip() == code.strip()


def _run_answer_and_test(page, index: int) -> dict:
    """Shift+Enter twice: run the answer cell, then the test cell below it; return the test cell."""
    before = _cells(page)[index + 1]["count"] or 0
    page.keyboard.press("Shift+Enter")
    _wait_idle(page)
    page.keyboard.press("Shift+Enter")
    cells = _wait_idle(page)
    test = cells[index + 1]
    assert (test["count"] or 0) > before, "the test cell did not run"
    _cell(page, index + 1).scroll_into_view_if_needed()
    return test


def test_a_student_runs_answers_and_validates_01_tensors(lab, page, shots):
    """In Chromium: do the lessons run and draw, does a right answer pass and a wrong one fail, does Validate report?"""
    solution = nbformat.read(str(REPO / "solutions" / NOTEBOOK), as_version=4)
    right = next(
        c.source
        for c in solution.cells
        if c.metadata.get("nbgrader", {}).get("grade_id") == f"{EXERCISE}_solution"
    )
    right = "\n".join(line for line in right.splitlines() if "### " not in line)
    mutants = read_mutants(REPO / "solutions" / "mutants" / NOTEBOOK.replace(".ipynb", ".py"))
    wrong = next(m.source for m in mutants if m.exercise == EXERCISE and m.description == WRONG)

    page.goto(f"{lab}/lab/tree/{NOTEBOOK}")
    page.locator(".jp-NotebookPanel .jp-Cell").first.wait_for()
    page.wait_for_function("() => window.jupyterapp && window.jupyterapp.shell.currentWidget")
    deadline = time.monotonic() + 60
    while page.evaluate(KERNEL_JS) != "idle" and time.monotonic() < deadline:
        page.wait_for_timeout(300)
    assert page.evaluate(KERNEL_JS) == "idle", "the kernel did not start"
    assert "Python 3" in page.locator(".jp-NotebookPanel-toolbar .jp-KernelName").inner_text()
    validate = page.locator(".jp-NotebookPanel-toolbar .validate-button")
    assert validate.is_visible(), "nbgrader's Validate button is missing from the toolbar"

    # 1. Run every cell: lessons and figures render; only exercise tests on stubs fail
    failed = _run_all_as_a_student(page)
    cells = _cells(page)
    code = [c for c in cells if c["type"] == "code"]
    assert all(c["count"] for c in code), [c["index"] for c in code if not c["count"]]
    tests = {c["index"] for c in code if c["grade_id"] and not c["solution"]}
    assert failed and set(failed) <= tests, [cells[i]["source"][:80] for i in failed]
    assert sum(c["images"] for c in cells) >= 2
    figures = page.locator(".jp-OutputArea-output img")
    assert figures.count() >= 2
    figures.first.scroll_into_view_if_needed()
    for img in figures.all():
        assert img.evaluate("i => i.complete && i.naturalWidth > 0"), "a figure did not render"
    lesson_outputs = [c for c in code if not c["grade_id"] and c["index"] and c["count"]]
    assert len(lesson_outputs) > 20
    shots(page, "01-notebook-run-all-figure")

    # 2. A right answer passes its test; a wrong one (a known mutant) fails with a message
    answer = next(c["index"] for c in cells if c["grade_id"] == f"{EXERCISE}_solution")
    _type_answer(page, answer, right)
    test = _run_answer_and_test(page, answer)
    assert test["errors"] == [], test["errors"]
    assert _cell(page, answer + 1).locator(".jp-OutputArea-output").count() == 0
    shots(page, "02-right-answer-test-passes")

    _type_answer(page, answer, wrong)
    test = _run_answer_and_test(page, answer)
    assert test["errors"] and test["errors"][0].startswith("AssertionError"), test["errors"]
    message = _cell(page, answer + 1).locator(".jp-OutputArea-output").inner_text()
    assert "pairwise_sq_dists" in message and "AssertionError" in message
    shots(page, "03-wrong-answer-test-fails")

    # 3. Validate (nbgrader's toolbar button) with the right answer back in place
    _type_answer(page, answer, right)
    validate.click()
    dialog = page.locator(".jp-Dialog")
    dialog.get_by_text("Validation Results").wait_for(timeout=240_000)
    body = dialog.locator("#validation-message")
    text = body.inner_text()
    # nbgrader lists every exercise test that fails on its stub (all but the one answered right)
    # and every written answer still "YOUR ANSWER HERE": 11 + 2 for 01_tensors
    written = [c for c in cells if c["type"] == "markdown" and c["solution"]]
    expected = len(tests) - 1 + len(written)
    assert text.count("The following cell failed:") == expected, text[:500]
    assert "as_float32" in text and "pairwise_sq_dists" not in text
    shots(page, "04-validate-dialog")
