"""Fixtures for course_lib tests: a clean data module state and an empty data root."""

from __future__ import annotations

import pytest

from course_lib import config, data


@pytest.fixture
def fresh_data(monkeypatch, tmp_path):
    """Empty data root, no remembered real-or-stand-in choices, no announcements made yet."""
    monkeypatch.setattr(config, "DATA_ROOT", tmp_path / "data")
    monkeypatch.setattr(data, "_CHOICE", {})
    monkeypatch.setattr(data, "_ANNOUNCED", set())
    data._real_tensors.cache_clear()
    yield tmp_path / "data"
    data._real_tensors.cache_clear()
