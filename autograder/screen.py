"""Read a submission's own code for ways to change how test cells run; list what needs review.

The screen parses (AST, not regex) every code cell that is neither a test cell nor a copy of
the chapter's own code, after IPython's transformation of magics, and reports each construct
that reaches a surface the tests depend on: IPython's transformers and the shell's or kernel's
methods, tracing and frames, the interpreter's import and exception hooks, the libraries the
tests call (``torch``, ``course_lib.grading``, builtins ...), code built at run time (``exec``,
``getattr`` with a computed name ...), objects that compare equal to anything, signals and
threads, and strings that name any of these. A finding never changes a score by itself: it
flags the submission for review, with the cell, the line and the code (see
``docs/grading-security.md``). It also gives the grader's guard the chapter's imports.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from nbformat import NotebookNode
from nbgrader.utils import is_grade, is_solution

__all__ = ["Finding", "screen", "screen_source", "chapter_imports", "test_names"]

IPYTHON_SURFACES = {
    "input_transformers_cleanup",
    "input_transformers_post",
    "ast_transformers",
    "input_transformer_manager",
    "cleanup_transforms",
    "line_transforms",
    "token_transformers",
    "run_cell",
    "run_cell_async",
    "should_run_async",
    "run_ast_nodes",
    "run_code",
    "transform_cell",
    "transform_ast",
    "shell_handlers",
    "control_handlers",
    "do_execute",
    "execute_request",
    "dispatch_shell",
    "set_custom_exc",
    "custom_exceptions",
    "showtraceback",
    "_showtraceback",
    "showsyntaxerror",
    "display_pub",
    "register_magic_function",
    "register_magics",
    "kernel",
    "comm_manager",
}
FRAME_SURFACES = {
    "sys.settrace",
    "sys.setprofile",
    "sys.monitoring",
    "sys.addaudithook",
    "sys._getframe",
    "sys._current_frames",
    "threading.settrace",
    "threading.setprofile",
    "threading.settrace_all_threads",
    "inspect.currentframe",
    "inspect.stack",
    "inspect.trace",
    "gc.get_objects",
    "gc.get_referrers",
    "gc.get_referents",
}
FRAME_ATTRS = {
    "f_trace",
    "f_lineno",
    "f_locals",
    "f_globals",
    "f_back",
    "f_builtins",
    "tb_frame",
    "gi_frame",
    "cr_frame",
}
INTERPRETER_HOOKS = {
    "sys.excepthook",
    "sys.displayhook",
    "sys.breakpointhook",
    "sys.unraisablehook",
    "sys.meta_path",
    "sys.path_hooks",
    "sys.path_importer_cache",
    "sys.modules",
}
DUNDER_SURFACES = {
    "__code__",
    "__globals__",
    "__closure__",
    "__builtins__",
    "__subclasses__",
    "__bases__",
    "__mro__",
    "__defaults__",
    "__kwdefaults__",
    "__func__",
    "__self__",
}
# Names of checks and comparisons a test relies on: replacing them on any object is suspect.
CHECK_NAMES = {
    "allclose",
    "isclose",
    "equal",
    "assert_close",
    "assert_allclose",
    "assert_equal",
    "assert_array_equal",
    "testing",
    "check_close",
    "check_tensor",
    "check_grad",
    "check_device",
    "check_train_steps",
    "check_evaluation",
    "check_at_least",
    "unchanged",
    "call",
    "rng",
    "tolerance",
    "available",
}
FAKE_DUNDERS = {
    "__eq__",
    "__ne__",
    "__bool__",
    "__instancecheck__",
    "__subclasscheck__",
    "__torch_function__",
    "__torch_dispatch__",
    "__array_function__",
    "__array_ufunc__",
    "__getattribute__",
    "__class__",
}
FAKE_BASES = {"TorchFunctionMode", "TorchDispatchMode"}
DYNAMIC_CALLS = {"exec", "eval", "compile", "__import__", "breakpoint"}
DYNAMIC_DOTTED = {
    "importlib.import_module",
    "importlib.reload",
    "importlib.__import__",
    "types.FunctionType",
    "types.CodeType",
    "types.ModuleType",
    "marshal.loads",
    "pickle.loads",
    "runpy.run_path",
    "runpy.run_module",
    "code.interact",
}
INTERNAL_MODULES = {
    "sys",
    "builtins",
    "__builtins__",
    "threading",
    "gc",
    "inspect",
    "ctypes",
    "IPython",
    "ipykernel",
    "importlib",
    "types",
}
RISKY_MODULES = {
    "ctypes",
    "cffi",
    "_ctypes",
    "gc",
    "IPython",
    "ipykernel",
    "autograder",
    "nbgrader",
    "jupyter_client",
    "zmq",
}
SIGNAL_CALLS = {
    "signal.signal",
    "signal.alarm",
    "signal.setitimer",
    "signal.pthread_kill",
    "signal.siginterrupt",
    "os.kill",
    "os.killpg",
    "os.fork",
    "os.forkpty",
    "threading.Thread",
    "threading.Timer",
    "_thread.start_new_thread",
    "_thread.start_new",
    "atexit.register",
}
STRING_TOKENS = (
    "settrace",
    "setprofile",
    "input_transformers",
    "ast_transformers",
    "run_cell",
    "shell_handlers",
    "do_execute",
    "showtraceback",
    "__builtins__",
    "__code__",
    "__globals__",
    "sys.modules",
    "autograder",
    "NBGRADER",
    "gradebook",
)
RISKY_MAGICS = {
    "load_ext",
    "reload_ext",
    "run",
    "config",
    "writefile",
    "file",
    "script",
    "alias_magic",
    "autocall",
    "python",
    "python3",
}
PYTHON_CELL_MAGICS = {"capture", "time", "timeit", "prun", "python", "python3", "writefile", "file"}
# Library settings students may legitimately change (module path prefixes).
ALLOWED_WRITES = (
    "torch.backends",
    "os.environ",
    "matplotlib.rcParams",
    "matplotlib.pyplot.rcParams",
    "pandas.options",
    "numpy.random",
)


@dataclass(frozen=True)
class Finding:
    """One construct that needs review: where it is and what it can do."""

    cell: int  # code cells numbered from 1, as Jupyter numbers them after "Run All"
    line: int
    what: str
    code: str

    def __str__(self) -> str:
        return f"cell [{self.cell}] line {self.line}: {self.what}: `{self.code}`"


def _dotted(node: ast.AST) -> str | None:
    """``a.b.c`` for a chain of names and attributes; ``f().b`` keeps the call as ``f()``."""
    parts = []
    while True:
        if isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        elif isinstance(node, ast.Name):
            parts.append(node.id)
            return ".".join(reversed(parts))
        elif isinstance(node, ast.Call):
            inner = _dotted(node.func)
            if inner is None:
                return None
            parts.append(inner + "()")
            return ".".join(reversed(parts))
        elif isinstance(node, ast.Subscript):
            node = node.value
        else:
            return None


class _Visitor(ast.NodeVisitor):
    def __init__(self, aliases: dict[str, str]) -> None:
        self.aliases = aliases  # local name -> module path
        self.shells = {n for n, m in aliases.items() if m == "get_ipython()"}  # ip = get_ipython()
        self.found: list[tuple[int, str]] = []

    def _internal(self, node: ast.AST | None) -> bool:
        """Is ``node`` the interpreter, IPython or the kernel (not a library like torch)?"""
        dotted = self.resolve(_dotted(node)) if node is not None else None
        if not dotted:
            return True  # a computed object: cannot tell
        head = dotted.split(".")[0]
        return head in INTERNAL_MODULES or head in self.shells or dotted.startswith("get_ipython()")

    def add(self, node: ast.AST, what: str) -> None:
        self.found.append((getattr(node, "lineno", 1), what))

    def resolve(self, dotted: str | None) -> str | None:
        """Replace the first name of ``dotted`` by the module it was imported as, if any."""
        if not dotted:
            return None
        head, _, rest = dotted.partition(".")
        if head in self.aliases:
            return self.aliases[head] + ("." + rest if rest else "")
        return dotted

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if alias.name.split(".")[0] in RISKY_MODULES:
                self.add(node, f"imports {alias.name} (low-level or grader internals)")
        self.generic_visit(node)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        module = node.module or ""
        if module.split(".")[0] in RISKY_MODULES and module != "IPython.display":
            self.add(node, f"imports from {module} (low-level or grader internals)")
        for alias in node.names:
            if (
                f"{module}.{alias.name}"
                in FRAME_SURFACES | INTERPRETER_HOOKS | SIGNAL_CALLS | DYNAMIC_DOTTED
            ):
                self.add(node, f"imports {module}.{alias.name}")
        self.generic_visit(node)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        full = self.resolve(_dotted(node))
        if node.attr in IPYTHON_SURFACES:
            self.add(node, f"changes how IPython runs cells (.{node.attr})")
        elif node.attr == "events" and isinstance(node.ctx, ast.Load):
            self.add(node, "registers IPython event hooks (.events)")
        elif full in FRAME_SURFACES or node.attr in FRAME_ATTRS:
            self.add(node, f"traces or steers running code ({full or node.attr})")
        elif full in INTERPRETER_HOOKS:
            self.add(node, f"touches the interpreter's hooks ({full})")
        elif node.attr in DUNDER_SURFACES:
            self.add(node, f"reaches into functions' or classes' internals ({node.attr})")
        self.generic_visit(node)

    def visit_Name(self, node: ast.Name) -> None:
        if node.id == "__builtins__":
            self.add(node, "uses __builtins__")
        self.generic_visit(node)

    def _target(self, target: ast.AST, node: ast.AST) -> None:
        if isinstance(target, ast.Tuple | ast.List):
            for element in target.elts:
                self._target(element, node)
            return
        if not isinstance(target, ast.Attribute | ast.Subscript):
            if isinstance(target, ast.Name) and target.id == "__builtins__":
                self.add(node, "replaces __builtins__")
            return
        full = self.resolve(_dotted(target))
        if isinstance(target, ast.Attribute) and target.attr in CHECK_NAMES | FAKE_DUNDERS:
            self.add(node, f"replaces .{target.attr}, which tests rely on")
        elif full and full.split(".")[0] in ("builtins", "__builtins__"):
            self.add(node, f"changes builtins ({full})")
        elif full and full.split(".")[0] in set(self.aliases.values()) | {"sys"}:
            if not full.startswith(ALLOWED_WRITES):
                self.add(node, f"changes a library the tests use ({full})")
        elif isinstance(target, ast.Subscript) and _dotted(target.value) in (
            "globals()",
            "vars()",
            "locals()",
        ):
            self.add(node, "writes to a namespace through globals()/vars()")
        elif isinstance(target, ast.Attribute) and target.attr == "__dict__":
            self.add(node, "replaces an object's __dict__")

    def visit_Assign(self, node: ast.Assign) -> None:
        for target in node.targets:
            self._target(target, node)
        self.generic_visit(node)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        self._target(node.target, node)
        self.generic_visit(node)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        self._target(node.target, node)
        self.generic_visit(node)

    def visit_Delete(self, node: ast.Delete) -> None:
        for target in node.targets:
            self._target(target, node)
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        name = func.id if isinstance(func, ast.Name) else None
        full = self.resolve(_dotted(func))
        constant_name = len(node.args) > 1 and isinstance(node.args[1], ast.Constant)
        if name in DYNAMIC_CALLS or full in DYNAMIC_DOTTED:
            self.add(node, f"runs code built at run time ({name or full})")
        elif (
            name == "getattr"
            and not constant_name
            and self._internal(node.args[0] if node.args else None)
        ):
            self.add(node, "reads an interpreter or IPython attribute whose name is computed")
        elif name in ("setattr", "delattr"):
            target = self.resolve(_dotted(node.args[0])) if node.args else None
            attr = node.args[1].value if constant_name else None
            if not constant_name:
                self.add(node, f"{name} with a computed attribute name")
            elif attr in CHECK_NAMES | FAKE_DUNDERS or attr in IPYTHON_SURFACES:
                self.add(node, f"{name}(..., {attr!r}) replaces something tests rely on")
            elif target and target.split(".")[0] in set(self.aliases.values()) | {
                "sys",
                "builtins",
            }:
                self.add(node, f"{name} on a library the tests use ({target})")
        elif full in FRAME_SURFACES:
            self.add(node, f"traces or steers running code ({full})")
        elif full in SIGNAL_CALLS:
            self.add(node, f"signals, threads or processes that can act while tests run ({full})")
        elif full and (
            full.endswith((".patch", ".patch.object", ".patch.dict", ".patch.multiple"))
            or full in ("patch", "monkeypatch.setattr")
        ):
            self.add(node, f"patches objects ({full})")
        elif full and full.split(".")[-1] in ("run_line_magic", "run_cell_magic", "magic"):
            magic = (
                node.args[0].value if node.args and isinstance(node.args[0], ast.Constant) else None
            )
            if magic in RISKY_MAGICS:
                self.add(node, f"%{magic}: runs or configures code outside the notebook's cells")
        elif (
            full
            and any(full.startswith(h + ".") for h in INTERPRETER_HOOKS)
            and full.split(".")[-1]
            in (
                "insert",
                "append",
                "extend",
                "update",
                "pop",
                "setdefault",
                "clear",
                "__setitem__",
                "remove",
            )
        ):
            self.add(node, f"changes the interpreter's hooks ({full})")
        elif full and full.endswith(("__dict__.update", "__dict__.__setitem__")):
            self.add(node, "writes to an object's __dict__")
        self.generic_visit(node)

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        for base in node.bases:
            if (_dotted(base) or "").split(".")[-1] in FAKE_BASES:
                self.add(node, f"defines a {_dotted(base)} that intercepts torch calls")
        for item in node.body:
            if (
                isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef)
                and item.name in FAKE_DUNDERS
            ):
                self.add(
                    item, f"defines {item.name}, so its objects can pass comparisons or checks"
                )
            elif isinstance(item, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id in FAKE_DUNDERS for t in item.targets
            ):
                self.add(
                    item, "sets a comparison method, so its objects can pass comparisons or checks"
                )
        self.generic_visit(node)

    def visit_Constant(self, node: ast.Constant) -> None:
        if isinstance(node.value, str):
            hits = [t for t in STRING_TOKENS if t in node.value]
            if hits:
                self.add(node, f"a string names a grading surface ({hits[0]})")


def _python(source: str) -> tuple[str, list[tuple[str, int]]]:
    """IPython-transform a cell; return the code and (body, line offset) of Python cell magics."""
    from IPython.core.inputtransformer2 import TransformerManager

    extra = []
    stripped = source.lstrip()
    if stripped.startswith("%%"):
        first, _, body = stripped.partition("\n")
        words = first[2:].split()
        if (
            words
            and words[0] in PYTHON_CELL_MAGICS
            and (words[0] not in ("writefile", "file") or first.rstrip().endswith(".py"))
        ):
            extra.append((body, 1))
    return TransformerManager().transform_cell(source), extra


def _aliases(tree: ast.AST) -> dict[str, str]:
    """Local name -> module path for imports; names bound to ``get_ipython()`` map to that."""
    found = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and _dotted(node.value) == "get_ipython()":
            found.update({t.id: "get_ipython()" for t in node.targets if isinstance(t, ast.Name)})
        if isinstance(node, ast.Import):
            for alias in node.names:
                found[alias.asname or alias.name.split(".")[0]] = (
                    alias.name if alias.asname else alias.name.split(".")[0]
                )
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                found[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return found


def _parse(source: str) -> ast.AST | None:
    try:
        return ast.parse(source)
    except (SyntaxError, ValueError):
        return None


def screen_source(cells: list[tuple[int, str]]) -> list[Finding]:
    """Screen ``(cell number, source)`` pairs; imports anywhere in them count as aliases."""
    parsed = []
    for number, source in cells:
        try:
            code, extra = _python(source)
        except Exception:  # IPython could not transform it: it cannot run either
            continue
        for text, offset in [(code, 0)] + extra:
            tree = _parse(text)
            if tree is not None:
                parsed.append((number, source, tree, offset))
    aliases: dict[str, str] = {}
    for _, _, tree, _ in parsed:
        aliases.update(_aliases(tree))
    findings: list[Finding] = []
    for number, source, tree, offset in parsed:
        visitor = _Visitor(aliases)
        visitor.visit(tree)
        lines = source.splitlines()
        seen = set()
        for line, what in visitor.found:
            line += offset
            if (line, what) in seen:
                continue
            seen.add((line, what))
            code = lines[line - 1].strip() if 0 < line <= len(lines) else ""
            findings.append(Finding(number, line, what, code[:120]))
    return findings


def _is_test(cell: NotebookNode) -> bool:
    return cell.cell_type == "code" and is_grade(cell) and not is_solution(cell)


def screen(submission: NotebookNode, reference: NotebookNode) -> list[Finding]:
    """Screen the submission's code cells that are not test cells nor unchanged ``reference`` cells."""
    known = {cell.source.strip() for cell in reference.cells if cell.cell_type == "code"}
    code_cells = [c for c in submission.cells if c.cell_type == "code"]
    picked = [
        (number, cell.source)
        for number, cell in enumerate(code_cells, start=1)
        if not _is_test(cell) and cell.source.strip() not in known
    ]
    return screen_source(picked)


def chapter_imports(nb: NotebookNode) -> list[str]:
    """The chapter's import statements outside answer cells, one imported name each."""
    statements: list[str] = []
    for cell in nb.cells:
        if cell.cell_type != "code" or is_solution(cell):
            continue
        try:
            code, _ = _python(cell.source)
        except Exception:
            continue
        tree = _parse(code)
        for node in tree.body if tree is not None else []:
            if isinstance(node, ast.Import):
                statements += [ast.unparse(ast.Import(names=[a])) for a in node.names]
            elif (
                isinstance(node, ast.ImportFrom)
                and node.module
                and not node.level
                and node.module != "__future__"
            ):
                statements += [
                    ast.unparse(ast.ImportFrom(module=node.module, names=[a], level=0))
                    for a in node.names
                    if a.name != "*"
                ]
    return list(dict.fromkeys(statements))


def test_names(nb: NotebookNode) -> list[str]:
    """The names the chapter's test cells read (those the guard binds afresh before each test)."""
    names: set[str] = set()
    for cell in nb.cells:
        if _is_test(cell):
            tree = _parse(cell.source)
            names |= {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)} if tree else set()
    return sorted(names)
