"""The screen: student code that can change how tests run is flagged, the course's own is not."""

from __future__ import annotations

import pytest
from nbformat.v4 import new_code_cell, new_notebook

from autograder import chapters, screen
from autograder.chapters import REPO_ROOT, read_notebook


def _findings(*sources: str) -> list[screen.Finding]:
    nb = new_notebook(cells=[new_code_cell(s) for s in sources])
    return screen.screen(nb, new_notebook())


@pytest.mark.parametrize(
    ("code", "what"),
    [
        ("get_ipython().input_transformers_cleanup.append(f)", "changes how IPython runs cells"),
        ("ip = get_ipython()\nip.input_transformers_post.append(f)", "input_transformers_post"),
        ("get_ipython().ast_transformers.append(T())", "ast_transformers"),
        ("get_ipython().run_cell = fake", "run_cell"),
        ("get_ipython().kernel.shell_handlers['execute_request'] = f", "shell_handlers"),
        ("get_ipython().events.register('post_run_cell', f)", "event hooks"),
        ("import sys\nsys.settrace(tracer)", "sys.settrace"),
        ("from sys import settrace\nsettrace(tracer)", "sys.settrace"),
        ("import threading\nthreading.settrace(t)", "threading.settrace"),
        ("def f(frame):\n    frame.f_lineno = 3", "f_lineno"),
        ("import builtins\nbuiltins.abs = lambda x: 0", "builtins"),
        ("__builtins__.abs = lambda x: 0", "__builtins__"),
        ("import torch\ntorch.allclose = lambda *a, **k: True", "allclose"),
        ("import torch as t\nt.testing.assert_close = print", "assert_close"),
        ("from course_lib import grading\ngrading.check_close = print", "check_close"),
        ("from course_lib import grading as g\nsetattr(g, 'check_tensor', print)", "setattr"),
        ("import sys\nsys.modules['course_lib.grading'] = fake", "sys.modules"),
        ("import sys\nsys.meta_path.insert(0, Finder())", "hooks"),
        ("exec(base64.b64decode(blob))", "built at run time"),
        ("import importlib\nimportlib.import_module(name)", "built at run time"),
        ("import sys\ngetattr(sys, 'set' + 'trace')(f)", "computed"),
        ("f.__code__ = g.__code__", "__code__"),
        ("class A:\n    def __eq__(self, other):\n        return True", "__eq__"),
        (
            "from torch.overrides import TorchFunctionMode\nclass M(TorchFunctionMode):\n    pass",
            "intercepts torch calls",
        ),
        ("import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)", "signal.signal"),
        ("import os\nos.fork()", "os.fork"),
        ("import threading\nthreading.Thread(target=f).start()", "threading.Thread"),
        ("import ctypes", "ctypes"),
        ("x = 'input_transformers_post'", "a string names"),
        ("%load_ext evil", "%load_ext"),
        ("%%writefile evil.py\nimport sys\nsys.settrace(f)", "sys.settrace"),
        (
            "from unittest import mock\nmock.patch('torch.allclose', lambda *a: True).start()",
            "patches",
        ),
    ],
)
def test_each_surface_is_flagged(code, what):
    """Is each way to change how tests run found, with its cell, line and code?"""
    findings = _findings("x = 1", code)
    assert any(what in f.what or what in f.code for f in findings), [str(f) for f in findings]
    assert all(f.cell == 2 for f in findings)
    assert all(str(f).startswith(f"cell [2] line {f.line}: ") for f in findings)


@pytest.mark.parametrize(
    "code",
    [
        "%matplotlib inline",
        "import torch\ntorch.manual_seed(0)\nx = torch.zeros(3)",
        "import torch\ntorch.backends.cudnn.deterministic = True",
        "import os\nos.environ['COURSE_FAST'] = '1'",
        "import matplotlib.pyplot as plt\nplt.rcParams['figure.dpi'] = 100",
        "import torch\nname = 'relu'\ngetattr(torch, name)",
        "class Net(torch.nn.Module):\n    def forward(self, x):\n        return x",
        "import re\npattern = re.compile('a+')",
        "model.weight = torch.nn.Parameter(w)",
    ],
)
def test_ordinary_code_is_not_flagged(code):
    """Does everyday course code (magics, seeds, settings, models) pass the screen?"""
    assert _findings(code) == []


def test_unchanged_instructor_cells_and_test_cells_are_not_screened():
    """Are only the student's own cells screened (test cells are restored by nbgrader anyway)?"""
    lesson = "import sys\nsys.settrace(None)"
    test = new_code_cell(
        "get_ipython().run_cell('x')",
        metadata={"nbgrader": {"grade": True, "solution": False, "grade_id": "t", "points": 1}},
    )
    reference = new_notebook(cells=[new_code_cell(lesson)])
    submission = new_notebook(cells=[new_code_cell(lesson), test])
    assert screen.screen(submission, reference) == []


@pytest.mark.parametrize("chapter", chapters.find_chapters(), ids=lambda c: c.name)
def test_the_course_answers_are_not_flagged(chapter):
    """Would an honest student who writes the reference answers be flagged? (they must not)"""
    released = REPO_ROOT / "notebooks" / f"{chapter.name}.ipynb"
    if not released.exists():  # a chapter being written; the release check covers its absence
        pytest.skip(f"{chapter.name} has no student notebook yet")
    release = read_notebook(released)
    assert screen.screen(read_notebook(chapter.solution), release) == []


def test_chapter_imports_give_one_statement_per_name():
    """Can the guard re-import each name a chapter binds, one statement at a time?"""
    nb = new_notebook(
        cells=[new_code_cell("import torch, numpy as np\nfrom course_lib import grading, devices")]
    )
    assert screen.chapter_imports(nb) == [
        "import torch",
        "import numpy as np",
        "from course_lib import grading",
        "from course_lib import devices",
    ]
