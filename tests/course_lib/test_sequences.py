"""course_lib.sequences: toy sequence data, truncated BPTT, autoregressive generation, sampling."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from course_lib import sequences


class _Sine(nn.Module):
    """A small RNN regressor called as model(x, h) -> (y_hat, h)."""

    def __init__(self, hidden: int = 8) -> None:
        super().__init__()
        self.rnn = nn.RNN(1, hidden, batch_first=True)
        self.head = nn.Linear(hidden, 1)

    def forward(self, x, h=None):
        out, h = self.rnn(x, h)
        return self.head(out), h


class _RunningSum(nn.Module):
    """h_new = h + x summed over the chunk's steps; y_hat = the running sums."""

    def forward(self, x, h=None):
        start = torch.zeros_like(x[:, :1]) if h is None else h
        sums = start + x.cumsum(dim=1)
        return sums, sums[:, -1:]


def test_sine_streams_shape_range_and_seed():
    """Are sine streams (B, N, 1) in [-1, 1], one step apart, and reproducible from a generator?"""
    s = sequences.sine_streams(4, 30, step=0.3, generator=torch.Generator().manual_seed(0))
    assert s.shape == (4, 30, 1) and s.abs().max() <= 1
    same = sequences.sine_streams(4, 30, step=0.3, generator=torch.Generator().manual_seed(0))
    assert torch.equal(s, same)
    # consecutive values obey sin(a + 2d) = 2 cos(d) sin(a + d) - sin(a)
    lhs = s[:, 2:, 0]
    rhs = 2 * math.cos(0.3) * s[:, 1:-1, 0] - s[:, :-2, 0]
    torch.testing.assert_close(lhs, rhs, atol=1e-5, rtol=0)


def test_adding_problem_has_one_marker_per_half_and_sums_them():
    """Does every sequence have one marker per half, and is y the sum of the marked values?"""
    X, y = sequences.adding_problem(300, 9, generator=torch.Generator().manual_seed(1))
    assert X.shape == (300, 9, 2) and y.shape == (300,) and X.dtype == y.dtype == torch.float32
    values, markers = X[..., 0], X[..., 1]
    assert (markers[:, :4].sum(1) == 1).all() and (markers[:, 4:].sum(1) == 1).all()
    assert set(markers[:, :4].argmax(1).tolist()) == {0, 1, 2, 3}
    assert set(markers[:, 4:].argmax(1).tolist()) == {0, 1, 2, 3, 4}
    torch.testing.assert_close(y, (values * markers).sum(1))


def test_train_on_stream_carries_a_detached_state():
    """Does each chunk start from the previous chunk's state, detached, with one step per chunk?"""
    torch.manual_seed(0)
    model = _Sine()
    received = []
    model.register_forward_pre_hook(lambda m, args: received.append(args[1]))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    series = sequences.sine_streams(3, 26, generator=torch.Generator().manual_seed(2))
    losses = sequences.train_on_stream(model, optimizer, series, chunk_len=10)
    assert len(losses) == 3 and all(isinstance(v, float) for v in losses)  # 25 inputs: 10 + 10 + 5
    assert received[0] is None
    assert all(h is not None and h.grad_fn is None and not h.requires_grad for h in received[1:])


def test_train_on_stream_learns_the_sine():
    """Does next-step training on sine streams bring the loss well below its start?"""
    torch.manual_seed(0)
    model = _Sine(16)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    g = torch.Generator().manual_seed(3)
    first = sequences.train_on_stream(
        model, optimizer, sequences.sine_streams(16, 101, generator=g), 25
    )
    for _ in range(30):
        last = sequences.train_on_stream(
            model, optimizer, sequences.sine_streams(16, 101, generator=g), 25
        )
    assert sum(last) / len(last) < 0.1 * sum(first) / len(first)


def test_generate_feeds_predictions_back_from_the_warm_up_state():
    """Does generate continue from the warm-up's state, feeding each prediction back in?"""
    warmup = torch.tensor([[[1.0], [2.0], [3.0]]])  # running sums 1, 3, 6
    out = sequences.generate(_RunningSum(), warmup, 4)
    assert out.shape == (1, 4, 1) and not out.requires_grad
    assert out.flatten().tolist() == [6.0, 12.0, 24.0, 48.0]


def test_sample_with_temperature_frequencies():
    """Do samples follow softmax(logits / T): near argmax for small T, near uniform for large T?"""
    logits = torch.tensor([[2.0, 0.0, -1.0]]).expand(20000, 3)
    for temperature in (0.05, 1.0, 1000.0):
        g = torch.Generator().manual_seed(4)
        idx = sequences.sample_with_temperature(logits, temperature, generator=g)
        assert idx.shape == (20000,) and idx.dtype == torch.long
        freq = torch.bincount(idx, minlength=3).float() / len(idx)
        torch.testing.assert_close(
            freq, torch.softmax(logits[0] / temperature, 0), atol=0.02, rtol=0
        )


@pytest.mark.parametrize("temperature", [0.5, 2.0])
def test_sample_with_temperature_is_reproducible(temperature):
    """Does the same generator seed give the same samples?"""
    logits = torch.randn(50, 7, generator=torch.Generator().manual_seed(5))
    a = sequences.sample_with_temperature(logits, temperature, torch.Generator().manual_seed(6))
    b = sequences.sample_with_temperature(logits, temperature, torch.Generator().manual_seed(6))
    assert torch.equal(a, b)
