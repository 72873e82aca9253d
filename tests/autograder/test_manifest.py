"""Resuming a class's grading: what counts as the same submission graded the same way."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from autograder.manifest import Manifest, settings, task_key
from autograder.runner import GRADED, INFRASTRUCTURE, CellScore, Result, Task


@dataclass(frozen=True)
class Limits:
    mode: str = "bwrap"
    memory: int = 4
    bwrap: str = "/usr/bin/bwrap"
    reason: str = ""


@dataclass
class Opts:
    timeout: int = 60
    workers: int = 1
    device: str | None = None
    sandbox: Limits = field(default_factory=Limits)


TASK = Task("ann", "01_tensors", b'{"cells": []}', "01_tensors.ipynb")


def _result(status: str = GRADED) -> Result:
    return Result("ann", "01_tensors", status, [CellScore("ch01_a", 1.0, 1.0, True)])


def test_the_key_changes_with_what_decides_a_grade_and_only_with_that():
    """Does a new submission, chapter version or grading option change the key, and workers not?"""
    key = task_key(TASK, "chapter-v1", Opts())
    assert task_key(TASK, "chapter-v1", Opts(workers=8)) == key
    assert task_key(TASK, "chapter-v1", Opts(sandbox=Limits(bwrap="/opt/bwrap"))) == key
    changed = [
        task_key(replace(TASK, submission=b'{"cells": [1]}'), "chapter-v1", Opts()),
        task_key(replace(TASK, name="hw (1).ipynb"), "chapter-v1", Opts()),
        task_key(replace(TASK, submission=None), "chapter-v1", Opts()),
        task_key(TASK, "chapter-v2", Opts()),
        task_key(TASK, "chapter-v1", Opts(timeout=5)),
        task_key(TASK, "chapter-v1", Opts(sandbox=Limits(memory=8))),
    ]
    assert key not in changed and len(set(changed)) == len(changed)
    assert "workers" not in settings(Opts()) and "bwrap" not in settings(Opts())["sandbox"]


def test_a_recorded_result_comes_back_only_for_the_same_key_and_an_existing_page(tmp_path):
    """Is a result reused after a reload when its key matches and its feedback page exists?"""
    page = tmp_path / "feedback" / "ann" / "01_tensors.html"
    manifest = Manifest.load(tmp_path)
    manifest.record(_result(), "k1")
    manifest.save()
    again = Manifest.load(tmp_path)
    assert again.cached(TASK, "k1", page) is None  # the page is gone: grade again
    page.parent.mkdir(parents=True)
    page.write_text("<html>")
    assert again.cached(TASK, "k1", page) == _result()
    assert again.cached(TASK, "k2", page) is None


def test_infrastructure_failures_are_graded_again_and_a_broken_manifest_is_empty(tmp_path):
    """Is a task lost to the infrastructure retried next time, and a corrupt manifest ignored?"""
    page = tmp_path / "page.html"
    page.write_text("<html>")
    manifest = Manifest.load(tmp_path)
    manifest.record(_result(), "k1")
    manifest.record(_result(INFRASTRUCTURE), "k1")
    assert manifest.cached(TASK, "k1", page) is None
    (tmp_path / "manifest.json").write_text('{"version": 1, "entries": ')
    assert Manifest.load(tmp_path).entries == {}
