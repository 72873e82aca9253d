"""Chapter 08 (GANs): the facts its lesson text relies on, read from the self-test's fast-mode run.

The session's self-test (fixture ``course_selftest``) executes the solution in fast mode and keeps
the executed notebook; each test reads what one lesson cell printed and names the passage it
guards, so a change of settings that makes a sentence untrue fails here. Alt text is checked in
test_lesson_facts.py.
"""

from __future__ import annotations

import re

import pytest
from lesson_output import numbers, printed

CHAPTER = "08_gan"


@pytest.mark.slow
def test_the_minimax_slope_vanishes_where_the_non_saturating_one_does_not(executed):
    """Section 2: at D(G(z)) = 0.001 the minimax slope is about 0.001, the other about 1."""
    text = printed(executed, CHAPTER, "young = (d_fake - 0.001)")
    (minimax,) = numbers(r"minimax.*slope ([-+.\d]+)", text)
    (non_saturating,) = numbers(r"non-saturating.*slope ([-+.\d]+)", text)
    assert abs(minimax) < 0.002 and abs(non_saturating) > 0.99


@pytest.mark.slow
def test_the_toy_gan_covers_the_ring(executed):
    """Section 3: the watched toy GAN ends with all or nearly all of the 8 modes covered."""
    text = printed(executed, CHAPTER, "TOY_STEPS = config.pick(")
    modes, share = numbers(r"(\d)/8 modes covered, (\d+)% of samples", text)
    assert modes >= 7 and share >= 30


@pytest.mark.slow
def test_a_slow_discriminator_collapses_the_toy_generator(executed):
    """Section 4: every snapshot covers no mode and the points form a streak (spread < 0.6)."""
    text = printed(executed, CHAPTER, "collapse_snaps = toy_run(")
    rows = re.findall(r"step (\d+): (\d)/8 modes, spread ([.\d]+)", text)
    assert len(rows) == 5, text
    assert all(int(modes) == 0 and 0.1 < float(spread) < 0.6 for _, modes, spread in rows)


@pytest.mark.slow
def test_wgan_gp_covers_the_ring_and_keeps_gradient_norms_near_one(executed):
    """Section 5: WGAN-GP covers all 8 modes; the critic's gradient norms on interpolates centre
    on 1, with the middle 90 % below 1.6."""
    (modes,) = numbers(r"(\d)/8 modes", printed(executed, CHAPTER, "LAMBDA = "))
    assert modes == 8
    text = printed(executed, CHAPTER, "x_hat = torch.lerp(")
    mean, low, high = numbers(r"mean ([.\d]+), middle 90% between ([.\d]+) and ([.\d]+)", text)
    assert 0.8 < mean < 1.3 and low > 0.3 and high < 1.6


@pytest.mark.slow
def test_the_dcgan_draws_most_digits_and_the_slow_discriminator_run_collapses(executed):
    """Section 6: the fast-mode DCGAN shows >= 6 digits, the slowed one a single class; both
    varieties are printed."""
    text = printed(executed, CHAPTER, "def class_shares(")
    (accuracy,) = numbers(r"test accuracy ([.\d]+)", text)
    (present,) = numbers(r"(\d+) of 10 digits make up", text)
    assert accuracy > 0.9 and present >= 6
    text = printed(executed, CHAPTER, "G_bad, bad_history, bad_grids")
    (classes,) = numbers(r"collapsed run: (\d+) of 10 digits", text)
    (healthy,) = numbers(r"variety of the healthy run's samples: ([.\d]+)", text)
    (collapsed,) = numbers(r"variety of the collapsed run's samples: ([.\d]+)", text)
    assert classes <= 1 and healthy > 0.2 and abs(healthy - collapsed) < 0.1
