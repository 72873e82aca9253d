"""course_lib.loggers: TensorBoard and visdom behind one interface; a missing server costs one line."""

from __future__ import annotations

import json
import socket
import time

import pytest
import torch

from course_lib import loggers


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


def test_tensorboard_logger_round_trip(tmp_path):
    """Can TensorBoard's own event reader read back the scalars, images and text we logged?"""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    with loggers.TensorBoardLogger(tmp_path / "run") as log:
        assert isinstance(log, loggers.Logger)
        for step in range(3):
            log.scalar("loss", 1.0 / (step + 1), step)
        log.images("batch", torch.rand(4, 1, 8, 8), 2)
        log.text("notes", "lr=0.1")
    acc = EventAccumulator(
        str(tmp_path / "run"), size_guidance={"images": 0, "tensors": 0}
    ).Reload()
    scalars = acc.Scalars("loss")
    assert [s.step for s in scalars] == [0, 1, 2]
    assert [round(s.value, 4) for s in scalars] == [1.0, 0.5, 0.3333]
    images = acc.Images("batch")  # one grid of the 4 images side by side
    assert images and images[0].step == 2 and (images[0].height, images[0].width) == (8, 32)
    text = acc.Tensors("notes/text_summary")
    assert text and b"lr=0.1" in text[0].tensor_proto.string_val[0]


def test_visdom_without_server_costs_one_line(capsys):
    """With no visdom server, does VisdomLogger print one warning line, return fast and ignore calls?"""
    port = _free_port()  # nothing listens there
    start = time.perf_counter()
    log = loggers.VisdomLogger(port=port)
    log.scalar("loss", 1.0, 0)
    log.images("batch", torch.rand(2, 1, 4, 4), 0)
    log.text("notes", "hi")
    log.close()
    assert time.perf_counter() - start < 3
    captured = capsys.readouterr()
    lines = captured.out.strip().splitlines()
    assert len(lines) == 1 and "visdom" in lines[0] and "warning" in lines[0]
    assert captured.err == ""
    assert not log.enabled


def test_base_logger_is_a_silent_no_op(capsys):
    """Does the base Logger accept every call and record nothing (a stand-in when logging is off)?"""
    with loggers.Logger() as log:
        log.scalar("a", 1.0, 0)
        log.images("b", torch.rand(1, 1, 2, 2), 0)
        log.text("c", "d")
    assert capsys.readouterr().out == ""


@pytest.fixture
def visdom_server(tmp_path):
    port = _free_port()
    proc = loggers.serve_visdom(port, env_path=tmp_path / "visdom_env")
    yield port
    proc.terminate()
    proc.wait(timeout=10)


@pytest.mark.server
def test_visdom_logger_windows_read_back(visdom_server, capsys):
    """With a real local visdom server, do the line, images and text windows hold what we logged?"""
    log = loggers.VisdomLogger(env="pytest", port=visdom_server)
    assert log.enabled
    for step in range(3):
        log.scalar("loss", 1.0 / (step + 1), step)
    log.images("batch", torch.rand(4, 1, 8, 8), 5)
    log.text("notes", "hello from the test")
    log.close()
    line = json.loads(log.viz.get_window_data("loss", env="pytest"))
    trace = line["content"]["data"][0]
    assert trace["x"] == [0, 1, 2] and trace["y"] == pytest.approx([1.0, 0.5, 1 / 3])
    images = json.loads(log.viz.get_window_data("batch", env="pytest"))
    assert images["type"] == "image" and images["content"]["src"].startswith(
        "data:image/png;base64,"
    )
    assert "step 5" in images["title"]
    text = json.loads(log.viz.get_window_data("notes", env="pytest"))
    assert text["content"] == "hello from the test"
    assert capsys.readouterr().out == ""
