"""Live training curves in the browser: visdom's page while training runs, TensorBoard's scalars page.

visdom: the server that chapter 03 starts (``loggers.serve_visdom``), a short ``training.fit`` run
logging through ``loggers.VisdomLogger``, and Chromium watching the loss window appear and grow.
Its page's third-party JavaScript/CSS come from the npm copies the set-up fetched
(web-assets.txt). TensorBoard: ``tensorboard --logdir`` on what ``runs.RunManager`` wrote.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch
from browser_support import free_port, stop, wait_for_http
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from course_lib import loggers, training
from course_lib.runs import RunBuilder, RunManager

HERE = Path(__file__).resolve().parent
NUM_EPOCHS = 4

pytestmark = [pytest.mark.browser, pytest.mark.server, pytest.mark.timeout(300)]

# Plotly keeps each plot's traces on its element: the points of the window titled `tag`.
POINTS_JS = """(tag) => {
  for (const gd of document.querySelectorAll('.js-plotly-plot')) {
    const title = gd.layout && gd.layout.title;
    if ((title && (title.text || title)) === tag) return gd.data[0].y;
  }
  return null;
}"""
LINE_JS = """(tag) => {
  for (const gd of document.querySelectorAll('.js-plotly-plot')) {
    const title = gd.layout && gd.layout.title;
    if ((title && (title.text || title)) === tag) {
      const path = gd.querySelector('.scatterlayer path.js-line');
      return path ? path.getAttribute('d') : null;
    }
  }
  return null;
}"""


def visdom_assets() -> dict[str, Path]:
    """visdom static path -> the npm file the set-up fetched for it (see web-assets.txt)."""
    assets = {}
    for line in (HERE / "web-assets.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            package, file, static = line.split()
            assets[static] = HERE / "web-assets" / package / file
    return assets


def _wait_drawn(page, tag: str, points: int) -> None:
    """Wait until Plotly has drawn the curve of window ``tag`` through ``points`` points."""
    page.wait_for_function(  # the path is "M x,y L x,y ...": one L per point after the first
        f"(tag) => {{ const d = ({LINE_JS})(tag); return d && d.split('L').length === {points}; }}",
        arg=tag,
        timeout=15_000,
    )


def _tiny_problem(seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(96, 4, generator=g)
    y = (X[:, 0] + X[:, 1] > 0).long()
    return DataLoader(TensorDataset(X, y), batch_size=16), nn.Linear(4, 2)


@pytest.fixture
def visdom_port(tmp_path):
    port = free_port()
    proc = loggers.serve_visdom(port, env_path=tmp_path / "visdom_env")
    yield port
    stop(proc)


def test_visdom_page_shows_the_loss_window_appear_and_grow(visdom_port, page, shots):
    """While fit() trains, does visdom's page show the train_loss window appear and gain a point per epoch?"""
    assets = visdom_assets()
    missing = sorted(str(p) for p in assets.values() if not p.exists())
    if missing:
        pytest.skip(
            f"visdom's page files are missing ({missing[0]} ...): run scripts/install-system-deps (needs npm)"
        )

    def serve_asset(route):
        static = route.request.url.split("/static/", 1)[1].split("?", 1)[0]
        if static in assets:
            route.fulfill(path=str(assets[static]))
        else:
            route.continue_()

    page.route("**/static/**", serve_asset)
    env = "browser-test"
    logger = loggers.VisdomLogger(env=env, port=visdom_port)
    assert logger.enabled
    logger.text("notes", "a short run of training.fit")  # the env exists before the page opens
    response = page.goto(f"http://localhost:{visdom_port}/env/{env}")
    # tornado 6.6 refuses visdom 0.2.4's static_url("../user/style.css") with 403: hence the pin
    assert response is not None and response.ok, (
        f"visdom's page answered {response and response.status} (tornado==6.5.10 is pinned for it)"
    )
    page.locator(".visdom-title").wait_for()
    page.get_by_text("a short run of training.fit").wait_for()
    seen: list[list[float] | None] = []

    class Watch:
        """fit() calls update(epoch) after each epoch, before the logger gets that epoch's values."""

        def update(self, epoch: int, metrics: dict) -> None:
            if epoch == 0:
                seen.append(page.evaluate(POINTS_JS, "train_loss"))
                return
            page.wait_for_function(
                f"(tag) => {{ const y = ({POINTS_JS})(tag); return y && y.length === {epoch}; }}",
                arg="train_loss",
                timeout=15_000,
            )
            seen.append(page.evaluate(POINTS_JS, "train_loss"))
            if epoch == 2:  # two points: the first piece of the curve, once Plotly has drawn it
                _wait_drawn(page, "train_loss", 2)
                shots(page, "05-visdom-loss-window-two-epochs")

    torch.manual_seed(0)
    loader, model = _tiny_problem()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
    history = training.fit(
        model,
        loader,
        None,
        nn.functional.cross_entropy,
        optimizer,
        NUM_EPOCHS,
        device="cpu",
        progress=False,
        live=Watch(),
        logger=logger,
    )
    page.wait_for_function(
        f"(tag) => {{ const y = ({POINTS_JS})(tag); return y && y.length === {NUM_EPOCHS}; }}",
        arg="train_loss",
    )
    final = page.evaluate(POINTS_JS, "train_loss")
    logger.close()
    assert seen[0] is None  # no window before the first epoch was logged
    assert [len(y) for y in seen[1:]] == list(range(1, NUM_EPOCHS))
    assert final == pytest.approx(history["train_loss"], rel=1e-5)
    _wait_drawn(page, "train_loss", NUM_EPOCHS)
    shots(page, "06-visdom-loss-window-after-training")


def test_tensorboard_scalars_page_lists_the_run_and_its_tags(tmp_path, page, shots):
    """Does TensorBoard's scalars page, served offline, list a RunManager run and its scalar tags?"""
    logdir = tmp_path / "runs"
    manager = RunManager(logdir, show=False, images=False, graph=False, histograms=False)
    for run in RunBuilder.get_runs({"lr": [0.5]}):
        torch.manual_seed(0)
        loader, model = _tiny_problem()
        optimizer = torch.optim.SGD(model.parameters(), lr=run.lr)
        manager.begin_run(run, model)
        for _ in range(3):
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
    run_name = manager.run_dir.name
    port = free_port()
    tensorboard = Path(sys.executable).parent / "tensorboard"
    cmd = [str(tensorboard), "--logdir", str(logdir), "--port", str(port), "--host", "127.0.0.1"]
    log = (tmp_path / "tensorboard.log").open("w")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_for_http(f"{base}/data/logdir", proc)
        page.goto(f"{base}/#scalars")
        # one group per tag; the first groups open with their chart card, later ones folded
        for tag in ("loss", "accuracy", "val_acc"):
            page.get_by_text(tag, exact=True).first.wait_for(timeout=30_000)
        for tag in ("loss", "accuracy"):
            page.get_by_text(f"tag: {tag}", exact=True).first.wait_for()
        # both open charts have drawn their curve (Plottable's SVG path, inside shadow roots)
        drawn = page.locator('vz-line-chart2 path.line[d*="L"]')
        for _ in range(60):
            if drawn.count() >= 2:
                break
            page.wait_for_timeout(250)
        assert drawn.count() >= 2, "TensorBoard did not draw the loss and accuracy curves"
        assert page.get_by_text(run_name, exact=True).first.is_visible()
        shots(page, "07-tensorboard-scalars")
    finally:
        stop(proc)
        log.close()
