"""One loop shape for every chapter: ``train_one_epoch``, ``evaluate`` and ``fit`` returning a history.

The loops keep the running loss sum and correct count as tensors on the device and call ``.item()``
once per epoch: no per-step host-device synchronisation. Losses are assumed to be batch means
(PyTorch's default ``reduction="mean"``); accuracy is reported for classification, where the model
returns logits ``(B, K)`` (or ``(B, K, ...)``) and targets are class indices ``(B,)`` (or ``(B, ...)``),
and is ``nan`` otherwise.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import torch
from tqdm.auto import tqdm

from course_lib import devices

__all__ = ["train_one_epoch", "evaluate", "fit", "load_checkpoint"]


def _correct(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor | None:
    """Return the number of correct predictions as a 0-d device tensor, or None if not classification."""
    if y.dtype.is_floating_point or logits.dim() != y.dim() + 1:
        return None
    return (logits.argmax(1) == y).sum()


def _run(model, loader, loss_fn, optimizer, device, progress: bool, desc: str) -> dict[str, float]:
    loss_sum = torch.zeros((), device=device)
    correct = torch.zeros((), device=device, dtype=torch.long)
    count, classify = 0, True
    for X, y in tqdm(loader, desc=desc, disable=not progress, leave=False):
        X, y = devices.to_device((X, y), device, non_blocking=True)
        logits = model(X)
        loss = loss_fn(logits, y)
        if optimizer is not None:
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        n = y.shape[0]
        loss_sum.add_(loss.detach(), alpha=n)
        hits = _correct(logits.detach(), y) if classify else None
        if hits is None:
            classify = False
        else:
            correct.add_(hits)
        count += n
    if count == 0:
        raise ValueError("the loader yielded no batches")
    return {
        "loss": loss_sum.item() / count,  # the one synchronisation per epoch
        "acc": correct.item() / count if classify else math.nan,
    }


def train_one_epoch(
    model: torch.nn.Module,
    loader: Iterable,
    loss_fn,
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
    model: torch.nn.Module, loader: Iterable, loss_fn, device: torch.device | str | None = None
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
    loss_fn,
    optimizer: torch.optim.Optimizer,
    num_epochs: int,
    *,
    device: torch.device | str | None = None,
    scheduler: Any = None,
    patience: int | None = None,
    checkpoint: str | Path | None = None,
    progress: bool = True,
    live: Any = None,
    logger: Any = None,
) -> dict[str, Any]:
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
    history: dict[str, Any] = {
        k: [] for k in ("train_loss", "train_acc", "val_loss", "val_acc", "lr")
    }
    history.update(best_epoch=-1, stopped_early=False)
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
        bar.set_postfix(
            {k: f"{v:.3g}" for k, v in metrics.items() if k != "lr" and not math.isnan(v)},
            refresh=False,
        )
        if live is not None:
            live.update(epoch, metrics)
        if logger is not None:
            for key, value in metrics.items():
                if not math.isnan(value):
                    logger.scalar(key, value, epoch)
        if patience is not None and waited >= patience:
            history["stopped_early"] = True
            break
    return history


def load_checkpoint(model: torch.nn.Module, path: str | Path) -> torch.nn.Module:
    """Load the ``state_dict`` saved at ``path`` into ``model`` (onto its current device); return it."""
    try:
        device = next(model.parameters()).device
    except StopIteration:
        device = torch.device("cpu")
    state = torch.load(Path(path), map_location=device, weights_only=True)
    model.load_state_dict(state)
    return model
