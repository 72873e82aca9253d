"""Chapter 08 (GANs): the facts its lesson text relies on, read from the self-test's fast-mode run.

The session's self-test (fixture ``course_selftest``) executes the solution in fast mode and keeps
the executed notebook; each test reads what one lesson cell printed and names the passage it
guards, so a change of settings that makes a sentence untrue fails here. The alt-text check reads
the source notebook and needs no execution.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parents[2]
CHAPTER = "08_gan"
DRAWS = re.compile(r"plt\.show\(\)|viz\.(show_images|plot_history)\(", re.M)


def _printed(executed: Path, needle: str) -> str:
    """Everything the one code cell containing ``needle`` printed in the fast-mode run."""
    nb = nbformat.read(str(executed / f"{CHAPTER}.ipynb"), as_version=4)
    cells = [c for c in nb.cells if c.cell_type == "code" and needle in c.source]
    assert len(cells) == 1, f"{len(cells)} code cells contain {needle!r}"
    return "".join(o.get("text", "") for o in cells[0].outputs if o.output_type == "stream")


def _numbers(pattern: str, text: str) -> list[float]:
    match = re.search(pattern, text)
    assert match, f"{pattern!r} not found in:\n{text}"
    return [float(g) for g in match.groups()]


@pytest.fixture(scope="module")
def executed(course_selftest) -> Path:
    return course_selftest["executed"]


def test_every_figure_has_alt_text():
    """Does every lesson cell that draws a figure carry a sentence of alt text for the website?"""
    nb = nbformat.read(str(REPO / "solutions" / f"{CHAPTER}.ipynb"), as_version=4)
    drawing = [c for c in nb.cells if c.cell_type == "code" and DRAWS.search(c.source)]
    assert len(drawing) >= 10, "figures not found: has the figure pattern changed?"
    for cell in drawing:
        alt = cell.metadata.get("mystnb", {}).get("image", {}).get("alt", "")
        assert len(alt) > 30 and alt.endswith("."), f"no alt text for: {cell.source[:120]}"


@pytest.mark.slow
def test_the_minimax_slope_vanishes_where_the_non_saturating_one_does_not(executed):
    """Section 2: at D(G(z)) = 0.001 the minimax slope is about 0.001, the other about 1."""
    text = _printed(executed, "young = (d_fake - 0.001)")
    (minimax,) = _numbers(r"minimax.*slope ([-+.\d]+)", text)
    (non_saturating,) = _numbers(r"non-saturating.*slope ([-+.\d]+)", text)
    assert abs(minimax) < 0.002 and abs(non_saturating) > 0.99


@pytest.mark.slow
def test_the_toy_gan_covers_the_ring(executed):
    """Section 3: the watched toy GAN ends with all or nearly all of the 8 modes covered."""
    text = _printed(executed, "TOY_STEPS = config.pick(")
    modes, share = _numbers(r"(\d)/8 modes covered, (\d+)% of samples", text)
    assert modes >= 7 and share >= 30


@pytest.mark.slow
def test_a_slow_discriminator_collapses_the_toy_generator(executed):
    """Section 4: every snapshot covers no mode and the points form a streak (spread < 0.6)."""
    text = _printed(executed, "collapse_snaps = toy_run(")
    rows = re.findall(r"step (\d+): (\d)/8 modes, spread ([.\d]+)", text)
    assert len(rows) == 5, text
    assert all(int(modes) == 0 and 0.1 < float(spread) < 0.6 for _, modes, spread in rows)


@pytest.mark.slow
def test_wgan_gp_covers_the_ring_and_keeps_gradient_norms_near_one(executed):
    """Section 5: WGAN-GP covers all 8 modes; the critic's gradient norms on interpolates centre
    on 1, with the middle 90 % below 1.6."""
    (modes,) = _numbers(r"(\d)/8 modes", _printed(executed, "LAMBDA = "))
    assert modes == 8
    text = _printed(executed, "x_hat = torch.lerp(")
    mean, low, high = _numbers(r"mean ([.\d]+), middle 90% between ([.\d]+) and ([.\d]+)", text)
    assert 0.8 < mean < 1.3 and low > 0.3 and high < 1.6


@pytest.mark.slow
def test_the_dcgan_draws_most_digits_and_the_slow_discriminator_run_collapses(executed):
    """Section 6: the fast-mode DCGAN shows >= 6 digits, the slowed one a single class; both
    varieties are printed."""
    text = _printed(executed, "def class_shares(")
    (accuracy,) = _numbers(r"test accuracy ([.\d]+)", text)
    (present,) = _numbers(r"(\d+) of 10 digits make up", text)
    assert accuracy > 0.9 and present >= 6
    text = _printed(executed, "G_bad, bad_history, bad_grids")
    (classes,) = _numbers(r"collapsed run: (\d+) of 10 digits", text)
    (healthy,) = _numbers(r"variety of the healthy run's samples: ([.\d]+)", text)
    (collapsed,) = _numbers(r"variety of the collapsed run's samples: ([.\d]+)", text)
    assert classes <= 1 and healthy > 0.2 and abs(healthy - collapsed) < 0.1
