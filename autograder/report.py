"""The class report: per chapter, how scores spread, which exercises were hard, what needs a human.

:func:`summarize` computes the figures from the results, :func:`format_summary` writes them as
text (the end of ``report.txt``), :func:`render_html` as one self-contained page with matplotlib
charts embedded as PNG (``report.html`` opens from disk, no server), and :func:`write_wide` as
``grades_wide.csv`` (:func:`wide_csv`): one row per student, one column per graded cell, for spreadsheets and LMSs.
"""

from __future__ import annotations

import base64
import csv
import html
import io
import statistics
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field

from matplotlib.figure import Figure

from autograder.runner import GRADED, CellScore, Result

__all__ = [
    "ExerciseStats",
    "ChapterSummary",
    "summarize",
    "format_summary",
    "render_html",
    "wide_table",
    "wide_csv",
]

GRAPH_COLORS = {"graded": "#4878a8", "not graded": "#c8c8c8", "pass": "#4e9a5b", "mean": "#e0a040"}


@dataclass
class ExerciseStats:
    """One autograded cell across the class's graded submissions."""

    grade_id: str
    max: float
    attempts: int  # graded submissions
    passed: int  # of them, how many earned full marks
    mean: float  # mean score, in points

    @property
    def pass_rate(self) -> float:
        return self.passed / self.attempts if self.attempts else 0.0

    @property
    def mean_fraction(self) -> float:
        return self.mean / self.max if self.max else 0.0


@dataclass
class ChapterSummary:
    """One chapter across the class."""

    chapter: str
    max: float  # autograded points
    manual_max: float  # points of written answers (graded by hand)
    results: list[Result]
    exercises: list[ExerciseStats] = field(default_factory=list)  # hardest first

    @property
    def graded(self) -> list[Result]:
        return [r for r in self.results if r.status == GRADED]

    @property
    def not_graded(self) -> list[Result]:
        return [r for r in self.results if r.status != GRADED]

    @property
    def flagged(self) -> list[Result]:
        return [r for r in self.results if r.flags]

    @property
    def awaiting_manual(self) -> int:
        """Written answers that still need a human (answered, not yet scored)."""
        return sum(1 for r in self.graded for c in r.cells if not c.auto and c.score is None)

    def scores(self, graded_only: bool = False) -> list[float]:
        return [r.auto_score for r in (self.graded if graded_only else self.results)]


def _cells(results: Iterable[Result]) -> dict[str, CellScore]:
    """Each graded cell's first appearance, in chapter order."""
    cells: dict[str, CellScore] = {}
    for result in results:
        for cell in result.cells:
            cells.setdefault(cell.grade_id, cell)
    return cells


def summarize(results: list[Result]) -> list[ChapterSummary]:
    """One summary per chapter, chapters in order; each chapter's exercises hardest first."""
    chapters: dict[str, list[Result]] = {}
    for result in results:
        chapters.setdefault(result.chapter, []).append(result)
    summaries = []
    for name in sorted(chapters):
        rows = chapters[name]
        cells = _cells(rows)
        summary = ChapterSummary(
            chapter=name,
            max=sum(c.max for c in cells.values() if c.auto),
            manual_max=sum(c.max for c in cells.values() if not c.auto),
            results=sorted(rows, key=lambda r: r.student),
        )
        for grade_id, cell in cells.items():
            if not cell.auto:
                continue
            scores = [
                s.score or 0.0 for r in summary.graded for s in r.cells if s.grade_id == grade_id
            ]
            summary.exercises.append(
                ExerciseStats(
                    grade_id=grade_id,
                    max=cell.max,
                    attempts=len(scores),
                    passed=sum(1 for s in scores if s >= cell.max),
                    mean=statistics.fmean(scores) if scores else 0.0,
                )
            )
        summary.exercises.sort(key=lambda e: (e.mean_fraction, e.pass_rate, e.grade_id))
        summaries.append(summary)
    return summaries


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _reason(result: Result) -> str:
    return result.notes[0] if result.notes else result.status


def _students(results: list[Result]) -> list[str]:
    return sorted({r.student for r in results})


# ---------------------------------------------------------------------------------------------
# text


def format_summary(results: list[Result]) -> str:
    """The class summary as text: per chapter the spread, the exercises hardest first, the
    submissions that need a look; then each student's totals."""
    lines = []
    summaries = summarize(results)
    for s in summaries:
        scores = s.scores()
        lines.append(
            f"== {s.chapter}: {len(s.results)} students, {len(s.graded)} graded, "
            f"{len(s.not_graded)} not graded, {len(s.flagged)} flagged for review"
        )
        if scores:
            lines.append(
                f"   autograded score out of {s.max:g}: mean {statistics.fmean(scores):.2f}, "
                f"median {statistics.median(scores):g}, min {min(scores):g}, max {max(scores):g}"
            )
        for e in s.exercises:
            lines.append(
                f"   {e.grade_id:<28} passed by {e.passed}/{e.attempts} ({e.pass_rate:.0%}), "
                f"mean {e.mean:.2f}/{e.max:g}"
            )
        if s.awaiting_manual:
            lines.append(f"   {s.awaiting_manual} written answers to grade by hand")
        for r in s.flagged:
            lines.append(f"   FLAGGED {r.student}: {'; '.join(r.flags[:3])}")
        for r in s.not_graded:
            lines.append(f"   NOT GRADED {r.student} [{r.status}]: {_reason(r)}")
    if len(summaries) > 1:
        lines.append("== totals (autograded)")
        by_student: dict[str, float] = {}
        for r in results:
            by_student[r.student] = by_student.get(r.student, 0.0) + r.auto_score
        total = sum(s.max for s in summaries)
        lines += [f"   {name}: {by_student[name]:g}/{total:g}" for name in sorted(by_student)]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------
# grades_wide.csv


def wide_table(results: list[Result]) -> tuple[list[str], list[list[str]]]:
    """Header and rows: student, each graded cell's score (chapter by chapter), each chapter's
    autograded total, the course total, and whether any notebook was flagged or not graded."""
    summaries = summarize(results)
    columns: list[str] = []
    for s in summaries:
        columns += list(_cells(s.results))
    chapters = [s.chapter for s in summaries]
    header = ["student", *columns, *[f"{c} total" for c in chapters], "total", "review"]
    index = {(r.student, r.chapter): r for r in results}
    rows = []
    for student in _students(results):
        mine = [index[(student, c)] for c in chapters if (student, c) in index]
        scores = {cell.grade_id: cell.score for r in mine for cell in r.cells}
        row = [student]
        row += ["" if scores.get(c) is None else f"{scores[c]:g}" for c in columns]
        row += [
            f"{index[(student, c)].auto_score:g}" if (student, c) in index else "" for c in chapters
        ]
        row.append(f"{sum(r.auto_score for r in mine):g}")
        review = [f"{r.chapter} flagged" for r in mine if r.flags]
        review += [f"{r.chapter} {r.status}" for r in mine if r.status != GRADED]
        row.append("; ".join(review))
        rows.append(row)
    return header, rows


def wide_csv(results: list[Result]) -> str:
    """Return ``grades_wide.csv``'s text (the caller writes it atomically)."""
    header, rows = wide_table(results)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


# ---------------------------------------------------------------------------------------------
# report.html


def _png(fig: Figure) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f'<img alt="chart" src="data:image/png;base64,{data}">'


def histogram(s: ChapterSummary) -> str:
    """The spread of autograded totals: graded submissions and not graded ones stacked."""
    fig = Figure(figsize=(5.2, 3.2))
    ax = fig.subplots()
    top = max(s.max, 1.0)
    width = 1.0 if top <= 20 else top / 20
    edges = [i * width - width / 2 for i in range(int(top / width) + 2)]
    ax.hist(
        [s.scores(graded_only=True), [r.auto_score for r in s.not_graded]],
        bins=edges,
        stacked=True,
        color=[GRAPH_COLORS["graded"], GRAPH_COLORS["not graded"]],
        label=["graded", "not graded (scores 0)"],
        edgecolor="white",
    )
    ax.set_xlim(edges[0], edges[-1])
    if width == 1.0:
        ax.set_xticks(range(int(top) + 1))
    ax.set_xlabel(f"autograded score (out of {s.max:g})")
    ax.set_ylabel("students")
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.set_title(f"{s.chapter}: score distribution ({len(s.results)} students)")
    ax.legend(frameon=False, fontsize=8, loc="best")
    return _png(fig)


def exercise_chart(s: ChapterSummary) -> str:
    """Each exercise's pass rate and mean score (% of its points), hardest at the top."""
    exercises = s.exercises
    fig = Figure(figsize=(5.2, 1.4 + 0.45 * max(1, len(exercises))))
    ax = fig.subplots()
    rows = range(len(exercises))
    for shift, values, color, label in (
        (-0.2, [e.pass_rate for e in exercises], "pass", "full marks (% of graded)"),
        (0.2, [e.mean_fraction for e in exercises], "mean", "mean score (% of points)"),
    ):
        bars = ax.barh(
            [y + shift for y in rows],
            [100 * v for v in values],
            height=0.4,
            color=GRAPH_COLORS[color],
            label=label,
        )
        ax.bar_label(bars, labels=[f"{v:.0%}" for v in values], padding=2, fontsize=8)
    ax.set_yticks(list(rows), [f"{e.grade_id} ({e.max:g} pt)" for e in exercises])
    ax.invert_yaxis()  # hardest first, at the top
    ax.set_xlim(0, 112)  # room for the labels
    ax.set_xticks(range(0, 101, 20))
    ax.set_xlabel("%")
    ax.set_title(f"{s.chapter}: exercises, hardest first ({len(s.graded)} graded)")
    ax.legend(frameon=False, fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2)
    return _png(fig)


STYLE = """
body { font-family: sans-serif; margin: 24px; color: #222; max-width: 1100px; }
h1 { margin-bottom: 0; } .sub { color: #666; margin-top: 4px; }
h2 { border-bottom: 2px solid #4878a8; padding-bottom: 4px; margin-top: 36px; }
.charts { display: flex; flex-wrap: wrap; gap: 16px; align-items: flex-start; }
.charts img { max-width: calc(50% - 8px); min-width: 420px; height: auto; }
table { border-collapse: collapse; margin: 8px 0 16px; font-size: 14px; }
th, td { border: 1px solid #ccc; padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #eef2f7; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
.warn { border: 2px solid #c00; padding: 8px 12px; margin: 12px 0; background: #fff4f4; white-space: pre-line; }
.flag { color: #b00; font-weight: bold; } .ng { color: #777; }
.figures { font-size: 15px; } .figures b { font-size: 17px; }
"""


def _table(header: list[str], rows: list[list[str]], numeric: Collection[int] = ()) -> str:
    """An HTML table; cells are already escaped HTML."""
    head = "".join(f"<th>{h}</th>" for h in header)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="num">{c}</td>' if i in numeric else f"<td>{c}</td>"
            for i, c in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def _feedback_link(result: Result, text: str) -> str:
    href = f"feedback/{result.student}/{result.chapter}.html"
    return f'<a href="{html.escape(href)}">{text}</a>'


def _chapter_section(s: ChapterSummary) -> str:
    e = html.escape
    scores = s.scores()
    parts = [f'<h2 id="{e(s.chapter)}">{e(s.chapter)}</h2>']
    figures = (
        f"<b>{len(s.results)}</b> students, <b>{len(s.graded)}</b> graded, "
        f"<b>{len(s.not_graded)}</b> not graded, <b>{len(s.flagged)}</b> flagged for review"
    )
    if scores:
        figures += (
            f"; autograded score out of {s.max:g}: mean <b>{statistics.fmean(scores):.2f}</b>, "
            f"median <b>{statistics.median(scores):g}</b>"
        )
    if s.manual_max:
        figures += (
            f"; written answers ({s.manual_max:g} point{'' if s.manual_max == 1 else 's'} per "
            "student): "
            f"<b>{s.awaiting_manual}</b> to grade by hand"
        )
    parts.append(f'<p class="figures">{figures}</p>')
    parts.append(f'<div class="charts">{histogram(s)}{exercise_chart(s)}</div>')
    rows = [
        [
            e(x.grade_id),
            f"{x.max:g}",
            f"{x.passed}/{x.attempts}",
            f"{x.pass_rate:.0%}",
            f"{x.mean:.2f}",
        ]
        for x in s.exercises
    ]
    parts.append("<h3>Exercises, hardest first</h3>")
    parts.append(
        _table(["exercise", "points", "full marks", "pass rate", "mean score"], rows, {1, 2, 3, 4})
    )
    parts.append(f"<h3>Flagged for review ({len(s.flagged)})</h3>")
    if s.flagged:
        rows = [
            [
                _feedback_link(r, e(r.student)),
                f"{r.auto_score:g}/{r.auto_max:g}",
                "<br>".join(e(f) for f in r.flags),
            ]
            for r in s.flagged
        ]
        parts.append(_table(["student", "score", "why"], rows, {1}))
    else:
        parts.append("<p>None.</p>")
    parts.append(f"<h3>Not graded ({len(s.not_graded)})</h3>")
    if s.not_graded:
        rows = [[_feedback_link(r, e(r.student)), e(r.status), e(_reason(r))] for r in s.not_graded]
        parts.append(_table(["student", "status", "reason"], rows))
    else:
        parts.append("<p>None: every submission was graded.</p>")
    return "\n".join(parts)


def _totals_section(results: list[Result], summaries: list[ChapterSummary]) -> str:
    e = html.escape
    index = {(r.student, r.chapter): r for r in results}
    total_max = sum(s.max for s in summaries)
    rows = []
    for student in _students(results):
        row = [e(student)]
        total = 0.0
        for s in summaries:
            r = index.get((student, s.chapter))
            if r is None:
                row.append("")
                continue
            total += r.auto_score
            text = f"{r.auto_score:g}/{r.auto_max:g}"
            if r.flags:
                text += ' <span class="flag" title="flagged for review">&#9873;</span>'
            if r.status != GRADED:
                text += f' <span class="ng">({e(r.status)})</span>'
            row.append(_feedback_link(r, text))
        row.append(f"{total:g}/{total_max:g}")
        rows.append(row)
    header = ["student", *[e(s.chapter) for s in summaries], "total (autograded)"]
    numeric = set(range(1, len(header)))
    return (
        "<h2 id='students'>Students</h2><p>Autograded points per chapter; each links to the "
        "student's feedback page. &#9873; flagged for review.</p>" + _table(header, rows, numeric)
    )


def render_html(
    results: list[Result], title: str = "Class report", warnings: Iterable[str] = ()
) -> str:
    """The class report as one HTML page, charts embedded; ``warnings`` go on top, in red."""
    e = html.escape
    summaries = summarize(results)
    toc = " &middot; ".join(f'<a href="#{e(s.chapter)}">{e(s.chapter)}</a>' for s in summaries)
    warn = "".join(f'<div class="warn">{e(w)}</div>' for w in warnings if w.strip())
    body = [
        f"<h1>{e(title)}</h1>",
        f'<p class="sub">{_count(len(_students(results)), "student")}, '
        f"{_count(len(summaries), 'chapter')}: {toc}"
        ' &middot; <a href="#students">students</a> &middot; '
        '<a href="grades.csv">grades.csv</a> &middot; '
        '<a href="grades_wide.csv">grades_wide.csv</a></p>',
        warn,
        *[_chapter_section(s) for s in summaries],
        _totals_section(results, summaries),
    ]
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        f"<title>{e(title)}</title><style>{STYLE}</style></head><body>"
        + "\n".join(body)
        + "</body></html>\n"
    )
