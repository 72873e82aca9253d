"""``python -m course_lib doctor``: is this machine ready for the course? One line per check."""

from __future__ import annotations

import importlib
import importlib.metadata as metadata
import importlib.util
import os
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass

from course_lib import config, datasets, devices, net

__all__ = ["Check", "tested_versions", "run_checks", "main"]

DISTRIBUTION = "torch-course"
PACKAGES = [
    "torch",
    "torchvision",
    "numpy",
    "matplotlib",
    "pandas",
    "nbgrader",
    "jupyterlab",
    "visdom",
    "tensorboard",
]
IMPORTED = {
    "torch",
    "torchvision",
}  # imported for real (a CPU-only torch breaks torchvision's import)
# the rest are only looked up: importing nbgrader or jupyterlab from a notebook costs seconds


@dataclass(frozen=True)
class Check:
    """The outcome of one check: status is OK, WARN or FAIL."""

    status: str
    name: str
    detail: str

    def line(self) -> str:
        return f"{self.status:<4} {self.name}: {self.detail}"


def tested_versions() -> dict[str, str]:
    """Return the pinned versions of the tested matrix, read from the installed course's metadata."""
    pins = {}
    for requirement in metadata.requires(DISTRIBUTION) or []:
        match = re.match(r"^([A-Za-z0-9_.-]+)==([^;\s]+)\s*$", requirement)
        if match:
            pins[match[1].lower()] = match[2]
    return pins


def _package(name: str, pinned: str | None) -> Check:
    try:
        if name in IMPORTED:
            installed = importlib.import_module(name).__version__
        else:
            installed = metadata.version(name)
    except metadata.PackageNotFoundError:
        return Check("FAIL", name, "not installed (run: make lab, or pip install -e .)")
    except Exception as exc:  # a broken install raises anything from ImportError to RuntimeError
        return Check("FAIL", name, f"cannot import ({type(exc).__name__}: {str(exc)[:120]})")
    base = installed.split("+")[0]
    if pinned is None or base == pinned:
        return Check("OK", name, installed)
    return Check("WARN", name, f"{installed}, but the course is tested with {pinned}")


def _devices() -> Check:
    found = ", ".join(str(d) for d in devices.available())
    best = devices.get_device()
    status = "OK"
    detail = f"using {best} (available: {found})"
    if best.type == "cpu":
        detail += "; no GPU: full-mode chapters are slower, fast mode (COURSE_FAST=1) is fine"
    return Check(status, "devices", detail)


def _data_root() -> Check:
    root = config.DATA_ROOT
    try:
        root.mkdir(parents=True, exist_ok=True)
        probe = root / ".doctor-write-test"
        probe.write_text("ok")
        probe.unlink()
    except OSError as exc:
        return Check("FAIL", "data root", f"{root} is not writable ({exc}); set COURSE_DATA")
    return Check("OK", "data root", str(root))


def _network() -> Check:
    if config.OFFLINE:
        return Check(
            "OK",
            "network",
            "offline by choice (COURSE_OFFLINE=1): data comes from installed packages or stand-ins",
        )
    if net.reachable("ossci-datasets.s3.amazonaws.com"):
        return Check("OK", "network", "online: real data sets can be downloaded")
    return Check(
        "WARN", "network", "data hosts unreachable: loaders fall back to offline stand-ins"
    )


def _visdom() -> Check:
    if importlib.util.find_spec("visdom") is None:
        return Check("WARN", "visdom", "not installed; live plots stay inline")
    port = int(os.environ.get("VISDOM_PORT", "8097"))
    if net.reachable("localhost", port, timeout=0.5):
        return Check("OK", "visdom", f"installed; a server answers on localhost:{port}")
    return Check(
        "WARN",
        "visdom",
        f"installed; no server on localhost:{port} (start: python -m visdom.server)",
    )


def _tensorboard() -> Check:
    if importlib.util.find_spec("tensorboard") is None:
        return Check("WARN", "tensorboard", "not installed: SummaryWriter logging is unavailable")
    return Check("OK", "tensorboard", "installed (view logs: tensorboard --logdir <dir>)")


def _data_sets() -> list[Check]:
    """One line per registered data set: what its loader would use here, without downloading."""
    checks = []
    for name in datasets.REGISTRY:
        status, detail = datasets.status(name)
        checks.append(Check(status, f"data {name}", detail))
    return checks


def _mode() -> Check:
    return Check(
        "OK",
        "mode",
        "fast (COURSE_FAST=1)" if config.FAST else "full (set COURSE_FAST=1 for quick runs)",
    )


def run_checks() -> list[Check]:
    """Run every check and return the outcomes in display order."""
    pins = tested_versions()
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    checks = [
        Check(
            "OK" if python == "3.11" else "WARN",
            "python",
            f"{sys.version.split()[0]} (tested: 3.11)",
        )
    ]
    checks += [_package(name, pins.get(name)) for name in PACKAGES]
    steps: list[Callable[[], Check]] = [
        _devices,
        _data_root,
        _network,
        _visdom,
        _tensorboard,
        _mode,
    ]
    return checks + [step() for step in steps] + _data_sets()


def main(argv: list[str] | None = None) -> int:
    """Print one line per check; exit 1 if any check failed."""
    checks = run_checks()
    for check in checks:
        print(check.line())
    failed = sum(c.status == "FAIL" for c in checks)
    print(
        f"{len(checks)} checks: {failed} failed, {sum(c.status == 'WARN' for c in checks)} warnings"
    )
    return 1 if failed else 0
