"""course_lib.viz: history plots, image grids, live curves that degrade to PNG + CSV."""

from __future__ import annotations

import csv

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from course_lib import viz  # noqa: E402

HISTORY = {
    "train_loss": [1.0, 0.6, 0.4],
    "val_loss": [1.1, 0.8, 0.9],
    "train_acc": [0.5, 0.7, 0.8],
    "val_acc": [0.45, 0.6, 0.58],
    "lr": [0.1, 0.1, 0.05],
    "best_epoch": 1,
    "stopped_early": False,
}


def test_plot_history_draws_train_and_val_per_metric():
    """Does plot_history give one panel per metric with train and val curves over epochs 1..n?"""
    fig = viz.plot_history(HISTORY)
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    loss_ax = fig.axes[0]
    labels = [line.get_label() for line in loss_ax.lines]
    assert "train" in labels and "val" in labels and "best (val loss)" in labels
    train_line = loss_ax.lines[labels.index("train")]
    assert list(train_line.get_xdata()) == [1, 2, 3]
    assert list(train_line.get_ydata()) == HISTORY["train_loss"]
    plt.close(fig)
    fig = viz.plot_history(HISTORY, metrics=("loss",))
    assert len(fig.axes) == 1
    plt.close(fig)


def test_show_images_grid_labels_and_denormalize():
    """Does show_images lay out B images in rows of nrow, titled by label, undoing normalisation?"""
    images = torch.rand(10, 3, 8, 8)
    fig = viz.show_images(images, labels=torch.arange(10), nrow=4, title="batch")
    assert len(fig.axes) == 12  # 3 rows of 4, two left empty
    assert [ax.get_title() for ax in fig.axes[:3]] == ["0", "1", "2"]
    plt.close(fig)
    mean, std = (0.5, 0.5, 0.5), (0.25, 0.25, 0.25)
    normalised = (images - 0.5) / 0.25
    fig = viz.show_images(normalised[:2], denormalize=(mean, std))
    shown = fig.axes[0].images[0].get_array()
    assert torch.allclose(
        torch.as_tensor(shown.data).float(), images[0].permute(1, 2, 0), atol=1e-5
    )
    plt.close(fig)
    with pytest.raises(ValueError):
        viz.show_images(torch.rand(2, 5, 8, 8))


def test_live_plot_outside_jupyter_writes_png_and_csv(tmp_path):
    """Outside Jupyter, does LivePlot rewrite a PNG and append a CSV row per epoch?"""
    live = viz.LivePlot(out_dir=tmp_path, name="run")
    assert not live.inline
    for epoch in range(3):
        live.update(
            epoch,
            {k: HISTORY[k][epoch] for k in ("train_loss", "val_loss", "train_acc", "val_acc")},
        )
    live.close()
    assert live.png_path.exists() and live.png_path.read_bytes()[:4] == b"\x89PNG"
    rows = list(csv.reader(live.csv_path.open()))
    assert rows[0] == ["epoch", "train_loss", "val_loss", "train_acc", "val_acc"]
    assert len(rows) == 4 and float(rows[3][2]) == HISTORY["val_loss"][2]


def test_live_plot_every_n_draws_less_often(tmp_path):
    """With every=2, is the PNG drawn only on every second epoch (and by close)?"""
    live = viz.LivePlot(out_dir=tmp_path, every=2)
    live.update(0, {"train_loss": 1.0})
    assert not live.png_path.exists()
    live.update(1, {"train_loss": 0.5})
    assert live.png_path.exists()
    live.png_path.unlink()
    live.update(2, {"train_loss": 0.4})
    live.close()
    assert live.png_path.exists()


def test_live_plot_inline_updates_one_display(monkeypatch):
    """In Jupyter mode, does LivePlot show one display and update it in place?"""
    calls = []

    class Handle:
        def update(self, fig):
            calls.append("update")

    def fake_display(fig, display_id=False):
        calls.append("display")
        return Handle()

    import IPython.display

    monkeypatch.setattr(IPython.display, "display", fake_display)
    live = viz.LivePlot(inline=True)
    for epoch in range(3):
        live.update(epoch, {"train_loss": 1.0 / (epoch + 1)})
    assert calls == ["display", "update", "update"]
    assert live.png_path is None


def test_plot_history_epoch_ticks_are_whole_numbers():
    """Are the epoch ticks integers, even for a short run?"""
    fig = viz.plot_history(HISTORY, metrics=("loss",))
    fig.canvas.draw()
    ticks = [t for t in fig.axes[0].get_xticks() if 1 <= t <= 3]
    assert ticks and all(float(t).is_integer() for t in ticks)
    plt.close(fig)


def test_confusion_matrix_rows_are_true_classes_and_normalise():
    """Does the matrix count (true, predicted) pairs per row, normalised to shares, with an accuracy title?"""
    fig = viz.confusion_matrix([0, 0, 1, 1, 1, 2], [0, 1, 1, 1, 2, 2], ["a", "b", "c"])
    image = fig.axes[0].images[0].get_array()
    assert image.shape == (3, 3)
    assert image[0].tolist() == [0.5, 0.5, 0.0] and abs(image[1, 1] - 2 / 3) < 1e-9
    assert fig.axes[0].get_title() == "accuracy 0.667"
    plt.close(fig)
    counts = viz.confusion_matrix(
        torch.tensor([0, 1]), torch.tensor([1, 1]), ["a", "b"], normalize=False
    )
    assert counts.axes[0].images[0].get_array().tolist() == [[0, 1], [0, 1]]
    plt.close(counts)


def test_scatter_2d_colours_by_class_and_draws_into_given_axes():
    """Does scatter_2d draw one group per class (with the class names) and accept an axes?"""
    points = torch.randn(30, 2, generator=torch.Generator().manual_seed(0))
    labels = torch.arange(30) % 3
    fig, axes = plt.subplots(1, 2)
    out = viz.scatter_2d(points, labels, classes=["x", "y", "z"], ax=axes[1], title="latent")
    assert out is fig and len(axes[1].collections) == 3 and axes[1].get_title() == "latent"
    assert [t.get_text() for t in axes[1].get_legend().get_texts()] == ["x", "y", "z"]
    plt.close(fig)
    words = viz.scatter_2d(points[:3], annotations=["king", "queen", "carrot"])
    assert [t.get_text() for t in words.axes[0].texts] == ["king", "queen", "carrot"]
    plt.close(words)
    with pytest.raises(ValueError, match=r"\(N, 2\)"):
        viz.scatter_2d(torch.zeros(4, 3))
