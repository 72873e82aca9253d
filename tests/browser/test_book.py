"""The course website (`make book`): built from the executed solutions, read in headless Chromium.

To stay within the suite's time, the build reuses the solution notebooks that the self-test already
executed (``course_selftest["executed"]``, fast mode). Those ran under the grader's Agg backend and
keep no figures, so the chapter the test reads, 01_tensors, is executed afresh by the build
(``--run``, as `make book` runs every chapter). Then every internal link is checked on disk, and
Chromium reads the index, the chapter (code, figures, maths), the glossary and a search.
"""

from __future__ import annotations

import contextlib
import functools
import subprocess
import sys
import threading
from collections.abc import Iterator
from html.parser import HTMLParser
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

REPO = Path(__file__).resolve().parents[2]
CHAPTERS = sorted(p.stem for p in (REPO / "solutions").glob("[0-9][0-9]_*.ipynb"))
CHAPTER = "01_tensors"  # the chapter page Chromium reads (executed afresh, with its figures)
MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION", "### BEGIN HIDDEN TESTS", "### END HIDDEN")

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(1800)]


class _Refs(HTMLParser):
    """Collect a page's ids and the local links/sources it points to."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.refs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        attrs = dict(attrs)
        if attrs.get("id"):
            self.ids.add(attrs["id"])
        for key in ("href", "src"):
            value = attrs.get(key)
            if value and not urlsplit(value).scheme and not value.startswith("//"):
                self.refs.append(value)


def broken_links(html: Path) -> list[str]:
    """Every internal link or source in the site whose file (or #anchor) does not exist."""
    html, pages = html.resolve(), {}
    for page in html.rglob("*.html"):
        if "_static" in page.relative_to(html).parts:
            continue  # the theme's template fragments, not pages
        parser = _Refs()
        parser.feed(page.read_text(encoding="utf-8"))
        pages[page.resolve()] = parser
    broken = []
    for page, parser in pages.items():
        for ref in parser.refs:
            parts = urlsplit(ref)
            target = (page.parent / unquote(parts.path)).resolve() if parts.path else page
            if not target.exists():
                broken.append(f"{page.relative_to(html)}: {ref}")
            elif parts.fragment and target in pages and parts.fragment not in pages[target].ids:
                broken.append(f"{page.relative_to(html)}: {ref} (no such anchor)")
    return broken


@contextlib.contextmanager
def serve(folder: Path) -> Iterator[str]:
    """Serve ``folder`` over HTTP on localhost (as a reader's web server would); yield its URL."""
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


def read_the_site(page, base: str, shots) -> None:
    """Open the index, follow the navigation to a chapter, read the glossary, search."""
    page.goto(f"{base}/index.html")
    assert "PyTorch course" in page.locator("h1").first.inner_text()
    nav = page.locator("nav.bd-links a.reference.internal")
    targets = {a.get_attribute("href").split("#")[0] for a in nav.all()}
    assert {f"{c}.html" for c in CHAPTERS} | {"coverage.html", "glossary.html"} <= targets
    shots(page, "08-book-index")

    # navigation: the sidebar leads to a chapter; the chapter has a title, code, figures, maths
    page.locator(f'nav.bd-links a[href="{CHAPTER}.html"]').click()
    page.wait_for_url(f"**/{CHAPTER}.html")
    assert page.locator("article h1").first.inner_text().strip()
    assert page.locator("article div.highlight pre").count() > 10
    figures = page.locator("article .cell_output img")
    assert figures.count() >= 1, "no figure on the chapter page"
    for img in figures.all():
        img.scroll_into_view_if_needed()
        assert img.evaluate("i => i.complete && i.naturalWidth > 0"), img.get_attribute("src")
    page.locator("article mjx-container").first.wait_for()  # MathJax typeset the formulas
    text = page.locator("article").inner_text()
    assert not any(marker in text for marker in MARKERS)
    assert page.locator(".prev-next-area a").count() >= 1  # previous / next chapter
    figures.first.scroll_into_view_if_needed()
    shots(page, "09-book-chapter-figure")

    # the glossary's Chinese terms are drawn with a real CJK font (not as empty boxes)
    page.goto(f"{base}/glossary.html")
    cell = page.get_by_role("cell", name="张量", exact=True).first
    cell.scroll_into_view_if_needed()
    cdp = page.context.new_cdp_session(page)
    cdp.send("DOM.enable")
    cdp.send("CSS.enable")
    root = cdp.send("DOM.getDocument", {"depth": -1})["root"]["nodeId"]
    found = cdp.send("DOM.querySelectorAll", {"nodeId": root, "selector": "td"})["nodeIds"]
    fonts = set()
    for node in found:
        html_text = cdp.send("DOM.getOuterHTML", {"nodeId": node})["outerHTML"]
        if "张量" in html_text:
            used = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]
            fonts |= {f["familyName"] for f in used if f["glyphCount"]}
            break
    assert fonts, "the glossary has no cell 张量"
    assert any(name not in {"DejaVu Sans", "Liberation Sans"} for name in fonts), fonts
    print("the glossary's Chinese terms are drawn with", sorted(fonts))
    shots(page, "10-book-glossary-chinese")

    # search (Sphinx's own index, offline)
    page.goto(f"{base}/search.html?q=broadcasting")
    results = page.locator("#search-results li")
    results.first.wait_for()
    assert results.count() >= 1
    shots(page, "11-book-search")


def test_the_book_builds_from_the_executed_solutions_and_reads_well(
    course_selftest, tmp_path, page, shots
):
    """Does `book/build.py` make a site of every chapter whose links, figures, maths, CJK and search work?"""
    out = tmp_path / "book"
    cmd = [sys.executable, str(REPO / "book" / "build.py"), "--out", str(out)]
    cmd += ["--executed", str(course_selftest["executed"]), "--run", CHAPTER]
    proc = subprocess.run(
        [*cmd, "--cache", str(tmp_path / "executed")],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=1200,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    print(proc.stdout[-1000:])
    html = out / "html"
    for chapter in CHAPTERS:
        assert (html / f"{chapter}.html").exists(), f"no page for {chapter}"
    assert (html / "searchindex.js").exists()
    assert broken_links(html) == []
    with serve(html) as base:
        read_the_site(page, base, shots)
    assert page.failed_requests == []  # MathJax, fonts, scripts: everything comes from the site
