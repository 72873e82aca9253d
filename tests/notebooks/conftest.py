"""The executed solutions of the session's self-test, for the tests that read their outputs."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture(scope="module")
def executed(course_selftest) -> Path:
    return course_selftest["executed"]
