"""Text as tensors for recurrent models: tokens, a vocabulary, padded batches, pretrained embeddings.

A text becomes a ``(T,)`` int64 tensor of token indices (``Vocab.encode``); a batch of such
tensors of different lengths becomes one padded ``(B, T_max)`` tensor plus its ``(B,)`` lengths
(``pad_collate``); a recurrent layer reads it without the padding through a ``PackedSequence``
(``pack``, ``final_hidden``). ``embedding_from_pretrained`` starts an ``nn.Embedding`` from word
vectors such as GloVe (``data.glove()``), and ``RNNClassifier`` puts the pieces together.
Chapter 05 writes each of these by hand first.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import torch
from torch import nn
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_sequence

__all__ = [
    "tokenize",
    "Vocab",
    "pad_collate",
    "pack",
    "final_hidden",
    "embedding_from_pretrained",
    "RNNClassifier",
]

# words (with an inner apostrophe or hyphen kept: "don't", "e-mail"), numbers, single symbols
_TOKEN = re.compile(r"[a-z0-9]+(?:['\-][a-z0-9]+)*|[^\sa-z0-9]")


def tokenize(text: str) -> list[str]:
    """Lower-case ``text`` and split it into words, numbers and single punctuation marks.

    The same conventions as GloVe's vocabulary (lower case, punctuation as tokens), so most
    tokens of English text have a pretrained vector: ``"Don't panic!"`` -> ``["don't", "panic", "!"]``.
    """
    return _TOKEN.findall(text.lower())


class Vocab:
    """A token <-> index table; index 0 is the padding token, index 1 stands for unknown tokens.

    ``tokenizer`` splits a text into tokens (``tokenize`` for words, ``list`` for characters).
    """

    PAD, UNK = "<pad>", "<unk>"
    pad_index, unk_index = 0, 1

    def __init__(
        self, tokens: Iterable[str], tokenizer: Callable[[str], list[str]] = tokenize
    ) -> None:
        self.itos: list[str] = [self.PAD, self.UNK]
        self.itos += [t for t in dict.fromkeys(tokens) if t not in (self.PAD, self.UNK)]
        self.stoi: dict[str, int] = {t: i for i, t in enumerate(self.itos)}
        self.tokenizer = tokenizer

    @classmethod
    def build(
        cls,
        texts: Iterable[str],
        tokenizer: Callable[[str], list[str]] = tokenize,
        min_freq: int = 1,
        max_size: int | None = None,
    ) -> Vocab:
        """Collect the tokens of ``texts`` seen at least ``min_freq`` times, most frequent first.

        ``max_size`` caps the number of tokens (the two special tokens not counted); ties are
        broken alphabetically, so the same texts always give the same vocabulary.
        """
        counts = Counter(token for text in texts for token in tokenizer(text))
        kept = sorted(
            (t for t, n in counts.items() if n >= min_freq), key=lambda t: (-counts[t], t)
        )
        return cls(kept[:max_size] if max_size is not None else kept, tokenizer)

    def __len__(self) -> int:
        return len(self.itos)

    def __contains__(self, token: str) -> bool:
        return token in self.stoi

    def __getitem__(self, token: str) -> int:
        return self.stoi.get(token, self.unk_index)

    def encode(self, text: str, max_len: int | None = None) -> torch.Tensor:
        """Return the token indices of ``text`` (its first ``max_len`` tokens): int64 ``(T,)``, T >= 1.

        Unknown tokens map to ``unk_index``; an empty text gives ``[unk_index]`` (a recurrent
        layer cannot read a sequence of length 0).
        """
        tokens = self.tokenizer(text)[:max_len]
        return torch.tensor([self[t] for t in tokens] or [self.unk_index], dtype=torch.long)

    def decode(self, indices: Iterable[int] | torch.Tensor) -> list[str]:
        """Return the tokens of ``indices`` (padding included)."""
        return [self.itos[int(i)] for i in indices]

    def __repr__(self) -> str:
        return f"Vocab({len(self)} tokens: {self.itos[2:7]}...)"


def pad_collate(
    batch: Sequence[tuple[torch.Tensor, Any]], pad_index: int = 0
) -> tuple[tuple[torch.Tensor, torch.Tensor], torch.Tensor]:
    """Collate ``(sequence, target)`` pairs of different lengths into one padded batch.

    batch: B pairs; sequence ``(T_i,)`` token indices or ``(T_i, D)`` features (T_i >= 1);
    target an int, a float or a tensor. Returns ``((padded, lengths), y)``: padded ``(B, T_max)``
    or ``(B, T_max, D)`` with ``pad_index`` after each sequence's end, lengths int64 ``(B,)`` on
    the CPU, y ``(B, ...)``. Use as ``DataLoader(..., collate_fn=pad_collate)``; ``training.fit``
    moves the whole ``(padded, lengths)`` pair to the device.
    """
    sequences = [seq for seq, _ in batch]
    targets = [y for _, y in batch]
    padded = pad_sequence(sequences, batch_first=True, padding_value=pad_index)
    lengths = torch.tensor([len(seq) for seq in sequences], dtype=torch.long)
    if isinstance(targets[0], torch.Tensor):
        y = torch.stack(targets)
    else:
        y = torch.tensor(targets)
    return (padded, lengths), y


def pack(x: torch.Tensor, lengths: torch.Tensor) -> PackedSequence:
    """Pack a padded batch ``x`` ``(B, T_max, ...)`` with ``lengths`` ``(B,)`` for a recurrent layer.

    The lengths need not be sorted; they may live on any device (packing reads them on the CPU).
    """
    return pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)


def final_hidden(rnn: nn.RNNBase, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Run ``rnn`` (``batch_first=True``) over a padded batch; return each sequence's final state.

    x: ``(B, T_max, D)``, lengths ``(B,)`` -> ``(B, H)``, or ``(B, 2H)`` for a bidirectional layer
    (forward direction's state after the last real step, backward direction's after the first):
    the top layer's hidden state, never an output at a padded position. For an LSTM, h (not c).
    """
    _, h_n = rnn(pack(x, lengths))
    if isinstance(h_n, tuple):  # LSTM: (h_n, c_n)
        h_n = h_n[0]
    if rnn.bidirectional:
        return torch.cat([h_n[-2], h_n[-1]], dim=1)
    return h_n[-1]


def embedding_from_pretrained(
    tokens: Sequence[str],
    words: Sequence[str],
    vectors: torch.Tensor,
    freeze: bool = True,
    padding_idx: int | None = 0,
) -> nn.Embedding:
    """Build an ``nn.Embedding`` for ``tokens`` whose rows start as the pretrained ``vectors``.

    tokens: the vocabulary, row ``i`` for ``tokens[i]`` (e.g. ``vocab.itos``); words, vectors:
    the pretrained table (``data.glove()``: V words, float ``(V, D)``). Rows of tokens found in
    ``words`` are copied in with ``copy_``; the others are drawn from a normal distribution with the
    pretrained vectors' standard deviation; the ``padding_idx`` row is zero. With ``freeze`` the
    weight gets ``requires_grad=False`` (an optimiser leaves it as it is). Returns an
    ``nn.Embedding(len(tokens), D)`` on the vectors' device, of their dtype.
    """
    index = {w: i for i, w in enumerate(words)}
    rows = [(i, index[t]) for i, t in enumerate(tokens) if t in index]
    weight = torch.empty(len(tokens), vectors.shape[1], dtype=vectors.dtype, device=vectors.device)
    weight.normal_(0.0, float(vectors.std()))
    if rows:
        ours, theirs = (torch.tensor(r, device=vectors.device) for r in zip(*rows, strict=True))
        weight[ours] = vectors[theirs]
    if padding_idx is not None:
        weight[padding_idx] = 0.0
    embedding = nn.Embedding(len(tokens), vectors.shape[1], padding_idx=padding_idx)
    embedding.to(device=vectors.device, dtype=vectors.dtype)
    with torch.no_grad():
        embedding.weight.copy_(weight)  # keep the Parameter, replace its values
    embedding.weight.requires_grad_(not freeze)
    return embedding


class RNNClassifier(nn.Module):
    """Embedding -> recurrent layer over the packed batch -> final hidden state -> dropout -> linear.

    ``forward(X)`` takes the pair ``X = (padded (B, T) token indices, lengths (B,))`` that
    ``pad_collate`` makes and returns logits ``(B, num_classes)``; padding never reaches the
    recurrent layer, so a text gets the same logits alone or in a batch of longer ones.
    ``cell``: ``"LSTM"``, ``"GRU"`` or ``"RNN"``. ``embedding``: a ready ``nn.Embedding`` (for
    example from ``embedding_from_pretrained``) used instead of a new one of ``embed_dim``.
    """

    def __init__(
        self,
        num_tokens: int,
        num_classes: int,
        embed_dim: int = 32,
        hidden_size: int = 128,
        *,
        num_layers: int = 1,
        bidirectional: bool = False,
        dropout: float = 0.0,
        cell: str = "LSTM",
        embedding: nn.Embedding | None = None,
    ) -> None:
        super().__init__()
        if cell not in {"LSTM", "GRU", "RNN"}:
            raise ValueError(f"cell must be 'LSTM', 'GRU' or 'RNN', got {cell!r}")
        self.embedding = embedding or nn.Embedding(num_tokens, embed_dim, padding_idx=0)
        self.rnn = getattr(nn, cell)(
            self.embedding.embedding_dim,
            hidden_size,
            num_layers=num_layers,
            batch_first=True,
            bidirectional=bidirectional,
            dropout=dropout if num_layers > 1 else 0.0,
        )
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(hidden_size * (2 if bidirectional else 1), num_classes)

    def forward(self, X: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        tokens, lengths = X  # (B, T), (B,)
        h = final_hidden(self.rnn, self.embedding(tokens), lengths)  # (B, H) or (B, 2H)
        return self.head(self.dropout(h))
