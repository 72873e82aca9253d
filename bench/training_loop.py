"""Throughput of ``course_lib.training`` against a bare hand-written loop on the same MLP and data.

Run: ``python bench/training_loop.py [--epochs N] [--repeats R]``. Both loops train the same model
(a fresh copy per run) on the same batches; repetitions are interleaved so machine load affects
both alike. Prints the median samples/s of each and the ratio library / bare (goal: >= 0.95 on CPU).
"""

from __future__ import annotations

import argparse
import copy
import statistics
import time

import torch
from torch import nn

from course_lib import data, devices, training


def bare_epoch(model, loader, loss_fn, optimizer, device):
    """The textbook loop, metrics included: what a learner writes by hand."""
    model.train()
    total_loss, correct, count = 0.0, 0, 0
    for X, y in loader:
        X, y = X.to(device), y.to(device)
        logits = model(X)
        loss = loss_fn(logits, y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total_loss += loss.item() * len(y)
        correct += (logits.argmax(1) == y).sum().item()
        count += len(y)
    return {"loss": total_loss / count, "acc": correct / count}


def library_epoch(model, loader, loss_fn, optimizer, device):
    return training.train_one_epoch(model, loader, loss_fn, optimizer, device, progress=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args()

    device = devices.get_device()
    devices.seed_everything(0)
    train = data.mnist("train")
    # materialise the batches once: both loops see identical tensors and no loader cost differences
    batches = list(data.loader(train, args.batch_size, shuffle=True, seed=0))
    n_samples = sum(len(y) for _, y in batches)
    base = nn.Sequential(
        nn.Flatten(),
        nn.Linear(784, 256),
        nn.ReLU(),
        nn.Linear(256, 128),
        nn.ReLU(),
        nn.Linear(128, 10),
    )
    loss_fn = nn.CrossEntropyLoss()
    loops = {"bare": bare_epoch, "course_lib": library_epoch}
    rates: dict[str, list[float]] = {name: [] for name in loops}
    for _ in range(args.repeats):
        for name, epoch_fn in loops.items():  # interleaved
            model = copy.deepcopy(base).to(device)
            optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
            epoch_fn(model, batches[:5], loss_fn, optimizer, device)  # warm-up
            devices.synchronize(device)
            start = time.perf_counter()
            for _ in range(args.epochs):
                epoch_fn(model, batches, loss_fn, optimizer, device)
            devices.synchronize(device)
            rates[name].append(args.epochs * n_samples / (time.perf_counter() - start))
    med = {name: statistics.median(r) for name, r in rates.items()}
    print(f"device {device}, data: {train.source}")
    print(
        f"{n_samples} samples x {args.epochs} epochs x {args.repeats} interleaved repeats, batch {args.batch_size}"
    )
    for name, rate in med.items():
        print(
            f"  {name:11s} {rate:10.0f} samples/s (runs: {', '.join(f'{r:.0f}' for r in rates[name])})"
        )
    ratio = med["course_lib"] / med["bare"]
    print(f"throughput ratio course_lib / bare = {ratio:.3f} (goal >= 0.95)")


if __name__ == "__main__":
    main()
