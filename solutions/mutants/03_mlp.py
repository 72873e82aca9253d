"""Realistic wrong answers to the exercises of 03_mlp; each replaces one solution cell.

The self-test reads only the blocks headed ``# %% mutant``. The imports above them are the
names the chapter's notebook defines before its exercises, so that editors and ruff see them.
"""

import math

import torch
from torch import nn, optim

from course_lib import config, data, training


# %% mutant ch03_init_params: scales by the fan-out instead of the fan-in
def init_params(sizes, generator=None, device="cpu"):
    params = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:], strict=False):
        w = torch.randn(fan_out, fan_in, generator=generator) * math.sqrt(2.0 / fan_out)
        params.append(
            (
                w.to(device).requires_grad_(True),
                torch.zeros(fan_out, device=device, requires_grad=True),
            )
        )
    return params


# %% mutant ch03_init_params: stores weights as (in, out) instead of nn.Linear's (out, in)
def init_params(sizes, generator=None, device="cpu"):
    params = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:], strict=False):
        w = torch.randn(fan_in, fan_out, generator=generator) * math.sqrt(2.0 / fan_in)
        params.append(
            (
                w.to(device).requires_grad_(True),
                torch.zeros(fan_out, device=device, requires_grad=True),
            )
        )
    return params


# %% mutant ch03_init_params: sets requires_grad before moving, so the weights are not leaves on a GPU and the std is 1
def init_params(sizes, generator=None, device="cpu"):
    params = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:], strict=False):
        w = torch.randn(fan_out, fan_in, generator=generator, requires_grad=True)
        params.append((w, torch.zeros(fan_out, requires_grad=True)))
    return [(w.to(device), b.to(device)) for w, b in params]


# %% mutant ch03_init_params: makes the biases with torch.zeros(fan_out), on the default device
def init_params(sizes, generator=None, device="cpu"):
    params = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:], strict=False):
        w = torch.randn(fan_out, fan_in, generator=generator) * math.sqrt(2.0 / fan_in)
        params.append((w.to(device).requires_grad_(True), torch.zeros(fan_out, requires_grad=True)))
    return params


# %% mutant ch03_mlp_forward: applies ReLU to the logits too
def mlp_forward(X, params):
    h = X
    for w, b in params:
        h = torch.relu(h @ w.T + b)
    return h


# %% mutant ch03_mlp_forward: forgets the ReLU between layers
def mlp_forward(X, params):
    h = X
    for w, b in params:
        h = h @ w.T + b
    return h


# %% mutant ch03_accuracy: takes the argmax over the batch dimension
def accuracy(logits, y):
    return (logits.argmax(dim=0) == y).float().mean().item()


# %% mutant ch03_accuracy: returns the number of correct predictions, not the fraction
def accuracy(logits, y):
    return float((logits.argmax(dim=1) == y).sum().item())


# %% mutant ch03_linear: keeps the weights as plain tensors, so they are not registered parameters
class Linear(nn.Module):
    def __init__(self, in_features, out_features, bias=True):
        super().__init__()
        self.weight = torch.randn(out_features, in_features) * math.sqrt(2.0 / in_features)
        self.bias = torch.zeros(out_features) if bias else None

    def forward(self, x):
        out = x @ self.weight.T
        return out if self.bias is None else out + self.bias


# %% mutant ch03_linear: ignores bias=False
class Linear(nn.Module):
    def __init__(self, in_features, out_features, bias=True):
        super().__init__()
        self.weight = nn.Parameter(
            torch.randn(out_features, in_features) * math.sqrt(2.0 / in_features)
        )
        self.bias = nn.Parameter(torch.zeros(out_features))

    def forward(self, x):
        return x @ self.weight.T + self.bias


# %% mutant ch03_flatten: flattens the batch dimension as well
class Flatten(nn.Module):
    def forward(self, x):
        return x.flatten()


# %% mutant ch03_flatten: uses view, which fails on a non-contiguous batch
class Flatten(nn.Module):
    def forward(self, x):
        return x.view(x.size(0), -1)


# %% mutant ch03_train_epoch: forgets zero_grad, so gradients accumulate over batches
def train_epoch(model, loader, loss_fn, optimizer, device):
    model.train()
    total, count = 0.0, 0
    for X, y in loader:
        X, y = X.to(device), y.to(device)
        loss = loss_fn(model(X), y)
        loss.backward()
        optimizer.step()
        total += loss.item() * len(y)
        count += len(y)
    return total / count


# %% mutant ch03_train_epoch: never calls model.train()
def train_epoch(model, loader, loss_fn, optimizer, device):
    total, count = 0.0, 0
    for X, y in loader:
        X, y = X.to(device), y.to(device)
        loss = loss_fn(model(X), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total += loss.item() * len(y)
        count += len(y)
    return total / count


# %% mutant ch03_train_epoch: averages the batch losses without weighting by batch size
def train_epoch(model, loader, loss_fn, optimizer, device):
    model.train()
    losses = []
    for X, y in loader:
        X, y = X.to(device), y.to(device)
        loss = loss_fn(model(X), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return sum(losses) / len(losses)


# %% mutant ch03_train_epoch: steps before backward (updates with the previous batch's gradients)
def train_epoch(model, loader, loss_fn, optimizer, device):
    model.train()
    total, count = 0.0, 0
    for X, y in loader:
        X, y = X.to(device), y.to(device)
        loss = loss_fn(model(X), y)
        optimizer.zero_grad()
        optimizer.step()
        loss.backward()
        total += loss.item() * len(y)
        count += len(y)
    return total / count


# %% mutant ch03_train_epoch: never moves the batches to the device
def train_epoch(model, loader, loss_fn, optimizer, device):
    model.train()
    total, count = 0.0, 0
    for X, y in loader:
        loss = loss_fn(model(X), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        total += loss.item() * len(y)
        count += len(y)
    return total / count


# %% mutant ch03_evaluate: forgets model.eval(), so dropout stays active
def evaluate_accuracy(model, loader, device):
    correct, count = 0, 0
    with torch.no_grad():
        for X, y in loader:
            X, y = X.to(device), y.to(device)
            correct += (model(X).argmax(dim=1) == y).sum().item()
            count += len(y)
    return correct / count


# %% mutant ch03_evaluate: evaluates without torch.no_grad()
def evaluate_accuracy(model, loader, device):
    model.eval()
    correct, count = 0, 0
    for X, y in loader:
        X, y = X.to(device), y.to(device)
        correct += (model(X).argmax(dim=1) == y).sum().item()
        count += len(y)
    return correct / count


# %% mutant ch03_evaluate: averages per-batch accuracies, overweighting the small last batch
def evaluate_accuracy(model, loader, device):
    model.eval()
    accs = []
    with torch.no_grad():
        for X, y in loader:
            X, y = X.to(device), y.to(device)
            accs.append((model(X).argmax(dim=1) == y).float().mean().item())
    return sum(accs) / len(accs)


# %% mutant ch03_evaluate: never moves the batches to the device
def evaluate_accuracy(model, loader, device):
    model.eval()
    correct, count = 0, 0
    with torch.no_grad():
        for X, y in loader:
            correct += (model(X).argmax(dim=1) == y).sum().item()
            count += len(y)
    return correct / count


# %% mutant ch03_split: forgets to shuffle before splitting
def split_indices(n, fractions=(0.8, 0.1, 0.1), seed=0):
    n_train, n_val = int(fractions[0] * n), int(fractions[1] * n)
    idx = torch.arange(n)
    return idx[:n_train], idx[n_train : n_train + n_val], idx[n_train + n_val :]


# %% mutant ch03_split: off-by-one slices, so validation and test share a sample
def split_indices(n, fractions=(0.8, 0.1, 0.1), seed=0):
    n_train, n_val = int(fractions[0] * n), int(fractions[1] * n)
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    return perm[:n_train], perm[n_train : n_train + n_val + 1], perm[n_train + n_val :]


# %% mutant ch03_kfold: folds of n // k samples, so the last n % k samples are never validated
def kfold_indices(n, k):
    size = n // k
    folds = []
    for i in range(k):
        val = torch.arange(i * size, (i + 1) * size)
        train = torch.cat([torch.arange(0, i * size), torch.arange((i + 1) * size, n)])
        folds.append((train, val))
    return folds


# %% mutant ch03_kfold: gives the remainder to the last fold instead of spreading it over the first
def kfold_indices(n, k):
    size = n // k
    folds = []
    for i in range(k):
        stop = n if i == k - 1 else (i + 1) * size
        val = torch.arange(i * size, stop)
        train = torch.cat([torch.arange(0, i * size), torch.arange(stop, n)])
        folds.append((train, val))
    return folds


# %% mutant ch03_l1_penalty: forgets the absolute value
def l1_penalty(model, lam):
    return lam * sum(p.sum() for p in model.parameters())


# %% mutant ch03_l1_penalty: squares the weights (that is L2)
def l1_penalty(model, lam):
    return lam * sum(p.pow(2).sum() for p in model.parameters())


# %% mutant ch03_early_stopping: patience off by one (stops one epoch late)
class EarlyStopping:
    def __init__(self, patience):
        self.patience = patience
        self.best, self.best_epoch, self.num_bad = math.inf, -1, 0
        self.epoch = -1

    def step(self, val_loss):
        self.epoch += 1
        if val_loss < self.best:
            self.best, self.best_epoch, self.num_bad = val_loss, self.epoch, 0
        else:
            self.num_bad += 1
        return self.num_bad > self.patience


# %% mutant ch03_early_stopping: never resets the counter after an improvement
class EarlyStopping:
    def __init__(self, patience):
        self.patience = patience
        self.best, self.best_epoch, self.num_bad = math.inf, -1, 0
        self.epoch = -1

    def step(self, val_loss):
        self.epoch += 1
        if val_loss < self.best:
            self.best, self.best_epoch = val_loss, self.epoch
        else:
            self.num_bad += 1
        return self.num_bad >= self.patience


# %% mutant ch03_early_stopping: counts an equal loss as an improvement
class EarlyStopping:
    def __init__(self, patience):
        self.patience = patience
        self.best, self.best_epoch, self.num_bad = math.inf, -1, 0
        self.epoch = -1

    def step(self, val_loss):
        self.epoch += 1
        if val_loss <= self.best:
            self.best, self.best_epoch, self.num_bad = val_loss, self.epoch, 0
        else:
            self.num_bad += 1
        return self.num_bad >= self.patience


# %% mutant ch03_dropout: forgets to rescale the kept units
def dropout(x, p, training):
    if not training:
        return x
    return x * (torch.rand_like(x) >= p).to(x.dtype)


# %% mutant ch03_dropout: drops units in evaluation mode too
def dropout(x, p, training):
    return x * (torch.rand_like(x) >= p).to(x.dtype) / (1 - p)


# %% mutant ch03_dropout: zeroes in place, modifying the input
def dropout(x, p, training):
    if not training:
        return x
    x[torch.rand_like(x) < p] = 0
    return x.div_(1 - p)


# %% mutant ch03_dropout: draws the mask with torch.rand(x.shape), on the default device
def dropout(x, p, training):
    if not training or p == 0:
        return x
    keep = (torch.rand(x.shape) >= p).to(x.dtype)
    return x * keep / (1 - p)


# %% mutant ch03_digit_mlp: no activations, so the stacked Linear layers collapse to one linear map
def train_digit_mlp(device):
    train_loader = data.loader(data.mnist("train"), 64, shuffle=True, seed=0)
    model = nn.Sequential(
        nn.Flatten(), nn.Linear(784, 512), nn.Linear(512, 256), nn.Linear(256, 10)
    ).to(device)
    optimizer = optim.Adam(model.parameters(), lr=1e-3)
    for _ in range(config.pick(full=40, fast=2)):
        training.train_one_epoch(model, train_loader, nn.CrossEntropyLoss(), optimizer, device)
    return model


# %% mutant ch03_digit_mlp: a learning rate far too large for Adam
def train_digit_mlp(device):
    train_loader = data.loader(data.mnist("train"), 64, shuffle=True, seed=0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 10)).to(
        device
    )
    optimizer = optim.Adam(model.parameters(), lr=1.0)
    for _ in range(config.pick(full=40, fast=2)):
        training.train_one_epoch(model, train_loader, nn.CrossEntropyLoss(), optimizer, device)
    return model


# %% mutant ch03_digit_mlp: returns the model without training it
def train_digit_mlp(device):
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10)).to(
        device
    )
