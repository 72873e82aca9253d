"""course_lib.training: one clean update per batch, honest metrics, early stopping, checkpoints."""

from __future__ import annotations

import math
import traceback

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from course_lib import grading, training


def _problem(n=50, batch_size=8, seed=0):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, 4, generator=g)
    y = (X[:, 0] + X[:, 1] > 0).long()
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Dropout(0.1), nn.Linear(16, 2))
    return model, DataLoader(TensorDataset(X, y), batch_size=batch_size), X, y


def test_train_one_epoch_zero_grad_backward_step_per_batch():
    """Does train_one_epoch do zero_grad -> backward -> step once per batch, in train mode?"""
    model, loader, _, _ = _problem()
    model.eval()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with grading.TrainingSpy(model, opt) as spy:
        out = training.train_one_epoch(model, loader, nn.CrossEntropyLoss(), opt, device="cpu")
    grading.check_train_steps(spy, expected_steps=len(loader))
    assert set(out) == {"loss", "acc"} and 0 <= out["acc"] <= 1


def test_train_one_epoch_metrics_match_hand_computation():
    """Are loss and accuracy the sample-weighted means over batches (uneven last batch included)?"""
    model, loader, X, y = _problem(n=50, batch_size=8)
    model[2].p = 0.0
    opt = torch.optim.SGD(model.parameters(), lr=0.0)  # no change: metrics of a fixed model
    out = training.train_one_epoch(model, loader, nn.CrossEntropyLoss(), opt, device="cpu")
    with torch.no_grad():
        logits = model(X)
    assert math.isclose(out["loss"], nn.functional.cross_entropy(logits, y).item(), rel_tol=1e-5)
    assert math.isclose(out["acc"], (logits.argmax(1) == y).float().mean().item(), rel_tol=1e-6)


def test_train_one_epoch_learns():
    """Does the loss fall over a few epochs of a separable problem?"""
    model, loader, _, _ = _problem(n=200)
    opt = torch.optim.SGD(model.parameters(), lr=0.2)
    first = training.train_one_epoch(model, loader, nn.CrossEntropyLoss(), opt, device="cpu")
    for _ in range(5):
        last = training.train_one_epoch(model, loader, nn.CrossEntropyLoss(), opt, device="cpu")
    assert last["loss"] < 0.7 * first["loss"] and last["acc"] > 0.85


def test_evaluate_is_eval_mode_no_grad_and_restores_mode():
    """Does evaluate run in eval mode without gradients, leave weights alone and restore the mode?"""
    model, loader, _, _ = _problem()
    before = [p.detach().clone() for p in model.parameters()]
    for mode in (True, False):
        model.train(mode)
        with grading.TrainingSpy(model) as spy:
            out = training.evaluate(model, loader, nn.CrossEntropyLoss(), device="cpu")
        grading.check_evaluation(spy)
        assert model.training is mode
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))
    assert set(out) == {"loss", "acc"}


def test_no_per_step_synchronisation(monkeypatch):
    """Does the loop call .item() a fixed number of times per epoch, however many batches there are?"""
    counts = []
    real_item = torch.Tensor.item

    def counting_item(self):
        caller = traceback.extract_stack(limit=2)[0].filename
        if caller == training.__file__:  # DataLoader itself calls .item() once per iterator
            counts.append(caller)
        return real_item(self)

    for batch_size in (25, 5):
        model, loader, _, _ = _problem(n=50, batch_size=batch_size)
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        monkeypatch.setattr(torch.Tensor, "item", counting_item)
        counts.clear()
        training.train_one_epoch(model, loader, nn.CrossEntropyLoss(), opt, device="cpu")
        training.evaluate(model, loader, nn.CrossEntropyLoss(), device="cpu")
        monkeypatch.setattr(torch.Tensor, "item", real_item)
        assert len(counts) == 4, f"{len(counts)} .item() calls for {len(loader)} batches"


def test_regression_reports_nan_accuracy():
    """For a regression (float targets), is the loss reported and the accuracy nan?"""
    X = torch.randn(20, 3)
    loader = DataLoader(TensorDataset(X, X.sum(1, keepdim=True)), batch_size=5)
    model = nn.Linear(3, 1)
    out = training.evaluate(model, loader, nn.MSELoss(), device="cpu")
    assert out["loss"] > 0 and math.isnan(out["acc"])


def _scripted_evaluate(monkeypatch, val_losses):
    """Replace training.evaluate by one returning the scripted validation losses in turn."""
    script = iter(val_losses)

    def fake(model, loader, loss_fn, device=None):
        return {"loss": next(script), "acc": 0.5}

    monkeypatch.setattr(training, "evaluate", fake)


def test_fit_history_and_early_stopping(monkeypatch):
    """Does fit stop after `patience` epochs without improvement and report the best epoch?"""
    model, loader, _, _ = _problem()
    _scripted_evaluate(monkeypatch, [1.0, 0.5, 0.6, 0.7, 0.4, 0.3])
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    h = training.fit(
        model,
        loader,
        loader,
        nn.CrossEntropyLoss(),
        opt,
        6,
        device="cpu",
        patience=2,
        progress=False,
    )
    assert h["val_loss"] == [1.0, 0.5, 0.6, 0.7]
    assert h["best_epoch"] == 1 and h["stopped_early"] is True
    assert all(len(h[k]) == 4 for k in ("train_loss", "train_acc", "val_acc", "lr"))


def test_fit_without_patience_runs_all_epochs(monkeypatch):
    """Without patience, does fit run every epoch and keep the lowest validation loss as best?"""
    model, loader, _, _ = _problem()
    _scripted_evaluate(monkeypatch, [1.0, 0.5, 0.6, 0.7, 0.9])
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    h = training.fit(
        model, loader, loader, nn.CrossEntropyLoss(), opt, 5, device="cpu", progress=False
    )
    assert len(h["val_loss"]) == 5 and h["best_epoch"] == 1 and h["stopped_early"] is False


def test_fit_checkpoint_holds_best_epoch_weights(monkeypatch, tmp_path):
    """Does the checkpoint hold the weights of the best validation epoch, reloadable by load_checkpoint?"""
    model, loader, _, _ = _problem()
    snapshots = []
    script = iter([0.9, 0.2, 0.5])

    def fake(model, loader, loss_fn, device=None):
        snapshots.append({k: v.clone() for k, v in model.state_dict().items()})
        return {"loss": next(script), "acc": 0.0}

    monkeypatch.setattr(training, "evaluate", fake)
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    path = tmp_path / "sub" / "best.pt"
    h = training.fit(
        model,
        loader,
        loader,
        nn.CrossEntropyLoss(),
        opt,
        3,
        device="cpu",
        checkpoint=path,
        progress=False,
    )
    assert h["best_epoch"] == 1 and path.exists()
    fresh, _, _, _ = _problem(seed=5)
    training.load_checkpoint(fresh, path)
    for key, value in fresh.state_dict().items():
        assert torch.equal(value, snapshots[1][key]), f"{key} is not the best epoch's"


def test_fit_steps_scheduler_and_records_lr():
    """Is the scheduler stepped once per epoch and the lr of each epoch recorded?"""
    model, loader, _, _ = _problem()
    opt = torch.optim.SGD(model.parameters(), lr=0.4)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    h = training.fit(
        model,
        loader,
        loader,
        nn.CrossEntropyLoss(),
        opt,
        3,
        device="cpu",
        scheduler=sched,
        progress=False,
    )
    assert h["lr"] == pytest.approx([0.4, 0.2, 0.1])


def test_fit_feeds_plateau_scheduler_the_validation_loss(monkeypatch):
    """Does ReduceLROnPlateau get the validation loss (and cut the lr when it stalls)?"""
    model, loader, _, _ = _problem()
    _scripted_evaluate(monkeypatch, [1.0, 1.0, 1.0, 1.0])
    opt = torch.optim.SGD(model.parameters(), lr=0.4)
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, patience=1, factor=0.5)
    h = training.fit(
        model,
        loader,
        loader,
        nn.CrossEntropyLoss(),
        opt,
        4,
        device="cpu",
        scheduler=sched,
        progress=False,
    )
    assert h["lr"][0] == 0.4 and h["lr"][-1] < 0.4


def test_fit_calls_live_plot_and_logger_each_epoch():
    """Are the live plot and the logger given every epoch's metrics?"""

    class Recorder:
        def __init__(self):
            self.updates, self.scalars = [], []

        def update(self, epoch, metrics):
            self.updates.append((epoch, dict(metrics)))

        def scalar(self, tag, value, step):
            self.scalars.append((tag, step))

    model, loader, _, _ = _problem()
    rec = Recorder()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    training.fit(
        model,
        loader,
        loader,
        nn.CrossEntropyLoss(),
        opt,
        2,
        device="cpu",
        live=rec,
        logger=rec,
        progress=False,
    )
    assert [e for e, _ in rec.updates] == [0, 1]
    assert {"train_loss", "val_loss", "train_acc", "val_acc", "lr"} <= set(rec.updates[0][1])
    assert ("val_loss", 1) in rec.scalars and ("train_acc", 0) in rec.scalars


def test_fit_without_validation_uses_training_loss():
    """With val_loader=None, does fit still run, with nan validation entries?"""
    model, loader, _, _ = _problem()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    h = training.fit(
        model, loader, None, nn.CrossEntropyLoss(), opt, 2, device="cpu", progress=False
    )
    assert all(math.isnan(v) for v in h["val_loss"]) and h["best_epoch"] >= 0


def test_progress_bars_stay_off_stdout(capsys):
    """With progress=True, do the bars stay off stdout (tqdm writes to stderr)?"""
    model, loader, _, _ = _problem()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    training.fit(model, loader, loader, nn.CrossEntropyLoss(), opt, 1, device="cpu", progress=True)
    assert capsys.readouterr().out == ""


def _two_players():
    """A 'critic' c fitted to 2 * g and a 'generator' g pushed towards c: each with its own optimizer."""
    g_model, c_model = nn.Linear(1, 1, bias=False), nn.Linear(1, 1, bias=False)
    opt_g = torch.optim.SGD(g_model.parameters(), lr=0.1)
    opt_c = torch.optim.SGD(c_model.parameters(), lr=0.1)

    def critic_loss(batch):
        (x,) = batch
        target = 2 * g_model(x).detach()  # the critic's phase must not train the generator
        return (c_model(x) - target).pow(2).mean()

    def generator_loss(batch):
        (x,) = batch
        return (g_model(x) - 3.0).pow(2).mean()

    loader = DataLoader(TensorDataset(torch.ones(12, 1)), batch_size=4)
    return g_model, c_model, opt_g, opt_c, critic_loss, generator_loss, loader


def test_fit_alternating_updates_each_player_with_its_own_optimizer():
    """Does each phase zero its gradients, step its own optimizer, and leave the other player alone?"""
    g_model, c_model, opt_g, opt_c, critic_loss, generator_loss, loader = _two_players()
    phases = [
        training.Phase("critic", opt_c, critic_loss, steps=2),
        training.Phase("generator", opt_g, generator_loss),
    ]
    calls = []
    for name, opt in (("critic", opt_c), ("generator", opt_g)):
        for method in ("zero_grad", "step"):
            original = getattr(opt, method)

            def spy(*a, _o=original, _n=f"{name}.{method}", **k):
                calls.append(_n)
                return _o(*a, **k)

            setattr(opt, method, spy)
    g_before = g_model.weight.detach().clone()
    g_model.eval()
    history = training.fit_alternating(
        phases, loader, 3, models=[g_model, c_model], device="cpu", progress=False
    )
    assert g_model.training and c_model.training, "models must be put in train mode"
    per_batch = ["critic.zero_grad", "critic.step"] * 2 + ["generator.zero_grad", "generator.step"]
    assert calls == per_batch * 3 * len(loader)
    assert set(history) == {"train_critic", "train_generator"}
    assert [len(v) for v in history.values()] == [3, 3]
    assert history["train_generator"][-1] < history["train_generator"][0]
    assert not torch.equal(g_model.weight, g_before)


def test_alternating_phase_without_detach_would_move_the_other_player():
    """Is the critic's detach what keeps its phase from changing the generator (gradients checked)?"""
    g_model, c_model, opt_g, opt_c, critic_loss, _, loader = _two_players()
    opt_c.zero_grad()
    opt_g.zero_grad()
    critic_loss(next(iter(loader))).backward()
    assert g_model.weight.grad is None, "the critic's loss must not reach the generator"
    assert c_model.weight.grad is not None
