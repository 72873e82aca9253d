"""Realistic wrong answers to the exercises of 02_autograd; each replaces one solution cell.

The self-test reads only the blocks headed ``# %% mutant``. The imports above them are the
names the chapter's notebook defines before its exercises, so that editors and ruff see them.
"""

import torch
import torch.nn.functional as F
from torch import optim


# %% mutant ch02_fit_line_gd: updates w first, then computes b's gradient with the new w
def fit_line_gd(x, y, lr=0.1, num_steps=500):
    w = torch.zeros((), dtype=x.dtype, device=x.device)
    b = torch.zeros((), dtype=x.dtype, device=x.device)
    for _ in range(num_steps):
        w = w - lr * 2 * ((w * x + b - y) * x).mean()
        b = b - lr * 2 * (w * x + b - y).mean()
    return w, b


# %% mutant ch02_fit_line_gd: forgets the factor 2 from differentiating the square
def fit_line_gd(x, y, lr=0.1, num_steps=500):
    w = torch.zeros((), dtype=x.dtype, device=x.device)
    b = torch.zeros((), dtype=x.dtype, device=x.device)
    for _ in range(num_steps):
        err = w * x + b - y
        w, b = w - lr * (err * x).mean(), b - lr * err.mean()
    return w, b


# %% mutant ch02_fit_line_gd: sums over the points instead of averaging
def fit_line_gd(x, y, lr=0.1, num_steps=500):
    w = torch.zeros((), dtype=x.dtype, device=x.device)
    b = torch.zeros((), dtype=x.dtype, device=x.device)
    for _ in range(num_steps):
        err = w * x + b - y
        w, b = w - lr * 2 * (err * x).sum(), b - lr * 2 * err.sum()
    return w, b


# %% mutant ch02_sgd_step: forgets to zero the gradients, so they accumulate
def sgd_step(params, lr):
    with torch.no_grad():
        for p in params:
            p -= lr * p.grad


# %% mutant ch02_sgd_step: zeroes the gradient before using it
def sgd_step(params, lr):
    with torch.no_grad():
        for p in params:
            p.grad.zero_()
            p -= lr * p.grad


# %% mutant ch02_sgd_step: rebinds the loop variable instead of updating in place
def sgd_step(params, lr):
    with torch.no_grad():
        for p in params:
            p = p - lr * p.grad
            p.grad = None


# %% mutant ch02_train_linear: forgets optimizer.zero_grad()
def train_linear(model, x, y, optimizer, num_steps):
    losses = []
    for _ in range(num_steps):
        loss = F.mse_loss(model(x), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


# %% mutant ch02_train_linear: steps the optimizer before back-propagating
def train_linear(model, x, y, optimizer, num_steps):
    losses = []
    for _ in range(num_steps):
        optimizer.zero_grad()
        loss = F.mse_loss(model(x), y)
        optimizer.step()
        loss.backward()
        losses.append(loss.item())
    return losses


# %% mutant ch02_activation_grads: tanh derivative without the square
def sigmoid_grad(x):
    s = torch.sigmoid(x)
    return s * (1 - s)


def tanh_grad(x):
    return 1 - torch.tanh(x)


def leaky_relu_grad(x, negative_slope=0.01):
    return torch.where(x > 0, torch.ones_like(x), torch.full_like(x, negative_slope))


# %% mutant ch02_activation_grads: Leaky ReLU treated like ReLU (slope 0 for negative inputs)
def sigmoid_grad(x):
    s = torch.sigmoid(x)
    return s * (1 - s)


def tanh_grad(x):
    return 1 - torch.tanh(x) ** 2


def leaky_relu_grad(x, negative_slope=0.01):
    return (x > 0).to(x.dtype)


# %% mutant ch02_activation_grads: sigmoid derivative written as s * (1 - x)
def sigmoid_grad(x):
    return torch.sigmoid(x) * (1 - x)


def tanh_grad(x):
    return 1 - torch.tanh(x) ** 2


def leaky_relu_grad(x, negative_slope=0.01):
    return torch.where(x > 0, torch.ones_like(x), torch.full_like(x, negative_slope))


# %% mutant ch02_activation_grads: leaky_relu_grad fills torch.ones(x.shape), on the default device
def sigmoid_grad(x):
    s = torch.sigmoid(x)
    return s * (1 - s)


def tanh_grad(x):
    return 1 - torch.tanh(x) ** 2


def leaky_relu_grad(x, negative_slope=0.01):
    grad = torch.ones(x.shape)
    grad[x <= 0] = negative_slope
    return grad


# %% mutant ch02_activation_grads: leaky_relu_grad ignores its negative_slope argument
def sigmoid_grad(x):
    s = torch.sigmoid(x)
    return s * (1 - s)


def tanh_grad(x):
    return 1 - torch.tanh(x) ** 2


def leaky_relu_grad(x, negative_slope=0.01):
    return torch.where(x > 0, torch.ones_like(x), torch.full_like(x, 0.01))


# %% mutant ch02_mse_grad: forgets to divide by the number of entries
def mse_grad(y_hat, y):
    return 2 * (y_hat - y)


# %% mutant ch02_mse_grad: divides by the batch size only, not by all entries
def mse_grad(y_hat, y):
    return 2 * (y_hat - y) / y_hat.shape[0]


# %% mutant ch02_softmax_jacobian: keeps only the diagonal p_i (1 - p_i)
def softmax_jacobian(z):
    p = torch.softmax(z, dim=-1)
    return torch.diag_embed(p * (1 - p))


# %% mutant ch02_softmax_jacobian: softmax over the batch dimension
def softmax_jacobian(z):
    p = torch.softmax(z, dim=0)
    return torch.diag_embed(p) - p.unsqueeze(-1) * p.unsqueeze(-2)


# %% mutant ch02_cross_entropy_grad: forgets to average over the batch
def cross_entropy_grad(logits, target):
    probs = torch.softmax(logits, dim=1)
    return probs - F.one_hot(target, logits.shape[1]).to(logits.dtype)


# %% mutant ch02_cross_entropy_grad: sign flipped (one-hot minus softmax)
def cross_entropy_grad(logits, target):
    probs = torch.softmax(logits, dim=1)
    return (F.one_hot(target, logits.shape[1]).to(logits.dtype) - probs) / logits.shape[0]


# %% mutant ch02_cross_entropy_grad: one-hot rows of torch.eye(K), made on the default device
def cross_entropy_grad(logits, target):
    probs = torch.softmax(logits, dim=1)
    one_hot = torch.eye(logits.shape[1])[target]
    return (probs - one_hot) / logits.shape[0]


# %% mutant ch02_backprop_mlp: forgets the sigmoid's derivative in the hidden layer
def backprop_mlp(x, y, W1, b1, W2, b2):
    h = torch.sigmoid(x @ W1 + b1)
    y_hat = h @ W2 + b2
    d_out = 2 * (y_hat - y) / y_hat.numel()
    d_hidden = d_out @ W2.T
    return x.T @ d_hidden, d_hidden.sum(dim=0), h.T @ d_out, d_out.sum(dim=0)


# %% mutant ch02_backprop_mlp: averages the bias gradients over the batch instead of summing
def backprop_mlp(x, y, W1, b1, W2, b2):
    h = torch.sigmoid(x @ W1 + b1)
    y_hat = h @ W2 + b2
    d_out = 2 * (y_hat - y) / y_hat.numel()
    d_hidden = (d_out @ W2.T) * h * (1 - h)
    return x.T @ d_hidden, d_hidden.mean(dim=0), h.T @ d_out, d_out.mean(dim=0)


# %% mutant ch02_backprop_mlp: divides the output gradient by the batch size only
def backprop_mlp(x, y, W1, b1, W2, b2):
    h = torch.sigmoid(x @ W1 + b1)
    y_hat = h @ W2 + b2
    d_out = 2 * (y_hat - y) / x.shape[0]
    d_hidden = (d_out @ W2.T) * h * (1 - h)
    return x.T @ d_hidden, d_hidden.sum(dim=0), h.T @ d_out, d_out.sum(dim=0)


# %% mutant ch02_numerical_grad: one-sided forward difference
def numerical_grad(f, x, eps=1e-6):
    x = x.detach().clone()
    grad = torch.zeros_like(x)
    base = f(x).item()
    for i in range(x.numel()):
        x.view(-1)[i] += eps
        grad.view(-1)[i] = (f(x).item() - base) / eps
        x.view(-1)[i] -= eps
    return grad


# %% mutant ch02_numerical_grad: never restores the perturbed entry
def numerical_grad(f, x, eps=1e-6):
    x = x.detach().clone()
    grad = torch.zeros_like(x)
    for i in range(x.numel()):
        x.view(-1)[i] += eps
        f_plus = f(x).item()
        x.view(-1)[i] -= 2 * eps
        grad.view(-1)[i] = (f_plus - f(x).item()) / (2 * eps)
    return grad


# %% mutant ch02_numerical_grad: perturbs the caller's tensor in place
def numerical_grad(f, x, eps=1e-6):
    grad = torch.zeros_like(x)
    for i in range(x.numel()):
        x.view(-1)[i] += eps
        f_plus = f(x).item()
        x.view(-1)[i] -= 2 * eps
        f_minus = f(x).item()
        x.view(-1)[i] += eps
        grad.view(-1)[i] = (f_plus - f_minus) / (2 * eps)
    return grad


# %% mutant ch02_numerical_grad: the gradient starts as torch.zeros(x.shape), on the default device
def numerical_grad(f, x, eps=1e-6):
    x = x.detach().clone()
    grad = torch.zeros(x.shape, dtype=x.dtype)
    flat_x, flat_grad = x.view(-1), grad.view(-1)
    with torch.no_grad():
        for i in range(flat_x.numel()):
            saved = flat_x[i].item()
            flat_x[i] = saved + eps
            f_plus = f(x).item()
            flat_x[i] = saved - eps
            f_minus = f(x).item()
            flat_x[i] = saved
            flat_grad[i] = (f_plus - f_minus) / (2 * eps)
    return grad


# %% mutant ch02_himmelblau: forgets zero_grad, so Adam sees accumulated gradients
def descend(f, start, lr=0.05, num_steps=600):
    point = start.detach().clone().requires_grad_(True)
    adam = optim.Adam([point], lr=lr)
    path = [point.detach().clone()]
    for _ in range(num_steps):
        f(point).backward()
        adam.step()
        path.append(point.detach().clone())
    return torch.stack(path)


# %% mutant ch02_himmelblau: optimises the caller's start tensor itself
def descend(f, start, lr=0.05, num_steps=600):
    start.requires_grad_(True)
    adam = optim.Adam([start], lr=lr)
    path = [start.detach().clone()]
    for _ in range(num_steps):
        adam.zero_grad()
        f(start).backward()
        adam.step()
        path.append(start.detach().clone())
    start.requires_grad_(False)
    return torch.stack(path)


# %% mutant ch02_himmelblau: path misses the starting point
def descend(f, start, lr=0.05, num_steps=600):
    point = start.detach().clone().requires_grad_(True)
    adam = optim.Adam([point], lr=lr)
    path = []
    for _ in range(num_steps + 1):
        adam.zero_grad()
        f(point).backward()
        adam.step()
        path.append(point.detach().clone())
    return torch.stack(path)


# %% mutant ch02_sigmoid_function: backward ignores grad_output
class Sigmoid(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        out = torch.sigmoid(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad_output):
        (out,) = ctx.saved_tensors
        return out * (1 - out)


# %% mutant ch02_sigmoid_function: treats the saved output as the input in backward
class Sigmoid(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        out = torch.sigmoid(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad_output):
        (out,) = ctx.saved_tensors
        s = torch.sigmoid(out)
        return grad_output * s * (1 - s)
