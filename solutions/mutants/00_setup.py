"""Realistic wrong answers to the exercises of 00_setup; each replaces one solution cell.

The self-test reads only the blocks headed ``# %% mutant``. The imports above them are the
names the chapter's notebook defines before its exercises, so that editors and ruff see them.
"""

import collections
import statistics
import time

import torch

from course_lib import devices


# %% mutant ch00_to_device: builds a named tuple from one iterable, like a plain tuple
def to_device(batch, device):
    if isinstance(batch, torch.Tensor):
        return batch.to(device)
    if isinstance(batch, dict):
        return type(batch)({key: to_device(value, device) for key, value in batch.items()})
    if isinstance(batch, list | tuple):
        return type(batch)(to_device(item, device) for item in batch)
    return batch


# %% mutant ch00_to_device: turns every tuple into a list
def to_device(batch, device):
    if isinstance(batch, torch.Tensor):
        return batch.to(device)
    if isinstance(batch, dict):
        return {key: to_device(value, device) for key, value in batch.items()}
    if isinstance(batch, list | tuple):
        return [to_device(item, device) for item in batch]
    return batch


# %% mutant ch00_to_device: moves tensors by assigning into the input's containers
def to_device(batch, device):
    if isinstance(batch, torch.Tensor):
        return batch.to(device)
    if isinstance(batch, dict):
        for key in batch:
            batch[key] = to_device(batch[key], device)
        return batch
    if isinstance(batch, list):
        for i, item in enumerate(batch):
            batch[i] = to_device(item, device)
        return batch
    if isinstance(batch, tuple) and hasattr(batch, "_fields"):
        return type(batch)(*(to_device(item, device) for item in batch))
    if isinstance(batch, tuple):
        return tuple(to_device(item, device) for item in batch)
    return batch


# %% mutant ch00_to_device: treats every sequence as a container, strings included
def to_device(batch, device):
    if isinstance(batch, torch.Tensor):
        return batch.to(device)
    if isinstance(batch, dict):
        return type(batch)({key: to_device(value, device) for key, value in batch.items()})
    if isinstance(batch, tuple) and hasattr(batch, "_fields"):
        return type(batch)(*(to_device(item, device) for item in batch))
    if isinstance(batch, collections.abc.Sequence):
        return type(batch)(to_device(item, device) for item in batch)
    return batch


# %% mutant ch00_time_call: forgets the warm-up
def time_call(fn, device, warmup=2, repeats=5):
    durations = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        devices.synchronize(device)
        durations.append(time.perf_counter() - start)
    return float(statistics.median(durations))


# %% mutant ch00_time_call: returns the mean instead of the median
def time_call(fn, device, warmup=2, repeats=5):
    for _ in range(warmup):
        fn()
    devices.synchronize(device)
    durations = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        devices.synchronize(device)
        durations.append(time.perf_counter() - start)
    return sum(durations) / len(durations)


# %% mutant ch00_time_call: ignores repeats and always times five calls
def time_call(fn, device, warmup=2, repeats=5):
    for _ in range(warmup):
        fn()
    devices.synchronize(device)
    durations = []
    for _ in range(5):
        start = time.perf_counter()
        fn()
        devices.synchronize(device)
        durations.append(time.perf_counter() - start)
    return float(statistics.median(durations))


# %% mutant ch00_time_call: reads the clock before the GPU has finished
def time_call(fn, device, warmup=2, repeats=5):
    for _ in range(warmup):
        fn()
    durations = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        durations.append(time.perf_counter() - start)
    devices.synchronize(device)
    return float(statistics.median(durations))


# %% mutant ch00_time_call: times the warm-up calls too
def time_call(fn, device, warmup=2, repeats=5):
    durations = []
    for _ in range(warmup + repeats):
        start = time.perf_counter()
        fn()
        devices.synchronize(device)
        durations.append(time.perf_counter() - start)
    return float(statistics.median(durations))
