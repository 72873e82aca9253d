"""Headless Chromium for the browser tests: Debian's binary driven by Playwright, and server helpers.

Playwright's own browser download does not work offline, so the tests launch the Chromium that
scripts/install-system-deps installs from Debian (`chromium`); they skip, saying why, where there
is none. Screenshots go to each test's tmp folder (``shots``) and their paths are printed.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from browser_support import CHROMIUM, CHROMIUM_ARGS


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """One headless Chromium for the session (Debian's binary; skip if there is none)."""
    if not Path(CHROMIUM).exists():
        pytest.skip(
            f"no Chromium at {CHROMIUM}: install Debian's `chromium` (scripts/install-system-deps "
            "does, as root with apt) or set COURSE_CHROMIUM to a Chromium binary"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, tmp_path):
    """A fresh page (1280x900) whose console errors and failed requests are recorded."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(30_000)
    pg = context.new_page()
    pg.console_errors = []
    pg.failed_requests = []
    pg.on("console", lambda m: m.type == "error" and pg.console_errors.append(m.text))
    pg.on("requestfailed", lambda r: pg.failed_requests.append(r.url))
    yield pg
    context.close()


@pytest.fixture
def shots(tmp_path):
    """Save a screenshot under the test's tmp folder: ``shots(page, "name")`` -> its path."""
    folder = tmp_path / "screenshots"
    folder.mkdir()

    def take(pg, name: str, **kwargs) -> Path:
        path = folder / f"{name}.png"
        pg.screenshot(path=str(path), **kwargs)
        print(f"screenshot: {path}")
        return path

    return take
