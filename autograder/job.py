"""Grade each submission in its own process.

A separate process per submission keeps one student's crash, hang or memory blow-up away from
everybody else's grades.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import time

from autograder import steps

__all__ = ["run_jobs"]


def _failed(job: steps.Job, reason: str) -> dict:
    """A result for a job whose process died or overran: every graded cell scores zero."""
    try:
        steps.load_expected(job)
    except Exception as exc:  # the template itself is broken: say so, keep the row
        reason += f"; and the chapter's source could not be read ({exc})"
    job.status = "error"
    job.notes.insert(0, reason)
    steps.write_feedback(job)
    return job.result()


def _child(job: steps.Job, env: dict[str, str]) -> None:
    """Body of a forked grading process: grade, write the result file, exit without cleanup."""
    code = 1
    try:
        log = os.open(job.work / "job.log", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(
            log, 1
        )  # nbgrader, SQLAlchemy and the kernel talk on stdout/stderr: keep it per job
        os.dup2(log, 2)
        os.environ.update(env)
        result = steps.run(job)
        steps.write_atomic(job.work / "result.json", json.dumps(result))
        code = 0
    finally:
        os._exit(code)  # skip the parent's atexit handlers and buffered output


def run_jobs(
    jobs: list[steps.Job], env: dict[str, str], workers: int = 1, wall_limit: float = 1800
) -> list[dict]:
    """Grade each job in its own forked process, ``workers`` at a time; results in job order.

    Forking shares the parent's already-imported nbgrader and torch-free modules, so a job starts
    in milliseconds; a job that crashes or overruns ``wall_limit`` seconds is killed and scored zero.
    """
    ctx = multiprocessing.get_context("fork")
    results: dict[int, dict] = {}
    pending = list(enumerate(jobs))
    running: dict[int, tuple[multiprocessing.Process, float]] = {}
    for job in jobs:
        job.work.mkdir(parents=True, exist_ok=True)
        (job.work / "result.json").unlink(missing_ok=True)
    while pending or running:
        while pending and len(running) < max(1, workers):
            index, job = pending.pop(0)
            proc = ctx.Process(target=_child, args=(job, env), daemon=False)
            proc.start()
            running[index] = (proc, time.monotonic())
        time.sleep(0.05)
        for index, (proc, started) in list(running.items()):
            job = jobs[index]
            if proc.is_alive():
                if time.monotonic() - started > wall_limit:
                    proc.kill()
                    proc.join()
                    results[index] = _failed(
                        job,
                        f"grading took longer than {wall_limit:.0f} s in total and was stopped",
                    )
                    del running[index]
                continue
            proc.join()
            result_path = job.work / "result.json"
            if proc.exitcode == 0 and result_path.exists():
                results[index] = json.loads(result_path.read_text(encoding="utf-8"))
            else:
                log = job.work / "job.log"
                tail = (
                    log.read_text(errors="replace").strip().splitlines()[-1:]
                    if log.exists()
                    else []
                )
                results[index] = _failed(
                    job,
                    f"the grading process died (exit code {proc.exitcode}) {' '.join(tail)}".strip(),
                )
            del running[index]
    return [results[i] for i in range(len(jobs))]
