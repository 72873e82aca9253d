"""nbgrader preprocessors that make autograding survive hostile submissions."""

from __future__ import annotations

from typing import Any

from nbclient.exceptions import DeadKernelError
from nbformat import NotebookNode
from nbgrader.preprocessors import Execute, NbGraderPreprocessor
from nbgrader.utils import is_grade

__all__ = ["SafeExecute", "StderrNotCounted", "MARK", "DEAD_KERNEL", "NOT_RUN", "OUTPUT_CAPPED"]

MARK = "autograder"  # cell metadata key for what these preprocessors did
DEAD_KERNEL = "dead_kernel"
NOT_RUN = "not_run"
OUTPUT_CAPPED = "output_capped"
STDERR_MOVED = "stderr_moved"


def _error(ename: str, evalue: str) -> NotebookNode:
    return NotebookNode(
        output_type="error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"]
    )


class SafeExecute(Execute):
    """nbgrader's Execute, plus: a dead kernel keeps what ran, and huge outputs are capped live.

    When the kernel dies (a crash, ``os._exit``, out of memory) the cell that killed it and every
    later code cell get an error output, so they score zero while earlier cells keep their scores.
    Each cell's output is capped at ``max_output_bytes`` while it runs, so a print loop cannot
    exhaust the grader's memory.
    """

    max_output_bytes = 2_000_000

    def preprocess(self, nb: NotebookNode, resources: Any = None, km: Any = None) -> Any:
        self._dead = False
        self._output_bytes: dict[int, int] = {}
        return super().preprocess(nb, resources, km=km)

    def preprocess_cell(self, cell: NotebookNode, resources: Any, index: int) -> Any:
        if cell.cell_type != "code":
            return cell, resources
        if self._dead:
            cell.outputs = [_error("KernelDied", "not run: the kernel died in an earlier cell")]
            cell.metadata.setdefault(MARK, {})[NOT_RUN] = True
            return cell, resources
        try:
            return super().preprocess_cell(cell, resources, index)
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
