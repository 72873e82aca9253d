"""Grading on dask.distributed: one task per (student, chapter), on any cluster, faults included.

:func:`connect` gives a client on a running scheduler (``--cluster tcp://HOST:8786`` or
``$DASK_SCHEDULER_ADDRESS``) or on an embedded ``LocalCluster`` of single-threaded worker
processes. :func:`run_tasks` submits :func:`autograder.runner.grade_task` for each task and turns
every outcome into a :class:`~autograder.runner.Graded`, in order: a task whose worker died is
run once more on another worker, then scored "not graded: infrastructure failure" with the
reason, so the batch always finishes.
"""

from __future__ import annotations

import collections
import concurrent.futures
import contextlib
import logging
import multiprocessing
import os
import sys
import uuid
from collections.abc import Callable, Iterator

import dask
from distributed import Client, LocalCluster, as_completed
from distributed.scheduler import KilledWorker
from tqdm import tqdm

from autograder import runner
from autograder.runner import Graded, Task, Template

__all__ = [
    "ADDRESS_ENV",
    "WORKER_CONFIG",
    "connect",
    "dashboard",
    "kernel_env",
    "run_tasks",
    "warm",
]

ADDRESS_ENV = "DASK_SCHEDULER_ADDRESS"
GPU = "GPU"  # the resource a GPU worker declares: dask worker ... --resources "GPU=1"
# Grading workers start processes (a grading process per task, its kernel), so they must not be
# daemonic; a task whose worker dies comes back to the client at once (allowed-failures 0), which
# retries it once itself (dask would blame every task assigned to the dead worker, even those
# waiting behind the fatal one); and kernels' memory is limited by the sandbox, not by dask.
WORKER_CONFIG = {
    "distributed.worker.daemon": False,
    "distributed.scheduler.allowed-failures": 0,
    "distributed.scheduler.worker-saturation": 1.0,
    "distributed.worker.memory.target": False,
    "distributed.worker.memory.spill": False,
    "distributed.worker.memory.pause": False,
    "distributed.worker.memory.terminate": False,
}
THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS")
TRIES = 2  # a task whose worker dies is run once more, then reported


@contextlib.contextmanager
def connect(
    address: str | None = None, workers: int = 1, device: str | None = None
) -> Iterator[Client]:
    """Yield a client on the scheduler at ``address`` (default ``$DASK_SCHEDULER_ADDRESS``), else
    on an embedded cluster of ``workers`` processes with one thread each, on 127.0.0.1 only.

    With ``device="cuda"`` the embedded workers declare one GPU each (they share this machine's).
    """
    address = address or os.environ.get(ADDRESS_ENV) or None
    with dask.config.set(WORKER_CONFIG):  # for the whole life of the cluster: nannies restart
        if address:
            try:
                client = Client(address, timeout="30s")
            except OSError as exc:  # refused, unknown host, timed out
                raise ValueError(f"cannot reach the dask scheduler at {address}: {exc}") from exc
            with client:
                yield client
            return
        with (
            LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                memory_limit=0,
                dashboard_address="127.0.0.1:0",  # a free port, this machine only
                resources={GPU: 1} if device == "cuda" else None,
                silence_logs=logging.ERROR,
            ) as cluster,
            Client(cluster) as client,
        ):
            yield client


def embedded(client: Client) -> bool:
    """True when ``client`` runs on a cluster this process started (not on a remote scheduler)."""
    return isinstance(client.cluster, LocalCluster)


def dashboard(client: Client) -> str | None:
    """The link to the scheduler's dashboard (served with bokeh), or None when it has none."""
    info = client.scheduler_info(n_workers=0)
    if "dashboard" not in info.get("services", {}):
        return None
    try:
        return client.dashboard_link
    except (KeyError, AttributeError):
        return None


def kernel_env(options, client: Client) -> dict[str, str]:
    """The grading kernels' environment: ``options``'s, with the thread count left to the worker's
    own environment on a remote cluster (dask gives each worker process one thread's worth)."""
    env = options.kernel_env()
    if not embedded(client):
        env = {k: v for k, v in env.items() if k not in THREAD_VARS}
    return env


def _daemonic() -> bool:
    return multiprocessing.current_process().daemon


def warm(client: Client) -> list:
    """Have each worker start its grading fork server now (:func:`autograder.runner.warm_up`,
    seconds: imports), while the client is still busy, instead of in its first task. Returns the
    futures: hold them until grading ends (a failed warm-up only leaves it to the first task)."""
    workers = client.scheduler_info(n_workers=-1)["workers"]
    run = uuid.uuid4().hex[:8]
    return [
        client.submit(runner.warm_up, key=f"warm-up-{run}-{i}", workers=[address], pure=False)
        for i, address in enumerate(workers)
    ]


def _check_workers(client: Client, device: str | None) -> None:
    """Refuse a cluster that cannot grade: daemonic workers, or no GPU for ``--device cuda``."""
    workers = client.scheduler_info(n_workers=-1)["workers"].values()
    if device == "cuda" and not any(w.get("resources", {}).get(GPU) for w in workers):
        raise ValueError(
            f"--device cuda: no worker of the cluster declares a GPU (start GPU workers with "
            f'dask worker ADDRESS --resources "{GPU}=1")'
        )
    daemonic = sorted(address for address, yes in client.run(_daemonic).items() if yes)
    if daemonic:
        raise ValueError(
            f"dask workers {', '.join(daemonic)} are daemonic processes, which cannot start a "
            "grading process: start them with DASK_DISTRIBUTED__WORKER__DAEMON=False"
        )


def _outcome(future, task: Task, template: Template, tries: int) -> Graded | None:
    """The task's Graded; None when its worker died and it has a retry left; else a zero result
    saying why the infrastructure failed it."""
    try:
        return future.result()
    except KilledWorker as exc:
        if tries < TRIES:
            return None
        runs = tries * (exc.allowed_failures + 1)
        reason = (
            f"infrastructure failure: the worker grading it died, {runs} times "
            f"(the last on {exc.last_worker.address})"
        )
    except (Exception, concurrent.futures.CancelledError) as exc:
        reason = f"infrastructure failure: {type(exc).__name__}: {str(exc)[:300]}"
    return template.failed(task, reason)


def _slots(client: Client, device: str | None) -> int:
    """How many tasks the cluster runs at once: its worker threads (its GPUs for cuda)."""
    workers = client.scheduler_info(n_workers=-1)["workers"].values()
    if device == "cuda":
        return int(sum(w.get("resources", {}).get(GPU, 0) for w in workers))
    return sum(w.get("nthreads", 1) for w in workers)


def run_tasks(
    client: Client,
    tasks: list[Task],
    templates: dict[str, Template],
    options,
    *,
    done: Callable[[Graded], None] | None = None,
    progress: bool = True,
    function: Callable[..., Graded] = runner.grade_task,
) -> list[Graded]:
    """Grade ``tasks`` on ``client``'s cluster; return their outcomes in order.

    ``done`` is called with each outcome as it arrives (the client writes its feedback page and
    the manifest then). ``function`` is the task (tests inject faults with it).

    Only as many tasks as the cluster can run at once are submitted; the rest wait here. So a
    worker holds just the task it runs and its death is blamed on that task alone, which is
    run again once (on whichever worker is free: the dead one is gone), and the scheduler never
    holds a whole MOOC's notebooks in memory.
    """
    if not tasks:
        return []
    _check_workers(client, options.device)
    env = kernel_env(options, client)
    resources = {GPU: 1} if options.device == "cuda" else None
    run = uuid.uuid4().hex[:8]
    outcomes: list[Graded | None] = [None] * len(tasks)
    waiting = collections.deque((index, task, 0) for index, task in enumerate(tasks))
    in_flight: dict[str, tuple[int, Task, int]] = {}  # key -> index, task, tries so far
    finished = as_completed()

    def fill() -> None:
        """Submit waiting tasks (retries first) until every worker thread has one."""
        slots = max(1, _slots(client, options.device))  # a restarting cluster still gets one
        while waiting and len(in_flight) < slots:
            index, task, tries = waiting.popleft()
            future = client.submit(
                function,
                task,
                templates[task.chapter],  # by value: a task waits on nothing, and a lost
                options,  # worker loses no data that others need
                env,
                key=f"grade-{task.student}-{task.chapter}-{run}-{index}-{tries}",
                pure=False,
                resources=resources,
            )
            in_flight[future.key] = (index, task, tries + 1)
            finished.add(future)

    fill()
    with tqdm(
        total=len(tasks), desc="grading", unit="notebook", disable=not progress, file=sys.stderr
    ) as bar:
        for future in finished:
            index, task, tries = in_flight.pop(future.key)
            graded = _outcome(future, task, templates[task.chapter], tries)
            future.release()
            if graded is None:  # its worker died: once more, before any new task
                waiting.appendleft((index, task, tries))
            else:
                outcomes[index] = graded
                if done is not None:
                    done(graded)
                bar.update()
            fill()
    return outcomes
