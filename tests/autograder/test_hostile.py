"""Grading a class of hostile students in the sandbox: no cheat pays, no escape, nobody else hurt."""

from __future__ import annotations

import csv
import hashlib
import http.server
import io
import os
import random
import threading
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import hostile_class
import pytest

from autograder import grade, sandbox

TIMEOUT = 10


class _AddServer(http.server.BaseHTTPRequestHandler):
    """Answers add(a, b) to whoever reaches it, and counts who did."""

    hits: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        self.hits.append(self.path)
        query = parse_qs(urlparse(self.path).query)
        self.send_response(200)
        self.end_headers()
        self.wfile.write(str(int(query["a"][0]) + int(query["b"][0])).encode())

    def log_message(self, *args) -> None:
        pass


def _digests(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _scores(result: dict) -> dict[str, float]:
    return {c["grade_id"]: c["score"] for c in result["cells"] if c["auto"]}


@pytest.fixture(scope="module")
def hostile(fixture_chapter, fixture_release, tmp_path_factory):
    """Grade the hostile class (2 workers, 1 GiB, 64 processes) and its honest students alone."""
    settings = sandbox.resolve("auto", memory=sandbox.GiB, processes=64)
    if not settings.active:
        pytest.skip(f"hostile submissions are graded only inside the sandbox: {settings.reason}")
    root = tmp_path_factory.mktemp("hostile")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _AddServer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    targets = hostile_class.Targets(
        class_dir=root / "class",
        out_dir=root / "out",
        outside=root / "outside.txt",
        port=server.server_address[1],
        marker=f"hostile-{random.randint(100000, 999999)}",
    )
    hostile_class.write_hostile_class(
        targets.class_dir, fixture_release, fixture_chapter.solution, targets
    )
    before = _digests(targets.class_dir)
    options = grade.Options(timeout=TIMEOUT, workers=2, sandbox=settings)
    log = io.StringIO()
    results = grade.grade_class(targets.class_dir, targets.out_dir, [fixture_chapter], options, log)
    server.shutdown()
    hostile_class.write_honest(root / "alone", fixture_release, fixture_chapter.solution)
    alone = grade.grade_class(root / "alone", root / "alone-out", [fixture_chapter], options)
    return {
        "targets": targets,
        "results": {r["student"]: r for r in map(hostile_class.as_dict, results)},
        "alone": {r["student"]: r for r in map(hostile_class.as_dict, alone)},
        "log": log.getvalue(),
        "class_before": before,
        "class_after": _digests(targets.class_dir),
        "hits": list(_AddServer.hits),
    }


@pytest.mark.parametrize("who", hostile_class.ROSTER, ids=lambda h: h.student)
def test_each_cheat_scores_only_what_it_earned(hostile, who):
    """Does each hostile submission end with the scores it earned, flagged where it tampered?"""
    result = hostile["results"][who.student]
    assert result["status"] == "graded", result["notes"]
    assert _scores(result) == who.expected, (who.tries, result["notes"], result["flags"])
    if who.flagged is not None:
        assert bool(result["flags"]) == who.flagged, (who.tries, result["flags"])
    if who.note:
        assert any(who.note in line for line in result["notes"]), result["notes"]


def test_honest_students_get_the_grades_they_get_alone(hostile):
    """Do honest students graded among cheats get exactly what they get alone, unflagged?"""
    for student, (what, expected) in hostile_class.HONEST.items():
        among, alone = hostile["results"][student], hostile["alone"][student]
        assert _scores(among) == _scores(alone) == expected, what
        assert among["cells"] == alone["cells"] and among["flags"] == alone["flags"] == []


def test_nothing_outside_a_kernel_was_read_reached_or_written(hostile):
    """No network request, no file written outside, the class folder byte for byte unchanged?"""
    targets = hostile["targets"]
    assert hostile["hits"] == []
    assert not targets.outside.exists()
    assert not (targets.out_dir / "pwned.txt").exists()
    assert hostile["class_after"] == hostile["class_before"]


def test_no_process_outlives_grading(hostile):
    """Are the background process and the fork bomb's children gone once grading is over?"""
    marker = hostile["targets"].marker
    leftovers = []
    for entry in os.listdir("/proc"):
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmdline = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if marker in cmdline or marker.split("-")[-1][:6] + ".5" in cmdline:
            leftovers.append(cmdline)
    assert leftovers == []


def test_flags_reach_the_gradebook_the_report_and_the_feedback(hostile):
    """Is each flagged submission marked in grades.csv, listed in the report and on its page?"""
    out = hostile["targets"].out_dir
    with open(out / "grades.csv", newline="") as f:
        flagged = {r["student"] for r in csv.DictReader(f) if r["flagged"] == "yes"}
    assert flagged == {s for s, r in hostile["results"].items() if r["flags"]}
    assert {h.student for h in hostile_class.ROSTER if h.flagged} <= flagged
    report = (out / "report.txt").read_text()
    assert report.startswith("sandbox: bwrap")
    assert "tina 98_fixture: 0/3 (+1 to grade by hand) [graded] FLAGGED FOR REVIEW" in report
    assert "    ! cell [2] line 1: changes how IPython runs cells" in report
    page = (out / "feedback" / "zed" / "98_fixture.html").read_text()
    assert "Flagged for review" in page and "did not run to its end" in page
