"""Hyper-parameter runs: build every combination of settings, then time, log and tabulate each run."""

from __future__ import annotations

import itertools
import json
import re
import tempfile
import time
from collections import namedtuple
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, NamedTuple

import pandas as pd
import torch
from torch import nn

from course_lib.loggers import TensorBoardLogger
from course_lib.training import Meter
from course_lib.viz import in_notebook

__all__ = ["RunBuilder", "RunManager"]


class RunBuilder:
    """Turn a dict of hyper-parameter lists into one named tuple per combination."""

    @staticmethod
    def get_runs(params: Mapping[str, Iterable[Any]]) -> list[NamedTuple]:
        """Return the cartesian product of ``params``' values as ``Run`` named tuples.

        Keys become field names in the given order; the last key varies fastest, as in
        ``itertools.product``. ``{"lr": [0.1, 0.01], "batch_size": [32]}`` ->
        ``[Run(lr=0.1, batch_size=32), Run(lr=0.01, batch_size=32)]``.
        """
        bad = [key for key in params if not str(key).isidentifier() or str(key).startswith("_")]
        if bad:
            raise ValueError(
                f"hyper-parameter names must be identifiers without a leading _: {bad}"
            )
        Run = namedtuple("Run", list(params))
        return [Run(*values) for values in itertools.product(*params.values())]


def _run_folder_name(index: int, run: NamedTuple) -> str:
    parts = [f"{key}={value}" for key, value in run._asdict().items()]
    name = f"{index:02d}_" + "_".join(parts)
    return re.sub(r"[^A-Za-z0-9_.=-]", "-", name)[:120]


def _jsonable(value: Any) -> Any:
    if isinstance(value, bool | int | float | str) or value is None:
        return value
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        return value.item()
    return str(value)


class RunManager:
    """Time, log and tabulate training runs: one row per epoch per run.

    Per run it writes TensorBoard event files under ``log_dir/<NN_hyper-params>/``: an image
    grid of the first batch, the model's graph, and per epoch the scalars ``loss`` and
    ``accuracy`` (plus any extra metrics given to :meth:`end_epoch`) and histograms of every
    parameter and its gradient. In Jupyter it shows the results table live; elsewhere it prints
    nothing unless ``show=True``.

    Usage::

        manager = RunManager(log_dir)
        for run in RunBuilder.get_runs(params):
            manager.begin_run(run, model, loader)
            for epoch in range(num_epochs):
                manager.begin_epoch()
                for X, y in loader:
                    ...
                    manager.track(loss, logits, y)
                manager.end_epoch()
            manager.end_run()
        manager.save()  # log_dir/results.csv and log_dir/results.json
    """

    def __init__(
        self,
        log_dir: str | Path | None = None,
        *,
        show: bool | None = None,
        images: bool = True,
        graph: bool = True,
        histograms: bool = True,
    ) -> None:
        if log_dir is None:
            log_dir = tempfile.mkdtemp(prefix="course-runs-")
        self.log_dir = Path(log_dir)
        self.show = in_notebook() if show is None else show
        self.images = images
        self.graph = graph
        self.histograms = histograms
        self.rows: list[dict[str, Any]] = []
        self.run: NamedTuple | None = None
        self.run_count = 0
        self.run_dir: Path | None = None
        self.model: nn.Module | None = None
        self.logger: TensorBoardLogger | None = None
        self.epoch_count = 0
        self._run_start = 0.0
        self._epoch_start = 0.0
        self._meter = Meter()

    # --- runs ------------------------------------------------------------------------------
    def begin_run(
        self,
        run: NamedTuple,
        model: nn.Module,
        loader: Iterable | None = None,
        images: torch.Tensor | None = None,
    ) -> None:
        """Start ``run``: open its TensorBoard logger, log an image grid and the model's graph.

        The images come from ``images`` (B, C, H, W) or else the first batch of ``loader``.
        """
        if self.logger is not None:
            self.end_run()
        self.run = run
        self.run_count += 1
        self.model = model
        self.epoch_count = 0
        self.run_dir = self.log_dir / _run_folder_name(self.run_count, run)
        self.logger = TensorBoardLogger(self.run_dir)
        if images is None and loader is not None and (self.images or self.graph):
            images = next(iter(loader))[0]
        if images is not None:
            if self.images:
                self.logger.images("images", _grid(images).unsqueeze(0), 0)
            if self.graph:
                device = next(model.parameters(), torch.empty(0)).device
                self.logger.graph(model, images[:8].to(device))
        self._run_start = time.perf_counter()

    def end_run(self) -> None:
        """Close the run's logger (flushing its event files)."""
        if self.logger is not None:
            self.logger.close()
        self.logger = None
        self.model = None

    # --- epochs ----------------------------------------------------------------------------
    def begin_epoch(self) -> None:
        """Start timing an epoch and reset its loss and correct-count totals."""
        if self.logger is None:
            raise RuntimeError("call begin_run(...) before begin_epoch()")
        self.epoch_count += 1
        self._meter = Meter()
        self._epoch_start = time.perf_counter()

    def track(self, loss: torch.Tensor, logits: torch.Tensor, labels: torch.Tensor) -> None:
        """Add one batch: mean ``loss`` (scalar), ``logits`` (B, K) and integer ``labels`` (B,).

        Totals stay on the model's device, so tracking never waits for the GPU.
        """
        self._meter.update(loss, logits, labels)

    def end_epoch(self, **metrics: float) -> dict[str, Any]:
        """Close the epoch: log scalars and histograms, add a results row, and return it.

        ``metrics`` (e.g. ``val_acc=0.93``) are logged and tabulated next to loss and accuracy.
        """
        if self.logger is None or self.run is None:
            raise RuntimeError("call begin_run(...) and begin_epoch() before end_epoch()")
        now = time.perf_counter()
        epoch = self._meter.result() if self._meter.count else {"loss": 0.0, "acc": 0.0}
        row: dict[str, Any] = {
            "run": self.run_count,
            "epoch": self.epoch_count,
            "loss": epoch["loss"],
            "accuracy": epoch["acc"],
            **{name: float(value) for name, value in metrics.items()},
            "epoch_duration": now - self._epoch_start,
            "run_duration": now - self._run_start,
        }
        row.update({key: _jsonable(value) for key, value in self.run._asdict().items()})
        for name in ["loss", "accuracy", *metrics]:
            self.logger.scalar(name, row[name], self.epoch_count)
        if self.histograms and self.model is not None:
            for name, param in self.model.named_parameters():
                self.logger.histogram(name, param, self.epoch_count)
                if param.grad is not None:
                    self.logger.histogram(f"{name}.grad", param.grad, self.epoch_count)
        self.logger.flush()
        self.rows.append(row)
        self._show()
        return row

    # --- results ---------------------------------------------------------------------------
    def dataframe(self) -> pd.DataFrame:
        """Return the results so far: one row per epoch per run, hyper-parameters as columns."""
        return pd.DataFrame(self.rows)

    def _show(self) -> None:
        if not self.show:
            return
        table = self.dataframe()
        if in_notebook():
            from IPython.display import clear_output, display

            clear_output(wait=True)
            display(table)
        else:
            print(table.tail(1).to_string(header=len(self.rows) == 1, index=False))

    def save(self, path: str | Path | None = None) -> tuple[Path, Path]:
        """Write the results to ``path``.csv and ``path``.json; return both paths.

        A relative ``path`` (default ``"results"``) is placed inside ``log_dir``, never the cwd.
        """
        stem = Path("results" if path is None else path)
        if not stem.is_absolute():
            stem = self.log_dir / stem
        stem.parent.mkdir(parents=True, exist_ok=True)
        csv_path, json_path = stem.with_suffix(".csv"), stem.with_suffix(".json")
        self.dataframe().to_csv(csv_path, index=False)
        json_path.write_text(json.dumps(self.rows, indent=2, ensure_ascii=False), encoding="utf-8")
        return csv_path, json_path


def _grid(images: torch.Tensor) -> torch.Tensor:
    """Tile up to 64 images (B, C, H, W) into one (3, H', W') grid scaled to [0, 1]."""
    from torchvision.utils import make_grid

    images = images[:64].detach().float().cpu()
    scale = not (images.min() >= 0 and images.max() <= 1)  # normalised inputs: stretch to [0, 1]
    return make_grid(images, nrow=8, normalize=scale)
