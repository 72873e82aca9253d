"""Checks for exercise test cells (values, devices, mutation, gradients, spies) and lesson stand-ins."""

from __future__ import annotations

import ast
import contextlib
import copy
import inspect
import io
import os
import textwrap
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import torch
from torch.overrides import TorchFunctionMode

__all__ = [
    "rng",
    "tolerance",
    "check_tensor",
    "check_close",
    "unchanged",
    "numerical_grad",
    "check_grad",
    "quiet",
    "TrainingSpy",
    "check_train_steps",
    "check_evaluation",
    "check_at_least",
    "call",
    "check_device",
    "with_fallback",
]

# (rtol, atol) for comparing a result with a reference computed in the same place. GPUs get more
# room because cuDNN may use TF32 and other reduction orders.
_TOLERANCES: dict[tuple[str, torch.dtype], tuple[float, float]] = {
    ("cpu", torch.float64): (1e-7, 1e-9),
    ("cpu", torch.float32): (1e-5, 1e-6),
    ("cpu", torch.float16): (1e-2, 1e-3),
    ("cpu", torch.bfloat16): (2e-2, 1e-2),
    ("gpu", torch.float64): (1e-7, 1e-9),
    ("gpu", torch.float32): (2e-3, 1e-4),
    ("gpu", torch.float16): (1e-2, 1e-3),
    ("gpu", torch.bfloat16): (2e-2, 1e-2),
}


def rng(seed: int) -> torch.Generator:
    """Return a CPU ``torch.Generator`` seeded with ``seed`` (build inputs on CPU, then move)."""
    return torch.Generator().manual_seed(seed)


def tolerance(device: torch.device | str, dtype: torch.dtype) -> tuple[float, float]:
    """Return ``(rtol, atol)`` suited to ``dtype`` on ``device``; exact (0, 0) for integers/bools."""
    if not dtype.is_floating_point and not dtype.is_complex:
        return 0.0, 0.0
    kind = "cpu" if torch.device(device).type == "cpu" else "gpu"
    return _TOLERANCES.get((kind, dtype), (1e-5, 1e-6))


def _describe(x: Any) -> str:
    if isinstance(x, torch.Tensor):
        return f"a tensor of shape {tuple(x.shape)}, dtype {x.dtype} on {x.device}"
    return f"a {type(x).__name__}"


def check_tensor(
    actual: Any,
    *,
    shape: Sequence[int] | None = None,
    dtype: torch.dtype | None = None,
    device: torch.device | str | None = None,
    name: str = "result",
) -> None:
    """Assert ``actual`` is a tensor with the given shape, dtype and device (each optional)."""
    assert isinstance(actual, torch.Tensor), (
        f"{name}: expected a torch.Tensor, got {_describe(actual)}"
    )
    if shape is not None:
        assert tuple(actual.shape) == tuple(shape), (
            f"{name}: expected shape {tuple(shape)}, got {tuple(actual.shape)}"
            + _shape_hint(tuple(actual.shape), tuple(shape))
        )
    if dtype is not None:
        assert actual.dtype == dtype, f"{name}: expected dtype {dtype}, got {actual.dtype}"
    if device is not None:
        want = torch.device(device)
        assert actual.device.type == want.type, (
            f"{name}: expected a tensor on {want.type}, got one on {actual.device}; "
            "create results on the device of the inputs (e.g. torch.zeros(..., device=x.device))"
        )


def check_close(
    actual: Any,
    expected: Any,
    *,
    name: str = "result",
    rtol: float | None = None,
    atol: float | None = None,
    check_dtype: bool = True,
) -> None:
    """Assert ``actual`` matches the reference ``expected`` in shape, dtype, device and values.

    Tolerances default to :func:`tolerance` for the reference's device and dtype. The message
    reports where and by how much the values differ, never the reference values themselves.
    """
    if not isinstance(expected, torch.Tensor):
        expected = torch.as_tensor(expected)
        if not isinstance(actual, torch.Tensor):
            actual = torch.as_tensor(actual)
    check_tensor(actual, shape=expected.shape, device=expected.device, name=name)
    if check_dtype:
        check_tensor(actual, dtype=expected.dtype, name=name)
    default_rtol, default_atol = tolerance(expected.device, expected.dtype)
    rtol = default_rtol if rtol is None else rtol
    atol = default_atol if atol is None else atol
    a = actual.detach()
    e = expected.detach().to(a.dtype) if not check_dtype else expected.detach()
    if a.dtype == torch.bool or not (a.dtype.is_floating_point or a.dtype.is_complex):
        bad = a != e
    else:
        bad = ~torch.isclose(a, e, rtol=rtol, atol=atol, equal_nan=True)
    n_bad = int(bad.sum())
    if n_bad:
        first = tuple(int(i) for i in bad.nonzero()[0]) if a.dim() else ()
        msg = f"{name}: {n_bad} of {a.numel()} values differ from the reference (first at index {first}"
        if a.dtype.is_floating_point:
            err = (a.double() - e.double()).abs()
            worst = float(torch.nan_to_num(err, nan=float("inf")).max())
            msg += f"; largest absolute error {worst:.3g}, allowed {atol:.1g} + {rtol:.1g} * |reference|"
        msg += ")"
        if a.dtype.is_floating_point:
            try:
                hint = _value_hint(a.double().cpu(), e.double().cpu(), rtol, atol)
            except Exception:  # a hint is a courtesy: it must never break the check itself
                hint = ""
            msg += f". {hint}" if hint else ""
        raise AssertionError(msg)


def _shape_hint(got: tuple[int, ...], want: tuple[int, ...]) -> str:
    """A hint for a shape mismatch with a recognisable pattern (axes swapped, a length-1 axis)."""
    if len(got) == len(want) >= 2 and got == want[::-1]:
        return " (the axes are in reverse order: a transposed result?)"
    if len(got) == len(want) and sorted(got) == sorted(want):
        return " (the same lengths in another order: axes permuted or transposed?)"
    if [n for n in got if n != 1] == [n for n in want if n != 1]:
        if len(got) < len(want):
            return (
                " (an axis of length 1 is missing: squeeze() without a dim removes every "
                "length-1 axis, the batch axis of a batch of one included)"
            )
        return " (an extra axis of length 1: a missing squeeze(dim) or an unneeded unsqueeze?)"
    return ""


def _ratio_kind(r: float) -> str:
    """Name the kind of mistake a constant factor ``r`` (actual / reference) usually comes from."""
    if abs(r + 1) < 1e-3:
        return "the sign is flipped everywhere (a minus sign, or a - b instead of b - a?)"
    if r < 0:
        return "the sign is flipped, and " + _ratio_kind(-r)
    if abs(r - 2) < 1e-3 or abs(r - 0.5) < 1e-3:
        which = "twice" if r > 1 else "half"
        return (
            f"every value is {which} the reference: a factor 2 is missing or extra "
            "(the 2 of a derivative of a square, a 1/2 in front of a squared error?)"
        )
    for power, label in ((1, "variance"), (2, "standard deviation")):
        s = max(r, 1 / r) ** power  # a standard deviation is off by the root of a variance's factor
        n = s / (s - 1) if s > 1 else 0.0  # s = N / (N - 1)
        # the factor is measured to about 1e-7, so N is known to about N² · 1e-7
        if 2.5 < n < 500 and abs(n - round(n)) < 1e-3 + 5e-7 * n * n:
            n = round(n)
            form = f"{n}/{n - 1}" if r > 1 else f"{n - 1}/{n}"
            form = f"√({form})" if power == 2 else form
            return (
                f"every value is off by the same factor {r:.5g} = {form}: a biased versus "
                f"unbiased {label} (dividing by N or by N - 1, here N = {n})?"
            )
    whole = [v for v in (r, 1 / r) if abs(v) >= 1.5 and abs(v - round(v)) < 1e-3 * abs(v)]
    if whole:
        return (
            f"every value is off by the same factor {r:.4g}: a sum instead of a mean (or the "
            "reverse), or a division by the wrong count?"
        )
    return f"every value is off by the same factor {r:.6g}: a wrong constant factor or scale?"


def _value_hint(a: torch.Tensor, e: torch.Tensor, rtol: float, atol: float) -> str:
    """Say what kind of mistake a uniform error pattern suggests, without the reference values.

    a, e: float64 tensors of one shape (the student's result and the reference).
    """
    if a.numel() == 0 or not bool((torch.isfinite(a) & torch.isfinite(e)).all()):
        return ""
    tol = 10 * (atol + rtol * e.abs().max()).item() + 1e-12

    def same(x: torch.Tensor, y: torch.Tensor) -> bool:
        return bool(torch.allclose(x, y, rtol=max(rtol, 1e-6), atol=tol / 10))

    if a.dim() >= 2 and a.shape[-1] == a.shape[-2] and same(a.mT, e):
        return "It matches the reference transposed: rows and columns are swapped"
    if not bool(a.any()):
        return "Every value is 0: was the result filled in?"
    big = e.abs() > tol
    if bool(big.any()):
        r = (a[big] / e[big]).median().item()
        if abs(r) > 1e-6 and abs(r - 1) > 1e-6 and same(a, r * e):
            kind = _ratio_kind(r)
            # one number alone matching some factor proves little: only the telling ones
            if int(big.sum()) >= 2 or abs(abs(r) - 1) < 1e-3 or "factor 2" in kind:
                return kind[0].upper() + kind[1:]
    offset = (a - e).median().item()
    if a.numel() >= 2 and abs(offset) > tol / 10 and same(a, e + offset):
        return (
            f"Every value is off by the same amount ({offset:+.3g}): a constant is missing or "
            "extra (a bias, an eps, a + 1?)"
        )
    return ""


@contextlib.contextmanager
def unchanged(*tensors: torch.Tensor, name: str = "your function") -> Iterator[None]:
    """Assert the ``tensors`` hold the same values (and shapes) after the ``with`` block as before."""
    before = [t.detach().clone() for t in tensors]
    yield
    for i, (t, old) in enumerate(zip(tensors, before, strict=True), start=1):
        same = t.shape == old.shape and torch.equal(
            torch.nan_to_num(t.detach()), torch.nan_to_num(old)
        )
        assert same, (
            f"{name} changed its input #{i} in place; leave inputs untouched "
            "(use out-of-place operations or work on a .clone())"
        )


def numerical_grad(
    f: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, eps: float = 1e-6
) -> torch.Tensor:
    """Estimate the gradient of scalar ``f`` at ``x`` by central differences.

    x: any shape -> tensor of the same shape and dtype, entry i = (f(x + eps e_i) - f(x - eps e_i)) / 2 eps.
    Use float64 inputs: in float32 the rounding error swamps the estimate.
    """
    x = x.detach().clone()
    grad = torch.zeros_like(x)
    flat, grad_flat = x.view(-1), grad.view(-1)
    with torch.no_grad():
        for i in range(flat.numel()):
            old = flat[i].item()
            flat[i] = old + eps
            f_plus = float(f(x))
            flat[i] = old - eps
            f_minus = float(f(x))
            flat[i] = old
            grad_flat[i] = (f_plus - f_minus) / (2 * eps)
    return grad


def check_grad(
    f: Callable[..., torch.Tensor],
    *inputs: torch.Tensor,
    eps: float = 1e-6,
    rtol: float = 1e-4,
    atol: float = 1e-6,
    name: str = "gradient",
) -> None:
    """Assert autograd's gradient of scalar ``f(*inputs)`` matches central differences (in float64)."""
    xs = [x.detach().double().requires_grad_(True) for x in inputs]
    out = f(*xs)
    check_tensor(out, shape=(), name=f"{name}: f(...)")
    grads = torch.autograd.grad(out, xs, allow_unused=True)
    for i, (x, g) in enumerate(zip(xs, grads, strict=True)):
        g = torch.zeros_like(x) if g is None else g

        def f_i(xi: torch.Tensor, i: int = i) -> torch.Tensor:
            args = [xi if j == i else xs[j].detach() for j in range(len(xs))]
            return f(*args)

        check_close(
            g.detach(),
            numerical_grad(f_i, x.detach(), eps),
            name=f"{name} of input #{i + 1}",
            rtol=rtol,
            atol=atol,
        )


@contextlib.contextmanager
def quiet() -> Iterator[io.StringIO]:
    """Silence warnings, stderr and tqdm bars inside the block (they must never cost points).

    Yields the buffer that caught stderr, in case a check wants to look at it.
    """
    buffer = io.StringIO()
    old_tqdm = os.environ.get("TQDM_DISABLE")
    os.environ["TQDM_DISABLE"] = "1"
    try:
        with warnings.catch_warnings(), contextlib.redirect_stderr(buffer):
            warnings.simplefilter("ignore")
            yield buffer
    finally:
        if old_tqdm is None:
            os.environ.pop("TQDM_DISABLE", None)
        else:
            os.environ["TQDM_DISABLE"] = old_tqdm


class TrainingSpy:
    """Record what a training or evaluation function does with a model and an optimizer.

    ``events`` gets ``("forward", training, grad_enabled)``, ``("backward",)``, ``("zero_grad",)``
    and ``("step",)`` in call order. Use as a context manager; hooks are removed on exit.
    """

    def __init__(
        self, model: torch.nn.Module, optimizer: torch.optim.Optimizer | None = None
    ) -> None:
        self.model = model
        self.optimizer = optimizer
        self.events: list[tuple] = []
        self._handles: list[Any] = []
        self._patched: list[tuple[Any, str]] = []

    def _on_forward(self, module: torch.nn.Module, args: Any, output: Any) -> None:
        self.events.append(("forward", module.training, torch.is_grad_enabled()))
        outputs = output if isinstance(output, tuple | list) else (output,)
        hooked = False
        for out in outputs:
            if isinstance(out, torch.Tensor) and out.requires_grad and not hooked:
                out.register_hook(self._on_backward)
                hooked = True

    def _on_backward(self, grad: torch.Tensor) -> None:
        self.events.append(("backward",))

    def _patch(self, obj: Any, method: str) -> None:
        original = getattr(obj, method)

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            self.events.append((method,))
            return original(*args, **kwargs)

        setattr(obj, method, wrapper)
        self._patched.append((obj, method))

    def __enter__(self) -> TrainingSpy:
        self._handles.append(self.model.register_forward_hook(self._on_forward))
        self._patch(self.model, "zero_grad")
        if self.optimizer is not None:
            self._patch(self.optimizer, "zero_grad")
            self._patch(self.optimizer, "step")
        return self

    def __exit__(self, *exc: object) -> None:
        for handle in self._handles:
            handle.remove()
        for obj, method in self._patched:
            delattr(
                obj, method
            )  # drop the instance attribute: the class method shows through again
        self._handles.clear()
        self._patched.clear()

    def names(self) -> list[str]:
        """Return just the event names, e.g. ``['zero_grad', 'forward', 'backward', 'step']``."""
        return [event[0] for event in self.events]


def check_train_steps(spy: TrainingSpy, expected_steps: int) -> None:
    """Assert one clean update per batch: zero_grad before backward before step, in train mode."""
    names = spy.names()
    steps = names.count("step")
    assert steps == expected_steps, (
        f"expected {expected_steps} optimizer.step() calls (one per batch), got {steps}"
    )
    forwards = [e for e in spy.events if e[0] == "forward"]
    assert forwards, "the model was never called"
    assert all(training for _, training, _ in forwards), (
        "the model was in eval mode during training: call model.train() before the loop"
    )
    assert all(grad for _, _, grad in forwards), "gradients were disabled during training"
    zeroed = backward = False
    for name in names:
        if name == "zero_grad":
            zeroed = True
        elif name == "backward":
            assert zeroed, (
                "backward() ran without zero_grad() since the last step: gradients accumulate "
                "across batches; call optimizer.zero_grad() before loss.backward()"
            )
            backward = True
        elif name == "step":
            assert backward, "optimizer.step() was called before loss.backward() computed gradients"
            zeroed = backward = False


def check_evaluation(spy: TrainingSpy) -> None:
    """Assert evaluation ran the model in eval mode without gradients and never updated it."""
    names = spy.names()
    assert "forward" in names, "the model was never called"
    assert "step" not in names and "backward" not in names, "evaluation must not train the model"
    for _, training, grad_enabled in (e for e in spy.events if e[0] == "forward"):
        assert not training, (
            "the model was in training mode during evaluation: call model.eval() first "
            "(dropout and batch norm behave differently)"
        )
        assert not grad_enabled, (
            "gradients were being recorded during evaluation: wrap it in torch.no_grad() "
            "or torch.inference_mode()"
        )


def check_at_least(value: float, threshold: float, *, name: str) -> None:
    """Assert an outcome (accuracy, modes covered...) reaches ``threshold``."""
    assert value >= threshold, f"{name} is {value:.4g}; it must reach at least {threshold:.4g}"


# Errors that mean "not written yet" or "written against another version of the exercise": they
# keep their own type, so the self-test can tell a stale mutant from one a check caught.
_PASS_THROUGH = (NotImplementedError, NameError, AssertionError)


def call(fn: Callable[..., Any], *args: Any, name: str | None = None, **kwargs: Any) -> Any:
    """Call the student's ``fn(*args, **kwargs)``; an error raised inside it fails the check.

    A shape mismatch or a wrong index inside the student's code becomes an ``AssertionError``
    that names the function and the error, so it reads like any failed check. Three kinds of error
    keep their type: ``NotImplementedError`` (not done yet), ``NameError`` (a name the code uses
    does not exist) and a ``TypeError`` from a call that does not fit ``fn``'s signature.
    """
    label = name or f"{getattr(fn, '__name__', type(fn).__name__)}(...)"
    try:
        inspect.signature(fn).bind(*args, **kwargs)
    except TypeError:
        return fn(*args, **kwargs)  # raises Python's own message about the signature
    except ValueError:
        pass  # no signature to check (some builtins)
    try:
        return fn(*args, **kwargs)
    except _PASS_THROUGH:
        raise
    except Exception as exc:
        raise AssertionError(f"{label} raised {type(exc).__name__}: {exc}") from None


# --- device bugs on a machine without a GPU ------------------------------------------------------

# calls that may legitimately take tensors of two devices: moves, copies, and indexing (a GPU
# tensor may be indexed with CPU indices)
_MIXING_ALLOWED = {
    *("to", "cpu", "cuda", "copy_", "type", "__getitem__", "__setitem__", "index_put_"),
    "_has_compatible_shallow_copy_type",  # Module.to() comparing a parameter with its moved copy
}


def _tensors(obj: Any) -> list[torch.Tensor]:
    """Every tensor in a (nested) tuple/list/dict."""
    if isinstance(obj, torch.Tensor):
        return [obj]
    if isinstance(obj, Mapping):
        return [t for v in obj.values() for t in _tensors(v)]
    if isinstance(obj, list | tuple):
        return [t for v in obj for t in _tensors(v)]
    return []


class _DeviceWatch(TorchFunctionMode):
    """Record tensors created off ``device`` by factories, and calls that mix two devices."""

    def __init__(self, device: str) -> None:
        super().__init__()
        self.device = device
        self.created: list[str] = []  # factory names, e.g. "zeros"
        self.mixed: list[str] = []

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        name = getattr(func, "__name__", str(func))
        inputs = _tensors((args, kwargs))
        if name not in _MIXING_ALLOWED:
            devices_ = {t.device.type for t in inputs if t.dim() > 0}
            if self.device in devices_ and len(devices_) > 1:
                self.mixed.append(name)
        out = func(*args, **kwargs)
        if not inputs:  # a factory: torch.zeros(shape), torch.arange(n), torch.tensor(data)...
            if any(t.device.type != self.device and t.dim() > 0 for t in _tensors(out)):
                self.created.append(name)
        return out


def _to_meta(obj: Any) -> Any:
    """Copy tensors and modules in a (nested) container to the ``meta`` device; keep the rest."""
    if isinstance(obj, torch.Tensor):
        return obj.detach().to("meta").requires_grad_(obj.requires_grad)
    if isinstance(obj, torch.nn.Module):
        return copy.deepcopy(obj).to("meta")
    if isinstance(obj, Mapping):
        return type(obj)({k: _to_meta(v) for k, v in obj.items()})
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):
        return type(obj)(*(_to_meta(v) for v in obj))
    if isinstance(obj, list | tuple):
        return type(obj)(_to_meta(v) for v in obj)
    return obj


def check_device(fn: Callable[..., Any], *args: Any, name: str | None = None, **kwargs: Any) -> Any:
    """Run the student's ``fn`` with its tensor and module inputs on the ``meta`` device; fail on device bugs.

    A GPU is not needed to catch a result built on the default device: ``torch.zeros(x.shape)``
    instead of ``torch.zeros(x.shape, device=x.device)`` (or ``torch.zeros_like(x)``) runs on a
    CPU-only grader but fails on a GPU. On ``meta`` (a device every machine has, where tensors
    have shapes but no values) such a tensor is on the wrong device, and this check reports the
    factory that made it when it meets the inputs or is returned. Functions that need values
    (``.item()``) cannot run on ``meta``: then nothing is checked. A module given as ``fn`` moves
    to ``meta`` with its inputs. Returns the result (on meta), or None if it could not run there.
    """
    label = name or f"{getattr(fn, '__name__', type(fn).__name__)}(...)"
    if isinstance(fn, torch.nn.Module):  # a model: its parameters go to meta with the inputs
        fn = _to_meta(fn)
    meta_args, meta_kwargs = _to_meta(args), _to_meta(kwargs)  # moved before the watch starts
    watch = _DeviceWatch("meta")
    out, error = None, None
    with watch:
        try:
            out = fn(*meta_args, **meta_kwargs)
        except NameError:
            raise
        except NotImplementedError as exc:
            if not watch.created and not watch.mixed:
                raise  # not written yet (or meta cannot run it)
            error = exc
        except Exception as exc:  # judged below: a device clash, or meta cannot run it
            error = exc
    elsewhere = [t.device for t in _tensors(out) if t.device.type != "meta"]
    if watch.created and (watch.mixed or error is not None or elsewhere):
        raise AssertionError(
            f"{label} creates a tensor with torch.{watch.created[0]}(...) on the default device "
            "while its inputs are on another device: that fails on a GPU. Create new tensors on "
            "the inputs' device (device=x.device, torch.zeros_like(x), x.new_zeros(...))"
        )
    if watch.mixed or elsewhere:
        where = f"returns a tensor on {elsewhere[0]}" if elsewhere else f"calls {watch.mixed[0]}"
        raise AssertionError(
            f"{label} {where} with inputs on another device: keep every tensor on the inputs' device"
        )
    return out


# --- lessons never wait for exercises ---------------------------------------------------------


def _is_stub(fn: Any) -> bool:
    """True when ``fn``'s body is nothing but ``raise NotImplementedError(...)`` (and a docstring)."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))
    except (OSError, TypeError, SyntaxError):
        return False
    body = [
        node
        for node in getattr(tree.body[0], "body", [])
        if not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant))
    ]
    return (
        len(body) == 1
        and isinstance(body[0], ast.Raise)
        and "NotImplementedError" in ast.unparse(body[0])
    )


def with_fallback(yours: Callable[..., Any], reference: Callable[..., Any]) -> Callable[..., Any]:
    """For lesson demos: call the student's ``yours``, or ``reference`` while it is not written yet.

    Returns a function that calls ``yours(*args, **kwargs)`` and, when that raises
    ``NotImplementedError`` (the exercise still a stub), calls ``reference`` with the same
    arguments instead, printing one line the first time it does. A class works too: calling the
    result builds an instance; a module class whose ``forward`` is still a stub is replaced by
    ``reference`` from the start (its stub would only fail later, inside the model). Any other
    error is the student's to see and is not hidden.
    """
    names = [getattr(f, "__name__", type(f).__name__) for f in (yours, reference)]
    fell_back = False
    stub_module = (
        isinstance(yours, type) and issubclass(yours, torch.nn.Module) and _is_stub(yours.forward)
    )

    def call(*args: Any, **kwargs: Any) -> Any:
        nonlocal fell_back
        try:
            if stub_module:
                raise NotImplementedError
            return yours(*args, **kwargs)
        except NotImplementedError:
            if not fell_back:
                print(f"{names[0]} is not written yet: this demo uses {names[1]} instead")
                fell_back = True
            return reference(*args, **kwargs)

    call.__name__ = names[0]
    return call
