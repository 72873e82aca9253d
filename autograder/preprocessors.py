"""nbgrader preprocessors that make autograding survive hostile submissions."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import shutil
import tempfile
from typing import Any

from nbclient.exceptions import DeadKernelError
from nbformat import NotebookNode
from nbformat.v4 import new_code_cell
from nbgrader.preprocessors import Execute, NbGraderPreprocessor
from nbgrader.utils import is_grade, is_solution
from traitlets import Any as AnyTrait
from traitlets import Bool, List, Unicode

from autograder import guard, sandbox
from autograder.chapters import cell_grade_id

__all__ = [
    "SafeExecute",
    "StderrNotCounted",
    "GuardError",
    "MARK",
    "DEAD_KERNEL",
    "NOT_RUN",
    "OUTPUT_CAPPED",
    "STDERR_MOVED",
    "NO_RECEIPT",
    "FORGED_RECEIPT",
    "UNDONE",
    "DURING",
    "RESULT_DROPPED",
]

MARK = "autograder"  # cell metadata key for what these preprocessors did
DEAD_KERNEL = "dead_kernel"
NOT_RUN = "not_run"
OUTPUT_CAPPED = "output_capped"
STDERR_MOVED = "stderr_moved"
NO_RECEIPT = "no_receipt"  # a test cell that looked passed but did not prove its code ran
FORGED_RECEIPT = "forged_receipt"  # a receipt-like output with a wrong signature
UNDONE = "undone"  # what the guard had to put back before the test
DURING = "during"  # what changed while the test ran
RESULT_DROPPED = "result_dropped"  # an execute_result in a test cell (nbgrader's partial credit)


class GuardError(RuntimeError):
    """The grading guard did not answer in a fresh kernel: a problem of the grader, not the student."""


def _error(ename: str, evalue: str) -> NotebookNode:
    return NotebookNode(
        output_type="error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"]
    )


def _trampoline(source: str, nonce: str, name: str) -> str:
    """The one line the kernel receives instead of a test cell's text (see autograder.guard)."""
    code = base64.b64encode(source.encode("utf-8")).decode("ascii")
    return f'__import__("autograder.guard").guard.run("{code}", "{nonce}", {name!r})'


class SafeExecute(Execute):
    """nbgrader's Execute, plus a sandboxed kernel, guarded test cells, dead kernels, capped output.

    - With ``sandbox`` active, the kernel starts inside bubblewrap (autograder.sandbox).
    - With ``guard`` on, the kernel starts with autograder.guard installed; each test cell is sent
      as a call to the guard, which restores the kernel, runs the test's own code and returns
      signed receipts. A test cell that shows no error but lacks a valid final receipt did not
      run in full: it gets an error output, so it scores zero. Receipts are removed from the
      outputs; what they report is kept in the cell's metadata (``MARK``) for the notes.
    - When the kernel dies (a crash, ``os._exit``, out of memory) the cell that killed it and
      every later code cell get an error output, so they score zero while earlier cells keep
      their scores.
    - Each cell's output is capped at ``max_output_bytes`` while it runs, so a print loop cannot
      exhaust the grader's memory.
    """

    max_output_bytes = 2_000_000
    sandbox = AnyTrait(None, help="autograder.sandbox.Sandbox, or None for no sandbox").tag(
        config=True
    )
    scratch = Unicode("", help="host folder for a sandboxed kernel's own files").tag(config=True)
    guard = Bool(False, help="run test cells through autograder.guard").tag(config=True)
    guard_imports = List(Unicode(), help="the chapter's import statements").tag(config=True)
    guard_names = List(Unicode(), help="the names the chapter's test cells read").tag(config=True)

    def preprocess(self, nb: NotebookNode, resources: Any = None, km: Any = None) -> Any:
        self._dead = False
        self._output_bytes: dict[int, int] = {}
        self._guard_ready = False
        self._run_dir = sandbox.run_dir()
        self._key = secrets.token_bytes(32)
        try:
            return super().preprocess(nb, resources, km=km)
        finally:
            shutil.rmtree(self._run_dir, ignore_errors=True)

    def create_kernel_manager(self) -> Any:
        confined = self.sandbox is not None and self.sandbox.active
        if confined:
            self.kernel_manager_class = sandbox.SandboxKernelManager
        km = super().create_kernel_manager()
        if confined:
            km.sandbox = self.sandbox
            km.scratch = self.scratch or tempfile.mkdtemp(prefix="agk-scratch-")
            km.run_dir = self._run_dir
        if self.guard:
            self._write_guard_files()
        return km

    def _write_guard_files(self) -> None:
        """The guard's secret and settings, and the start-up file that installs it."""
        config = os.path.join(self._run_dir, "guard.json")
        start = os.path.join(self._run_dir, "guard_start.py")
        memory = self.sandbox.memory_limit() if self.sandbox is not None else 0
        settings = {
            "key": self._key.hex(),
            "imports": list(self.guard_imports),
            "names": list(self.guard_names),
            "memory": memory,
        }
        with open(config, "w", encoding="utf-8") as f:
            json.dump(settings, f)
        with open(start, "w", encoding="utf-8") as f:
            f.write(f'__import__("autograder.guard").guard.install({config!r})\n')
        owner = (
            sandbox.NOBODY
            if (self.sandbox is not None and self.sandbox.active and os.getuid() == 0)
            else None
        )
        for path in (config, start):
            os.chmod(path, 0o600)
            if owner is not None:
                os.chown(path, owner, owner)
        self.extra_arguments = [*self.extra_arguments, f"--IPKernelApp.exec_files={start}"]

    def _receipts(self, cell: NotebookNode, nonce: str) -> dict[str, dict]:
        """Remove the guard's receipts from ``cell``'s outputs; return the valid ones by stage."""
        valid: dict[str, dict] = {}
        kept = []
        for output in cell.get("outputs", []):
            data = output.get("data", {}) if output.get("output_type") == "display_data" else {}
            if guard.MIME not in data:
                kept.append(output)
                continue
            payload = dict(data[guard.MIME])
            mac = str(payload.pop("mac", ""))
            if payload.get("nonce") == nonce and hmac.compare_digest(
                mac, guard.sign(self._key, payload)
            ):
                valid[payload.get("stage", "")] = payload
            else:
                cell.metadata.setdefault(MARK, {})[FORGED_RECEIPT] = True
        cell.outputs = kept
        return valid

    def _handshake(self, index: int) -> None:
        """Check, before any notebook code runs, that the guard answers with valid receipts."""
        nonce = secrets.token_hex(16)
        probe = new_code_cell(_trampoline("", nonce, "guard check"))
        super().preprocess_cell(probe, self.resources, index)
        receipts = self._receipts(probe, nonce)
        if "after" not in receipts:
            errors = [
                f"{o.get('ename')}: {o.get('evalue')}"
                for o in probe.outputs
                if o.get("output_type") == "error"
            ]
            raise GuardError(
                f"the grading guard did not start in the kernel ({'; '.join(errors) or 'no receipt'})"
            )
        self._guard_ready = True

    def _check_test(self, cell: NotebookNode, source: str, nonce: str) -> None:
        """Score-relevant checks of a guarded test cell's outputs (see the class docstring)."""
        receipts = self._receipts(cell, nonce)
        marks = cell.metadata.setdefault(MARK, {})
        if receipts.get("before", {}).get("undone"):
            marks[UNDONE] = receipts["before"]["undone"]
        results = [o for o in cell.outputs if o.get("output_type") == "execute_result"]
        if results:
            marks[RESULT_DROPPED] = True
            cell.outputs = [o for o in cell.outputs if o.get("output_type") != "execute_result"]
        if any(o.get("output_type") == "error" for o in cell.outputs):
            return
        after = receipts.get("after")
        if (
            after is None
            or after.get("sha256") != hashlib.sha256(source.encode("utf-8")).hexdigest()
        ):
            marks[NO_RECEIPT] = True
            cell.outputs.append(
                _error(
                    "TestNotRun",
                    "the grader could not confirm that this test cell's code ran to its end "
                    "(the notebook changed how cells run)",
                )
            )
        elif after.get("during"):
            marks[DURING] = after["during"]
            cell.outputs.append(
                _error(
                    "TestTampered",
                    "the kernel was changed while this test ran: " + "; ".join(after["during"][:3]),
                )
            )

    def preprocess_cell(self, cell: NotebookNode, resources: Any, index: int) -> Any:
        if cell.cell_type != "code":
            return cell, resources
        if self._dead:
            cell.outputs = [_error("KernelDied", "not run: the kernel died in an earlier cell")]
            cell.metadata.setdefault(MARK, {})[NOT_RUN] = True
            return cell, resources
        test = self.guard and is_grade(cell) and not is_solution(cell) and cell.source.strip()
        source, nonce = cell.source, secrets.token_hex(16)
        try:
            if self.guard and not self._guard_ready:
                self._handshake(index)
            if test:
                self.kc.shell_channel.send(self.kc.session.msg(guard.RESTORE_MSG, {}))
                cell.source = _trampoline(source, nonce, cell_grade_id(cell) or "test")
            try:
                result = super().preprocess_cell(cell, resources, index)
            finally:
                cell.source = source
            if test:
                self._check_test(cell, source, nonce)
            elif self.guard:
                self._receipts(cell, "")  # only a test may show one: any other is an imitation
            return result
        except DeadKernelError:
            self._dead = True
            cell.outputs.append(
                _error(
                    "KernelDied",
                    "the kernel died while running this cell (a crash, os._exit or out of memory)",
                )
            )
            cell.metadata.setdefault(MARK, {})[DEAD_KERNEL] = True
            return cell, resources

    def output(self, outs: list, msg: dict, display_id: Any, cell_index: int) -> Any:
        size = len(str(msg.get("content", "")))
        used = self._output_bytes.get(cell_index, 0) + size
        self._output_bytes[cell_index] = used
        if used > self.max_output_bytes and msg.get("msg_type") != "error":
            if used - size <= self.max_output_bytes:  # first message past the cap: say so once
                cell = self.nb.cells[cell_index]
                cell.metadata.setdefault(MARK, {})[OUTPUT_CAPPED] = True
                outs.append(
                    NotebookNode(
                        output_type="stream",
                        name="stdout",
                        text=f"\n[autograder: output beyond {self.max_output_bytes:,} bytes dropped]\n",
                    )
                )
            return None
        return super().output(outs, msg, display_id, cell_index)


class StderrNotCounted(NbGraderPreprocessor):
    """Turn stderr text in graded cells into stdout, so warnings and progress bars cost no points.

    nbgrader scores any stderr output in a test cell as a failure; a failed check raises an error,
    which stays an error.
    """

    def preprocess_cell(self, cell: NotebookNode, resources: Any, index: int) -> Any:
        if cell.cell_type == "code" and is_grade(cell):
            for output in cell.get("outputs", []):
                if output.get("output_type") == "stream" and output.get("name") == "stderr":
                    output["name"] = "stdout"
                    output["text"] = "[stderr, not counted] " + output.get("text", "")
                    cell.metadata.setdefault(MARK, {})[STDERR_MOVED] = True
        return cell, resources
