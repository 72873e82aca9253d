"""Grading a class on dask.distributed: embedded and real clusters agree; faults; resuming.

A real cluster here is a ``dask scheduler`` and two ``dask worker`` processes on 127.0.0.1, started
as the README tells an instructor to, each bounded in time and killed at the end of its test.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cloudpickle
import psutil
import pytest
from distributed import Client

from autograder import cluster, grade, runner, sandbox
from autograder.runner import GRADED, INFRASTRUCTURE, Graded, Task, Template

# as the session's graded_class fixture grades the fixture class (its OUT is reused here)
OPTIONS = grade.Options(timeout=5, workers=2, sandbox=sandbox.resolve("auto"))
DASK = str(Path(sys.executable).parent / "dask")
START_TIMEOUT_S = 90


@dataclass
class RealCluster:
    """A scheduler and its worker processes (each in its own process group)."""

    address: str
    scheduler: subprocess.Popen
    workers: list[subprocess.Popen]

    def kill_worker(self, index: int) -> None:
        """Kill one ``dask worker`` and everything it started, as a lost machine would go."""
        os.killpg(self.workers[index].pid, signal.SIGKILL)


def _start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    # this module importable there too: the stand-in tasks below are pickled by reference
    path = os.pathsep.join(filter(None, [str(Path(__file__).parent), os.environ.get("PYTHONPATH")]))
    return subprocess.Popen(
        [DASK, *args],
        env={**os.environ, **env, "PYTHONPATH": path},
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


@contextlib.contextmanager
def real_cluster(tmp: Path, workers: int = 2, gpu: bool = False) -> Iterator[RealCluster]:
    """Start ``dask scheduler`` and ``workers`` single-threaded ``dask worker`` processes; with
    ``gpu`` the last one declares a GPU, as the README's GPU workers do."""
    tmp.mkdir(parents=True, exist_ok=True)
    info = tmp / "scheduler.json"
    procs: list[subprocess.Popen] = []
    try:
        scheduler = _start(
            ["scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard"]
            + ["--scheduler-file", str(info), "--idle-timeout", "600"],
            {
                "DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": "0",
                "DASK_DISTRIBUTED__SCHEDULER__WORKER_SATURATION": "1.0",
            },
            tmp / "scheduler.log",
        )
        procs.append(scheduler)
        deadline = time.monotonic() + START_TIMEOUT_S
        while not info.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        address = json.loads(info.read_text())["address"]
        for n in range(workers):
            procs.append(
                _start(
                    ["worker", address, "--nthreads", "1", "--nworkers", "1", "--name", f"w{n}"]
                    + ["--host", "127.0.0.1", "--no-dashboard", "--memory-limit", "0"]
                    + ["--death-timeout", "60"]
                    + (["--resources", f"{cluster.GPU}=1"] if gpu and n == workers - 1 else []),
                    {"DASK_DISTRIBUTED__WORKER__DAEMON": "False"},
                    tmp / f"worker{n}.log",
                )
            )
        with Client(address, timeout="30s") as client:
            client.wait_for_workers(workers, timeout=START_TIMEOUT_S)
        yield RealCluster(address, scheduler, procs[1:])
    finally:
        for proc in procs:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)


def _rows(path: Path, students: set[str] | None = None) -> list[dict]:
    with open(path, newline="") as f:
        return [r for r in csv.DictReader(f) if students is None or r["student"] in students]


@pytest.fixture(scope="module")
def embedded_out(graded_class) -> Path:
    """The fixture class's OUT, graded by ``grade.grade_class`` on the embedded LocalCluster
    (2 workers, the sandbox where this machine has one): the session's graded_class."""
    return graded_class[2]


@pytest.fixture(scope="module")
def dask_class(embedded_out) -> Path:
    return embedded_out.parent / "submissions"


def test_the_embedded_cluster_writes_every_output(embedded_out):
    """Does grading on the embedded cluster write the gradebooks, the pages and both reports?"""
    names = {"grades.csv", "grades_wide.csv", "report.txt", "report.html", "manifest.json"}
    assert names <= {p.name for p in embedded_out.iterdir()}
    assert len(list((embedded_out / "feedback").glob("*/98_fixture.html"))) == 14
    ada = next(r for r in _rows(embedded_out / "grades_wide.csv") if r["student"] == "ada")
    assert (ada["ch98_add"], ada["ch98_hypot"], ada["total"]) == ("1", "2", "3")


def _where(task: Task, template: Template, options, env: dict[str, str]) -> Graded:
    """A stand-in for grading that says which worker ran it."""
    from distributed import get_worker

    return template.failed(task, f"ran on {get_worker().name}", status=GRADED)


def test_a_real_scheduler_and_two_workers_grade_like_the_embedded_cluster(
    dask_class, embedded_out, fixture_solutions, fixture_chapter, tmp_path
):
    """Does `grade --cluster` on `dask scheduler` + 2 `dask worker`s give the same grades, and do
    --device cuda tasks go only to the worker that declares a GPU?"""
    out = tmp_path / "out"
    with real_cluster(tmp_path / "cluster", gpu=True) as real:
        proc = subprocess.run(
            [sys.executable, "-m", "autograder", "--solutions", str(fixture_solutions)]
            + ["grade", str(dask_class), "--out", str(out), "--cluster", real.address]
            + ["--workers", "2", "--timeout", str(OPTIONS.timeout), "--sandbox", "auto"],
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
        for name in ("grades.csv", "grades_wide.csv"):
            assert (out / name).read_text() == (embedded_out / name).read_text(), name
        assert "grading: 100%" in proc.stderr  # the progress bar
        templates = grade.build_templates([fixture_chapter])
        tasks = [Task(s, fixture_chapter.name, None) for s in ("ann", "bea", "cid")]
        with Client(real.address, timeout="30s") as client:
            outcomes = cluster.run_tasks(
                client,
                tasks,
                templates,
                dataclasses.replace(OPTIONS, device="cuda"),
                function=_where,
                progress=False,
            )
    assert [g.result.notes[0] for g in outcomes] == ["ran on w1"] * 3


def test_a_worker_killed_mid_run_still_leaves_a_complete_gradebook(
    dask_class, embedded_out, fixture_chapter, tmp_path
):
    """Is the task of a worker killed while grading retried elsewhere, nothing left running?"""
    students = {"ada", "bob", "fay", "hal", "kim", "max", "nia"}
    small = tmp_path / "class"
    for student in students:
        shutil.copytree(dask_class / student, small / student)
    out = tmp_path / "out"
    killed: list[psutil.Process] = []

    def kill_when_busy(real: RealCluster) -> None:
        with Client(real.address, timeout="30s") as client:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                workers = client.scheduler_info(n_workers=-1)["workers"]
                w0 = next((a for a, w in workers.items() if w.get("name") == "w0"), None)
                done = list((out / "feedback").glob("*/*.html")) if out.exists() else []
                if w0 and done and client.processing([w0]).get(w0):
                    root = psutil.Process(real.workers[0].pid)
                    killed.extend([root, *root.children(recursive=True)])
                    real.kill_worker(0)
                    return
                time.sleep(0.1)

    with real_cluster(tmp_path / "cluster") as real:
        killer = threading.Thread(target=kill_when_busy, args=(real,), daemon=True)
        killer.start()
        options = dataclasses.replace(OPTIONS, cluster=real.address)
        results = grade.grade_class(small, out, [fixture_chapter], options)
        killer.join(timeout=10)
    assert len(killed) > 2, "the worker was never killed while grading"
    assert all(r.status != INFRASTRUCTURE for r in results), [r.notes for r in results]
    assert _rows(out / "grades.csv") == _rows(embedded_out / "grades.csv", students)
    deadline = time.monotonic() + 15
    while any(p.is_running() and p.status() != psutil.STATUS_ZOMBIE for p in killed):
        assert time.monotonic() < deadline, "processes of the killed worker outlived it"
        time.sleep(0.5)


def _flaky(task: Task, template: Template, options, env: dict[str, str]) -> Graded:
    """A stand-in for grading whose worker dies: once for "once", every time for "always"."""
    marker = Path(os.environ["FLAKY_MARKERS"]) / task.student
    if task.student == "always" or (task.student == "once" and not marker.exists()):
        marker.touch()
        os._exit(1)  # takes the whole worker process down
    return template.failed(task, "graded by a stand-in", status=GRADED)


def test_a_task_that_kills_its_worker_is_retried_once_then_reported(
    fixture_chapter, tmp_path, monkeypatch
):
    """Is a task whose worker dies re-run once, then scored as an infrastructure failure?"""
    monkeypatch.setenv("FLAKY_MARKERS", str(tmp_path))
    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    templates = grade.build_templates([fixture_chapter])
    tasks = [Task(s, fixture_chapter.name, None) for s in ("once", "always", "fine")]
    with cluster.connect(workers=2) as client:
        outcomes = cluster.run_tasks(
            client, tasks, templates, OPTIONS, function=_flaky, progress=False
        )
    by = {g.result.student: g.result for g in outcomes}
    notes = {name: r.notes for name, r in by.items()}
    assert by["once"].status == GRADED and by["fine"].status == GRADED, notes
    lost = by["always"]
    assert lost.status == INFRASTRUCTURE and lost.auto_score == 0
    assert "the worker grading it died, 2 times" in lost.notes[0]
    assert "infrastructure failure" in next(g for g in outcomes if g.result is lost).feedback


def test_a_second_run_grades_only_new_and_changed_submissions(
    dask_class, embedded_out, fixture_chapter, tmp_path
):
    """Does re-running `grade` on the same OUT grade just the late and the changed notebooks?"""
    klass, out = tmp_path / "class", tmp_path / "out"
    shutil.copytree(dask_class, klass)
    shutil.copytree(embedded_out, out)
    shutil.copytree(klass / "ada", klass / "zed")  # a late submission
    hal = klass / "hal" / "98_fixture.ipynb"  # a resubmission: now right
    shutil.copyfile(klass / "ada" / "98_fixture.ipynb", hal)
    untouched = out / "feedback" / "bob" / "98_fixture.html"
    before = untouched.stat().st_mtime_ns
    log = io.StringIO()
    results = grade.grade_class(klass, out, [fixture_chapter], OPTIONS, log=log)
    assert "13 notebooks already graded with the same content and options; grading 2" in (
        log.getvalue()
    )
    by = {r.student: r for r in results}
    assert by["zed"].auto_score == 3 and by["hal"].auto_score == 3
    assert untouched.stat().st_mtime_ns == before
    others = {r["student"] for r in _rows(embedded_out / "grades.csv")} - {"hal"}
    assert _rows(out / "grades.csv", others) == _rows(embedded_out / "grades.csv", others)


def test_a_cluster_of_daemonic_workers_is_refused_with_the_fix(fixture_chapter):
    """Does grading on workers that cannot start processes stop at once and say what to set?"""
    import dask
    from distributed import LocalCluster

    templates = grade.build_templates([fixture_chapter])
    with (
        dask.config.set({"distributed.worker.daemon": True}),
        LocalCluster(
            n_workers=1, threads_per_worker=1, host="127.0.0.1", dashboard_address=None
        ) as local,
        Client(local) as client,
    ):
        with pytest.raises(ValueError, match="DASK_DISTRIBUTED__WORKER__DAEMON=False"):
            cluster.run_tasks(client, [Task("ann", fixture_chapter.name, None)], templates, OPTIONS)


def _fork_server_pid() -> int | None:
    from multiprocessing import forkserver

    return forkserver._forkserver._forkserver_pid


def test_warming_starts_every_worker_s_fork_server_ahead_of_the_first_task():
    """Does cluster.warm run once on each worker and leave its grading fork server running?"""
    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    with cluster.connect(workers=2) as client:
        assert set(client.run(_fork_server_pid).values()) == {None}
        futures = cluster.warm(client)
        client.gather(futures)  # raises if a warm-up failed
        pids = client.run(_fork_server_pid)
        assert len(futures) == 2 and len(set(pids.values()) - {None}) == 2
        assert set(client.run(runner.warm_up).values()) == {None}  # again: nothing new to start
        assert client.run(_fork_server_pid) == pids
