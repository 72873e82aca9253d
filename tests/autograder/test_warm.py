"""The grading fork server's warm-up: it works, and a fork may inherit what it leaves behind."""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import asyncio, os, threading
import autograder.steps
if {warm}:
    from autograder import warm
    warm.warm()  # called again, so that a failure (which the import swallows) shows here
try:
    asyncio.get_running_loop()
    loop = True
except RuntimeError:
    loop = False
print(threading.active_count(), len(os.listdir("/proc/self/fd")), loop)
"""


def _probe(warm: bool) -> list[str]:
    out = subprocess.run(
        [sys.executable, "-c", PROBE.format(warm=warm)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return out.stdout.split()


def test_warming_leaves_no_thread_loop_or_open_file():
    """Does the warm-up run without error and leave one thread, no event loop, no new file?"""
    threads, fds, loop = _probe(warm=True)
    assert threads == "1" and loop == "False"
    assert fds == _probe(warm=False)[1]  # as many open files as the steps' import alone leaves
