"""course_lib's config, devices, grading checks and doctor."""

from __future__ import annotations

import collections
import importlib
import warnings

import pytest
import torch

from course_lib import config, devices, doctor, grading


def test_flag_parses_common_spellings_and_rejects_nonsense(monkeypatch):
    """Does a boolean environment variable accept 1/true/yes/on and refuse 'maybe'?"""
    for raw, want in [
        ("1", True),
        ("TRUE", True),
        ("on", True),
        ("0", False),
        ("no", False),
        ("", False),
    ]:
        monkeypatch.setenv("X_FLAG", raw)
        assert config.flag("X_FLAG") is want
    monkeypatch.setenv("X_FLAG", "maybe")
    with pytest.raises(ValueError, match="X_FLAG"):
        config.flag("X_FLAG")


def test_fast_mode_and_data_root_come_from_the_environment(monkeypatch, tmp_path):
    """Do COURSE_FAST and COURSE_DATA set fast mode and the data root when config loads?"""
    monkeypatch.setenv("COURSE_FAST", "1")
    monkeypatch.setenv("COURSE_DATA", str(tmp_path))
    fresh = importlib.reload(config)
    try:
        assert fresh.FAST and fresh.DATA_ROOT == tmp_path.resolve()
        assert fresh.pick(full=10, fast=1) == 1
    finally:
        monkeypatch.undo()
        importlib.reload(config)


def test_course_device_overrides_and_rejects_missing_hardware(monkeypatch):
    """Does COURSE_DEVICE choose the device, with a clear error for absent CUDA?"""
    monkeypatch.setenv("COURSE_DEVICE", "cpu")
    assert devices.get_device() == torch.device("cpu") and devices.available() == [
        torch.device("cpu")
    ]
    if not torch.cuda.is_available():
        monkeypatch.setenv("COURSE_DEVICE", "cuda")
        with pytest.raises(RuntimeError, match="CUDA is not available"):
            devices.get_device()


def test_seed_everything_makes_draws_repeat():
    """Do two seedings give the same random numbers from torch and the returned generator?"""
    g1 = devices.seed_everything(3)
    a = torch.rand(3), torch.rand(3, generator=g1)
    g2 = devices.seed_everything(3)
    b = torch.rand(3), torch.rand(3, generator=g2)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])


def test_to_device_keeps_structure_and_types():
    """Does to_device move nested tensors and keep tuples, named tuples, dicts and other leaves?"""
    Pair = collections.namedtuple("Pair", "x y")
    batch = {"a": [torch.ones(2), (torch.zeros(1), "label")], "p": Pair(torch.ones(1), 3)}
    moved = devices.to_device(batch, "meta")
    assert moved["a"][0].device.type == "meta" and moved["a"][1][1] == "label"
    assert isinstance(moved["p"], Pair) and moved["p"].x.device.type == "meta" and moved["p"].y == 3
    assert batch["a"][0].device.type == "cpu"


def test_time_call_warms_up_and_returns_the_median():
    """Does time_call run warm-up plus repeats and return a positive median?"""
    calls = []
    seconds = devices.time_call(lambda: calls.append(1), "cpu", warmup=2, repeats=3)
    assert len(calls) == 5 and seconds >= 0


def test_check_close_accepts_the_reference_and_explains_a_mismatch():
    """Does check_close pass equal tensors and report count, index and error (not the values)?"""
    ref = torch.tensor([1.0, 2.0, 3.0])
    grading.check_close(ref.clone(), ref)
    with pytest.raises(AssertionError, match=r"1 of 3 values differ .*index \(1,\)"):
        grading.check_close(torch.tensor([1.0, 2.5, 3.0]), ref)
    with pytest.raises(AssertionError, match="expected shape"):
        grading.check_close(ref[:2], ref)
    with pytest.raises(AssertionError, match="expected dtype"):
        grading.check_close(ref.double(), ref)


def _message(actual, expected) -> str:
    with pytest.raises(AssertionError) as info:
        grading.check_close(actual, expected, name="f(x)")
    return str(info.value)


def test_check_close_names_the_kind_of_mistake_a_uniform_error_suggests():
    """Does a uniform error get a hint (factor 2, N vs N - 1, sign, transpose, offset), and a
    scattered one none?"""
    g = torch.Generator().manual_seed(0)
    ref = torch.randn(4, 5, generator=g)
    assert "factor 2 is missing or extra" in _message(2 * ref, ref)
    assert "factor 2 is missing or extra" in _message(ref / 2, ref)
    assert "sign is flipped" in _message(-ref, ref)
    assert "transposed" in _message(ref[:4, :4].T, ref[:4, :4])
    assert "off by the same amount" in _message(ref + 0.25, ref)
    assert "sum instead of a mean" in _message(ref * 8, ref)
    rows = torch.randn(3, 20, generator=g)
    biased = _message(rows.var(dim=1, correction=0), rows.var(dim=1))
    assert "19/20" in biased and "biased versus unbiased variance" in biased
    std = _message(rows.std(dim=1), rows.std(dim=1, correction=0))
    assert "√(20/19)" in std and "standard deviation" in std
    scattered = ref.clone()
    scattered[1, 2] += 1.0
    message = _message(scattered, ref)
    assert message.endswith(")") and "factor" not in message  # no pattern, no hint
    # the hint never shows the reference's values
    assert all(f"{v:.3g}" not in biased for v in rows.var(dim=1).tolist())


def test_check_tensor_hints_at_a_transposed_result_or_a_lost_axis_of_length_one():
    """Is a reversed shape called a possible transpose, and a missing length-1 axis a squeeze?"""
    with pytest.raises(AssertionError, match="transposed"):
        grading.check_tensor(torch.zeros(3, 4), shape=(4, 3))
    with pytest.raises(AssertionError, match=r"squeeze\(\) without a dim"):
        grading.check_tensor(torch.zeros(()), shape=(1,))


def test_tolerance_is_looser_on_gpus_and_exact_for_integers():
    """Are GPU float32 tolerances looser than CPU ones, and integers compared exactly?"""
    assert grading.tolerance("cuda", torch.float32)[0] > grading.tolerance("cpu", torch.float32)[0]
    assert grading.tolerance("cpu", torch.int64) == (0.0, 0.0)


def test_unchanged_catches_in_place_edits():
    """Does unchanged() fail when the block modifies an input in place?"""
    x = torch.ones(3)
    with grading.unchanged(x):
        _ = x + 1
    with pytest.raises(AssertionError, match="in place"), grading.unchanged(x):
        x.add_(1)


def test_numerical_grad_matches_autograd_and_check_grad_catches_a_wrong_backward():
    """Do central differences agree with autograd, and does check_grad flag a bad gradient?"""
    x = torch.randn(4, dtype=torch.float64, generator=grading.rng(0))
    grading.check_close(
        grading.numerical_grad(lambda t: (t**3).sum(), x), 3 * x**2, rtol=1e-6, atol=1e-8
    )
    grading.check_grad(lambda t: (t.sin() * t).sum(), x)

    class BadSquare(torch.autograd.Function):
        @staticmethod
        def forward(ctx, t):
            ctx.save_for_backward(t)
            return t * t

        @staticmethod
        def backward(ctx, g):
            (t,) = ctx.saved_tensors
            return g * t  # should be 2 t

    with pytest.raises(AssertionError):
        grading.check_grad(lambda t: BadSquare.apply(t).sum(), x)


def test_quiet_swallows_warnings_and_stderr(capsys):
    """Does quiet() keep warnings and stderr text out of the cell's output?"""
    import sys

    with grading.quiet() as buffer:
        warnings.warn("noisy", stacklevel=1)
        print("progress", file=sys.stderr)
    assert "progress" in buffer.getvalue()
    assert capsys.readouterr().err == ""


def _loop(model, optimizer, X, y, *, zero=True, train=True):
    model.train(train)
    for xb, yb in zip(X.split(2), y.split(2), strict=True):
        if zero:
            optimizer.zero_grad()
        loss = torch.nn.functional.mse_loss(model(xb), yb)
        loss.backward()
        optimizer.step()


def test_training_spy_accepts_a_clean_loop_and_rejects_a_missing_zero_grad():
    """Does check_train_steps pass a correct loop and fail one that forgets zero_grad or train()?"""
    X, y = torch.randn(6, 3), torch.randn(6, 1)
    for kwargs, message in [
        ({}, None),
        ({"zero": False}, "zero_grad"),
        ({"train": False}, "eval mode"),
    ]:
        model = torch.nn.Linear(3, 1)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        with grading.TrainingSpy(model, optimizer) as spy:
            _loop(model, optimizer, X, y, **kwargs)
        if message is None:
            grading.check_train_steps(spy, expected_steps=3)
        else:
            with pytest.raises(AssertionError, match=message):
                grading.check_train_steps(spy, expected_steps=3)
    assert "step" not in vars(optimizer)  # the spy removed its patches


def test_check_evaluation_requires_eval_mode_and_no_grad():
    """Does check_evaluation fail when the model stays in train mode or records gradients?"""
    model = torch.nn.Sequential(torch.nn.Linear(3, 1))
    X = torch.randn(4, 3)
    with grading.TrainingSpy(model) as spy:
        model.eval()
        with torch.no_grad():
            model(X)
    grading.check_evaluation(spy)
    with grading.TrainingSpy(model) as spy:
        model.train()
        with torch.no_grad():
            model(X)
    with pytest.raises(AssertionError, match="eval"):
        grading.check_evaluation(spy)


def test_doctor_prints_one_line_per_check_and_knows_the_tested_pins(capsys):
    """Does the doctor report OK/WARN/FAIL lines and read the pinned matrix?"""
    assert doctor.tested_versions()["torch"]
    code = doctor.main([])
    lines = capsys.readouterr().out.strip().splitlines()
    assert all(line.split()[0] in {"OK", "WARN", "FAIL"} for line in lines[:-1])
    assert any(line.startswith(("OK   torch:", "WARN torch:")) for line in lines)
    assert code in (0, 1) and (code == 1) == any(line.startswith("FAIL") for line in lines)


def test_call_turns_errors_inside_the_function_into_failed_checks():
    """Does grading.call fail as a check on a crash inside the function, yet keep stale-name errors?"""

    def shapes_wrong(a, b):
        return a @ b

    with pytest.raises(AssertionError, match=r"shapes_wrong\(\.\.\.\) raised RuntimeError"):
        grading.call(shapes_wrong, torch.ones(2, 3), torch.ones(2, 3))
    with pytest.raises(TypeError, match="missing 1 required positional argument"):
        grading.call(shapes_wrong, torch.ones(2, 3))  # a call that does not fit the signature

    def stub(x):
        raise NotImplementedError()

    def typo(x):
        return undefined_name + x  # noqa: F821

    with pytest.raises(NotImplementedError):
        grading.call(stub, 1)
    with pytest.raises(NameError):
        grading.call(typo, 1)
    assert grading.call(torch.nn.Linear(2, 3), torch.ones(1, 2)).shape == (1, 3)


def _zeros_on_default(x):
    return x + torch.zeros(x.shape)


def _zeros_like(x):
    return x + torch.zeros_like(x)


def _moved_afterwards(x):
    return x + torch.arange(x.shape[-1]).to(x.device)


class _Hidden(torch.nn.Module):
    def __init__(self, fixed: bool) -> None:
        super().__init__()
        self.cell, self.fixed = torch.nn.RNNCell(3, 4), fixed

    def forward(self, x):
        h = x.new_zeros(len(x), 4) if self.fixed else torch.zeros(len(x), 4)
        return self.cell(x, h)


def test_check_device_catches_tensors_made_on_the_default_device():
    """Without a GPU, does check_device fail torch.zeros(shape) results and pass device-aware code?"""
    x = torch.randn(4, 3)
    for good in (_zeros_like, _moved_afterwards, _Hidden(fixed=True)):
        out = grading.check_device(good, x)
        assert out.device.type == "meta" and out.shape[0] == 4
    for bad in (_zeros_on_default, _Hidden(fixed=False), lambda t: torch.ones(t.shape)):
        with pytest.raises(
            AssertionError, match=r"torch\.(zeros|ones)\(\.\.\.\) on the default device"
        ):
            grading.check_device(bad, x, name="f")
    assert grading.check_device(lambda t: t.sum().item(), x) is None  # needs values: not judged

    def stub(t):
        raise NotImplementedError()

    with pytest.raises(NotImplementedError):
        grading.check_device(stub, x)


def test_with_fallback_runs_the_reference_while_the_exercise_is_a_stub(capsys):
    """Does with_fallback call the reference (saying so once) for a stub, and the student's code
    once it is written, without hiding the student's other errors?"""

    def stub(x):
        raise NotImplementedError()

    def written(x):
        return x + 1

    def broken(x):
        return x.nope

    demo = grading.with_fallback(stub, lambda x: x * 10)
    assert demo(2) == 20 and demo(3) == 30
    out = capsys.readouterr().out
    assert out.count("stub is not written yet") == 1 and "<lambda> instead" in out
    assert grading.with_fallback(written, lambda x: x * 10)(2) == 3
    assert capsys.readouterr().out == ""
    with pytest.raises(AttributeError):
        grading.with_fallback(broken, lambda x: x)(2)
    layer = grading.with_fallback(torch.nn.Linear, torch.nn.Identity)(3, 2)  # a class builds
    assert isinstance(layer, torch.nn.Linear)

    class StubLayer(torch.nn.Module):  # builds fine, but its forward is still the stub
        def forward(self, x):
            """Flatten x."""
            raise NotImplementedError()

    assert isinstance(grading.with_fallback(StubLayer, torch.nn.Flatten)(), torch.nn.Flatten)


def test_check_device_catches_a_training_loop_that_never_moves_its_batches():
    """Given a model and device="meta", does check_device fail a loop that forgets X.to(device)
    and pass one that moves it (the loss's .item() cannot run on meta: nothing more is judged)?"""

    def loop(model, batches, device, move=True):
        for X, y in batches:
            X, y = (X.to(device), y.to(device)) if move else (X, y)
            loss = torch.nn.functional.cross_entropy(model(X), y)
            loss.backward()
            loss.item()

    model = torch.nn.Linear(3, 2)
    data = torch.utils.data.TensorDataset(torch.randn(4, 3), torch.tensor([0, 1, 1, 0]))
    batches = torch.utils.data.DataLoader(data, batch_size=2)  # a loader stays on the CPU
    assert grading.check_device(loop, model, batches, "meta") is None
    with pytest.raises(AssertionError, match="with inputs on another device"):
        grading.check_device(loop, model, batches, "meta", move=False)
    assert model.weight.device.type == "cpu"  # the caller's model stays where it was
