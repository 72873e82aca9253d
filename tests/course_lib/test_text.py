"""course_lib.text: tokens, vocabulary, padded and packed batches, pretrained embeddings, a classifier."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader

from course_lib import text, training


def test_tokenize_lower_cases_and_splits_punctuation():
    """Does tokenize lower-case, keep inner apostrophes and hyphens, and split off punctuation?"""
    assert text.tokenize("Don't PANIC, e-mail me!") == ["don't", "panic", ",", "e-mail", "me", "!"]
    assert text.tokenize("   ") == []


def test_vocab_orders_by_frequency_and_reserves_pad_and_unk():
    """Are indices 0/1 padding/unknown, then tokens by falling count (ties alphabetical)?"""
    vocab = text.Vocab.build(["b a c a", "c a d"], min_freq=1)
    assert vocab.itos == ["<pad>", "<unk>", "a", "c", "b", "d"]
    assert vocab["a"] == 2 and vocab["never seen"] == vocab.unk_index == 1
    assert text.Vocab.build(["b a c a", "c a d"], min_freq=2).itos[2:] == ["a", "c"]
    assert text.Vocab.build(["b a c a", "c a d"], max_size=1).itos[2:] == ["a"]
    assert "a" in vocab and "z" not in vocab and len(vocab) == 6


def test_vocab_encode_decode_and_characters():
    """Does encode give int64 indices (cut to max_len, never empty) and decode invert it?"""
    chars = text.Vocab.build(["anna", "bob"], tokenizer=list)
    ids = chars.encode("nab")
    assert ids.dtype == torch.long and ids.shape == (3,)
    assert chars.decode(ids) == ["n", "a", "b"]
    assert chars.encode("nabx", max_len=2).tolist() == ids[:2].tolist()
    assert chars.encode("").tolist() == [chars.unk_index]
    assert chars.decode(chars.encode("z")) == ["<unk>"]


def test_pad_collate_pads_after_each_sequence_and_keeps_lengths():
    """Does pad_collate match a per-sequence loop: each row its sequence, then the pad index?"""
    g = torch.Generator().manual_seed(0)
    seqs = [torch.randint(2, 9, (n,), generator=g) for n in (3, 5, 1, 4)]
    batch = [(s, i % 2) for i, s in enumerate(seqs)]
    (padded, lengths), y = text.pad_collate(batch, pad_index=7)
    assert (
        padded.shape == (4, 5) and lengths.tolist() == [3, 5, 1, 4] and y.tolist() == [0, 1, 0, 1]
    )
    for row, seq in zip(padded, seqs, strict=True):
        assert torch.equal(row[: len(seq)], seq) and (row[len(seq) :] == 7).all()


def test_pad_collate_features_and_tensor_targets():
    """Does pad_collate handle (T_i, D) features and tensor targets?"""
    batch = [(torch.ones(2, 3), torch.tensor(0.5)), (torch.ones(4, 3), torch.tensor(1.5))]
    (padded, lengths), y = text.pad_collate(batch)
    assert padded.shape == (2, 4, 3) and padded[0, 2:].abs().sum() == 0
    assert lengths.tolist() == [2, 4] and y.tolist() == [0.5, 1.5]


@pytest.mark.parametrize("cell", ["RNN", "GRU", "LSTM"])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_final_hidden_matches_each_sequence_run_alone(cell, bidirectional):
    """Is final_hidden on a padded, unsorted batch what each sequence gives alone (top layer, h)?"""
    torch.manual_seed(0)
    rnn = getattr(nn, cell)(3, 4, num_layers=2, batch_first=True, bidirectional=bidirectional)
    lengths = torch.tensor([2, 5, 3])
    x = torch.randn(3, 5, 3)
    out = text.final_hidden(rnn, x, lengths)
    assert out.shape == (3, 8 if bidirectional else 4)
    for i, n in enumerate(lengths.tolist()):
        _, h_n = rnn(x[i : i + 1, :n])
        h_n = h_n[0] if cell == "LSTM" else h_n
        alone = torch.cat([h_n[-2], h_n[-1]], 1) if bidirectional else h_n[-1]
        torch.testing.assert_close(out[i : i + 1], alone)


def test_embedding_from_pretrained_copies_known_rows_and_freezes():
    """Are known tokens' rows the pretrained vectors, padding zero, and the weight frozen on request?"""
    words = ["the", "cat", "sat"]
    vectors = torch.arange(12.0).reshape(3, 4)
    torch.manual_seed(0)
    emb = text.embedding_from_pretrained(["<pad>", "<unk>", "sat", "dog", "the"], words, vectors)
    assert isinstance(emb, nn.Embedding) and emb.weight.shape == (5, 4)
    assert isinstance(emb.weight, nn.Parameter) and not emb.weight.requires_grad
    torch.testing.assert_close(emb.weight[2], vectors[2])
    torch.testing.assert_close(emb.weight[4], vectors[0])
    assert emb.weight[0].abs().sum() == 0 and emb.padding_idx == 0
    assert emb.weight[3].abs().sum() > 0  # unknown word: random, not zero
    trainable = text.embedding_from_pretrained(["<pad>", "cat"], words, vectors, freeze=False)
    assert trainable.weight.requires_grad
    torch.testing.assert_close(trainable.weight[1], vectors[1])


def test_rnn_classifier_ignores_padding_and_trains_with_fit():
    """Does RNNClassifier give a text the same logits alone and padded, and learn with training.fit?"""
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(1)
    # class = whether token 2 occurs: a problem only a model that reads the whole sequence solves
    seqs = [
        torch.randint(3, 8, (int(n),), generator=g) for n in torch.randint(2, 9, (96,), generator=g)
    ]
    labels = [i % 2 for i in range(96)]
    for seq, label in zip(seqs, labels, strict=True):
        if label:
            seq[torch.randint(0, len(seq), (1,), generator=g)] = 2
    pairs = list(zip(seqs, labels, strict=True))
    model = text.RNNClassifier(8, 2, embed_dim=8, hidden_size=16, bidirectional=True)
    model.eval()
    (padded, lengths), _ = text.pad_collate(pairs[:5])
    batched = model((padded, lengths))
    for i in range(5):
        alone = model((padded[i : i + 1, : lengths[i]], lengths[i : i + 1]))
        torch.testing.assert_close(batched[i : i + 1], alone)
    loader = DataLoader(pairs, batch_size=16, shuffle=True, collate_fn=text.pad_collate)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.02)
    history = training.fit(
        model, loader, None, nn.CrossEntropyLoss(), optimizer, 15, device="cpu", progress=False
    )
    assert history["train_acc"][-1] > 0.9
    with pytest.raises(ValueError, match="cell"):
        text.RNNClassifier(8, 2, cell="Transformer")
