"""Chapter 07 (autoencoders): the facts its lesson text relies on, read from the self-test's fast-mode run.

The session's self-test (fixture ``course_selftest``) executes the solution in fast mode and keeps
the executed notebook; each test reads what one lesson cell printed and names the passage it
guards, so a change of settings that makes a sentence untrue fails here. Alt text is checked in
test_lesson_facts.py.
"""

from __future__ import annotations

import pytest
from lesson_output import numbers, printed

CHAPTER = "07_autoencoders"


@pytest.mark.slow
def test_autoencoders_beat_pca_at_small_codes_and_ae32_reaches_its_goal(executed):
    """Section 5: the AE's points lie below PCA at codes 2 and 8; AE-32's held-out MSE <= 0.03."""
    text = printed(executed, CHAPTER, "def pairs_loader(")
    row = r"AE-{k}\s+held-out MSE (\S+)\s+PCA-{k}\s+(\S+)"
    for k in (2, 8):
        ae, pca = numbers(row.format(k=k), text)
        assert ae < pca, f"AE-{k} {ae} vs PCA-{k} {pca}"
    ae32, _ = numbers(row.format(k=32), text)
    assert ae32 <= 0.03


@pytest.mark.slow
def test_the_conv_autoencoder_has_about_a_sixth_of_the_parameters(executed):
    """Section 6: "about a sixth of the parameters" of the MLP AE-32."""
    text = printed(executed, CHAPTER, "class ResizeConvDecoder(")
    (mlp,) = numbers(r"MLP AE-32\s*:\s*([\d,]+) parameters", text)
    (conv,) = numbers(r"conv AE-32\s*:\s*([\d,]+) parameters", text)
    assert 5 < mlp / conv < 7


@pytest.mark.slow
def test_the_denoiser_cuts_the_noise_error_at_least_twofold(executed):
    """Section 7: the denoising AE at least halves the error of the noisy digits (about 4x fast);
    the plain AE-32 does worse than the denoiser."""
    text = printed(executed, CHAPTER, "NOISE_STD = 0.5")
    (noisy,) = numbers(r"noisy input (\S+)", text)
    (plain,) = numbers(r"plain AE-32 on the noisy input (\S+)", text)
    denoised, gain = numbers(r"denoising AE-32 (\S+)\s+->\s+(\S+)x lower", text)
    assert gain >= 3 and noisy / denoised >= 3 and plain > denoised


@pytest.mark.slow
def test_dropout_trains_slower_with_a_smaller_gap_and_differs_in_training_mode(executed):
    """Section 8: the dropout AE's eval error is higher than the plain one's, its gap smaller, its
    training-mode error higher still, and two training-mode calls disagree."""
    text = printed(executed, CHAPTER, "drop_ae = Autoencoder(")
    _, plain_test, plain_gap = numbers(
        r"plain AE-32\s+train (\S+)\s+held-out (\S+)\s+gap (\S+)", text
    )
    _, drop_test, drop_gap = numbers(
        r"dropout AE-32\s+train (\S+)\s+held-out (\S+)\s+gap (\S+)", text
    )
    train_mode, differ = numbers(r"training mode: held-out MSE (\S+); .* differ by (\S+)", text)
    assert drop_test > plain_test and drop_gap < plain_gap
    assert train_mode > drop_test and differ > 0.001


@pytest.mark.slow
def test_the_vae_reaches_its_likelihood_figures(executed):
    """Section 11: VAE-16 about 147 nats after two epochs (fast), KL about 15; VAE-2 pays less KL
    (about 5) but reconstructs worse."""
    text = printed(executed, CHAPTER, "class VAE(nn.Module)")
    elbo16, recon16, kl16 = numbers(
        r"VAE-16 .*-ELBO (\S+) nats per image = reconstruction (\S+) \+ KL (\S+)", text
    )
    elbo2, recon2, kl2 = numbers(
        r"VAE-2, held-out: -ELBO (\S+) = reconstruction (\S+) \+ KL (\S+)", text
    )
    assert 135 < elbo16 < 160 and 10 < kl16 < 25
    assert kl2 < kl16 and recon2 > recon16 and 3 < kl2 < 8
