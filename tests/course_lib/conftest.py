"""Fixtures for course_lib tests: an empty data root (the registry's choices are kept per root)."""

from __future__ import annotations

import pytest

from course_lib import config


@pytest.fixture
def fresh_data(monkeypatch, tmp_path):
    """An empty data root of the test's own: every data set is chosen afresh and announced again."""
    monkeypatch.setattr(config, "DATA_ROOT", tmp_path / "data")
    return tmp_path / "data"


@pytest.fixture
def offline(fresh_data, monkeypatch):
    """COURSE_OFFLINE=1 on a fresh data root, with any network use an error."""
    import socket

    def no_network(*args, **kwargs):
        raise AssertionError("offline mode must not touch the network")

    monkeypatch.setattr(config, "OFFLINE", True)
    monkeypatch.setattr(socket, "create_connection", no_network)
    return fresh_data


@pytest.fixture
def online(fresh_data, monkeypatch):
    """Online mode on a fresh data root (the tests decide what the network does)."""
    monkeypatch.setattr(config, "OFFLINE", False)
    monkeypatch.delenv("COURSE_OFFLINE", raising=False)
    return fresh_data
