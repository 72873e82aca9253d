"""One small logging interface (scalars, images, text) with TensorBoard and visdom back ends."""

from __future__ import annotations

import contextlib
import logging
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import torch

from course_lib import net

__all__ = ["Logger", "TensorBoardLogger", "VisdomLogger", "serve_visdom"]


class Logger:
    """What ``training.fit`` and the lessons log; the base class records nothing.

    images: (B, C, H, W) float in [0, 1]. Use as a context manager to ``close()`` at the end.
    """

    def scalar(self, tag: str, value: float, step: int) -> None:
        """Record ``value`` of the curve ``tag`` at ``step`` (epoch or batch number)."""

    def images(self, tag: str, images: torch.Tensor, step: int) -> None:
        """Record a batch of images (B, C, H, W) in [0, 1] under ``tag`` at ``step``."""

    def text(self, tag: str, text: str) -> None:
        """Record a piece of text (a note, a hyper-parameter summary) under ``tag``."""

    def histogram(self, tag: str, values: torch.Tensor, step: int) -> None:
        """Record the distribution of ``values`` (weights, gradients) under ``tag`` at ``step``."""

    def graph(self, model: torch.nn.Module, example: torch.Tensor) -> None:
        """Record the computation graph of ``model`` traced on an ``example`` batch."""

    def flush(self) -> None:
        """Write out what was recorded so far."""

    def close(self) -> None:
        """Flush and release the back end."""

    def __enter__(self) -> Logger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class TensorBoardLogger(Logger):
    """Write TensorBoard event files to ``log_dir`` (view with ``tensorboard --logdir <parent>``)."""

    def __init__(self, log_dir: str | Path) -> None:
        from torch.utils.tensorboard import SummaryWriter

        self.log_dir = Path(log_dir)
        self.writer = SummaryWriter(log_dir=str(self.log_dir))

    def scalar(self, tag: str, value: float, step: int) -> None:
        self.writer.add_scalar(tag, float(value), step)

    def images(self, tag: str, images: torch.Tensor, step: int) -> None:
        self.writer.add_images(
            tag, images.detach().cpu().float().clamp(0, 1), step, dataformats="NCHW"
        )

    def text(self, tag: str, text: str) -> None:
        self.writer.add_text(tag, text)

    def histogram(self, tag: str, values: torch.Tensor, step: int) -> None:
        self.writer.add_histogram(tag, values.detach(), step)

    def graph(self, model: torch.nn.Module, example: torch.Tensor) -> None:
        """Trace ``model`` once, leaving its buffers (BatchNorm statistics) as they were."""
        buffers = {name: b.detach().clone() for name, b in model.named_buffers()}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the tracer's warnings are not the learner's business
            self.writer.add_graph(model, example)
        with torch.no_grad():
            for name, b in model.named_buffers():
                b.copy_(buffers[name])

    def flush(self) -> None:
        self.writer.flush()

    def close(self) -> None:
        self.writer.close()


@contextlib.contextmanager
def _visdom_client_quiet() -> Iterator[None]:
    # the client logs "Setting up a new session..." and socket notices as warnings, and raises
    # deprecation warnings about its own code: nothing a learner can act on
    log = logging.getLogger("visdom")
    old = log.level
    log.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            yield
    finally:
        log.setLevel(old)


class VisdomLogger(Logger):
    """Send curves, image grids and text to a visdom server (start one: ``python -m visdom.server``).

    If no server answers within ``timeout`` seconds, prints ONE warning line and turns into a
    no-op logger (``enabled`` is False): a missing server never stops training. Curves are
    visdom "line" windows named after their tag; each call appends one point.
    """

    def __init__(
        self,
        env: str = "course",
        server: str = "http://localhost",
        port: int = 8097,
        timeout: float = 1.0,
    ) -> None:
        self.env, self.server, self.port = env, server, port
        self.viz = None
        self._lines: set[str] = set()
        host = urlparse(server).hostname or server
        if not net.reachable(host, port, timeout=timeout):
            print(
                f"warning: no visdom server at {server}:{port} (start one with `python -m visdom.server`); visdom logging is off"
            )
            return
        with _visdom_client_quiet():
            import visdom

            self.viz = visdom.Visdom(
                server=server, port=port, env=env, raise_exceptions=False, use_incoming_socket=False
            )

    @property
    def enabled(self) -> bool:
        """Whether a server was found (otherwise every call does nothing)."""
        return self.viz is not None

    def scalar(self, tag: str, value: float, step: int) -> None:
        if self.viz is None:
            return
        first = tag not in self._lines
        with _visdom_client_quiet():
            self.viz.line(
                X=[step],
                Y=[float(value)],
                win=tag,
                env=self.env,
                update=None if first else "append",
                opts={"title": tag, "xlabel": "step"},
            )
        self._lines.add(tag)

    def images(self, tag: str, images: torch.Tensor, step: int) -> None:
        if self.viz is None:
            return
        with _visdom_client_quiet():
            self.viz.images(
                images.detach().cpu().float().clamp(0, 1),
                nrow=8,
                win=tag,
                env=self.env,
                opts={"title": f"{tag} (step {step})"},
            )

    def text(self, tag: str, text: str) -> None:
        if self.viz is not None:
            with _visdom_client_quiet():
                self.viz.text(text, win=tag, env=self.env, opts={"title": tag})

    def close(self) -> None:
        if self.viz is not None:
            with _visdom_client_quiet():
                self.viz.save([self.env])  # keep the env on the server's disk


_SERVE = "import sys; from visdom.server.run_server import main; sys.argv[0] = 'visdom'; main()"


def serve_visdom(
    port: int = 8097, env_path: str | Path | None = None, wait: float = 30.0
) -> subprocess.Popen:
    """Start a visdom server on localhost:``port`` in a subprocess and wait until it accepts connections.

    Unlike ``python -m visdom.server`` it skips the first-start download of the web page's
    JavaScript/CSS (which crashes without internet); the API (and the page, if those files were
    downloaded once) works. Stop it with ``proc.terminate()``. Raises RuntimeError if it does not start.
    """
    cmd = [sys.executable, "-c", _SERVE, "-port", str(port), "-logging_level", "WARNING"]
    if env_path is not None:
        Path(env_path).mkdir(parents=True, exist_ok=True)
        cmd += ["-env_path", str(env_path)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            err = proc.stderr.read().decode(errors="replace")[-500:] if proc.stderr else ""
            raise RuntimeError(f"visdom server exited with status {proc.returncode}: {err}")
        if net.reachable("localhost", port, timeout=0.5):
            return proc
        time.sleep(0.2)
    proc.terminate()
    raise RuntimeError(
        f"visdom server did not accept connections on port {port} within {wait:.0f} s"
    )
