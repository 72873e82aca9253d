"""Runs inside each grading kernel, so that test cells run as written whatever a notebook changed.

Student code shares the kernel's Python process with the tests, so it can change how later
cells run: IPython's input and AST transformers, the shell's or kernel's methods, event hooks,
``sys.settrace``, builtins, ``torch.allclose``, ``course_lib.grading``, the names the tests use.
The grader starts every kernel with :func:`install` (IPython ``exec_files``, before any student
code): it reads a per-kernel secret and the chapter's import statements from a file that it then
deletes, imports them, and records what a clean kernel looks like. Then, for each test cell:

1. the grader sends an ``autograder_restore_request`` message; its handler, which never passes
   through IPython's cell machinery, puts back what was recorded (:func:`restore`);
2. the grader sends, instead of the test cell's text, one line that calls :func:`run` with the
   test's code (base64) and a fresh nonce. ``run`` restores again, re-imports the chapter's
   names, compiles the test's code itself (no transformers), executes it in the notebook's
   namespace and publishes two receipts signed with the secret: before the test (what had to be
   undone) and after it (which code ran to its end, and what changed while it ran).

A test cell without a valid final receipt did not run in full, and scores 0 (the grader checks
this from outside, in ``autograder.preprocessors``). What this cannot stop is described in
``docs/grading-security.md``.
"""

from __future__ import annotations

import base64
import builtins
import hashlib
import hmac
import json
import linecache
import os
import resource
import signal
import sys
import threading
import types
from typing import Any

__all__ = ["MIME", "RESTORE_MSG", "install", "run", "sign"]

MIME = "application/vnd.autograder.receipt+json"
RESTORE_MSG = "autograder_restore_request"
MiB = 1024**2
PER_REQUEST = {"input", "get_ipython", "exit", "quit", "help", "display"}
# Room above the start-up address space for thread stacks and malloc arenas, per thread and once.
AS_PER_THREAD = 256 * MiB
AS_SLACK = 1024 * MiB
# Shell and kernel methods a notebook could replace to fake or skip cells.
KEY_ATTRS = (
    "input_transformer_manager",
    "input_transformers_post",
    "ast_transformers",
    "display_pub",
    "displayhook",
    "display_trap",
    "compile",
    "custom_exceptions",
    "CustomTB",
    "InteractiveTB",
    "SyntaxTB",
)


def run(source: str, nonce: str, name: str = "test") -> None:
    """Replaced by :func:`install`; without it no test can produce a receipt."""
    raise RuntimeError("the grading guard is not installed in this kernel")


def sign(key: bytes, payload: dict) -> str:
    """The receipt's signature: HMAC-SHA256 over the payload's canonical JSON."""
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()


def _same(a: Any, b: Any) -> bool:
    """Identity, and for bound methods the same function on the same object (made anew each time)."""
    if a is b:
        return True
    if isinstance(a, types.MethodType) and isinstance(b, types.MethodType):
        return a.__self__ is b.__self__ and a.__func__ is b.__func__
    return False


def _dynamo_wrapper(new: Any, old: Any) -> bool:
    """Is ``new`` what torch puts in place of ``old`` when torch._dynamo is first imported?

    That import (which a notebook's first meta-device operation can trigger, inside a test too)
    replaces ``torch.manual_seed`` with ``torch._disable_dynamo(torch.manual_seed)``: the same
    function, run with dynamo off. Exactly that wrapper is accepted: the same code and globals
    as torch's own, wrapping ``old`` itself. (Importing torch._dynamo up front instead would cost
    every kernel 1.7 s.)
    """
    torch = sys.modules.get("torch")
    make = getattr(torch, "_disable_dynamo", None)
    if make is None or "torch._dynamo" not in sys.modules or not callable(old):
        return False
    if not isinstance(new, types.FunctionType):  # any object can carry a __code__ attribute
        return False
    code = new.__code__
    reference = make(old)  # makes the wrapper without importing anything
    if code is not reference.__code__ or new.__globals__ is not make.__globals__:
        return False
    if new.__defaults__ or new.__kwdefaults__:
        return False
    cells = dict(
        zip(code.co_freevars, (c.cell_contents for c in new.__closure__ or ()), strict=False)
    )
    return cells.get("fn") is old and cells.get("recursive") is True


def _behaviour(value: Any) -> bool:
    """Is ``value`` code a class or module runs (a function, class, method or descriptor)?"""
    return callable(value) or hasattr(type(value), "__get__")


def _try(func: Any, *args: Any) -> None:
    try:
        func(*args)
    except (AttributeError, TypeError):  # read-only slots of built-in types
        pass


def _callable_items(namespace: dict) -> dict[str, Any]:
    """The functions, classes and submodules of a namespace (its data is left out)."""
    # type(v), not isinstance: some objects warn when their __class__ is read (torch.distributed)
    return {
        k: v
        for k, v in list(namespace.items())
        if callable(v) or issubclass(type(v), types.ModuleType)
    }


def _vm_size() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


class _Clean:
    """What a clean kernel looked like at start-up, and how to put it back."""

    def __init__(self, shell: Any, roots: set[str]) -> None:
        self.shell = shell
        self.kernel = getattr(shell, "kernel", None)
        tm = shell.input_transformer_manager
        self.tm_lists = {
            name: (getattr(tm, name), list(getattr(tm, name)))
            for name in ("cleanup_transforms", "line_transforms", "token_transformers")
        }
        self.attrs = {name: getattr(shell, name) for name in KEY_ATTRS if hasattr(shell, name)}
        self.lists = {  # the list objects themselves (self.attrs holds them too), and contents
            name: (getattr(shell, name), list(getattr(shell, name)))
            for name in ("input_transformers_post", "ast_transformers")
        }
        self.instance = {obj: set(vars(obj)) for obj in (shell, self.kernel, tm) if obj is not None}
        self.classes: dict[type, dict[str, Any]] = {}
        for obj in (shell, self.kernel, tm, shell.display_pub, shell.events, shell.compile):
            for cls in type(obj).__mro__[:-1]:
                self.classes[cls] = dict(vars(cls))
        self.handlers = dict(self.kernel.shell_handlers) if self.kernel is not None else {}
        self.events = {name: list(cbs) for name, cbs in shell.events.callbacks.items()}
        self.sys_hooks = {
            name: getattr(sys, name)
            for name in ("excepthook", "displayhook", "breakpointhook", "unraisablehook")
        }
        self.meta_path = list(sys.meta_path)
        self.path_hooks = list(sys.path_hooks)
        self.sigint = signal.getsignal(signal.SIGINT)
        # IPython and ipykernel swap these per request; replacing them gains a notebook nothing
        self.builtins = {
            k: v for k, v in _callable_items(vars(builtins)).items() if k not in PER_REQUEST
        }
        self.modules: dict[str, tuple[types.ModuleType, dict[str, Any]]] = {}
        for mod_name, module in list(sys.modules.items()):
            if module is not None and mod_name.split(".")[0] in roots:
                self.modules[mod_name] = (module, _callable_items(vars(module)))
        self.class_dicts: dict[type, dict[str, Any]] = {}
        for mod_name, (_module, items) in self.modules.items():
            for value in items.values():
                if (
                    isinstance(value, type)
                    and value.__module__ == mod_name
                    and mod_name.startswith("course_lib")
                ):
                    self.class_dicts[value] = dict(vars(value))
        torch = sys.modules.get("torch")
        if torch is not None:
            for cls in (torch.Tensor, torch.nn.Module, torch.nn.Parameter):
                self.class_dicts[cls] = dict(vars(cls))
        self.threads = set(threading.enumerate())
        self.cell_dir = (
            os.path.dirname(shell.compile.get_code_name("", "", 0))
            if hasattr(shell.compile, "get_code_name")
            else ""
        )

    # -- each kind of repair returns the sentences for the report -------------------------------

    def _restore_class(self, cls: type, saved: dict[str, Any], what: str) -> list[str]:
        """Put back the methods and descriptors of ``cls`` (its caches and data are left alone)."""
        found = []
        current = dict(vars(cls))
        for key, value in saved.items():
            if _behaviour(value) and (key not in current or not _same(current[key], value)):
                found.append(f"{what}.{key} was replaced")
                _try(setattr, cls, key, value)
        for key in set(current) - set(saved):
            if _behaviour(current[key]):
                found.append(f"{what}.{key} was added")
                _try(delattr, cls, key)
        return found

    def shell_state(self) -> list[str]:
        found = []
        shell, tm = self.shell, self.shell.input_transformer_manager
        for obj, keys in self.instance.items():
            for key in set(vars(obj)) - keys:
                if callable(vars(obj)[key]) and hasattr(type(obj), key):
                    found.append(f"{type(obj).__name__}.{key} was replaced on the object")
                    del vars(obj)[key]
        for name, value in self.attrs.items():
            if not _same(getattr(shell, name, None), value):
                found.append(f"shell.{name} was replaced")
                setattr(shell, name, value)
        tm = shell.input_transformer_manager
        for name, (obj, items) in self.tm_lists.items():
            if getattr(tm, name) is not obj or list(obj) != items:
                found.append(f"IPython input transformers ({name}) were changed")
                obj[:] = items
                setattr(tm, name, obj)
        for name, (obj, items) in self.lists.items():
            if getattr(shell, name) is not obj or list(obj) != items:
                found.append(f"IPython {name} were changed")
                obj[:] = items  # in place: the next check then finds the original object
                setattr(shell, name, obj)
        for cls, saved in self.classes.items():
            found += self._restore_class(cls, saved, cls.__name__)
        if self.kernel is not None:
            handlers = self.kernel.shell_handlers
            for key, value in self.handlers.items():
                if not _same(handlers.get(key), value):
                    found.append(f"kernel handler {key} was replaced")
                    handlers[key] = value
        for name, cbs in shell.events.callbacks.items():
            for cb in list(cbs):
                if cb not in self.events.get(name, []) and self._from_notebook(cb):
                    found.append(f"an IPython {name} event hook was registered")
                    cbs.remove(cb)
        return found

    def _from_notebook(self, obj: Any) -> bool:
        """Was the function (or frame) ``obj`` written in a notebook cell, not in a library?"""
        code = getattr(obj, "f_code", None) or getattr(
            getattr(obj, "__func__", obj), "__code__", None
        )
        filename = getattr(code, "co_filename", "")
        return filename.startswith("<ipython-input") or bool(
            self.cell_dir and filename.startswith(self.cell_dir)
        )

    def interpreter(self, in_cell: bool) -> list[str]:
        found = []
        if sys.gettrace() is not None:
            found.append("sys.settrace was set")
            sys.settrace(None)
        if sys.getprofile() is not None:
            found.append("sys.setprofile was set")
            sys.setprofile(None)
        for hook in ("_trace_hook", "_profile_hook"):
            if getattr(threading, hook, None) is not None:
                found.append(f"threading.{hook.strip('_').replace('_hook', '')} hook was set")
                setattr(threading, hook, None)
        for name, value in self.sys_hooks.items() if in_cell else ():
            if not _same(getattr(sys, name), value):
                found.append(f"sys.{name} was replaced")
                setattr(sys, name, value)
        if sys.meta_path != self.meta_path:
            extra = [f for f in sys.meta_path if f not in self.meta_path]
            if extra or any(f not in sys.meta_path for f in self.meta_path):
                found.append("sys.meta_path (import hooks) was changed")
                sys.meta_path[:] = self.meta_path
        if sys.path_hooks != self.path_hooks:
            found.append("sys.path_hooks was changed")
            sys.path_hooks[:] = self.path_hooks
        if in_cell and signal.getsignal(signal.SIGINT) is not self.sigint:
            found.append("the SIGINT handler was replaced")
            signal.signal(signal.SIGINT, self.sigint)
        torch = sys.modules.get("torch")
        if torch is not None:
            for what, length, pop in (
                ("function", "_len_torch_function_stack", "_pop_torch_function_stack"),
                ("dispatch", "_len_torch_dispatch_stack", "_pop_torch_dispatch_stack"),
            ):
                try:
                    while getattr(torch._C, length)() > 0:
                        found.append(f"a torch {what} mode was left active")
                        getattr(torch._C, pop)()
                except (AttributeError, RuntimeError):
                    pass
        return found

    def namespaces(self, in_cell: bool) -> list[str]:
        found = []
        current = vars(builtins)
        for key, value in self.builtins.items() if in_cell else ():
            if not _same(current.get(key), value):
                found.append(f"builtins.{key} was replaced")
                current[key] = value
        user_ns = self.shell.user_ns
        if user_ns.get("__builtins__") is not builtins:
            found.append("the notebook's __builtins__ was replaced")
            user_ns["__builtins__"] = builtins
        for mod_name, (module, items) in self.modules.items():
            if sys.modules.get(mod_name) is not module:
                found.append(f"sys.modules[{mod_name!r}] was replaced")
                sys.modules[mod_name] = module
            get = vars(module).get
            for key, value in items.items():  # some 40,000 names: identity first, it is cheap
                current = get(key)
                if current is not value and not _same(current, value):
                    if _dynamo_wrapper(current, value):
                        items[key] = current  # torch's own change: the new clean state
                        continue
                    found.append(f"{mod_name}.{key} was replaced")
                    vars(module)[key] = value
        for cls, saved in self.class_dicts.items():
            found += self._restore_class(cls, saved, f"{cls.__module__}.{cls.__qualname__}")
        return found

    def notebook_threads(self) -> list[str]:
        """Threads started from notebook code that are running now (they could race a test)."""
        found = []
        frames = sys._current_frames()
        for thread in threading.enumerate():
            if thread in self.threads or thread.ident not in frames:
                continue
            frame = frames[thread.ident]
            while frame is not None:
                if self._from_notebook(frame):
                    found.append(f"a thread started by the notebook ({thread.name}) was running")
                    break
                frame = frame.f_back
        return found

    def restore(self, in_cell: bool = True) -> list[str]:
        """Put the kernel back as recorded; return what had changed.

        The record is taken while a cell runs; outside a cell (``in_cell`` False: the restore
        message's handler) IPython and ipykernel legitimately hold other display and exception
        hooks, SIGINT handler and builtins (``input``), so those wait for :func:`run`.
        """
        return self.interpreter(in_cell) + self.shell_state() + self.namespaces(in_cell)


def install(config_path: str) -> None:
    """Set up the guard in this kernel (called once, at start-up, before any notebook code).

    The clean state is recorded at the grader's first call of :func:`run`, which comes before
    the notebook's first cell: only then do the hooks look as they will around every test cell.
    """
    from IPython import get_ipython

    with open(config_path, encoding="utf-8") as f:
        config = json.load(f)
    os.unlink(config_path)
    key = bytes.fromhex(config["key"])
    imports: list[str] = config.get("imports", [])
    test_names = set(config.get("names", []))
    shell = get_ipython()
    for statement in imports:  # the chapter's own imports, loaded before anything can tamper
        try:
            exec(compile(statement, "<chapter imports>", "exec"), {})
        except Exception:  # a lesson may import what this machine lacks; its cell will say so
            pass
    roots = {"math", "operator", "functools", "unittest", "collections"}  # builtins: separately
    roots |= {s.split()[1].split(".")[0] for s in imports if s.split()[0] in ("import", "from")}
    user_ns = shell.user_ns
    exec_, compile_ = exec, compile
    state: dict[str, Any] = {"clean": None, "pending": []}

    def fresh_names() -> tuple[list[str], dict[str, Any]]:
        """Bind the names the tests use to what the chapter's imports give; return what was there."""
        found, displaced = [], {}
        for statement in imports:
            scratch: dict[str, Any] = {}
            try:
                exec_(compile_(statement, "<chapter imports>", "exec"), scratch)
            except Exception:
                continue
            for name, value in scratch.items():
                if name not in test_names or _same(user_ns.get(name, value), value):
                    continue
                if name in user_ns:
                    found.append(
                        f"the name {name!r} that the tests use was bound to something else"
                    )
                    displaced[name] = user_ns[name]
                user_ns[name] = value
        return found, displaced

    def handle_restore(stream: Any, ident: Any, parent: Any) -> None:
        if state["clean"] is not None:
            found = state["clean"].restore(in_cell=False)
            state["pending"] += [f for f in found if f not in state["pending"]]

    def run_(source: str, nonce: str, name: str = "test") -> None:
        __tracebackhide__ = True  # noqa: F841 (IPython hides this frame in tracebacks)
        if state["clean"] is None:
            state["clean"] = _Clean(shell, roots)
        clean: _Clean = state["clean"]
        undone = state["pending"] + [f for f in clean.restore() if f not in state["pending"]]
        state["pending"] = []
        rebound, displaced = fresh_names()
        undone += rebound + clean.notebook_threads()
        publish = clean.attrs["display_pub"].publish

        def receipt(payload: dict) -> None:
            payload["mac"] = sign(key, payload)
            publish(data={MIME: payload}, metadata={})

        receipt({"stage": "before", "nonce": nonce, "undone": undone})
        code = base64.b64decode(source).decode("utf-8")
        filename = f"<test cell {name}>"
        linecache.cache[filename] = (len(code), None, code.splitlines(True), filename)
        try:
            compiled = compile_(code, filename, "exec", dont_inherit=True)
        except SyntaxError:  # IPython syntax (magics): transform with IPython's own, restored
            compiled = compile_(
                shell.input_transformer_manager.transform_cell(code), filename, "exec"
            )
        try:
            exec_(compiled, user_ns)
        finally:
            user_ns.update(displaced)  # the notebook's own later cells keep their names
        during = clean.restore() + clean.notebook_threads()
        digest = hashlib.sha256(code.encode("utf-8")).hexdigest()
        receipt({"stage": "after", "nonce": nonce, "sha256": digest, "during": during})

    kernel = getattr(shell, "kernel", None)
    if kernel is not None:
        kernel.shell_handlers[RESTORE_MSG] = handle_restore
    memory = int(config.get("memory", 0))
    if memory:
        threads = int(os.environ.get("OMP_NUM_THREADS") or os.cpu_count() or 1)
        budget = _vm_size() + memory + AS_SLACK + threads * AS_PER_THREAD
        resource.setrlimit(resource.RLIMIT_AS, (budget, budget))
    globals()["run"] = run_
