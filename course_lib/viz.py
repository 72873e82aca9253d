"""Pictures for lessons: training histories, image grids and live curves (inline in Jupyter, PNG/CSV elsewhere)."""

from __future__ import annotations

import csv
import math
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

__all__ = [
    "plot_history",
    "show_images",
    "confusion_matrix",
    "scatter_2d",
    "LivePlot",
    "in_notebook",
]


def in_notebook() -> bool:
    """Return whether we run inside a Jupyter kernel (where figures display inline)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and shell.__class__.__name__ == "ZMQInteractiveShell"


def _draw_metrics(axes: Sequence[Any], history: dict[str, Any], metrics: Sequence[str]) -> None:
    for ax, metric in zip(axes, metrics, strict=True):
        for split, style in (("train", "-"), ("val", "--")):
            values = history.get(f"{split}_{metric}", [])
            if values and not all(isinstance(v, float) and math.isnan(v) for v in values):
                ax.plot(range(1, len(values) + 1), values, style, marker=".", label=split)
        best = history.get("best_epoch", -1)
        if isinstance(best, int) and best >= 0:
            ax.axvline(best + 1, color="grey", lw=0.8, ls=":", label="best (val loss)")
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs are whole numbers
        ax.set_ylabel(metric)
        ax.grid(alpha=0.3)
        if ax.lines:
            ax.legend()


def plot_history(history: dict[str, Any], metrics: Sequence[str] = ("loss", "acc")) -> Figure:
    """Plot train (solid) and validation (dashed) curves of each metric against the epoch (1-based).

    history: as returned by ``training.fit`` (keys ``train_<metric>``, ``val_<metric>``, optional
    ``best_epoch``, marked with a dotted line). Returns the figure; in Jupyter it shows at the end of
    the cell like any pyplot figure (write ``fig = plot_history(...)`` to avoid showing it twice).
    """
    fig, axes = plt.subplots(1, len(metrics), figsize=(4.5 * len(metrics), 3.2), squeeze=False)
    _draw_metrics(axes[0], history, metrics)
    fig.tight_layout()
    return fig


def _denormalize(images: torch.Tensor, denormalize: Callable | tuple | None) -> torch.Tensor:
    if denormalize is None:
        return images
    if callable(denormalize):
        return denormalize(images)
    mean, std = (torch.as_tensor(v, dtype=images.dtype).view(1, -1, 1, 1) for v in denormalize)
    return images * std + mean


def show_images(
    images: torch.Tensor,
    labels: Sequence[Any] | torch.Tensor | None = None,
    nrow: int = 8,
    title: str | None = None,
    denormalize: Callable | tuple | None = None,
) -> Figure:
    """Show a batch as a grid of ``nrow`` columns, each image titled with its label.

    images: (B, C, H, W) with C in {1, 3}, values in [0, 1] after ``denormalize`` (a function of
    the batch, or a ``(mean, std)`` pair per channel undoing ``Normalize``). labels: B strings or ints.
    """
    images = _denormalize(images.detach().cpu().float(), denormalize).clamp(0, 1)
    if images.dim() != 4 or images.shape[1] not in (1, 3):
        raise ValueError(f"images must be (B, 1 or 3, H, W), got {tuple(images.shape)}")
    if isinstance(labels, torch.Tensor):
        labels = labels.tolist()
    b = images.shape[0]
    ncol = max(1, min(nrow, b))
    nrows = max(1, math.ceil(b / ncol))
    names = [str(label) for label in labels] if labels is not None else []
    # wide enough for the longest title, so titles never overlap or get cut
    width = max(1.3, 0.075 * max((len(n) for n in names), default=0) + 0.45)
    fig, axes = plt.subplots(
        nrows, ncol, figsize=(width * ncol, 1.4 * nrows + (0.4 if title else 0)), squeeze=False
    )
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i >= b:
            continue
        img = images[i]
        if img.shape[0] == 1:
            ax.imshow(img[0].numpy(), cmap="gray", vmin=0, vmax=1)
        else:
            ax.imshow(img.permute(1, 2, 0).numpy())
        if names:
            ax.set_title(names[i], fontsize=9)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def confusion_matrix(
    y_true: Sequence[int] | torch.Tensor,
    y_pred: Sequence[int] | torch.Tensor,
    classes: Sequence[str],
    normalize: bool = True,
    title: str | None = None,
) -> Figure:
    """Draw the confusion matrix: row = true class, column = predicted class.

    With ``normalize`` each row shows the share of that class's samples predicted as each class
    (the diagonal is the per-class recall); otherwise counts. Cells are annotated.
    """
    k = len(classes)
    t = torch.as_tensor(y_true).long().flatten().cpu()
    p = torch.as_tensor(y_pred).long().flatten().cpu()
    counts = torch.bincount(t * k + p, minlength=k * k).reshape(k, k).double()
    shown = counts / counts.sum(1, keepdim=True).clamp_min(1) if normalize else counts
    size = max(3.5, 0.5 * k + 1.5)
    fig, ax = plt.subplots(figsize=(size + 1, size))
    im = ax.imshow(shown.numpy(), cmap="Blues", vmin=0, vmax=1 if normalize else None)
    ax.set_xticks(range(k), [str(c) for c in classes], rotation=45, ha="right")
    ax.set_yticks(range(k), [str(c) for c in classes])
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    for i in range(k):
        for j in range(k):
            value = shown[i, j].item()
            text = f"{value:.2f}" if normalize else f"{int(value)}"
            dark = value > (0.5 if normalize else shown.max().item() / 2)
            ax.text(
                j, i, text, ha="center", va="center", fontsize=7, color="white" if dark else "black"
            )
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    accuracy = counts.diag().sum().item() / max(counts.sum().item(), 1)
    ax.set_title(title or f"accuracy {accuracy:.3f}")
    fig.tight_layout()
    return fig


def scatter_2d(
    points: torch.Tensor,
    labels: Sequence[int] | torch.Tensor | None = None,
    classes: Sequence[str] | None = None,
    annotations: Sequence[str] | None = None,
    title: str | None = None,
    ax: Axes | None = None,
) -> Figure:
    """Scatter ``points`` (N, 2), coloured by integer ``labels`` with a legend of ``classes``.

    For latent spaces and projected embeddings. ``annotations`` writes a word next to each point;
    ``ax`` draws into an existing axes (for panels side by side). Returns the figure.
    """
    xy = torch.as_tensor(points).detach().float().cpu()
    if xy.dim() != 2 or xy.shape[1] != 2:
        raise ValueError(f"points must be (N, 2), got {tuple(xy.shape)}")
    if ax is None:
        fig, ax = plt.subplots(figsize=(5, 4.5))
    else:
        fig = ax.figure
    if labels is None:
        ax.scatter(xy[:, 0], xy[:, 1], s=8, alpha=0.7)
    else:
        y = torch.as_tensor(labels).long().cpu()
        cmap = plt.get_cmap("tab10" if int(y.max()) < 10 else "tab20")
        for c in torch.unique(y).tolist():
            mask = y == c
            name = classes[c] if classes is not None else str(c)
            ax.scatter(xy[mask, 0], xy[mask, 1], s=8, alpha=0.7, color=cmap(c % cmap.N), label=name)
        ax.legend(fontsize=7, markerscale=2, loc="best", frameon=False)
    for (u, v), word in zip(xy.tolist(), annotations or [], strict=False):
        ax.annotate(word, (u, v), fontsize=8, xytext=(3, 3), textcoords="offset points")
    if title:
        ax.set_title(title)
    return fig


class LivePlot:
    """Training curves that redraw after every epoch: inline in Jupyter, PNG + CSV files elsewhere.

    ``update(epoch, metrics)`` takes a dict like ``{"train_loss": 0.3, "val_loss": 0.4, ...}`` (what
    ``training.fit`` passes). Outside Jupyter each update rewrites ``png_path`` and appends a row to
    ``csv_path`` in ``out_dir`` (default: a fresh temporary folder). ``every`` redraws only every n-th
    epoch (drawing costs ~0.1 s); ``close()`` draws the last state.
    """

    def __init__(
        self,
        metrics: Sequence[str] = ("loss", "acc"),
        out_dir: str | Path | None = None,
        name: str = "live",
        every: int = 1,
        inline: bool | None = None,
    ) -> None:
        self.metrics = tuple(metrics)
        self.every = max(1, every)
        self.inline = in_notebook() if inline is None else inline
        self.history: dict[str, list[float]] = {}
        self.epochs: list[int] = []
        self._display = None
        self._pending = False
        if self.inline:
            self.out_dir = None
            self.png_path = self.csv_path = None
        else:
            self.out_dir = (
                Path(out_dir)
                if out_dir is not None
                else Path(tempfile.mkdtemp(prefix="course_live_"))
            )
            self.out_dir.mkdir(parents=True, exist_ok=True)
            self.png_path = self.out_dir / f"{name}.png"
            self.csv_path = self.out_dir / f"{name}.csv"
            self.csv_path.unlink(missing_ok=True)

    def update(self, epoch: int, metrics: dict[str, float]) -> None:
        """Record one epoch's metrics and redraw (every ``every`` epochs)."""
        self.epochs.append(epoch)
        for key, value in metrics.items():
            self.history.setdefault(key, []).append(float(value))
        if self.csv_path is not None:
            self._append_csv(epoch, metrics)
        self._pending = True
        if len(self.epochs) % self.every == 0:
            self.draw()

    def _append_csv(self, epoch: int, metrics: dict[str, float]) -> None:
        new = not self.csv_path.exists()
        with self.csv_path.open("a", newline="") as f:
            writer = csv.writer(f)
            if new:
                writer.writerow(["epoch", *metrics])
            writer.writerow([epoch, *(float(v) for v in metrics.values())])

    def figure(self) -> Figure:
        """Return a new figure of the curves recorded so far."""
        fig, axes = plt.subplots(
            1, len(self.metrics), figsize=(4.5 * len(self.metrics), 3.2), squeeze=False
        )
        _draw_metrics(axes[0], self.history, self.metrics)
        fig.tight_layout()
        return fig

    def draw(self) -> None:
        """Redraw now: update the inline figure in place, or rewrite the PNG."""
        fig = self.figure()
        if self.inline:
            from IPython.display import display

            if self._display is None:
                self._display = display(fig, display_id=True)
            else:
                self._display.update(fig)
        else:
            fig.savefig(self.png_path, dpi=80)
        plt.close(fig)
        self._pending = False

    def close(self) -> None:
        """Draw the final state if the last update was not drawn yet."""
        if self._pending:
            self.draw()
