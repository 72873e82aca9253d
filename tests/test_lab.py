"""`make lab` serves JupyterLab on the student notebooks with nbgrader's extension."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.server
def test_jupyterlab_serves_the_notebooks_with_nbgrader(tmp_path):
    """Does the lab the Makefile starts answer on localhost, list notebooks/ and load nbgrader?"""
    port = _free_port()
    cmd = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--ServerApp.root_dir=notebooks",
        "--no-browser",
        f"--port={port}",
        "--ServerApp.token=",
        "--ServerApp.password=",
        "--ServerApp.ip=127.0.0.1",
        "--allow-root",
    ]
    assert "--ServerApp.root_dir=notebooks" in (REPO / "Makefile").read_text()
    proc = subprocess.Popen(
        cmd,
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={
            "HOME": str(tmp_path),
            "PATH": str(Path(sys.executable).parent) + ":/usr/bin:/bin",
            "JUPYTER_RUNTIME_DIR": str(tmp_path / "rt"),
        },
    )
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(120):
            try:
                with urllib.request.urlopen(f"{base}/api/contents", timeout=2) as r:
                    contents = json.load(r)
                break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail("JupyterLab did not answer within 60 s")
        names = {item["name"] for item in contents["content"]}
        assert {p.name for p in (REPO / "notebooks").glob("*.ipynb")} <= names
        assert any(name.endswith(".ipynb") for name in names)
        with urllib.request.urlopen(f"{base}/lab", timeout=10) as r:
            page = r.read().decode()
        assert "nbgrader" in page  # the lab's page config lists nbgrader's federated extension
    finally:
        proc.terminate()
        proc.wait(timeout=30)
