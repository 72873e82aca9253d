"""Generated offline stand-ins for data sets no installed package ships: drawn by code, named for what they are.

Each generator returns ``{"train": (images, targets), "val": ..., "test": ...}`` with uint8
``(N, C, H, W)`` images and int64 targets, balanced over 10 classes, deterministic (one seed per
split) and cached for the process. ``fashion_silhouettes`` stands in for Fashion-MNIST where
Debian's real files are missing; ``coloured_shapes`` stands in for CIFAR-10.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import torch
import torch.nn.functional as F

__all__ = [
    "FASHION_CLASSES",
    "SHAPE_CLASSES",
    "SPLIT_SIZES",
    "fashion_silhouettes",
    "coloured_shapes",
]

SPLIT_SIZES = {"train": 6000, "val": 1000, "test": 1000}
Parts = dict[str, tuple[torch.Tensor, torch.Tensor]]


def _templates(mask_fn: Callable, size: int) -> torch.Tensor:
    """Draw the 10 class shapes once on a (size, size) grid in [-1, 1]: (10, 1, size, size) float."""
    axis = torch.linspace(-1, 1, 2 * size)  # drawn at twice the size, then averaged: smooth edges
    v, u = torch.meshgrid(axis, axis, indexing="ij")  # u: right, v: down
    masks = torch.stack([mask_fn(c, u, v).float() for c in range(10)]).unsqueeze(1)
    return F.avg_pool2d(masks, 2)


def _place(
    masks: torch.Tensor, g: torch.Generator, jitter: float, scale: tuple, tilt: float, aspect=0.0
) -> torch.Tensor:
    """Move each (N, 1, S, S) mask by a random shift, scale and rotation; stretch by up to ``aspect``."""
    n, size = masks.shape[0], masks.shape[-1]
    sx = sy = torch.empty(n).uniform_(*scale, generator=g)
    if aspect:
        sy = sx * torch.empty(n).uniform_(1 - aspect, 1 + aspect, generator=g)
    angle = torch.empty(n).uniform_(-tilt, tilt, generator=g)
    shift = torch.empty(n, 2).uniform_(-jitter, jitter, generator=g)
    theta = torch.zeros(n, 2, 3)  # output coords -> template coords
    theta[:, 0, 0], theta[:, 0, 1] = angle.cos() / sx, -angle.sin() / sx
    theta[:, 1, 0], theta[:, 1, 1] = angle.sin() / sy, angle.cos() / sy
    theta[:, :, 2] = shift
    grid = F.affine_grid(theta, [n, 1, size, size], align_corners=False)
    return F.grid_sample(masks, grid, align_corners=False)


def _balanced_targets(n: int, g: torch.Generator) -> torch.Tensor:
    return torch.arange(10).repeat_interleave(n // 10)[torch.randperm(n, generator=g)]


def _rect(u, v, u0, u1, v0, v1):
    return (u >= u0) & (u <= u1) & (v >= v0) & (v <= v1)


FASHION_CLASSES = [
    "tee",
    "trousers",
    "pullover",
    "dress",
    "coat",
    "sandal",
    "shirt",
    "sneaker",
    "bag",
    "boot",
]
# each garment is drawn partly blended with a look-alike, as real tops, shoes and coats resemble
# one another: tee-shirt, pullover-coat, sandal-sneaker, sneaker-boot ...
_LOOK_ALIKE = [6, 3, 4, 4, 2, 7, 2, 9, 4, 7]


def _fashion_mask(c: int, u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    torso = _rect(u, v, -0.45, 0.45, -0.7, 0.8)
    long_sleeves = _rect(u.abs(), v, 0.45, 0.75, -0.7, 0.7) & (v > -0.7 + 0.6 * (u.abs() - 0.45))
    if c == 0:  # tee: torso with short sleeves
        return torso | _rect(u.abs(), v, 0.45, 0.85, -0.7, -0.3)
    if c == 1:  # trousers: two legs joined at the waist
        return _rect(u, v, -0.4, 0.4, -0.85, -0.55) | _rect(u.abs(), v, 0.06, 0.42, -0.6, 0.9)
    if c == 2:  # pullover: torso with long sleeves
        return torso | long_sleeves
    if c == 3:  # dress: narrow top flaring to a wide hem
        return (v >= -0.85) & (v <= 0.9) & (u.abs() <= 0.2 + 0.35 * (v + 0.85))
    if c == 4:  # coat: long sleeves, longer body, an open front
        body = _rect(u, v, -0.5, 0.5, -0.75, 0.95) | long_sleeves
        return body & ~_rect(u, v, -0.05, 0.05, -0.75, 0.95)
    if c == 5:  # sandal: thin straps over a sole
        straps = _rect(u, v, -0.7, 0.7, -0.1, 0.45) & (torch.remainder((u + 1) * 4, 1) < 0.35)
        return _rect(u, v, -0.85, 0.85, 0.45, 0.6) | straps
    if c == 6:  # shirt: long sleeves and a V collar cut into the torso
        return (torso | long_sleeves) & ~((v < -0.3) & (u.abs() < -1.5 * (v + 0.3)))
    if c == 7:  # sneaker: low wedge, higher at the heel
        return (u.abs() <= 0.9) & (v <= 0.6) & (v >= 0.3 - 0.25 * (u + 0.9))
    if c == 8:  # bag: box with a handle arc
        r = (u.square() + (v + 0.2).square()).sqrt()
        return _rect(u, v, -0.7, 0.7, -0.2, 0.8) | ((r > 0.35) & (r < 0.5) & (v < -0.2))
    # ankle boot: a shaft and a foot
    return _rect(u, v, -0.1, 0.5, -0.8, 0.7) | _rect(u, v, -0.85, 0.5, 0.3, 0.7)


@functools.cache
def fashion_silhouettes() -> Parts:
    """Ten garment-like silhouettes, 28x28 grey, 6,000 / 1,000 / 1,000: a stand-in for Fashion-MNIST.

    Each image blends its class's outline with a look-alike class (up to 45 %), then varies place,
    size, aspect, rotation, tone, a striped or plain texture, a random occluding patch and noise,
    so that, as on the real data, a small MLP confuses tops with tops and shoes with shoes.
    """
    templates = _templates(_fashion_mask, 28)
    out = {}
    for i, (split, n) in enumerate(SPLIT_SIZES.items()):
        g = torch.Generator().manual_seed(1000 + i)  # one seed per split: independent samples
        targets = _balanced_targets(n, g)
        mix = torch.empty(n, 1, 1, 1).uniform_(0.0, 0.45, generator=g)
        outline = torch.lerp(templates[targets], templates[torch.tensor(_LOOK_ALIKE)[targets]], mix)
        mask = _place(outline, g, jitter=0.15, scale=(0.75, 1.1), tilt=0.25, aspect=0.15)
        tone = torch.empty(n, 1, 1, 1).uniform_(0.35, 1.0, generator=g)
        rows = torch.arange(28).view(1, 1, 28, 1)
        period = torch.randint(2, 6, (n, 1, 1, 1), generator=g)
        striped = torch.rand(n, 1, 1, 1, generator=g) < 0.3
        stripes = torch.where(striped & (rows % period == 0), 0.55, 1.0)
        texture = stripes * (0.8 + 0.2 * torch.rand(n, 1, 28, 28, generator=g))
        img = mask * tone * texture + 0.12 * torch.rand(n, 1, 28, 28, generator=g)
        corner = torch.randint(0, 20, (n, 2), generator=g)
        for k in torch.nonzero(torch.rand(n, generator=g) < 0.25).flatten().tolist():
            top, left = corner[k].tolist()
            img[k, :, top : top + 8, left : left + 8] = 0.1  # something in front of the garment
        out[split] = ((img.clamp(0, 1) * 255).round().to(torch.uint8), targets)
    return out


SHAPE_CLASSES = [
    "disc",
    "square",
    "triangle",
    "cross",
    "ring",
    "diamond",
    "h-bar",
    "v-bar",
    "frame",
    "two dots",
]


def _shape_mask(c: int, u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    r = (u.square() + v.square()).sqrt()
    if c == 0:
        return r < 0.6
    if c == 1:
        return (u.abs() < 0.5) & (v.abs() < 0.5)
    if c == 2:
        return (v > -0.6) & (v < 0.5) & (u.abs() < (v + 0.6) * 0.55)
    if c == 3:
        return ((u.abs() < 0.15) & (v.abs() < 0.65)) | ((v.abs() < 0.15) & (u.abs() < 0.65))
    if c == 4:
        return (r > 0.38) & (r < 0.62)
    if c == 5:
        return u.abs() + v.abs() < 0.65
    if c == 6:
        return (u.abs() < 0.7) & (v.abs() < 0.17)
    if c == 7:
        return (v.abs() < 0.7) & (u.abs() < 0.17)
    if c == 8:
        return (u.abs() < 0.6) & (v.abs() < 0.6) & ~((u.abs() < 0.38) & (v.abs() < 0.38))
    return ((u + 0.35).square() + v.square() < 0.09) | ((u - 0.35).square() + v.square() < 0.09)


@functools.cache
def coloured_shapes() -> Parts:
    """Ten shapes in random colours on contrasting backgrounds, 32x32 RGB: a stand-in for CIFAR-10."""
    templates = _templates(_shape_mask, 32)
    out = {}
    for i, (split, n) in enumerate(SPLIT_SIZES.items()):
        g = torch.Generator().manual_seed(2000 + i)
        targets = _balanced_targets(n, g)
        mask = _place(templates[targets], g, jitter=0.35, scale=(0.6, 1.0), tilt=0.15)
        fg = torch.rand(n, 3, 1, 1, generator=g)
        bg = torch.rand(n, 3, 1, 1, generator=g)
        # keep contrast: a bright shape gets a dark background and the other way round
        bright = fg.mean(1, keepdim=True) > 0.5
        bg = torch.where(bright, bg * 0.4, 0.6 + bg * 0.4)
        img = torch.lerp(bg.expand(n, 3, 32, 32), fg.expand(n, 3, 32, 32), mask)
        img.add_(torch.randn(n, 3, 32, 32, generator=g), alpha=0.08).clamp_(0, 1).mul_(255).round_()
        out[split] = (img.to(torch.uint8), targets)
    return out
