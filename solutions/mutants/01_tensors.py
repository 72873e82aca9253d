"""Realistic wrong answers to the exercises of 01_tensors; each replaces one solution cell.

The self-test reads only the blocks headed ``# %% mutant``. The imports above them are the
names the chapter's notebook defines before its exercises, so that editors and ruff see them.
"""

import torch


# %% mutant ch01_as_float32: torch.tensor always copies
def as_float32(array):
    return torch.tensor(array, dtype=torch.float32)


# %% mutant ch01_as_float32: from_numpy keeps the array's dtype
def as_float32(array):
    return torch.from_numpy(array)


# %% mutant ch01_gather_scores: gathers along the batch axis
def gather_scores(scores, labels):
    return scores.gather(0, labels.unsqueeze(0)).squeeze(0)


# %% mutant ch01_gather_scores: squeeze() also drops the batch axis when B == 1
def gather_scores(scores, labels):
    return scores.gather(1, labels.unsqueeze(1)).squeeze()


# %% mutant ch01_to_bchw: view instead of permute scrambles the pixels
def to_bchw(images):
    B, H, W, C = images.shape
    return images.view(B, C, H, W).float().div(255)


# %% mutant ch01_to_bchw: forgets that the permuted result is not contiguous
def to_bchw(images):
    return images.permute(0, 3, 1, 2).float() / 255


# %% mutant ch01_pairwise_sq_dists: sums over the wrong axis
def pairwise_sq_dists(X, Y):
    return (X[:, None, :] - Y[None, :, :]).pow(2).sum(0)


# %% mutant ch01_pairwise_sq_dists: forgets to square
def pairwise_sq_dists(X, Y):
    return (X[:, None, :] - Y[None, :, :]).abs().sum(-1)


# %% mutant ch01_add_images: puts the new images first
def add_images(batch, images):
    return torch.cat([torch.stack(images), batch], dim=0)


# %% mutant ch01_add_images: cat instead of stack for the single images
def add_images(batch, images):
    return torch.cat([batch, torch.cat(images)], dim=0)


# %% mutant ch01_minibatches: chunk makes batch_size pieces, not pieces of batch_size
def minibatches(X, batch_size):
    return list(X.chunk(batch_size, dim=0))


# %% mutant ch01_minibatches: drops the last, shorter batch
def minibatches(X, batch_size):
    return [X[i : i + batch_size] for i in range(0, len(X) - batch_size + 1, batch_size)]


# %% mutant ch01_batch_matvec: squeeze() also drops axes of length 1 in B or N
def batch_matvec(A, x):
    return (A @ x.unsqueeze(-1)).squeeze()


# %% mutant ch01_batch_matvec: broadcasts x without a new axis
def batch_matvec(A, x):
    return (A * x).sum(-1)


# %% mutant ch01_argmax_2d: divides the flat index by the height instead of the width
def argmax_2d(maps):
    flat = maps.flatten(start_dim=1).argmax(dim=1)
    height = maps.shape[1]
    return torch.stack([flat // height, flat % height], dim=1)


# %% mutant ch01_argmax_2d: returns (col, row)
def argmax_2d(maps):
    flat = maps.flatten(start_dim=1).argmax(dim=1)
    width = maps.shape[2]
    return torch.stack([flat % width, flat // width], dim=1)


# %% mutant ch01_argmax_2d: fills a result made with torch.zeros(B, 2), on the default device
def argmax_2d(maps):
    flat = maps.flatten(start_dim=1).argmax(dim=1)
    width = maps.shape[2]
    out = torch.zeros(len(maps), 2, dtype=torch.long)
    out[:, 0] = flat // width
    out[:, 1] = flat % width
    return out


# %% mutant ch01_topk_mask: forgets keepdim, so the thresholds broadcast along the wrong axis
def topk_mask(X, k):
    threshold = X.topk(k, dim=1).values[:, -1]
    return X >= threshold


# %% mutant ch01_topk_mask: kthvalue counts from the smallest
def topk_mask(X, k):
    return X >= X.kthvalue(k, dim=1, keepdim=True).values


# %% mutant ch01_topk_mask: builds the mask with torch.zeros(X.shape), on the default device
def topk_mask(X, k):
    mask = torch.zeros(X.shape, dtype=torch.bool)
    return mask.scatter(1, X.topk(k, dim=1).indices, True)


# %% mutant ch01_normalize_channels: normalises over the channel axis
def normalize_channels(X, eps=1e-5):
    mean = X.mean(dim=1, keepdim=True)
    var = X.var(dim=1, keepdim=True, correction=0)
    return (X - mean) / torch.sqrt(var + eps)


# %% mutant ch01_normalize_channels: forgets keepdim
def normalize_channels(X, eps=1e-5):
    mean = X.mean(dim=(0, 2, 3))
    var = X.var(dim=(0, 2, 3), correction=0)
    return (X - mean) / torch.sqrt(var + eps)


# %% mutant ch01_normalize_channels: ignores the eps argument
def normalize_channels(X, eps=1e-5):
    mean = X.mean(dim=(0, 2, 3), keepdim=True)
    var = X.var(dim=(0, 2, 3), keepdim=True, correction=0)
    return (X - mean) / torch.sqrt(var + 1e-5)


# %% mutant ch01_replace_outliers: assigns into the input in place
def replace_outliers(X, k=3.0):
    mean = X.mean(dim=0, keepdim=True)
    std = X.std(dim=0, keepdim=True)
    far = (X - mean).abs() > k * std
    X[far] = mean.expand_as(X)[far]
    return X


# %% mutant ch01_replace_outliers: mean and std of the whole table, not per column
def replace_outliers(X, k=3.0):
    mean = X.mean()
    std = X.std()
    return torch.where((X - mean).abs() > k * std, mean, X)


# %% mutant ch01_storage_index: forgets the storage offset
def storage_index(t, index):
    return sum(i * s for i, s in zip(index, t.stride(), strict=True))


# %% mutant ch01_storage_index: assumes the contiguous strides of the shape
def storage_index(t, index):
    position, step = t.storage_offset(), 1
    for i, size in reversed(list(zip(index, t.shape, strict=True))):
        position += i * step
        step *= size
    return position
