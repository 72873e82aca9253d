"""course_lib.gan: the ring of Gaussians, mode coverage, GAN losses and the gradient penalty."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from course_lib import gan, grading


def test_ring_centres_lie_on_the_circle_at_equal_angles():
    """Are the centres on the circle of the given radius, the first on the x-axis, evenly spaced?"""
    c = gan.ring_centres(8, radius=2.0)
    assert c.shape == (8, 2) and c.dtype == torch.float32
    torch.testing.assert_close(c.norm(dim=1), torch.full((8,), 2.0))
    torch.testing.assert_close(c[0], torch.tensor([2.0, 0.0]))
    angles = torch.atan2(c[:, 1], c[:, 0]).remainder(2 * math.pi)
    torch.testing.assert_close(angles, torch.arange(8) * (2 * math.pi / 8))


def test_sample_ring_is_reproducible_labelled_and_spread_as_asked():
    """Do points come from their labelled mode with the asked std, every mode about equally often?"""
    g = torch.Generator().manual_seed(0)
    x, m = gan.sample_ring(8000, std=0.1, generator=g)
    assert x.shape == (8000, 2) and m.shape == (8000,) and m.dtype == torch.int64
    offsets = x - gan.ring_centres()[m]
    assert abs(offsets.std().item() - 0.1) < 0.005
    counts = torch.bincount(m, minlength=8)
    assert counts.min() > 850 and counts.max() < 1150
    x2, m2 = gan.sample_ring(8000, std=0.1, generator=torch.Generator().manual_seed(0))
    assert torch.equal(x, x2) and torch.equal(m, m2)


def test_sample_ring_honours_the_device():
    """Are the points made on the asked device (meta: no values, but the device must be right)?"""
    x, m = gan.sample_ring(5, device="meta")
    assert x.device.type == "meta" and m.device.type == "meta"


def test_mode_coverage_counts_high_quality_samples_per_mode():
    """Is a mode covered only with min_count samples within the radius, and is the share right?"""
    centres = gan.ring_centres(4, radius=1.0)
    near = centres[[0, 0, 0, 1, 1, 2]] + 0.01  # 3 near mode 0, 2 near mode 1, 1 near mode 2
    far = torch.tensor([[0.0, 0.0], [5.0, 5.0]])  # within no radius of any centre
    cov = gan.mode_coverage(torch.cat([near, far]), centres, radius=0.1, min_count=2)
    assert cov.modes == 2
    assert cov.high_quality == pytest.approx(6 / 8)
    assert cov.counts.tolist() == [3, 2, 1, 0]
    modes, share, _ = gan.mode_coverage(near, centres, radius=0.1, min_count=1)
    assert (modes, share) == (3, 1.0)


def test_mode_coverage_of_the_data_itself_is_full():
    """Does a sample of the ring itself cover all 8 modes with almost only high-quality points?"""
    x, _ = gan.sample_ring(2000, std=0.05, generator=torch.Generator().manual_seed(1))
    cov = gan.mode_coverage(x, gan.ring_centres(), radius=0.15)
    assert cov.modes == 8 and cov.high_quality > 0.98


def test_losses_match_binary_cross_entropy_and_stay_finite():
    """Do the losses equal BCE on probabilities, and stay finite for logits far from zero?"""
    real = torch.tensor([2.0, -1.0, 0.5])
    fake = torch.tensor([-3.0, 0.2])
    bce = F.binary_cross_entropy
    want = bce(torch.sigmoid(real), torch.ones(3)) + bce(torch.sigmoid(fake), torch.zeros(2))
    torch.testing.assert_close(gan.discriminator_loss(real, fake), want)
    smoothed = bce(torch.sigmoid(real), torch.full((3,), 0.9)) + bce(
        torch.sigmoid(fake), torch.zeros(2)
    )
    torch.testing.assert_close(gan.discriminator_loss(real, fake, real_label=0.9), smoothed)
    torch.testing.assert_close(gan.generator_loss(fake), -torch.log(torch.sigmoid(fake)).mean())
    torch.testing.assert_close(
        gan.generator_loss(fake, non_saturating=False), torch.log(1 - torch.sigmoid(fake)).mean()
    )
    extreme = torch.tensor([-200.0, 200.0])
    for loss in (
        gan.discriminator_loss(extreme, extreme),
        gan.generator_loss(extreme),
        gan.generator_loss(extreme, non_saturating=False),
    ):
        assert torch.isfinite(loss)


def test_non_saturating_loss_keeps_its_gradient_where_minimax_loses_it():
    """When D confidently rejects a fake (logit -8), is the minimax gradient tiny and the other not?"""
    logit = torch.tensor([-8.0], requires_grad=True)
    (g_minimax,) = torch.autograd.grad(gan.generator_loss(logit, non_saturating=False), logit)
    (g_ns,) = torch.autograd.grad(gan.generator_loss(logit), logit)
    assert abs(g_minimax.item()) < 1e-3 and abs(g_ns.item()) > 0.99


def test_gradient_penalty_of_a_linear_critic_is_known_in_closed_form():
    """For critic(x) = w.x + b is the penalty (||w|| - 1)^2, with the gradient 2(||w|| - 1) w/||w||?"""
    torch.manual_seed(0)
    critic = nn.Linear(3, 1)
    real, fake = torch.randn(16, 3), torch.randn(16, 3)
    gp = gan.gradient_penalty(critic, real, fake)
    w = critic.weight.detach()
    torch.testing.assert_close(gp, (w.norm() - 1) ** 2)
    (grad_w,) = torch.autograd.grad(gp, critic.weight)
    torch.testing.assert_close(grad_w, 2 * (w.norm() - 1) * w / w.norm())


def test_gradient_penalty_on_images_interpolates_per_sample():
    """On (B, C, H, W) inputs, is each interpolate on the segment between its own real and fake?"""
    seen = []

    def critic(x):
        seen.append(x.detach())
        return (x**2).sum(dim=(1, 2, 3))

    real, fake = torch.randn(6, 1, 4, 4), torch.randn(6, 1, 4, 4)
    gp = gan.gradient_penalty(critic, real, fake)
    assert gp.shape == ()
    x_hat = seen[0]
    eps = ((x_hat - fake).flatten(1) / (real - fake).flatten(1)).mean(1)
    torch.testing.assert_close(
        x_hat, eps.view(-1, 1, 1, 1) * real + (1 - eps.view(-1, 1, 1, 1)) * fake
    )
    assert ((eps >= 0) & (eps <= 1)).all() and eps.unique().numel() == 6


def test_gradient_penalty_makes_no_tensor_on_the_default_device():
    """Does the penalty draw its eps on the inputs' device (checked on meta)?"""
    critic = nn.Linear(2, 1)
    grading.check_device(gan.gradient_penalty, critic, torch.randn(4, 2), torch.randn(4, 2))


def test_critic_loss_of_a_linear_critic():
    """Is the critic loss the score gap plus lam times the (closed-form) penalty?"""
    torch.manual_seed(1)
    critic = nn.Sequential(nn.Linear(3, 1), nn.Flatten(0))
    real, fake = torch.randn(10, 3) + 1, torch.randn(10, 3)
    w = critic[0].weight.detach()
    with torch.no_grad():
        gap = critic(fake).mean() - critic(real).mean()
    for lam in (0.0, 10.0):
        loss = gan.critic_loss(critic, real, fake, lam=lam)
        torch.testing.assert_close(loss.detach(), gap + lam * (w.norm() - 1) ** 2)
    assert loss.requires_grad


def test_dcgan_shapes_and_ranges():
    """Does the generator make (B, 1, 28, 28) images in [-1, 1] and the discriminator (B,) logits?"""
    torch.manual_seed(0)
    G, D = gan.dcgan_generator(16, 8), gan.dcgan_discriminator(8)
    images = G(torch.randn(3, 16))
    assert images.shape == (3, 1, 28, 28)
    assert -1 <= images.min() < 0 < images.max() <= 1
    assert D(images).shape == (3,)
    G.eval()
    D.eval()
    assert D(G(torch.randn(1, 16))).shape == (1,)
