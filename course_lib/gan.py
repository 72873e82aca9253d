"""Pieces for generative adversarial networks: the 8-Gaussian ring, mode coverage, losses, a DCGAN.

Chapter 08 writes each of these as an exercise first; its later demos (WGAN-GP, the DCGAN) and
any later chapter import them from here. Losses take *logits* (the discriminator's raw scores)
and are batch means.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "Coverage",
    "ring_centres",
    "sample_ring",
    "mode_coverage",
    "discriminator_loss",
    "generator_loss",
    "gradient_penalty",
    "critic_loss",
    "dcgan_generator",
    "dcgan_discriminator",
]


class Coverage(NamedTuple):
    """What ``mode_coverage`` measures: modes covered, share of high-quality samples, counts per mode."""

    modes: int
    high_quality: float
    counts: torch.Tensor  # (K,) high-quality samples nearest to each mode


def ring_centres(
    n_modes: int = 8, radius: float = 2.0, device: torch.device | str | None = None
) -> torch.Tensor:
    """Return the ``(n_modes, 2)`` centres ``radius * (cos a_k, sin a_k)``, ``a_k = 2 pi k / n_modes``."""
    angles = torch.arange(n_modes, device=device) * (2 * math.pi / n_modes)
    return radius * torch.stack([torch.cos(angles), torch.sin(angles)], dim=1)


def sample_ring(
    n: int,
    n_modes: int = 8,
    radius: float = 2.0,
    std: float = 0.05,
    generator: torch.Generator | None = None,
    device: torch.device | str | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Draw ``n`` points from an equal mixture of ``n_modes`` Gaussians (std ``std``) on a circle.

    Returns ``(points (n, 2) float32, modes (n,) int64)`` on ``device``; ``modes[i]`` is the
    component point ``i`` came from. Random numbers come from ``generator`` (a CPU generator).
    """
    modes = torch.randint(n_modes, (n,), generator=generator)
    noise = torch.randn(n, 2, generator=generator)
    points = ring_centres(n_modes, radius)[modes] + std * noise
    return points.to(device), modes.to(device)


def mode_coverage(
    samples: torch.Tensor, centres: torch.Tensor, radius: float, min_count: int = 20
) -> Coverage:
    """Measure how many modes a generator covers.

    A sample is *high quality* when it lies within ``radius`` of its nearest centre (3 standard
    deviations is usual); a mode is *covered* when at least ``min_count`` high-quality samples
    are nearest to it. samples: (N, D); centres: (K, D).
    """
    distances = torch.cdist(samples.float(), centres.float())  # (N, K)
    nearest, mode = distances.min(dim=1)
    good = nearest <= radius
    counts = torch.bincount(mode[good], minlength=len(centres))
    return Coverage(int((counts >= min_count).sum()), float(good.float().mean()), counts)


def discriminator_loss(
    real_logits: torch.Tensor, fake_logits: torch.Tensor, real_label: float = 1.0
) -> torch.Tensor:
    """Binary cross-entropy of D: real samples labelled ``real_label`` (1, or 0.9 to smooth), fakes 0.

    Returns mean BCE over the real batch plus mean BCE over the fake batch (a 0-d tensor).
    """
    real_targets = torch.full_like(real_logits, real_label)
    return F.binary_cross_entropy_with_logits(
        real_logits, real_targets
    ) + F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))


def generator_loss(fake_logits: torch.Tensor, non_saturating: bool = True) -> torch.Tensor:
    """The generator's loss on D's logits for generated samples (a 0-d tensor).

    non-saturating: ``-mean log D(G(z))``; minimax: ``mean log(1 - D(G(z)))``, computed stably
    from logits (``log sigmoid(l)`` = ``-softplus(-l)``, ``log(1 - sigmoid(l))`` = ``-softplus(l)``).
    """
    if non_saturating:
        return F.softplus(-fake_logits).mean()
    return -F.softplus(fake_logits).mean()


def gradient_penalty(
    critic: Callable[[torch.Tensor], torch.Tensor], real: torch.Tensor, fake: torch.Tensor
) -> torch.Tensor:
    """WGAN-GP's penalty ``mean((||grad_x critic(x_hat)||_2 - 1)^2)`` on random interpolates.

    ``x_hat = eps * real + (1 - eps) * fake`` with one ``eps ~ U(0, 1)`` per sample; the gradient
    keeps its graph (``create_graph=True``) so the penalty trains the critic. real, fake: (B, ...).
    """
    shape = (real.shape[0],) + (1,) * (real.dim() - 1)  # (B, 1, ...): one eps per sample
    eps = torch.rand(shape, dtype=real.dtype, device=real.device)
    x_hat = (eps * real + (1 - eps) * fake).requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(x_hat).sum(), x_hat, create_graph=True)
    return (grad.flatten(1).norm(dim=1) - 1).pow(2).mean()


def critic_loss(
    critic: Callable[[torch.Tensor], torch.Tensor],
    real: torch.Tensor,
    fake: torch.Tensor,
    lam: float = 10.0,
) -> torch.Tensor:
    """WGAN-GP's critic loss ``mean critic(fake) - mean critic(real) + lam * gradient_penalty``.

    ``fake`` must already be detached from the generator. Minus the first two terms is the
    critic's estimate of the Wasserstein-1 distance.
    """
    gap = critic(fake).mean() - critic(real).mean()
    return gap + lam * gradient_penalty(critic, real, fake)


def dcgan_generator(latent_dim: int = 64, ngf: int = 32) -> nn.Sequential:
    """Noise ``(B, latent_dim)`` -> images ``(B, 1, 28, 28)`` in [-1, 1]: 1x1 -> 7x7 -> 14x14 -> 28x28.

    Transposed convolutions with BatchNorm and ReLU, a tanh output (the DCGAN recipe).
    """
    return nn.Sequential(
        nn.Unflatten(1, (latent_dim, 1, 1)),
        nn.ConvTranspose2d(latent_dim, 2 * ngf, 7, bias=False),
        nn.BatchNorm2d(2 * ngf),
        nn.ReLU(),
        nn.ConvTranspose2d(2 * ngf, ngf, 4, stride=2, padding=1, bias=False),
        nn.BatchNorm2d(ngf),
        nn.ReLU(),
        nn.ConvTranspose2d(ngf, 1, 4, stride=2, padding=1),
        nn.Tanh(),
    )


def dcgan_discriminator(ndf: int = 32) -> nn.Sequential:
    """Images ``(B, 1, 28, 28)`` -> logits ``(B,)``: 28x28 -> 14x14 -> 7x7 -> 1x1.

    Strided convolutions with LeakyReLU(0.2), BatchNorm on the middle layer only, no sigmoid.
    """
    return nn.Sequential(
        nn.Conv2d(1, ndf, 4, stride=2, padding=1),
        nn.LeakyReLU(0.2),
        nn.Conv2d(ndf, 2 * ndf, 4, stride=2, padding=1, bias=False),
        nn.BatchNorm2d(2 * ndf),
        nn.LeakyReLU(0.2),
        nn.Conv2d(2 * ndf, 1, 7),
        nn.Flatten(0),
    )
