"""One loop shape for every chapter: ``train_one_epoch``, ``evaluate`` and ``fit`` returning a ``History``.

The loops keep the running loss sum and correct count as tensors on the device (a ``Meter``) and
call ``.item()`` once per epoch: no per-step host-device synchronisation. Losses are assumed to be
batch means (PyTorch's default ``reduction="mean"``); accuracy is reported for classification,
where the model returns logits ``(B, K)`` (or ``(B, K, ...)``) and targets are class indices
``(B,)`` (or ``(B, ...)``), and is ``nan`` otherwise.

Models with two or more players (a GAN's generator and discriminator, an adversarial
autoencoder) train with ``fit_alternating``: per batch, each ``Phase`` in turn zeroes its
optimizer's gradients, computes its loss, back-propagates and steps.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypedDict

import torch
from tqdm.auto import tqdm

from course_lib import devices

__all__ = [
    "LossFn",
    "EpochLogger",
    "LiveCurves",
    "History",
    "Meter",
    "train_one_epoch",
    "evaluate",
    "fit",
    "load_checkpoint",
    "Phase",
    "train_alternating",
    "fit_alternating",
]


class LossFn(Protocol):
    """A loss: ``loss_fn(model_output, target)`` -> a scalar tensor (a batch mean)."""

    def __call__(self, output: Any, target: Any, /) -> torch.Tensor: ...


class EpochLogger(Protocol):
    """Where ``fit`` sends each epoch's metrics (``loggers.TensorBoardLogger``, ``VisdomLogger``)."""

    def scalar(self, tag: str, value: float, step: int) -> None: ...


class LiveCurves(Protocol):
    """What ``fit`` redraws after each epoch (``viz.LivePlot``)."""

    def update(self, epoch: int, metrics: dict[str, float]) -> None: ...


class History(TypedDict):
    """What ``fit`` returns: one entry per epoch run in each list (read it like a dict)."""

    train_loss: list[float]
    train_acc: list[float]
    val_loss: list[float]
    val_acc: list[float]
    lr: list[float]  # the learning rate used in each epoch
    best_epoch: int  # 0-based index of the lowest validation (else training) loss; -1 before any
    stopped_early: bool


def _correct(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor | None:
    """Return the number of correct predictions as a 0-d device tensor, or None if not classification."""
    if y.dtype.is_floating_point or logits.dim() != y.dim() + 1:
        return None
    return (logits.argmax(1) == y).sum()


class Meter:
    """Running mean loss and accuracy of an epoch, summed on the device of the first batch."""

    def __init__(self) -> None:
        self.loss_sum: torch.Tensor | None = None
        self.correct: torch.Tensor | None = None
        self.count = 0
        self.classify = True

    def update(self, loss: torch.Tensor, logits: torch.Tensor, y: torch.Tensor) -> None:
        """Add one batch: its mean ``loss`` (0-d), the model's output and the targets ``(B, ...)``."""
        if self.loss_sum is None:
            self.loss_sum = torch.zeros((), device=loss.device)
            self.correct = torch.zeros((), device=loss.device, dtype=torch.long)
        n = y.shape[0]
        self.loss_sum.add_(loss.detach(), alpha=n)
        hits = _correct(logits.detach(), y) if self.classify else None
        if hits is None:
            self.classify = False
        else:
            self.correct.add_(hits)
        self.count += n

    def result(self) -> dict[str, float]:
        """Mean ``loss`` and ``acc`` (nan unless classification): the one synchronisation."""
        if self.count == 0:
            raise ValueError("the loader yielded no batches")
        return {
            "loss": self.loss_sum.item() / self.count,
            "acc": self.correct.item() / self.count if self.classify else math.nan,
        }


def _run(model, loader, loss_fn, optimizer, device, progress: bool, desc: str) -> dict[str, float]:
    meter = Meter()
    for X, y in tqdm(loader, desc=desc, disable=not progress, leave=False):
        X, y = devices.to_device((X, y), device, non_blocking=True)
        logits = model(X)
        loss = loss_fn(logits, y)
        if optimizer is not None:
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        meter.update(loss, logits, y)
    return meter.result()


def train_one_epoch(
    model: torch.nn.Module,
    loader: Iterable,
    loss_fn: LossFn,
    optimizer: torch.optim.Optimizer,
    device: torch.device | str | None = None,
    progress: bool = False,
) -> dict[str, float]:
    """Train ``model`` for one pass over ``loader`` (batches ``(X, y)``); return mean ``loss`` and ``acc``.

    Each batch: ``zero_grad`` -> forward -> loss -> ``backward`` -> ``step``, in ``model.train()``
    mode. The model must already be on ``device`` (default ``devices.get_device()``).
    """
    device = devices.get_device() if device is None else torch.device(device)
    model.train()
    return _run(model, loader, loss_fn, optimizer, device, progress, "train")


def evaluate(
    model: torch.nn.Module,
    loader: Iterable,
    loss_fn: LossFn,
    device: torch.device | str | None = None,
) -> dict[str, float]:
    """Return mean ``loss`` and ``acc`` of ``model`` over ``loader``, without updating it.

    Runs in ``model.eval()`` under ``torch.inference_mode()``, then puts the model back in the
    mode (train or eval) it was in before the call.
    """
    device = devices.get_device() if device is None else torch.device(device)
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            return _run(model, loader, loss_fn, None, device, False, "eval")
    finally:
        model.train(was_training)


def _lr(optimizer: torch.optim.Optimizer) -> float:
    return float(optimizer.param_groups[0]["lr"])


def fit(
    model: torch.nn.Module,
    train_loader: Iterable,
    val_loader: Iterable | None,
    loss_fn: LossFn,
    optimizer: torch.optim.Optimizer,
    num_epochs: int,
    *,
    device: torch.device | str | None = None,
    scheduler: Any = None,
    patience: int | None = None,
    checkpoint: str | Path | None = None,
    progress: bool = True,
    live: LiveCurves | None = None,
    logger: EpochLogger | None = None,
) -> History:
    """Train for up to ``num_epochs`` epochs, evaluating on ``val_loader`` after each; return the history.

    history: ``train_loss``, ``train_acc``, ``val_loss``, ``val_acc``, ``lr`` (the rate used in each
    epoch): lists with one entry per epoch run; ``best_epoch``: index (0-based) into those lists of
    the lowest validation loss (training loss if ``val_loader`` is None); ``stopped_early``: bool.

    scheduler: stepped once per epoch (``ReduceLROnPlateau`` gets the validation loss).
    patience: stop when the validation loss has not improved for ``patience`` epochs in a row.
    checkpoint: path where the best epoch's ``state_dict`` is saved (reload with ``load_checkpoint``);
    the model itself is left as it is after the last epoch.
    live: a ``viz.LivePlot`` (anything with ``update(epoch, metrics)``); logger: a ``loggers.Logger``.
    """
    device = devices.get_device() if device is None else torch.device(device)
    model.to(device)
    history = History(
        train_loss=[],
        train_acc=[],
        val_loss=[],
        val_acc=[],
        lr=[],
        best_epoch=-1,
        stopped_early=False,
    )
    best, waited = math.inf, 0
    if checkpoint is not None:
        checkpoint = Path(checkpoint)
        checkpoint.parent.mkdir(parents=True, exist_ok=True)
    bar = tqdm(range(num_epochs), desc="epochs", disable=not progress)
    for epoch in bar:
        lr = _lr(optimizer)
        train = train_one_epoch(model, train_loader, loss_fn, optimizer, device, progress=progress)
        val = evaluate(model, val_loader, loss_fn, device) if val_loader is not None else None
        metrics = {
            "train_loss": train["loss"],
            "train_acc": train["acc"],
            "val_loss": val["loss"] if val else math.nan,
            "val_acc": val["acc"] if val else math.nan,
            "lr": lr,
        }
        for key, value in metrics.items():
            history[key].append(value)
        watched = metrics["val_loss"] if val else metrics["train_loss"]
        if scheduler is not None:
            if isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
                scheduler.step(watched)
            else:
                scheduler.step()
        if watched < best:
            best, waited = watched, 0
            history["best_epoch"] = epoch
            if checkpoint is not None:
                torch.save(model.state_dict(), checkpoint)
        else:
            waited += 1
        _report(bar, metrics, epoch, live, logger)
        if patience is not None and waited >= patience:
            history["stopped_early"] = True
            break
    return history


def _report(bar, metrics: dict[str, float], epoch: int, live, logger) -> None:
    """Show an epoch's metrics on the progress bar, the live plot and the logger (nan skipped)."""
    shown = {k: v for k, v in metrics.items() if k != "lr" and not math.isnan(v)}
    bar.set_postfix({k: f"{v:.3g}" for k, v in shown.items()}, refresh=False)
    if live is not None:
        live.update(epoch, metrics)
    if logger is not None:
        for key, value in metrics.items():
            if not math.isnan(value):
                logger.scalar(key, value, epoch)


def load_checkpoint(model: torch.nn.Module, path: str | Path) -> torch.nn.Module:
    """Load the ``state_dict`` saved at ``path`` into ``model`` (onto its current device); return it."""
    try:
        device = next(model.parameters()).device
    except StopIteration:
        device = torch.device("cpu")
    state = torch.load(Path(path), map_location=device, weights_only=True)
    model.load_state_dict(state)
    return model


# ---------------------------------------------------------------------------------------------
# two or more players, alternating


@dataclass
class Phase:
    """One player's update within a batch: ``optimizer`` steps on ``loss(batch)``, ``steps`` times.

    ``loss`` gets the batch (already on the device) and returns a scalar; it must ``detach`` what
    this phase must not train (a discriminator's phase detaches the generator's samples).
    """

    name: str
    optimizer: torch.optim.Optimizer
    loss: Callable[[Any], torch.Tensor]
    steps: int = 1


def train_alternating(
    phases: Sequence[Phase],
    loader: Iterable,
    models: Sequence[torch.nn.Module],
    device: torch.device | str | None = None,
    progress: bool = False,
) -> dict[str, float]:
    """One pass over ``loader``: per batch, each phase in order zero_grad -> loss -> backward -> step.

    ``models`` are put in ``train()`` mode first. Returns each phase's mean loss (over its last
    step per batch), keyed by the phase's name; sums stay on the device until the end.
    """
    device = devices.get_device() if device is None else torch.device(device)
    for model in models:
        model.train()
    sums: dict[str, torch.Tensor] = {}
    batches = 0
    for batch in tqdm(loader, desc="train", disable=not progress, leave=False):
        batch = devices.to_device(batch, device, non_blocking=True)
        for phase in phases:
            for _ in range(phase.steps):
                phase.optimizer.zero_grad(set_to_none=True)
                loss = phase.loss(batch)
                loss.backward()
                phase.optimizer.step()
            if phase.name not in sums:
                sums[phase.name] = torch.zeros((), device=loss.device)
            sums[phase.name].add_(loss.detach())
        batches += 1
    if batches == 0:
        raise ValueError("the loader yielded no batches")
    return {name: total.item() / batches for name, total in sums.items()}


def fit_alternating(
    phases: Sequence[Phase],
    loader: Iterable,
    num_epochs: int,
    *,
    models: Sequence[torch.nn.Module],
    device: torch.device | str | None = None,
    progress: bool = True,
    live: LiveCurves | None = None,
    logger: EpochLogger | None = None,
) -> dict[str, list[float]]:
    """Train the ``models`` with ``phases`` for ``num_epochs`` epochs; return the losses per epoch.

    history: ``train_<phase name>`` -> one mean loss per epoch (draw it with
    ``viz.plot_history(history, metrics=[phase names])``).
    """
    device = devices.get_device() if device is None else torch.device(device)
    for model in models:
        model.to(device)
    history: dict[str, list[float]] = {f"train_{p.name}": [] for p in phases}
    bar = tqdm(range(num_epochs), desc="epochs", disable=not progress)
    for epoch in bar:
        losses = train_alternating(phases, loader, models, device, progress=progress)
        metrics = {f"train_{name}": value for name, value in losses.items()}
        for key, value in metrics.items():
            history[key].append(value)
        _report(bar, metrics, epoch, live, logger)
    return history
