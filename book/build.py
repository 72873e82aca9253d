"""Build the course website: every chapter's executed solution notebook, the intro, coverage, glossary.

    python book/build.py [--executed DIR] [--out build/book]

Chapters are the solution notebooks in ``solutions/`` (whatever exists: no hand-kept list). Each
page is the chapter's solution run top to bottom in fast mode (``COURSE_FAST=1``), offline, with
its outputs and figures; nbgrader's ``### BEGIN/END SOLUTION`` and ``### BEGIN/END HIDDEN TESTS``
marker lines are removed for readers. Executed notebooks come from ``--executed DIR``
(``<chapter>.ipynb``, as ``autograder selftest --executed`` writes them) or from the cache
``build/executed/``, reused while it is newer than the chapter and ``course_lib``; any other chapter,
and those named with ``--run``, are executed here. A chapter that fails to run is left out of the
site, said so, and the build exits with status 1 (the site of the other chapters is still written).
Sphinx with myst-nb and sphinx-book-theme writes the site, offline, to ``<out>/html`` (open
``index.html``).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from autograder.chapters import find_chapters

REPO = Path(__file__).resolve().parent.parent
BOOK = REPO / "book"
CACHE = REPO / "build" / "executed"
MATHJAX = BOOK / "web-assets" / "mathjax@3.2.2" / "es5"
# what the pages need of MathJax 3: the TeX/MathML-to-HTML bundle, its fonts and the pieces it
# loads on demand (TeX extensions, the menu, accessibility); the other bundles are left out
MATHJAX_PARTS = ["tex-mml-chtml.js", "input", "output/chtml", "ui", "a11y", "sre", "adaptors"]
MARKER = re.compile(r"^[ \t]*### (BEGIN|END) (SOLUTION|HIDDEN TESTS)[ \t]*\n?", re.M)
CELL_TIMEOUT = 600  # seconds; a fast-mode chapter takes about a minute in all


def strip_markers(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Remove nbgrader's solution and hidden-test marker lines from every code cell (in place)."""
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.source = MARKER.sub("", cell.source)
    return nb


class ChapterFailed(Exception):
    """A chapter's solution notebook raised while running in fast mode."""


def execute(source: Path, target: Path) -> float:
    """Run the notebook ``source`` top to bottom in fast, offline mode; write it with outputs."""
    start = time.perf_counter()
    nb = nbformat.read(str(source), as_version=4)
    work = target.parent / f".run-{source.stem}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    os.environ.update(COURSE_FAST="1", COURSE_OFFLINE="1")  # the kernel inherits them
    # IPC sockets in the work folder: local only, and no "kernel over TCP" warning on stderr
    km = KernelManager(kernel_name="python3", transport="ipc", ip=str(work / "kernel"))
    client = NotebookClient(
        nb, km=km, timeout=CELL_TIMEOUT, resources={"metadata": {"path": str(work)}}
    )
    try:
        client.execute()
    except CellExecutionError as exc:
        raise ChapterFailed(str(exc)) from None
    finally:
        if km.has_kernel:  # nbclient leaves a kernel it was handed running
            km.shutdown_kernel(now=True)
        shutil.rmtree(work, ignore_errors=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(target))
    return time.perf_counter() - start


def _fresh(cached: Path, source: Path) -> bool:
    if not cached.exists():
        return False
    inputs = [source, *(REPO / "course_lib").glob("*.py")]
    return cached.stat().st_mtime > max(p.stat().st_mtime for p in inputs)


def executed_chapters(
    executed: Path | None, cache: Path = CACHE, run: frozenset[str] = frozenset()
) -> tuple[dict[str, Path], list[str]]:
    """chapter -> an executed notebook of it, executing (into ``cache``) those not at hand or in
    ``run``; and the chapters that failed to run."""
    found, failed = {}, []
    for chapter in find_chapters(REPO / "solutions"):
        given = executed / f"{chapter.name}.ipynb" if executed else None
        cached = cache / f"{chapter.name}.ipynb"
        if chapter.name not in run and given is not None and given.exists():
            found[chapter.name] = given
        elif chapter.name not in run and _fresh(cached, chapter.solution):
            print(f"book: {chapter.name}: reusing {cached}")
            found[chapter.name] = cached
        else:
            print(f"book: {chapter.name}: executing in fast mode ...", flush=True)
            try:
                seconds = execute(chapter.solution, cached)
            except ChapterFailed as exc:
                print(f"book: {chapter.name}: FAILED in fast mode, left out of the site:\n{exc}")
                failed.append(chapter.name)
                continue
            print(f"book: {chapter.name}: executed in {seconds:.0f} s")
            found[chapter.name] = cached
    return found, failed


def readme_intro() -> str:
    """The README from its title down to its first second-level section."""
    text = (REPO / "README.md").read_text()
    return text.split("\n## ", 1)[0].rstrip() + "\n"


INDEX_TAIL = """
## About this site

Each chapter page below is the chapter's solution notebook, run top to bottom in fast mode
(`COURSE_FAST=1`: smaller data, fewer epochs) and offline, so its numbers and figures are the
fast-mode ones; the chapters' text says what full mode reaches. The exercises appear with their
solutions and tests. To work on them yourself, clone the course and run `make lab`.

```{{toctree}}
:caption: Chapters
:maxdepth: 1

{chapters}
```

```{{toctree}}
:caption: Reference
:maxdepth: 1

coverage
glossary
```
"""


def write_sources(src: Path, chapters: dict[str, Path]) -> None:
    """Lay out the Sphinx source folder: config, index, chapters, coverage, glossary, MathJax."""
    shutil.rmtree(src, ignore_errors=True)
    src.mkdir(parents=True)
    shutil.copyfile(BOOK / "conf.py", src / "conf.py")
    index = readme_intro() + INDEX_TAIL.format(chapters="\n".join(chapters))
    (src / "index.md").write_text(index)
    for name in ("coverage", "glossary"):
        shutil.copyfile(REPO / "docs" / f"{name}.md", src / f"{name}.md")
    for name, path in chapters.items():
        nb = strip_markers(nbformat.read(str(path), as_version=4))
        nbformat.write(nb, str(src / f"{name}.ipynb"))
    if MATHJAX.exists():
        for part in MATHJAX_PARTS:
            source, target = MATHJAX / part, src / "_static" / "mathjax" / part
            if source.is_dir():
                shutil.copytree(source, target)
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(source, target)
    else:
        print(
            f"book: no {MATHJAX.relative_to(REPO)} (scripts/install-system-deps fetches it); pages load MathJax from its CDN"
        )


def build(
    executed: Path | None, out: Path, cache: Path = CACHE, run: frozenset[str] = frozenset()
) -> tuple[Path, list[str]]:
    """Build the site into ``out/html``; return the path of its index page and the chapters
    left out because they failed to run."""
    chapters, failed = executed_chapters(executed, cache, run)
    src, html = out / "src", out / "html"
    write_sources(src, chapters)
    shutil.rmtree(html, ignore_errors=True)
    cmd = [sys.executable, "-m", "sphinx", "-b", "html", "-q", "-E", "-j", "auto"]
    subprocess.run([*cmd, str(src), str(html)], check=True)
    return html / "index.html", failed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--executed", type=Path, help="folder of executed <chapter>.ipynb")
    parser.add_argument("--out", type=Path, default=REPO / "build" / "book")
    parser.add_argument(
        "--cache", type=Path, default=CACHE, help="where executed chapters are kept"
    )
    parser.add_argument(
        "--run",
        action="append",
        default=[],
        metavar="CHAPTER",
        help="execute this chapter here even if --executed or the cache has it (repeatable)",
    )
    args = parser.parse_args(argv)
    start = time.perf_counter()
    run = (
        frozenset(c.name for c in find_chapters(REPO / "solutions", args.run))
        if args.run
        else frozenset()
    )
    executed = args.executed.resolve() if args.executed else None
    index, failed = build(executed, args.out.resolve(), args.cache.resolve(), run)
    print(f"book: built in {time.perf_counter() - start:.0f} s; open {index}")
    if failed:
        print(f"book: left out (failed to run in fast mode): {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
