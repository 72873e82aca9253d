"""devices.to_device with packed sequences: data moves, batch_sizes stays on the CPU."""

from __future__ import annotations

import torch
from torch.nn.utils.rnn import PackedSequence, pack_sequence

from course_lib import devices


def test_to_device_moves_a_packed_sequence_and_keeps_batch_sizes_on_cpu():
    """Does a PackedSequence inside a batch move to another device with batch_sizes left on the CPU?"""
    packed = pack_sequence(
        [torch.ones(3, 2), torch.ones(1, 2), torch.ones(2, 2)], enforce_sorted=False
    )
    moved, y = devices.to_device((packed, torch.tensor([0, 1, 0])), "meta")
    assert isinstance(moved, PackedSequence)
    assert moved.data.device.type == "meta" and y.device.type == "meta"
    assert moved.batch_sizes.device.type == "cpu"
    assert moved.batch_sizes.tolist() == packed.batch_sizes.tolist()
    assert moved.sorted_indices.device.type == "meta"  # indices follow the data, as .to() does


def test_to_device_keeps_a_packed_sequence_on_the_cpu_as_it_is():
    """Is a CPU PackedSequence moved to the CPU returned with the same values?"""
    packed = pack_sequence([torch.arange(3.0), torch.arange(2.0)])
    same = devices.to_device(packed, "cpu")
    assert torch.equal(same.data, packed.data) and torch.equal(same.batch_sizes, packed.batch_sizes)
