"""Course-wide settings read once from the environment: fast mode, offline mode, data root."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TypeVar

__all__ = ["FAST", "OFFLINE", "DATA_ROOT", "REPO_ROOT", "pick", "flag"]

T = TypeVar("T")

REPO_ROOT = Path(__file__).resolve().parent.parent


def flag(name: str, default: bool = False) -> bool:
    """Read a boolean environment variable: 1/true/yes/on are true, 0/false/no/off/'' are false."""
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError(f"{name}={raw!r}: expected 1/0, true/false, yes/no or on/off")


def _data_root() -> Path:
    explicit = os.environ.get("COURSE_DATA")
    if explicit:
        return Path(explicit).expanduser().resolve()
    return REPO_ROOT / "data"


FAST: bool = flag("COURSE_FAST")
"""Shrink data and epochs so every notebook runs in about a minute on a 2-core CPU."""

OFFLINE: bool = flag("COURSE_OFFLINE")
"""Never touch the network: data loaders go straight to their offline stand-ins."""

DATA_ROOT: Path = _data_root()
"""Where data sets are cached (``COURSE_DATA`` overrides; default ``<repo>/data``)."""


def pick(full: T, fast: T) -> T:
    """Return ``fast`` in fast mode and ``full`` otherwise (epochs, sample counts...)."""
    return fast if FAST else full
