"""The grading fork server's warm-up: it works, and a fork may inherit what it leaves behind."""

from __future__ import annotations

import os
import subprocess
import sys

from autograder import runner

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


MAIN = """
import os, sys
with open(sys.argv[1] if __name__ == "__main__" else os.environ["RUNS_LOG"], "a") as log:
    log.write(__name__ + "\\n")  # this script's top level ran, as __main__ or __mp_main__
if __name__ == "__main__":
    os.environ["RUNS_LOG"] = sys.argv[1]
    from autograder import runner
    for _ in range(3):
        process = runner._context().Process(target=os.getpid)
        process.start()
        process.join()
        assert process.exitcode == 0
"""


def test_grading_processes_do_not_run_the_main_script_again(tmp_path):
    """Is the parent's main script imported once, by the fork server, not by every fork?"""
    script = tmp_path / "main_script.py"
    script.write_text(MAIN)
    runs = tmp_path / "runs.log"
    subprocess.run([sys.executable, str(script), str(runs)], check=True, timeout=180, cwd=tmp_path)
    assert runs.read_text().split() == ["__main__", "__mp_main__"]  # 4 lines without the fix


def test_a_main_path_inherited_from_another_process_is_not_imported(tmp_path):
    """Does a process whose main is not a script (python -c, python -m) drop the main path it
    inherited in its environment, instead of its fork server importing that script?"""
    script = tmp_path / "main_script.py"
    script.write_text(MAIN)
    runs = tmp_path / "runs.log"
    probe = (
        "import os\nfrom autograder import runner\n"
        "process = runner._context().Process(target=os.getpid)\n"
        "process.start()\nprocess.join()\nassert process.exitcode == 0\n"
    )
    env = {**os.environ, runner.MAIN_ENV: str(script), "RUNS_LOG": str(runs)}
    subprocess.run([sys.executable, "-c", probe], check=True, timeout=180, env=env)
    assert not runs.exists()
