"""Tests for course_lib.runs: RunBuilder's combinations and what RunManager writes to disk."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from course_lib import runs
from course_lib.runs import RunBuilder, RunManager


def test_get_runs_is_the_cartesian_product_in_key_order():
    """Does get_runs give one named tuple per combination, keys in order, last key fastest?"""
    params = {"lr": [0.1, 0.01], "batch_size": [10, 100, 1000], "shuffle": [True]}
    got = RunBuilder.get_runs(params)
    assert len(got) == 2 * 3 * 1
    assert got[0]._fields == ("lr", "batch_size", "shuffle")
    assert [(r.lr, r.batch_size) for r in got[:3]] == [(0.1, 10), (0.1, 100), (0.1, 1000)]
    assert got[-1] == (0.01, 1000, True)
    assert type(got[0]).__name__ == "Run"
    assert str(got[0]) == "Run(lr=0.1, batch_size=10, shuffle=True)"


def test_get_runs_edge_cases():
    """What do an empty value list and a bad key name give?"""
    assert RunBuilder.get_runs({"lr": [], "batch_size": [1, 2]}) == []
    with pytest.raises(ValueError, match="identifiers"):
        RunBuilder.get_runs({"batch size": [1]})


def _tiny_setup(n: int = 40, batch_size: int = 16, bn: bool = True):
    g = torch.Generator().manual_seed(0)
    X = torch.rand(n, 1, 8, 8, generator=g)
    y = torch.randint(0, 3, (n,), generator=g)
    loader = DataLoader(TensorDataset(X, y), batch_size=batch_size)
    layers = [nn.Conv2d(1, 4, 3, padding=1)]
    if bn:
        layers.append(nn.BatchNorm2d(4))
    layers += [nn.ReLU(), nn.Flatten(), nn.Linear(4 * 8 * 8, 3)]
    return nn.Sequential(*layers), loader


def _train(manager: RunManager, params: dict, num_epochs: int = 2) -> list:
    all_runs = RunBuilder.get_runs(params)
    for run in all_runs:
        torch.manual_seed(0)
        model, loader = _tiny_setup(batch_size=run.batch_size)
        optimizer = torch.optim.SGD(model.parameters(), lr=run.lr)
        manager.begin_run(run, model, loader)
        for _ in range(num_epochs):
            manager.begin_epoch()
            for X, y in loader:
                logits = model(X)
                loss = nn.functional.cross_entropy(logits, y)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                manager.track(loss, logits, y)
            manager.end_epoch(val_acc=0.5)
        manager.end_run()
    return all_runs


def _events(run_dir: Path) -> EventAccumulator:
    acc = EventAccumulator(str(run_dir), size_guidance={"scalars": 0, "images": 0, "histograms": 0})
    acc.Reload()
    return acc


def test_run_manager_writes_tensorboard_events_that_read_back(tmp_path):
    """Can TensorBoard read back each run's scalars, image grid, graph and weight/grad histograms?"""
    manager = RunManager(tmp_path, show=False)
    all_runs = _train(manager, {"lr": [0.1, 0.01], "batch_size": [16]}, num_epochs=2)
    run_dirs = sorted(p for p in tmp_path.iterdir() if p.is_dir())
    assert len(run_dirs) == len(all_runs)
    assert run_dirs[0].name.startswith("01_lr=0.1")
    acc = _events(run_dirs[0])
    tags = acc.Tags()
    assert {"loss", "accuracy", "val_acc"} <= set(tags["scalars"])
    losses = acc.Scalars("loss")
    assert [e.step for e in losses] == [1, 2]
    assert losses[0].value == pytest.approx(manager.rows[0]["loss"], rel=1e-5)
    assert tags["images"] == ["images"]
    image = acc.Images("images")[0]
    assert image.width > 8 and image.height > 8
    assert tags["graph"], "add_graph wrote no graph"
    assert {"0.weight", "0.weight.grad", "4.bias", "4.bias.grad"} <= set(tags["histograms"])
    assert len(acc.Histograms("0.weight")) == 2


def test_run_manager_saves_one_row_per_epoch_per_run(tmp_path):
    """Do the CSV and JSON hold one row per epoch per run with the hyper-parameters as columns?"""
    manager = RunManager(tmp_path, show=False, graph=False)
    params = {"lr": [0.1, 0.01], "batch_size": [8, 40]}
    all_runs = _train(manager, params, num_epochs=2)
    csv_path, json_path = manager.save()
    assert csv_path == tmp_path / "results.csv" and json_path == tmp_path / "results.json"
    table = pd.read_csv(csv_path)
    rows = json.loads(json_path.read_text())
    assert len(table) == len(rows) == len(all_runs) * 2
    assert {"run", "epoch", "loss", "accuracy", "val_acc", "epoch_duration", "run_duration"} <= set(
        table.columns
    )
    for i, run in enumerate(all_runs):
        for epoch in (1, 2):
            row = rows[2 * i + epoch - 1]
            assert (row["run"], row["epoch"], row["lr"], row["batch_size"]) == (
                i + 1,
                epoch,
                run.lr,
                run.batch_size,
            )
    assert table["lr"].tolist() == [r["lr"] for r in rows]
    assert all(0 <= r["accuracy"] <= 1 and r["loss"] > 0 for r in rows)
    assert all(r["run_duration"] >= r["epoch_duration"] >= 0 for r in rows)


def test_tracked_loss_and_accuracy_are_per_sample_averages(tmp_path):
    """Are loss and accuracy averaged per sample, so a short last batch counts for what it is?"""
    manager = RunManager(tmp_path, show=False, images=False, graph=False, histograms=False)
    run = RunBuilder.get_runs({"lr": [0.1]})[0]
    manager.begin_run(run, nn.Linear(2, 2))
    manager.begin_epoch()
    labels = torch.tensor([0, 1, 1])
    manager.track(torch.tensor(1.0), torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]]), labels)
    manager.track(torch.tensor(4.0), torch.tensor([[1.0, 0.0]]), torch.tensor([0]))
    row = manager.end_epoch()
    manager.end_run()
    assert row["loss"] == pytest.approx((1.0 * 3 + 4.0 * 1) / 4)
    assert row["accuracy"] == pytest.approx(3 / 4)


def test_add_graph_leaves_batchnorm_statistics_alone(tmp_path):
    """Does logging the graph (a traced forward pass) leave BatchNorm's running statistics unchanged?"""
    model, loader = _tiny_setup()
    before = model[1].running_mean.clone()
    manager = RunManager(tmp_path, show=False)
    manager.begin_run(RunBuilder.get_runs({"lr": [0.1]})[0], model, loader)
    manager.end_run()
    assert torch.equal(model[1].running_mean, before)


def test_run_manager_prints_nothing_outside_jupyter(tmp_path, capsys):
    """Outside Jupyter, is the manager silent by default and does show=True print the rows?"""
    for show in (None, True):
        manager = RunManager(tmp_path / str(show), show=show, images=False, graph=False)
        manager.begin_run(RunBuilder.get_runs({"lr": [0.1]})[0], nn.Linear(2, 2))
        manager.begin_epoch()
        manager.track(torch.tensor(1.0), torch.tensor([[1.0, 0.0]]), torch.tensor([0]))
        manager.end_epoch()
        manager.end_run()
        out = capsys.readouterr().out
        assert (out == "") == (show is None)
    assert not runs.in_notebook()
    assert "lr" in out and "accuracy" in out


def test_default_log_dir_is_not_the_working_directory(tmp_path, monkeypatch):
    """Without a log_dir, do the event files and results land in a temporary folder, not the cwd?"""
    monkeypatch.chdir(tmp_path)
    manager = RunManager(show=False, images=False, graph=False)
    assert tmp_path not in manager.log_dir.parents and manager.log_dir != tmp_path
    assert list(tmp_path.iterdir()) == []
