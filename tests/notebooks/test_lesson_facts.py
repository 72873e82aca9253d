"""The facts the lesson text relies on, read from the fast-mode run of each solution notebook.

The session's self-test (fixture ``course_selftest``) executes every solution in fast mode and
keeps the executed notebooks; these tests read what their lesson cells printed, so a change of
settings that makes a sentence of the text untrue fails here. Each test names the passage it
guards. The alt-text check reads the source notebooks and needs no execution.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
from lesson_output import numbers, printed

REPO = Path(__file__).resolve().parents[2]
# every chapter's figures carry alt text (the website shows it to readers who cannot see them)
ALT_TEXT_CHAPTERS = sorted(p.stem for p in (REPO / "solutions").glob("[0-9][0-9]_*.ipynb"))
# a lesson cell draws a figure when it shows one with pyplot or the course's viz helpers
DRAWS = re.compile(r"plt\.show\(\)|viz\.(show_images|plot_history|LivePlot)\(|^compare\(", re.M)


@pytest.mark.parametrize("chapter", ALT_TEXT_CHAPTERS)
def test_every_figure_has_alt_text(chapter):
    """Does every lesson cell that draws a figure carry a sentence of alt text for the website?"""
    nb = nbformat.read(str(REPO / "solutions" / f"{chapter}.ipynb"), as_version=4)
    drawing = [c for c in nb.cells if c.cell_type == "code" and DRAWS.search(c.source)]
    assert drawing, "no figures found: has the figure pattern changed?"
    for cell in drawing:
        alt = cell.metadata.get("mystnb", {}).get("image", {}).get("alt", "")
        assert len(alt) > 30 and alt.endswith("."), f"no alt text for: {cell.source[:120]}"


# --- 03_mlp ---------------------------------------------------------------------------------


@pytest.mark.slow
def test_kaiming_keeps_the_signal_while_fixed_stds_shrink_or_explode_it(executed):
    """Section 2: Kaiming stays flat over 10 layers; std 0.01 shrinks ~1e9-fold; std 0.2 explodes."""
    text = printed(executed, "03_mlp", "def signal_size(")
    layer = r"std after layer 1:\s+(\S+), after layer 10:\s+(\S+)"
    first, last = numbers(r"std 0\.01\s+" + layer, text)
    assert last / first < 1e-7
    first, last = numbers(r"Kaiming.*?" + layer, text)
    assert 0.3 < last / first < 3
    first, last = numbers(r"std 0\.2\s+" + layer, text)
    assert last / first > 1e2


@pytest.mark.slow
def test_plain_sgd_bounces_across_the_valley_and_momentum_gets_there(executed):
    """Section 9: without momentum b changes sign every step and a ends near -2; with momentum the
    walk ends next to the minimum."""
    text = printed(executed, "03_mlp", "def descend(momentum")
    pattern = r"momentum {}: b changes sign in (\d+) of (\d+) steps; after them a = (\S+), distance to the minimum (\S+)"
    flips, steps, a_end, distance = numbers(pattern.format(r"0\.0"), text)
    assert flips == steps == 40 and -3 < a_end < -1 and distance > 1
    _, _, _, distance = numbers(pattern.format(r"0\.7"), text)
    assert distance < 0.05


def _turning_points(text: str, name: str) -> tuple[float, float, int, float]:
    """(train loss, lowest val loss, its epoch, last val loss) printed by turning_point()."""
    block = text.split(name + "\n", 1)[1]
    pattern = r"train loss (\S+); val loss lowest (\S+) at epoch (\d+), last (\S+);"
    train, lowest, epoch, last = numbers(pattern, block)
    return train, lowest, int(epoch), last


@pytest.mark.slow
def test_the_big_model_overfits_and_the_tiny_one_underfits(executed):
    """Section 7: the big model's training loss nears 0 while its validation loss climbs after an
    early minimum; the tiny model cannot fit the training digits."""
    text = printed(executed, "03_mlp", "tiny, big = make_mlp(")
    train, lowest, epoch, last = _turning_points(text, "512 x 512")
    assert train < 0.05 and epoch <= 12 and last > 1.1 * lowest
    train, _, _, _ = _turning_points(text, "4 hidden units")
    assert train > 0.5


@pytest.mark.slow
def test_every_penalty_ends_lower_and_each_shrinks_weights_its_own_way(executed):
    """Section 8: the penalised runs end with a lower validation loss; L1 and Adam's weight_decay
    push many weights below 0.001, AdamW few (it shrinks all of them)."""
    text = printed(executed, "03_mlp", 'ax.set_xlabel("log10 |w|')
    pattern = r"{}\s+val loss last (\S+), lowest (\S+); first layer: mean \|w\| (\S+), (\d+)%"
    runs = {
        name: numbers(pattern.format(re.escape(name)), text)
        for name in (
            "none",
            "L2: Adam, weight_decay=1e-3",
            "AdamW, weight_decay=1",
            "L1: lambda=1e-4",
        )
    }
    none_last, _, none_mean, none_tiny = runs.pop("none")
    for last, _, _, _ in runs.values():
        assert last < none_last
    assert runs["L1: lambda=1e-4"][3] > 50 and runs["L2: Adam, weight_decay=1e-3"][3] > 25
    assert runs["AdamW, weight_decay=1"][3] < 10 and none_tiny < 10
    assert runs["AdamW, weight_decay=1"][2] < 0.95 * none_mean


@pytest.mark.slow
def test_momentum_trains_the_mlp_much_faster(executed):
    """Section 9: from the same weights, the momentum run's training loss ends several times lower."""
    text = printed(executed, "03_mlp", 'compare(fits, "momentum"')
    _, plain = numbers(r"SGD lr 0\.01: training loss (\S+) -> (\S+)", text)
    _, momentum = numbers(r"momentum 0\.9: training loss (\S+) -> (\S+)", text)
    assert momentum < plain / 3


@pytest.mark.slow
def test_early_stopping_stops_early_at_best_plus_patience(executed):
    """Section 11: training stops long before 40 epochs, 4 epochs after the best one."""
    text = printed(executed, "03_mlp", "patience=4, checkpoint=ckpt")
    epochs, best = numbers(r"stopped early: True after (\d+) of 40 epochs; best epoch (\d+)", text)
    assert epochs < 25 and epochs == best + 4


@pytest.mark.slow
def test_dropout_lowers_and_delays_the_validation_minimum(executed):
    """Section 12: with dropout the validation loss reaches a lower minimum, later, and ends lower."""
    text = printed(executed, "03_mlp", "m_drop = make_mlp(p_drop=0.5)")
    _, low, epoch, last = _turning_points(text, "no dropout")
    _, low_d, epoch_d, last_d = _turning_points(text, "dropout 0.5")
    assert low_d < low and epoch_d > epoch and last_d < last


@pytest.mark.slow
def test_cross_validation_folds_disagree_by_several_points(executed):
    """Section 6: the five folds' accuracies differ by several points from best to worst."""
    text = printed(executed, "03_mlp", "folds_of = grading.with_fallback")
    worst, best = numbers(r"folds from (\S+) to (\S+)\)", text)
    assert best - worst > 0.02


# --- 04_cnn ---------------------------------------------------------------------------------


@pytest.mark.slow
def test_the_detector_generalises_and_its_kernels_split_into_two_kinds(executed):
    """Section 4 and its written question: fresh matrices and 200s are recognised; kernels whose
    entries cancel read differences and get negative second-layer weights, one-sign kernels read
    the level."""
    text = printed(executed, "04_cnn", "losses = train(detector")
    fresh, p200 = numbers(r"fresh data (\S+)\n.*?matrix of 200s: (\S+)", text.replace("\r", ""))
    assert fresh >= 0.95 and p200 > 0.9
    table = printed(executed, "04_cnn", "conv1, conv2 = [m for m in detector.modules()")
    rows = [
        [float(v) for v in line.split()]
        for line in table.splitlines()
        if re.match(r"\s*\d+\s+-?\d", line)
    ]
    assert len(rows) == 4
    differences = [r for r in rows if abs(r[1]) < 0.2 * r[2]]
    assert differences and all(r[6] < 0 for r in differences)
    lowest, highest = min(rows, key=lambda r: r[1]), max(rows, key=lambda r: r[1])
    assert lowest[3] > 10 > lowest[4] and highest[4] > 10 > highest[3]  # "all -30" / "all +30"


@pytest.mark.slow
def test_the_lr_and_batch_size_sweep_names_its_fastest_learner(executed):
    """Section 8: after the first epoch, the larger learning rate with the smaller batch is ahead."""
    text = printed(executed, "04_cnn", 'log_name="lr_batch"')
    assert re.search(r"highest accuracy after the first epoch: lr 0\.01, batch size 100\b", text)


@pytest.mark.slow
def test_batchnorm_reaches_a_lower_loss_in_every_epoch(executed):
    """Section 8: with the same learning rate and budget the BatchNorm variant's loss is lower."""
    text = printed(executed, "04_cnn", 'log_name="batchnorm"')
    assert re.search(r"BatchNorm lower in every epoch: True", text)


@pytest.mark.slow
def test_convolution_is_translation_equivariant(executed):
    """Section 1: shifting the input shifts the feature map."""
    text = printed(executed, "04_cnn", "shifted = torch.roll(crop")
    assert "away from the wrapped border): True" in text


@pytest.mark.slow
def test_the_digit_cnn_reaches_its_goal(executed):
    """Section 9: the digit classifier reaches the goal the chapter sets for the mode."""
    text = printed(executed, "04_cnn", "digits_model = digit_cnn()")
    assert "is reached: True" in text


@pytest.mark.slow
def test_a_decaying_learning_rate_settles_lower(executed):
    """Section 10: the constant rate's validation loss jumps about; the decayed run's training loss
    ends several times lower and its validation loss lower."""
    text = printed(executed, "03_mlp", "decay_loader = data.loader(")

    def losses(name: str, which: str) -> list[float]:
        block = text.split(name + ":", 1)[1]
        line = re.search(which + r" loss:\s+(.*)", block).group(1)
        return [float(v) for v in line.split()]

    const_train, const_val = (
        losses("constant lr 0.3", "training"),
        losses("constant lr 0.3", "validation"),
    )
    decay_train = losses("lr 0.3, halved every 2 epochs", "training")
    decay_val = losses("lr 0.3, halved every 2 epochs", "validation")
    assert decay_train[-1] < const_train[-1] / 3 and decay_val[-1] < const_val[-1]
    assert any(b > a for a, b in zip(const_val, const_val[1:], strict=False))  # jumps about


# --- 06_transfer ----------------------------------------------------------------------------


@pytest.mark.slow
def test_the_split_is_disjoint_and_imagefolder_agrees(executed):
    """Sections 1 and 3: the 60/20/20 split has no overlap; ImageFolder numbers the classes and
    orders the images as our class_index and CSV do; the two eval versions are equal."""
    text = printed(executed, "06_transfer", "split_of = grading.with_fallback")
    assert "| overlap: 0" in text
    text = printed(executed, "06_transfer", "image_folder = tv_datasets.ImageFolder(")
    assert "same class indices as ours: True" in text and "same order as the CSV: True" in text
    text = printed(executed, "06_transfer", "versions = [train_tf(example)")
    assert "the two eval versions are equal: True" in text


@pytest.mark.slow
def test_the_scratch_resnet_learns_something(executed):
    """Section 4: the reloaded best weights of the small ResNet beat chance on the test split."""
    text = printed(executed, "06_transfer", "scratch_net = pretrained.ResNet(")
    acc, chance = numbers(r"best weights ([\d.]+) \(chance ([\d.]+)\)", text)
    assert acc > 2 * chance


@pytest.mark.slow
def test_weights_only_refuses_the_whole_model(executed):
    """Section 5: weights_only=True refuses the pickled model; the state_dict loads into a new model."""
    text = printed(executed, "06_transfer", "whole_path, state_path =")
    assert "weights_only=True refuses the whole model" in text
    assert "<All keys matched successfully>" in text


@pytest.mark.slow
def test_the_mnist_head_is_far_above_chance_on_uci(executed):
    """Section 6: the MNIST network with its old head gets a good part of UCI's digits right."""
    text = printed(executed, "06_transfer", "digit_cnn = data.digit_backbone()")
    (old_head,) = numbers(r"on UCI's test digits: ([\d.]+)", text)
    assert 0.3 < old_head < 0.95


@pytest.mark.slow
def test_transfer_beats_scratch_by_five_points(executed):
    """Section 6: with 10 labels per class and the same budget, transfer leads scratch by >= 5 points."""
    text = printed(executed, "06_transfer", "contenders_of = grading.with_fallback")
    assert "goal of 5 points reached: True" in text
    (scratch,) = numbers(r"scratch\s+test accuracy ([\d.]+)", text)
    (tuned,) = numbers(r"fine-tuned test accuracy ([\d.]+)", text)
    assert tuned - scratch >= 0.05


# --- 05_rnn ---------------------------------------------------------------------------------


@pytest.mark.slow
def test_the_rnn_shapes_and_the_cell_loop_agree_with_nn_rnn(executed):
    """Sections 1-2: one-hot times the table is the lookup; out[-1] is h_n[-1]; two RNNCells in a
    loop give nn.RNN(num_layers=2)'s result."""
    assert "one-hot @ table == lookup: True" in printed(executed, "05_rnn", "one-hot @ table")
    assert "out[-1] == h_n[-1]: True" in printed(executed, "05_rnn", "T, B, D, H, L = ")
    assert "cell loop == nn.RNN: True" in printed(executed, "05_rnn", "cells = [nn.RNNCell(D, H)")


@pytest.mark.slow
def test_the_sine_model_learns_and_free_running_is_the_harder_test(executed):
    """Section 3: the chunk loss falls by orders of magnitude; the free-running error is larger
    than the next-step error."""
    text = printed(executed, "05_rnn", "sine_model = SineRNN(hidden_size=32)")
    first, last = numbers(r"loss of the first chunk (\S+), mean of the last 20 (\S+)", text)
    assert last < first / 20
    text = printed(executed, "05_rnn", "test_stream = sequences.sine_streams(1, 200")
    nxt, free = numbers(r"next-step (\S+), free-running (\S+)", text)
    assert nxt < free


@pytest.mark.slow
def test_gradients_vanish_at_half_scale_and_explode_at_three(executed):
    """Section 4: from t = 59 back to t = 0 the gradient shrinks > 1e6-fold at s = 0.5, grows
    > 1e3-fold at s = 3, and changes by less than 1e3 either way at s = 1."""
    text = printed(executed, "05_rnn", "for scale in (0.5, 1.0, 3.0):")
    row = r"s = {}: \|dL/dh_t\| at t = 0: (\S+), at t = 59: (\S+)"
    early, late = numbers(row.format(r"0\.5"), text)
    assert early < late * 1e-6
    early, late = numbers(row.format(r"3\.0"), text)
    assert early > late * 1e3
    early, late = numbers(row.format(r"1\.0"), text)
    assert 1e-3 < early / late < 1e3


@pytest.mark.slow
def test_clipping_keeps_the_sine_training_finite(executed):
    """Section 4, clipping at work: without clipping the loss stops being finite within a few dozen
    steps; clipped, every step's loss is finite."""
    text = printed(executed, "05_rnn", "runs_clip = {")
    finite, total = numbers(r"no clipping : .*finite losses for (\d+) of (\d+) steps", text)
    assert finite < min(total, 60)
    finite, total = numbers(r"clipped at 1: .*finite losses for (\d+) of (\d+) steps", text)
    assert finite == total


@pytest.mark.slow
def test_the_lstm_solves_the_adding_problem_and_the_rnn_does_not(executed):
    """Section 5: LSTM test MSE below 0.02, plain RNN above 0.1 (fast mode: T = 20)."""
    text = printed(executed, "05_rnn", "class LastStepRegressor(")
    assert "LSTM below 0.02: True; RNN above 0.1: True" in text


@pytest.mark.slow
def test_one_lstm_unit_writes_on_the_marks_and_keeps(executed):
    """Section 5, the gates at work: the hand-computed gates reproduce nn.LSTM; one unit's input
    gate opens on the marked steps and is nearly shut elsewhere; its forget gate stays near 1."""
    text = printed(executed, "05_rnn", 'records = {"input gate i"')
    assert "hand-computed h_T == nn.LSTM's h_n: True" in text
    first, second, elsewhere, forget = numbers(
        r"input gate at the marked steps (\S+), (\S+), at the other steps (\S+) on average; "
        r"forget gate from the first mark on: lowest (\S+)",
        text,
    )
    assert min(first, second) > 0.5 and elsewhere < 0.3 and forget > 0.8


@pytest.mark.slow
def test_the_surname_classifier_reaches_its_goal(executed):
    """Section 7: the fast-mode goal of 75 % test accuracy is reached."""
    text = printed(executed, "05_rnn", "surname_model = run_or_reference(")
    assert "goal of 75% reached: True" in text


@pytest.mark.slow
def test_the_text_classifier_beats_the_majority_class(executed):
    """Section 9: GloVe + LSTM beats always answering the larger class."""
    text = printed(executed, "05_rnn", "doc_vocab = text.Vocab.build(")
    acc, majority = numbers(
        r"test accuracy (\S+) \(always answering the larger class: (\S+)\)", text
    )
    assert acc > majority
