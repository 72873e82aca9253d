"""Sequence models' toy data and loops: sine streams, the adding problem, truncated BPTT, generation, sampling.

Chapter 05 writes ``adding_problem``, ``train_on_stream``, ``generate`` and
``sample_with_temperature`` as exercises; these are their library twins, which the lessons fall
back on while an exercise is unfinished and later chapters import. Models for ``train_on_stream``
and ``generate`` are called as ``model(x, h) -> (y_hat, h_new)``, with ``h = None`` at the start.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "sine_streams",
    "adding_problem",
    "train_on_stream",
    "generate",
    "sample_with_temperature",
]


def sine_streams(
    batch: int, length: int, step: float = 0.2, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Return ``batch`` sine waves ``sin(phase + step * t)``, t = 0..length-1, with random phases.

    Returns float32 ``(batch, length, 1)``; each phase is uniform in [0, 2 pi), drawn from ``generator``.
    """
    phase = torch.rand(batch, 1, generator=generator) * 2 * math.pi
    return torch.sin(phase + step * torch.arange(length)).unsqueeze(-1)


def adding_problem(
    n: int, T: int, generator: torch.Generator | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Draw ``n`` sequences of the adding problem of length ``T`` (Hochreiter & Schmidhuber, 1997).

    Returns X float32 ``(n, T, 2)`` and y float32 ``(n,)``. Channel 0: values uniform in [0, 1);
    channel 1: 1 at one position of the first half (t < T // 2) and one of the second half, 0
    elsewhere; y: the sum of the two marked values. A model must remember the first marked value
    for up to T steps.
    """
    values = torch.rand(n, T, generator=generator)
    half = T // 2
    picks = torch.stack(
        [
            torch.randint(0, half, (n,), generator=generator),
            torch.randint(half, T, (n,), generator=generator),
        ],
        dim=1,
    )  # (n, 2)
    markers = torch.zeros(n, T).scatter_(1, picks, 1.0)
    return torch.stack([values, markers], dim=-1), values.gather(1, picks).sum(1)


def train_on_stream(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    series: torch.Tensor,
    chunk_len: int,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] = F.mse_loss,
) -> list[float]:
    """Train next-step prediction on long sequences by truncated backpropagation through time.

    series: ``(B, N, F)``: inputs ``series[:, :-1]``, targets ``series[:, 1:]``, both cut along
    time into chunks of ``chunk_len`` (the last may be shorter). Each chunk starts from the
    previous chunk's final hidden state, detached: the state carries information forward, the
    gradient stops at the chunk's start. Returns the chunks' losses.
    """
    model.train()
    inputs, targets = series[:, :-1], series[:, 1:]
    state: Any = None
    losses = []
    for start in range(0, inputs.shape[1], chunk_len):
        y_hat, state = model(inputs[:, start : start + chunk_len], state)
        loss = loss_fn(y_hat, targets[:, start : start + chunk_len])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        state = _detach(state)
        losses.append(loss.item())
    return losses


def _detach(state: Any) -> Any:
    """Detach a hidden state: a tensor, or a tuple of them (an LSTM's ``(h, c)``)."""
    if isinstance(state, tuple):
        return tuple(s.detach() for s in state)
    return state.detach()


@torch.no_grad()
def generate(model: nn.Module, warmup: torch.Tensor, n_steps: int) -> torch.Tensor:
    """Continue sequences with the model's own predictions (autoregressive, free-running).

    warmup: ``(B, T0, F)`` observed values. The model reads them from ``h = None``; its last
    prediction is the first generated value, and each generated value is fed back as the next
    input. Returns ``(B, n_steps, F)``, without gradients.
    """
    y_hat, state = model(warmup, None)
    step = y_hat[:, -1:]
    generated = [step]
    for _ in range(n_steps - 1):
        step, state = model(step, state)
        generated.append(step)
    return torch.cat(generated, dim=1)


def sample_with_temperature(
    logits: torch.Tensor, temperature: float, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Draw one index per row of ``logits`` ``(B, V)`` from softmax(logits / temperature): int64 ``(B,)``.

    A small temperature sharpens the distribution towards the argmax, a large one flattens it
    towards uniform. ``generator`` must live on the logits' device.
    """
    probs = F.softmax(logits / temperature, dim=-1)
    return torch.multinomial(probs, num_samples=1, generator=generator).squeeze(-1)
