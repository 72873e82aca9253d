"""Resume a class's grading: which submissions were graded, from what content, with what options.

``OUT/manifest.json`` maps each ``student/chapter`` to a key, the hash of everything that decides
its grade (the submission's bytes and file name, the chapter's source, the grading options), and
to its result. Grading the same class into the same OUT again grades only the submissions whose
key changed (new, resubmitted, a new chapter version or other options) or whose feedback page is
gone; the rest keep their results. Infrastructure failures are never kept: they are retried.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from autograder.runner import INFRASTRUCTURE, Result, Task

__all__ = ["FILE_NAME", "Manifest", "settings", "task_key"]

FILE_NAME = "manifest.json"
VERSION = 1
# Options that do not change a grade: how many workers, where they run, how the sandbox was found.
NOT_IN_KEY = frozenset({"workers", "cluster", "bwrap", "reason"})
SAVE_EVERY_S = 2.0


def settings(options: Any) -> Any:
    """The grading options that can change a grade, as plain JSON-able data (nested too)."""
    if dataclasses.is_dataclass(options) and not isinstance(options, type):
        return {
            f.name: settings(getattr(options, f.name))
            for f in dataclasses.fields(options)
            if f.name not in NOT_IN_KEY
        }
    if isinstance(options, list | tuple):
        return [settings(item) for item in options]
    if isinstance(options, dict):
        return {str(k): settings(v) for k, v in options.items()}
    if options is None or isinstance(options, bool | int | float | str):
        return options
    return str(options)


def task_key(task: Task, chapter_digest: str, options: Any) -> str:
    """The hash of a task's submission, its chapter's source and the options that grade it."""
    payload = json.dumps(
        [VERSION, task.digest(), chapter_digest, settings(options)], sort_keys=True
    )
    return hashlib.sha256(payload.encode()).hexdigest()


@dataclass
class Manifest:
    """The results of earlier runs into one OUT folder, by ``student/chapter``."""

    path: Path
    entries: dict[str, dict] = field(default_factory=dict)
    _dirty: bool = field(default=False, init=False, repr=False)
    _saved_at: float = field(default=0.0, init=False, repr=False)

    @classmethod
    def load(cls, out_dir: Path) -> Manifest:
        """Read ``out_dir/manifest.json``; a missing, unreadable or older file is an empty one."""
        path = out_dir / FILE_NAME
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            entries = data["entries"] if data.get("version") == VERSION else {}
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            entries = {}
        return cls(path, entries if isinstance(entries, dict) else {})

    @staticmethod
    def _name(student: str, chapter: str) -> str:
        return f"{student}/{chapter}"

    def cached(self, task: Task, key: str, feedback: Path) -> Result | None:
        """The earlier result of ``task`` if it was graded with the same ``key`` and its
        ``feedback`` page is still there; else None (grade it)."""
        entry = self.entries.get(self._name(task.student, task.chapter))
        if not entry or entry.get("key") != key or not feedback.exists():
            return None
        try:
            return Result.from_json(entry["result"])
        except (KeyError, TypeError, ValueError):
            return None

    def record(self, result: Result, key: str) -> None:
        """Remember ``result`` under ``key`` (an infrastructure failure is forgotten instead)."""
        name = self._name(result.student, result.chapter)
        if result.status == INFRASTRUCTURE:
            self.entries.pop(name, None)
        else:
            self.entries[name] = {"key": key, "result": result.to_json()}
        self._dirty = True

    def save(self, force: bool = True) -> None:
        """Write the manifest atomically (unless ``force`` is False and it was saved just now)."""
        if not self._dirty or (not force and time.monotonic() - self._saved_at < SAVE_EVERY_S):
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.tmp")
        tmp.write_text(
            json.dumps({"version": VERSION, "entries": self.entries}, indent=1), encoding="utf-8"
        )
        tmp.replace(self.path)
        self._dirty = False
        self._saved_at = time.monotonic()
