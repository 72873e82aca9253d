"""Realistic wrong answers to the exercises of 04_cnn; each replaces one solution cell.

The self-test reads only the blocks headed ``# %% mutant``. The imports above them are the
names the chapter's notebook defines before its exercises, so that editors and ruff see them.
"""

import itertools
from collections import namedtuple

import torch
import torch.nn.functional as F
from torch import nn
from torchvision import transforms


# %% mutant ch04_conv_output_size: ignores dilation
def conv_output_size(n, kernel_size, stride=1, padding=0, dilation=1):
    return (n + 2 * padding - kernel_size) // stride + 1


# %% mutant ch04_conv_output_size: rounds instead of taking the floor
def conv_output_size(n, kernel_size, stride=1, padding=0, dilation=1):
    return round((n + 2 * padding - dilation * (kernel_size - 1) - 1) / stride) + 1


# %% mutant ch04_conv_output_size: counts the padding on one side only
def conv_output_size(n, kernel_size, stride=1, padding=0, dilation=1):
    return (n + padding - dilation * (kernel_size - 1) - 1) // stride + 1


# %% mutant ch04_conv2d: flips the kernel (textbook convolution, not PyTorch's cross-correlation)
def conv2d(x, weight, bias=None, stride=1, padding=0):
    B, _, H, W = x.shape
    C_out, _, kh, kw = weight.shape
    xp = F.pad(x, (padding, padding, padding, padding))
    H_out = (H + 2 * padding - kh) // stride + 1
    W_out = (W + 2 * padding - kw) // stride + 1
    out = x.new_zeros(B, C_out, H_out, W_out)
    flipped = weight.flip(-1, -2)
    for i in range(H_out):
        for j in range(W_out):
            window = xp[:, :, i * stride : i * stride + kh, j * stride : j * stride + kw]
            out[:, :, i, j] = torch.einsum("bcuv,ocuv->bo", window, flipped)
    if bias is not None:
        out = out + bias.view(1, -1, 1, 1)
    return out


# %% mutant ch04_conv2d: the window does not move by the stride
def conv2d(x, weight, bias=None, stride=1, padding=0):
    B, _, H, W = x.shape
    C_out, _, kh, kw = weight.shape
    xp = F.pad(x, (padding, padding, padding, padding))
    H_out = (H + 2 * padding - kh) // stride + 1
    W_out = (W + 2 * padding - kw) // stride + 1
    out = x.new_zeros(B, C_out, H_out, W_out)
    for i in range(H_out):
        for j in range(W_out):
            window = xp[:, :, i : i + kh, j : j + kw]
            out[:, :, i, j] = torch.einsum("bcuv,ocuv->bo", window, weight)
    if bias is not None:
        out = out + bias.view(1, -1, 1, 1)
    return out


# %% mutant ch04_conv2d: pads only the bottom and right
def conv2d(x, weight, bias=None, stride=1, padding=0):
    B, _, H, W = x.shape
    C_out, _, kh, kw = weight.shape
    xp = F.pad(x, (0, 2 * padding, 0, 2 * padding))
    H_out = (H + 2 * padding - kh) // stride + 1
    W_out = (W + 2 * padding - kw) // stride + 1
    out = x.new_zeros(B, C_out, H_out, W_out)
    for i in range(H_out):
        for j in range(W_out):
            window = xp[:, :, i * stride : i * stride + kh, j * stride : j * stride + kw]
            out[:, :, i, j] = torch.einsum("bcuv,ocuv->bo", window, weight)
    if bias is not None:
        out = out + bias.view(1, -1, 1, 1)
    return out


# %% mutant ch04_conv2d: builds the output with torch.zeros(...), on the default device
def conv2d(x, weight, bias=None, stride=1, padding=0):
    B, _, H, W = x.shape
    C_out, _, kh, kw = weight.shape
    xp = F.pad(x, (padding, padding, padding, padding))
    H_out = (H + 2 * padding - kh) // stride + 1
    W_out = (W + 2 * padding - kw) // stride + 1
    out = torch.zeros(B, C_out, H_out, W_out)
    for i in range(H_out):
        for j in range(W_out):
            window = xp[:, :, i * stride : i * stride + kh, j * stride : j * stride + kw]
            out[:, :, i, j] = torch.einsum("bcuv,ocuv->bo", window, weight)
    if bias is not None:
        out = out + bias.view(1, -1, 1, 1)
    return out


# %% mutant ch04_box_blur: one kernel over all channels (no groups) mixes the channels
def box_blur(x, k):
    C = x.shape[1]
    weight = torch.full((C, C, k, k), 1.0 / (k * k), dtype=x.dtype, device=x.device)
    return F.conv2d(x, weight, padding=k // 2)


# %% mutant ch04_box_blur: sums the window instead of averaging it
def box_blur(x, k):
    C = x.shape[1]
    weight = torch.ones(C, 1, k, k, dtype=x.dtype, device=x.device)
    return F.conv2d(x, weight, padding=k // 2, groups=C)


# %% mutant ch04_box_blur: makes the kernel with torch.full(...), on the default device
def box_blur(x, k):
    C = x.shape[1]
    weight = torch.full((C, 1, k, k), 1.0 / (k * k), dtype=x.dtype)
    return F.conv2d(x, weight, padding=k // 2, groups=C)


# %% mutant ch04_max_pool2d: stride defaults to 1 (overlapping windows)
def max_pool2d(x, kernel_size, stride=None):
    stride = 1 if stride is None else stride
    windows = x.unfold(2, kernel_size, stride).unfold(3, kernel_size, stride)
    return windows.amax(dim=(-2, -1))


# %% mutant ch04_max_pool2d: averages the window (average pooling)
def max_pool2d(x, kernel_size, stride=None):
    stride = kernel_size if stride is None else stride
    windows = x.unfold(2, kernel_size, stride).unfold(3, kernel_size, stride)
    return windows.mean(dim=(-2, -1))


# %% mutant ch04_upsample_nearest: repeat tiles the whole image instead of each pixel
def upsample_nearest(x, scale):
    return x.repeat(1, 1, scale, scale)


# %% mutant ch04_upsample_nearest: repeats pixels along the height only, then tiles the width
def upsample_nearest(x, scale):
    return x.repeat_interleave(scale, dim=2).repeat(1, 1, 1, scale)


# %% mutant ch04_batch_norm: normalises with the unbiased variance
def batch_norm_train(x, gamma, beta, running_mean, running_var, momentum=0.1, eps=1e-5):
    mean = x.mean(dim=(0, 2, 3))
    var = x.var(dim=(0, 2, 3))
    x_hat = (x - mean.view(1, -1, 1, 1)) / torch.sqrt(var.view(1, -1, 1, 1) + eps)
    y = gamma.view(1, -1, 1, 1) * x_hat + beta.view(1, -1, 1, 1)
    new_mean = (1 - momentum) * running_mean + momentum * mean
    new_var = (1 - momentum) * running_var + momentum * var
    return y, new_mean, new_var


# %% mutant ch04_batch_norm: the running variance uses the biased batch variance
def batch_norm_train(x, gamma, beta, running_mean, running_var, momentum=0.1, eps=1e-5):
    mean = x.mean(dim=(0, 2, 3))
    var = x.var(dim=(0, 2, 3), unbiased=False)
    x_hat = (x - mean.view(1, -1, 1, 1)) / torch.sqrt(var.view(1, -1, 1, 1) + eps)
    y = gamma.view(1, -1, 1, 1) * x_hat + beta.view(1, -1, 1, 1)
    new_mean = (1 - momentum) * running_mean + momentum * mean
    new_var = (1 - momentum) * running_var + momentum * var
    return y, new_mean, new_var


# %% mutant ch04_batch_norm: momentum weights the old statistics instead of the new ones
def batch_norm_train(x, gamma, beta, running_mean, running_var, momentum=0.1, eps=1e-5):
    mean = x.mean(dim=(0, 2, 3))
    var = x.var(dim=(0, 2, 3), unbiased=False)
    n = x.numel() // x.shape[1]
    x_hat = (x - mean.view(1, -1, 1, 1)) / torch.sqrt(var.view(1, -1, 1, 1) + eps)
    y = gamma.view(1, -1, 1, 1) * x_hat + beta.view(1, -1, 1, 1)
    new_mean = momentum * running_mean + (1 - momentum) * mean
    new_var = momentum * running_var + (1 - momentum) * var * n / (n - 1)
    return y, new_mean, new_var


# %% mutant ch04_batch_norm: updates the running statistics in place
def batch_norm_train(x, gamma, beta, running_mean, running_var, momentum=0.1, eps=1e-5):
    mean = x.mean(dim=(0, 2, 3))
    var = x.var(dim=(0, 2, 3), unbiased=False)
    n = x.numel() // x.shape[1]
    x_hat = (x - mean.view(1, -1, 1, 1)) / torch.sqrt(var.view(1, -1, 1, 1) + eps)
    y = gamma.view(1, -1, 1, 1) * x_hat + beta.view(1, -1, 1, 1)
    running_mean.mul_(1 - momentum).add_(momentum * mean)
    running_var.mul_(1 - momentum).add_(momentum * var * n / (n - 1))
    return y, running_mean, running_var


# %% mutant ch04_equal_detector: no activation between the convolutions (the model stays linear)
class EqualDetector(nn.Module):
    def __init__(self, hidden=4):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(1, hidden, kernel_size=2), nn.Conv2d(hidden, 1, kernel_size=2), nn.Sigmoid()
        )

    def forward(self, x):
        return self.net(x).flatten()


# %% mutant ch04_equal_detector: squeeze() also drops the batch axis of a batch of one (B = 1)
class EqualDetector(nn.Module):
    def __init__(self, hidden=4):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(1, hidden, kernel_size=2),
            nn.LeakyReLU(),
            nn.Conv2d(hidden, 1, kernel_size=2),
            nn.Sigmoid(),
        )

    def forward(self, x):
        return self.net(x).squeeze()


# %% mutant ch04_train_equal_detector: forgets zero_grad, so gradients pile up across epochs
def train_equal_detector(model, X, y, num_epochs=300, lr=1.0):
    loss_fn = nn.BCELoss()
    optimizer = torch.optim.Adadelta(model.parameters(), lr=lr)
    losses = []
    for _ in range(num_epochs):
        loss = loss_fn(model(X), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


# %% mutant ch04_train_equal_detector: keeps the loss tensors instead of Python floats
def train_equal_detector(model, X, y, num_epochs=300, lr=1.0):
    loss_fn = nn.BCELoss()
    optimizer = torch.optim.Adadelta(model.parameters(), lr=lr)
    losses = []
    for _ in range(num_epochs):
        optimizer.zero_grad()
        loss = loss_fn(model(X), y)
        loss.backward()
        optimizer.step()
        losses.append(loss)
    return losses


# %% mutant ch04_train_equal_detector: ignores the lr argument (Adadelta's default)
def train_equal_detector(model, X, y, num_epochs=300, lr=1.0):
    loss_fn = nn.BCELoss()
    optimizer = torch.optim.Adadelta(model.parameters())
    losses = []
    for _ in range(num_epochs):
        optimizer.zero_grad()
        loss = loss_fn(model(X), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


# %% mutant ch04_lenet5: hard-codes the flattened size for 32x32 images
class LeNet5(nn.Module):
    def __init__(self, in_channels=3, num_classes=10, image_size=32):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 6, kernel_size=5),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(6, 16, kernel_size=5),
            nn.ReLU(),
            nn.MaxPool2d(2),
        )
        self.classifier = nn.Sequential(
            nn.Linear(16 * 5 * 5, 120),
            nn.ReLU(),
            nn.Linear(120, 84),
            nn.ReLU(),
            nn.Linear(84, num_classes),
        )

    def forward(self, x):
        return self.classifier(self.features(x).flatten(start_dim=1))


# %% mutant ch04_lenet5: ends with a softmax, although cross_entropy expects logits
class LeNet5(nn.Module):
    def __init__(self, in_channels=3, num_classes=10, image_size=32):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 6, kernel_size=5),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(6, 16, kernel_size=5),
            nn.ReLU(),
            nn.MaxPool2d(2),
        )
        with torch.no_grad():
            n_flat = self.features(torch.zeros(1, in_channels, image_size, image_size)).numel()
        self.classifier = nn.Sequential(
            nn.Linear(n_flat, 120),
            nn.ReLU(),
            nn.Linear(120, 84),
            nn.ReLU(),
            nn.Linear(84, num_classes),
            nn.Softmax(dim=1),
        )

    def forward(self, x):
        return self.classifier(self.features(x).flatten(start_dim=1))


# %% mutant ch04_lenet5: flattens the batch dimension too
class LeNet5(nn.Module):
    def __init__(self, in_channels=3, num_classes=10, image_size=32):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 6, kernel_size=5),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(6, 16, kernel_size=5),
            nn.ReLU(),
            nn.MaxPool2d(2),
        )
        with torch.no_grad():
            n_flat = self.features(torch.zeros(1, in_channels, image_size, image_size)).numel()
        self.classifier = nn.Sequential(
            nn.Linear(n_flat, 120),
            nn.ReLU(),
            nn.Linear(120, 84),
            nn.ReLU(),
            nn.Linear(84, num_classes),
        )

    def forward(self, x):
        return self.classifier(self.features(x).flatten())


# %% mutant ch04_residual_block: ReLU on the main path before the addition, none after it
class ResBlock(nn.Module):
    def __init__(self, ch_in, ch_out, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(ch_in, ch_out, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(ch_out)
        self.conv2 = nn.Conv2d(ch_out, ch_out, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(ch_out)
        if stride == 1 and ch_in == ch_out:
            self.shortcut = nn.Identity()
        else:
            self.shortcut = nn.Sequential(
                nn.Conv2d(ch_in, ch_out, 1, stride=stride, bias=False), nn.BatchNorm2d(ch_out)
            )

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = F.relu(self.bn2(self.conv2(out)))
        return out + self.shortcut(x)


# %% mutant ch04_residual_block: the 1x1 shortcut forgets the stride
class ResBlock(nn.Module):
    def __init__(self, ch_in, ch_out, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(ch_in, ch_out, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(ch_out)
        self.conv2 = nn.Conv2d(ch_out, ch_out, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(ch_out)
        if stride == 1 and ch_in == ch_out:
            self.shortcut = nn.Identity()
        else:
            self.shortcut = nn.Sequential(
                nn.Conv2d(ch_in, ch_out, 1, bias=False), nn.BatchNorm2d(ch_out)
            )

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


# %% mutant ch04_residual_block: always projects, even when the shape is unchanged
class ResBlock(nn.Module):
    def __init__(self, ch_in, ch_out, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(ch_in, ch_out, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(ch_out)
        self.conv2 = nn.Conv2d(ch_out, ch_out, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(ch_out)
        self.shortcut = nn.Sequential(
            nn.Conv2d(ch_in, ch_out, 1, stride=stride, bias=False), nn.BatchNorm2d(ch_out)
        )

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


# %% mutant ch04_channel_mean_std: averages the per-batch means and stds
def channel_mean_std(loader):
    means, stds = [], []
    for X, _ in loader:
        means.append(X.mean(dim=(0, 2, 3)))
        stds.append(X.std(dim=(0, 2, 3), unbiased=False))
    return torch.stack(means).mean(0).float(), torch.stack(stds).mean(0).float()


# %% mutant ch04_channel_mean_std: one mean and std over all channels together
def channel_mean_std(loader):
    X = torch.cat([X for X, _ in loader]).double()
    C = X.shape[1]
    return X.mean().repeat(C).float(), X.std(unbiased=False).repeat(C).float()


# %% mutant ch04_augment: normalises before padding, so the padded border is not black
def make_augmentation(mean, std, size=32, padding=4):
    return transforms.Compose(
        [
            transforms.RandomHorizontalFlip(p=0.5),
            transforms.Normalize(mean, std),
            transforms.RandomCrop(size, padding=padding),
        ]
    )


# %% mutant ch04_augment: flips upside down instead of left-right
def make_augmentation(mean, std, size=32, padding=4):
    return transforms.Compose(
        [
            transforms.RandomVerticalFlip(p=0.5),
            transforms.RandomCrop(size, padding=padding),
            transforms.Normalize(mean, std),
        ]
    )


# %% mutant ch04_augment: forgets the random crop
def make_augmentation(mean, std, size=32, padding=4):
    return transforms.Compose(
        [transforms.RandomHorizontalFlip(p=0.5), transforms.Normalize(mean, std)]
    )


# %% mutant ch04_get_runs: zip pairs the lists up instead of combining them
def get_runs(params):
    Run = namedtuple("Run", params.keys())
    return [Run(*values) for values in zip(*params.values(), strict=False)]


# %% mutant ch04_get_runs: returns plain dicts instead of named tuples
def get_runs(params):
    return [
        dict(zip(params, values, strict=True)) for values in itertools.product(*params.values())
    ]


# %% mutant ch04_reset_weights: children() misses the layers nested inside containers
def reset_weights(model, seed):
    torch.manual_seed(seed)
    for module in model.children():
        if hasattr(module, "reset_parameters"):
            module.reset_parameters()
    return model


# %% mutant ch04_reset_weights: never seeds, so resets are not reproducible
def reset_weights(model, seed):
    for module in model.modules():
        if hasattr(module, "reset_parameters"):
            module.reset_parameters()
    return model
