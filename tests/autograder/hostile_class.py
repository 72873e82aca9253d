"""A class of hostile students for the fixture chapter: each tries one way to cheat or escape.

``ROSTER`` reads as the specification: who, what they try, which notebook they start from, the
scores they must end with in the sandbox, and whether the submission must be flagged for review.
Attacks that reach outside the kernel get absolute paths, a port or a marker from ``Targets``
(built by the test); the notebooks are written by :func:`write_hostile_class`.
"""

from __future__ import annotations

import base64
import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
from nbformat.v4 import new_code_cell

from autograder.chapters import cell_grade_id

FULL = {"ch98_add": 1.0, "ch98_hypot": 2.0}
ZERO = {"ch98_add": 0.0, "ch98_hypot": 0.0}
ADD_LOST = {"ch98_add": 0.0, "ch98_hypot": 2.0}


def as_dict(result: Any) -> dict:
    """A grading result as a dict, whether grade returns dicts or typed results (issue 15)."""
    return dataclasses.asdict(result) if dataclasses.is_dataclass(result) else result


@dataclass(frozen=True)
class Targets:
    """What the escaping attacks aim at, known when their notebooks are written."""

    class_dir: Path
    out_dir: Path
    outside: Path  # a file on the host, outside every folder the grader uses
    port: int  # an HTTP server on 127.0.0.1 that answers add(a, b)
    marker: str  # unique text in the command line of processes started by attacks


@dataclass(frozen=True)
class Hostile:
    """One student: what they try, the notebook they start from, what they must end with."""

    student: str
    tries: str
    base: str  # "release" (untouched) or "solved" (the solution notebook)
    expected: dict[str, float]
    flagged: bool | None  # None: a flag is allowed but not required
    note: str | None = None  # text that must appear in the student's notes


ADD = "ch98_add_solution"
PASS_EVERYTHING = 'get_ipython().input_transformers_cleanup.append(lambda lines: ["pass\\n"])'

FAKE_RUN_CELL = """\
from IPython.core.interactiveshell import ExecutionInfo, ExecutionResult

ip = get_ipython()


def fake_run_cell(raw_cell, store_history=False, silent=False, shell_futures=True, cell_id=None, **kw):
    return ExecutionResult(ExecutionInfo(raw_cell, store_history, silent, shell_futures, cell_id))


ip.run_cell = fake_run_cell
ip.should_run_async = lambda *args, **kwargs: False
"""

TRACER = """\
import ast
import linecache
import sys


def _answer_asserts(line, namespace):
    try:
        node = ast.parse(line.strip()).body[0]
    except (SyntaxError, IndexError):
        return
    if not isinstance(node, ast.Assert) or not isinstance(node.test, ast.Compare):
        return
    left, right = node.test.left, node.test.comparators[0]
    if isinstance(left, ast.Call) and getattr(left.func, "id", "") == "abs":
        left, right = left.args[0].left, left.args[0].right
    if isinstance(left, ast.Call) and isinstance(left.func, ast.Name):
        value = eval(compile(ast.Expression(right), "<answer>", "eval"), namespace)
        namespace[left.func.id] = lambda *args, **kwargs: value


def tracer(frame, event, arg):
    if event == "line":
        _answer_asserts(linecache.getline(frame.f_code.co_filename, frame.f_lineno), frame.f_globals)
    return tracer


sys.settrace(tracer)
"""


def _attacks(t: Targets) -> dict[str, tuple[str, dict[str, str]]]:
    """student -> (a cell inserted before the answers, or "", answer cells replaced: id -> code)."""
    ada_notebook = t.class_dir / "ada" / "98_fixture.ipynb"
    encoded = base64.b64encode(PASS_EVERYTHING.encode()).decode()
    return {
        "tina": (PASS_EVERYTHING, {}),
        "tom": ('get_ipython().input_transformers_post.append(lambda lines: ["1\\n"])', {}),
        "ted": (
            "import ast\n\n\nclass StripAsserts(ast.NodeTransformer):\n"
            "    def visit_Assert(self, node):\n        return ast.Pass()\n\n\n"
            "get_ipython().ast_transformers.append(StripAsserts())",
            {},
        ),
        "rita": (FAKE_RUN_CELL, {}),
        "zed": (
            'get_ipython().kernel.shell_handlers["autograder_restore_request"] = lambda *a: None\n'
            + FAKE_RUN_CELL,
            {},
        ),
        "ivo": (
            "ip = get_ipython()\n\n\ndef again(info=None):\n"
            "    def nothing(lines):\n        return ['pass\\n']\n\n"
            "    ip.input_transformers_cleanup.append(nothing)\n\n\n"
            'ip.events.register("pre_run_cell", again)',
            {},
        ),
        "sid": (TRACER, {}),
        "pat": (
            "import builtins\n\nbuiltins.abs = lambda x: 0",
            {"ch98_hypot_solution": "def hypot(a, b):\n    return a + b"},
        ),
        "dex": (f'import base64\n\nexec(base64.b64decode("{encoded}").decode())', {}),
        "eli": (
            "",
            {
                ADD: "class AlwaysEqual:\n    def __eq__(self, other):\n        return True\n\n\n"
                "def add(a, b):\n    return AlwaysEqual()"
            },
        ),
        "nell": (
            "",
            {
                ADD: "import urllib.request\n\n\ndef add(a, b):\n"
                f'    url = f"http://127.0.0.1:{t.port}/add?a={{a}}&b={{b}}"\n'
                "    with urllib.request.urlopen(url, timeout=3) as reply:\n"
                "        return int(reply.read())"
            },
        ),
        "rob": (
            "",
            {
                ADD: "import json\n\n\ndef add(a, b):\n"
                f"    cells = json.load(open({str(ada_notebook)!r}))['cells']\n"
                "    source = next(''.join(c['source']) for c in cells if 'def add' in ''.join(c['source']))\n"
                "    namespace = {}\n    exec(source, namespace)\n    return namespace['add'](a, b)"
            },
        ),
        "hid": (
            "",
            {
                ADD: "import glob\nimport os\nimport re\n\n\ndef _hidden_tests():\n"
                "    places, folder = [], os.getcwd()\n    for _ in range(8):\n"
                "        places += glob.glob(os.path.join(folder, '*.ipynb'))\n"
                "        places += glob.glob(os.path.join(folder, 'source', '*', '*.ipynb'))\n"
                "        folder = os.path.dirname(folder)\n"
                "    places += glob.glob('/tmp/autograder-*/template/source/*/*.ipynb')\n"
                "    for path in places:\n        try:\n            text = open(path).read()\n"
                "        except OSError:\n            continue\n"
                "        if 'BEGIN HIDDEN TESTS' in text:\n            return text\n    return ''\n\n\n"
                "TABLE = {(1, 2): 3}\n"
                "for m in re.finditer(r'add\\((-?\\d+), (-?\\d+)\\) == (-?\\d+)', _hidden_tests()):\n"
                "    TABLE[int(m[1]), int(m[2])] = int(m[3])\n\n\n"
                "def add(a, b):\n    return TABLE[a, b]"
            },
        ),
        "wes": (
            "import glob\n\n"
            f"targets = [{str(t.class_dir / 'ada' / 'pwned.txt')!r}, {str(t.out_dir / 'pwned.txt')!r}, "
            f"{str(t.outside)!r}, {str(t.class_dir / 'bob' / '98_fixture.ipynb')!r}]\n"
            "targets += [f + '/pwned.txt' for f in glob.glob('/tmp/autograder-*/template')]\n"
            "for path in targets:\n    try:\n        with open(path, 'w') as f:\n"
            "            f.write('pwned')\n    except OSError as exc:\n"
            "        print('blocked:', path, type(exc).__name__)",
            {},
        ),
        "bea": (
            "import subprocess\nimport sys\n\nsubprocess.Popen(\n"
            f"    [sys.executable, '-c', 'import time; time.sleep(300)', {t.marker + '-bea'!r}],\n"
            "    start_new_session=True,\n    stdout=subprocess.DEVNULL,\n    stderr=subprocess.DEVNULL,\n)",
            {},
        ),
        "meg": (
            "def bomb():\n    chunks = []\n    while True:\n        chunks.append(b'x' * 2**27)\n\n\nbomb()",
            {},
        ),
        "fio": (
            "import os\n\nforks, child = 0, False\nfor _ in range(11):  # at most 2**11 processes\n"
            "    try:\n        pid = os.fork()\n    except OSError:\n        break\n"
            "    if pid == 0:\n        child = True\n    else:\n        forks += 1\n"
            f"if child:\n    os.execv('/bin/sleep', ['sleep', {t.marker.split('-')[-1][:6]!r} + '.5'])\n"
            "print('forks before refusal:', forks)",
            {},
        ),
        "gil": (
            "import glob\nimport os\nimport sqlite3\n\nfound, folder = [], os.getcwd()\n"
            "for _ in range(8):\n    found += glob.glob(os.path.join(folder, 'gradebook.db'))\n"
            "    folder = os.path.dirname(folder)\n"
            "found += glob.glob('/tmp/autograder-*/template/gradebook.db')\n"
            "for db in found:\n    try:\n        con = sqlite3.connect(db)\n"
            "        con.execute('UPDATE grade SET manual_score = 1000')\n        con.commit()\n"
            "        con.close()\n        if 'template' in db:\n"
            "            with open(db, 'wb') as f:\n                f.write(b'garbage')\n"
            "    except Exception as exc:\n        print('blocked:', db, exc)",
            {},
        ),
    }


ROSTER = [
    Hostile(
        "tina",
        "IPython input_transformers_cleanup: every later cell becomes `pass`",
        "release",
        ZERO,
        True,
    ),
    Hostile(
        "tom",
        "IPython input_transformers_post: every cell becomes `1` (partial credit)",
        "release",
        ZERO,
        True,
    ),
    Hostile("ted", "an AST transformer that strips assert statements", "release", ZERO, True),
    Hostile(
        "rita",
        "patched shell.run_cell: every cell 'succeeds' without running",
        "release",
        ZERO,
        True,
    ),
    Hostile(
        "zed",
        "patched run_cell and the guard's own restore message disabled",
        "release",
        ZERO,
        True,
    ),
    Hostile(
        "ivo",
        "a pre_run_cell event hook that reinstalls a `pass` transformer",
        "release",
        ZERO,
        True,
    ),
    Hostile(
        "sid", "sys.settrace: a tracer that answers each assert as it runs", "release", ZERO, True
    ),
    Hostile(
        "pat",
        "patched check: builtins.abs returns 0 (hypot answered wrongly)",
        "solved",
        {"ch98_add": 1.0, "ch98_hypot": 0.0},
        True,
    ),
    Hostile("dex", "the `pass` transformer hidden in exec(base64 ...)", "release", ZERO, True),
    Hostile("eli", "add returns an object equal to everything", "solved", FULL, True),
    Hostile("nell", "add asks a server on the network for the answer", "solved", ADD_LOST, None),
    Hostile(
        "rob", "add copies a classmate's answer from the class folder", "solved", ADD_LOST, None
    ),
    Hostile(
        "hid",
        "add reads the hidden tests from disk and tables the answers",
        "solved",
        ADD_LOST,
        None,
    ),
    Hostile(
        "wes",
        "writes to a classmate's folder, the output folder, the host and the template",
        "solved",
        FULL,
        None,
    ),
    Hostile("bea", "starts a background process meant to outlive grading", "solved", FULL, None),
    Hostile("meg", "a memory bomb in a lesson cell", "solved", FULL, None, "MemoryError"),
    Hostile("fio", "a fork bomb (bounded: 2**11 processes at most)", "solved", FULL, True),
    Hostile(
        "gil",
        "raises its scores in the gradebook and corrupts the shared template",
        "release",
        ZERO,
        True,
    ),
]
HONEST = {
    "ada": ("correct answers", FULL),
    "bob": ("untouched release", ZERO),
    "ann": ("add right, hypot wrong", {"ch98_add": 1.0, "ch98_hypot": 0.0}),
}


def _copy(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    return nbformat.from_dict(json.loads(json.dumps(nb)))


def _cell(nb: nbformat.NotebookNode, grade_id: str) -> nbformat.NotebookNode:
    return next(c for c in nb.cells if cell_grade_id(c) == grade_id)


def write_honest(class_dir: Path, release: Path, solution: Path) -> None:
    """Write the honest students of HONEST into ``class_dir``."""
    solved = nbformat.read(str(solution), as_version=4)
    untouched = nbformat.read(str(release), as_version=4)
    partial = _copy(solved)
    _cell(partial, "ch98_hypot_solution").source = "def hypot(a, b):\n    return a + b"
    for student, nb in (("ada", solved), ("bob", untouched), ("ann", partial)):
        (class_dir / student).mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, str(class_dir / student / "98_fixture.ipynb"))


def write_hostile_class(class_dir: Path, release: Path, solution: Path, targets: Targets) -> None:
    """Write the honest students and one notebook per entry of ROSTER into ``class_dir``."""
    write_honest(class_dir, release, solution)
    bases = {
        "release": nbformat.read(str(release), as_version=4),
        "solved": nbformat.read(str(solution), as_version=4),
    }
    attacks = _attacks(targets)
    for hostile in ROSTER:
        nb = _copy(bases[hostile.base])
        early, answers = attacks[hostile.student]
        for grade_id, source in answers.items():
            _cell(nb, grade_id).source = source
        if early:
            nb.cells.insert(2, new_code_cell(early))
        (class_dir / hostile.student).mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, str(class_dir / hostile.student / "98_fixture.ipynb"))
