"""Releasing student notebooks: nbgrader strips answers, the check catches drift and leaks."""

from __future__ import annotations

import shutil

import nbformat

from autograder import chapters, release
from autograder.chapters import cell_grade_id, is_locked


def test_release_hides_solutions_and_hidden_tests(fixture_chapter, fixture_release):
    """Does the student version keep the visible test and lose the answer and hidden tests?"""
    text = fixture_release.read_text()
    assert "raise NotImplementedError()" in text
    assert "assert add(1, 2) == 3" in text
    assert "return math.sqrt(a * a + b * b)" not in text
    assert "assert abs(hypot(5, 12) - 13)" not in text
    assert "special-casing their inputs" not in text  # the model answer of the written question
    assert (
        release.find_leaks(
            nbformat.read(str(fixture_chapter.solution), as_version=4),
            nbformat.read(str(fixture_release), as_version=4),
        )
        == []
    )


def test_check_passes_on_a_fresh_release_and_fails_when_stale_or_leaking(
    fixture_chapter, fixture_release, tmp_path
):
    """Does release --check accept what release wrote, and reject drift, absence and leaks?"""
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    shutil.copy(fixture_release, notebooks)
    assert release.check([fixture_chapter], notebooks) == []

    nb = nbformat.read(str(notebooks / "98_fixture.ipynb"), as_version=4)
    nb.cells[0].source += "\nedited by hand"
    nbformat.write(nb, str(notebooks / "98_fixture.ipynb"))
    assert any("out of date" in p for p in release.check([fixture_chapter], notebooks))

    nb.cells.append(nbformat.v4.new_code_cell("    return math.sqrt(a * a + b * b)"))
    nbformat.write(nb, str(notebooks / "98_fixture.ipynb"))
    assert any("leaks" in p for p in release.check([fixture_chapter], notebooks))

    (notebooks / "98_fixture.ipynb").unlink()
    assert any("missing" in p for p in release.check([fixture_chapter], notebooks))


def test_check_of_named_chapters_ignores_the_others(fixture_chapter, fixture_release, tmp_path):
    """Does a check of some chapters leave other chapters' notebooks alone, unlike a full check?"""
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    shutil.copy(fixture_release, notebooks)
    shutil.copy(fixture_release, notebooks / "97_other.ipynb")
    assert release.check([fixture_chapter], notebooks, strays=False) == []
    assert any("97_other" in p for p in release.check([fixture_chapter], notebooks))


def test_secret_lines_skip_short_common_lines(fixture_chapter):
    """Are only distinctive lines (20+ characters) treated as secrets?"""
    secrets = release.secret_lines(nbformat.read(str(fixture_chapter.solution), as_version=4))
    assert "return math.sqrt(a * a + b * b)" in secrets
    assert "return a + b" not in secrets


def test_release_metadata_keeps_nbgrader_cells(fixture_release):
    """Does the release keep locked test cells with their grade ids and points?"""
    nb = nbformat.read(str(fixture_release), as_version=4)
    cells = chapters.grade_cells(nb)
    assert [(c.grade_id, c.points, c.auto) for c in cells] == [
        ("ch98_add", 1.0, True),
        ("ch98_hypot", 2.0, True),
        ("ch98_q_hidden", 1.0, False),
    ]
    locked = [c for c in nb.cells if cell_grade_id(c) == "ch98_add"][0]
    assert is_locked(locked)
