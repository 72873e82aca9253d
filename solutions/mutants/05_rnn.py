"""Realistic wrong answers to the exercises of 05_rnn; each replaces one solution cell.

The self-test reads only the blocks headed ``# %% mutant``. The imports above them are the
names the chapter's notebook defines before its exercises, so that editors and ruff see them.
"""

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence, pad_sequence

from course_lib import text


# %% mutant ch05_one_hot: builds the zeros on the default device (fails on a GPU)
def one_hot(indices, num_classes):
    out = torch.zeros(*indices.shape, num_classes)
    return out.scatter_(-1, indices.unsqueeze(-1), 1.0)


# %% mutant ch05_one_hot: returns F.one_hot's int64 vectors instead of float32
def one_hot(indices, num_classes):
    return F.one_hot(indices, num_classes)


# %% mutant ch05_one_hot: works for a 1-D tensor of indices only
def one_hot(indices, num_classes):
    out = torch.zeros(len(indices), num_classes, device=indices.device)
    out[torch.arange(len(indices), device=indices.device), indices] = 1.0
    return out


# %% mutant ch05_rnn_cell: ReLU instead of tanh
def rnn_cell(x, h, W_ih, W_hh, b_ih, b_hh):
    return torch.relu(x @ W_ih.T + b_ih + h @ W_hh.T + b_hh)


# %% mutant ch05_rnn_cell: forgets the hidden-to-hidden bias
def rnn_cell(x, h, W_ih, W_hh, b_ih, b_hh):
    return torch.tanh(x @ W_ih.T + b_ih + h @ W_hh.T)


# %% mutant ch05_rnn_cell: multiplies h by W_hh without transposing it
def rnn_cell(x, h, W_ih, W_hh, b_ih, b_hh):
    return torch.tanh(x @ W_ih.T + b_ih + h @ W_hh + b_hh)


# %% mutant ch05_rnn_forward: the zero initial state is made on the default device
def rnn_forward(x, params, h0=None, batch_first=False):
    if batch_first:
        x = x.transpose(0, 1)
    num_steps, batch_size = x.shape[0], x.shape[1]
    hidden_size = params[0][1].shape[0]
    if h0 is None:
        h0 = torch.zeros(len(params), batch_size, hidden_size)
    layer_input = x
    finals = []
    for layer, (W_ih, W_hh, b_ih, b_hh) in enumerate(params):
        h = h0[layer]
        states = []
        for t in range(num_steps):
            h = torch.tanh(layer_input[t] @ W_ih.T + b_ih + h @ W_hh.T + b_hh)
            states.append(h)
        layer_input = torch.stack(states)
        finals.append(h)
    out = layer_input.transpose(0, 1) if batch_first else layer_input
    return out, torch.stack(finals)


# %% mutant ch05_rnn_forward: returns out in time-first layout even when batch_first
def rnn_forward(x, params, h0=None, batch_first=False):
    if batch_first:
        x = x.transpose(0, 1)
    num_steps, batch_size = x.shape[0], x.shape[1]
    hidden_size = params[0][1].shape[0]
    if h0 is None:
        h0 = x.new_zeros(len(params), batch_size, hidden_size)
    layer_input = x
    finals = []
    for layer, (W_ih, W_hh, b_ih, b_hh) in enumerate(params):
        h = h0[layer]
        states = []
        for t in range(num_steps):
            h = torch.tanh(layer_input[t] @ W_ih.T + b_ih + h @ W_hh.T + b_hh)
            states.append(h)
        layer_input = torch.stack(states)
        finals.append(h)
    return layer_input, torch.stack(finals)


# %% mutant ch05_rnn_forward: h_n holds only the top layer's last state, (B, H)
def rnn_forward(x, params, h0=None, batch_first=False):
    if batch_first:
        x = x.transpose(0, 1)
    num_steps, batch_size = x.shape[0], x.shape[1]
    hidden_size = params[0][1].shape[0]
    if h0 is None:
        h0 = x.new_zeros(len(params), batch_size, hidden_size)
    layer_input = x
    for layer, (W_ih, W_hh, b_ih, b_hh) in enumerate(params):
        h = h0[layer]
        states = []
        for t in range(num_steps):
            h = torch.tanh(layer_input[t] @ W_ih.T + b_ih + h @ W_hh.T + b_hh)
            states.append(h)
        layer_input = torch.stack(states)
    out = layer_input.transpose(0, 1) if batch_first else layer_input
    return out, layer_input[-1]


# %% mutant ch05_rnn_forward: every layer starts from layer 0's initial state
def rnn_forward(x, params, h0=None, batch_first=False):
    if batch_first:
        x = x.transpose(0, 1)
    num_steps, batch_size = x.shape[0], x.shape[1]
    hidden_size = params[0][1].shape[0]
    if h0 is None:
        h0 = x.new_zeros(len(params), batch_size, hidden_size)
    layer_input = x
    finals = []
    for W_ih, W_hh, b_ih, b_hh in params:
        h = h0[0]
        states = []
        for t in range(num_steps):
            h = torch.tanh(layer_input[t] @ W_ih.T + b_ih + h @ W_hh.T + b_hh)
            states.append(h)
        layer_input = torch.stack(states)
        finals.append(h)
    out = layer_input.transpose(0, 1) if batch_first else layer_input
    return out, torch.stack(finals)


# %% mutant ch05_train_on_stream: never detaches the carried state (backward through freed graphs)
def train_on_stream(model, optimizer, series, chunk_len):
    model.train()
    inputs, targets = series[:, :-1], series[:, 1:]
    h = None
    losses = []
    for start in range(0, inputs.shape[1], chunk_len):
        y_hat, h = model(inputs[:, start : start + chunk_len], h)
        loss = F.mse_loss(y_hat, targets[:, start : start + chunk_len])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


# %% mutant ch05_train_on_stream: "fixes" the missing detach with retain_graph=True
def train_on_stream(model, optimizer, series, chunk_len):
    model.train()
    inputs, targets = series[:, :-1], series[:, 1:]
    h = None
    losses = []
    for start in range(0, inputs.shape[1], chunk_len):
        y_hat, h = model(inputs[:, start : start + chunk_len], h)
        loss = F.mse_loss(y_hat, targets[:, start : start + chunk_len])
        optimizer.zero_grad()
        loss.backward(retain_graph=True)
        optimizer.step()
        losses.append(loss.item())
    return losses


# %% mutant ch05_train_on_stream: starts every chunk from a fresh state (nothing carried)
def train_on_stream(model, optimizer, series, chunk_len):
    model.train()
    inputs, targets = series[:, :-1], series[:, 1:]
    losses = []
    for start in range(0, inputs.shape[1], chunk_len):
        y_hat, _ = model(inputs[:, start : start + chunk_len], None)
        loss = F.mse_loss(y_hat, targets[:, start : start + chunk_len])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


# %% mutant ch05_train_on_stream: the initial state is torch.zeros(1, B, H) on the default device
def train_on_stream(model, optimizer, series, chunk_len):
    model.train()
    inputs, targets = series[:, :-1], series[:, 1:]
    h = torch.zeros(1, series.shape[0], model.rnn.hidden_size)
    losses = []
    for start in range(0, inputs.shape[1], chunk_len):
        y_hat, h = model(inputs[:, start : start + chunk_len], h)
        loss = F.mse_loss(y_hat, targets[:, start : start + chunk_len])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        h = h.detach()
        losses.append(loss.item())
    return losses


# %% mutant ch05_train_on_stream: targets not shifted (learns to copy its input)
def train_on_stream(model, optimizer, series, chunk_len):
    model.train()
    inputs, targets = series[:, :-1], series[:, :-1]
    h = None
    losses = []
    for start in range(0, inputs.shape[1], chunk_len):
        y_hat, h = model(inputs[:, start : start + chunk_len], h)
        loss = F.mse_loss(y_hat, targets[:, start : start + chunk_len])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        h = h.detach()
        losses.append(loss.item())
    return losses


# %% mutant ch05_generate: starts every generated step from a fresh state
def generate(model, warmup, n_steps):
    with torch.no_grad():
        y_hat, _ = model(warmup, None)
        value = y_hat[:, -1:]
        values = [value]
        for _ in range(n_steps - 1):
            value, _ = model(value, None)
            values.append(value)
        return torch.cat(values, dim=1)


# %% mutant ch05_generate: keeps feeding the last observed value instead of its predictions
def generate(model, warmup, n_steps):
    with torch.no_grad():
        _, h = model(warmup, None)
        last = warmup[:, -1:]
        values = []
        for _ in range(n_steps):
            value, h = model(last, h)
            values.append(value)
        return torch.cat(values, dim=1)


# %% mutant ch05_generate: collects the results in a tensor made on the default device
def generate(model, warmup, n_steps):
    with torch.no_grad():
        y_hat, h = model(warmup, None)
        out = torch.zeros(warmup.shape[0], n_steps, 1)
        value = y_hat[:, -1:]
        out[:, 0] = value[:, 0]
        for t in range(1, n_steps):
            value, h = model(value, h)
            out[:, t] = value[:, 0]
        return out


# %% mutant ch05_generate: records gradients (no torch.no_grad)
def generate(model, warmup, n_steps):
    y_hat, h = model(warmup, None)
    value = y_hat[:, -1:]
    values = [value]
    for _ in range(n_steps - 1):
        value, h = model(value, h)
        values.append(value)
    return torch.cat(values, dim=1)


# %% mutant ch05_clip_grad_norm: clips each parameter's gradient separately
def clip_grad_norm(parameters, max_norm):
    grads = [p.grad for p in parameters if p.grad is not None]
    total = torch.sqrt(sum(g.detach().pow(2).sum() for g in grads))
    for g in grads:
        g.mul_(torch.clamp(max_norm / (g.norm() + 1e-6), max=1.0))
    return total


# %% mutant ch05_clip_grad_norm: always rescales to max_norm, also scaling small gradients up
def clip_grad_norm(parameters, max_norm):
    grads = [p.grad for p in parameters if p.grad is not None]
    total = torch.sqrt(sum(g.detach().pow(2).sum() for g in grads))
    for g in grads:
        g.mul_(max_norm / (total + 1e-6))
    return total


# %% mutant ch05_clip_grad_norm: adds the parameters' norms instead of their squares
def clip_grad_norm(parameters, max_norm):
    grads = [p.grad for p in parameters if p.grad is not None]
    total = sum(g.detach().norm() for g in grads)
    factor = torch.clamp(max_norm / (total + 1e-6), max=1.0)
    for g in grads:
        g.mul_(factor)
    return total


# %% mutant ch05_clip_grad_norm: iterates the parameters twice (a generator is empty the second time)
def clip_grad_norm(parameters, max_norm):
    total = torch.sqrt(sum(p.grad.detach().pow(2).sum() for p in parameters if p.grad is not None))
    factor = torch.clamp(max_norm / (total + 1e-6), max=1.0)
    for p in parameters:
        if p.grad is not None:
            p.grad.mul_(factor)
    return total


# %% mutant ch05_lstm_cell: gates taken in the order i, f, o, g
def lstm_cell(x, h, c, W_ih, W_hh, b_ih, b_hh):
    gates = x @ W_ih.T + b_ih + h @ W_hh.T + b_hh
    i, f, o, g = gates.chunk(4, dim=1)
    c_next = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    h_next = torch.sigmoid(o) * torch.tanh(c_next)
    return h_next, c_next


# %% mutant ch05_lstm_cell: h' = o * c' (no tanh on the cell)
def lstm_cell(x, h, c, W_ih, W_hh, b_ih, b_hh):
    gates = x @ W_ih.T + b_ih + h @ W_hh.T + b_hh
    i, f, g, o = gates.chunk(4, dim=1)
    c_next = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    h_next = torch.sigmoid(o) * c_next
    return h_next, c_next


# %% mutant ch05_lstm_cell: the candidate goes through a sigmoid like the gates
def lstm_cell(x, h, c, W_ih, W_hh, b_ih, b_hh):
    gates = torch.sigmoid(x @ W_ih.T + b_ih + h @ W_hh.T + b_hh)
    i, f, g, o = gates.chunk(4, dim=1)
    c_next = f * c + i * g
    h_next = o * torch.tanh(c_next)
    return h_next, c_next


# %% mutant ch05_adding_problem: both markers anywhere in the sequence (they may coincide)
def adding_problem(n, T, generator=None):
    values = torch.rand(n, T, generator=generator)
    first = torch.randint(0, T, (n,), generator=generator)
    second = torch.randint(0, T, (n,), generator=generator)
    markers = torch.zeros(n, T)
    rows = torch.arange(n)
    markers[rows, first] = 1.0
    markers[rows, second] = 1.0
    return torch.stack([values, markers], dim=-1), (values * markers).sum(dim=1)


# %% mutant ch05_adding_problem: ignores the generator (the data cannot be reproduced)
def adding_problem(n, T, generator=None):
    values = torch.rand(n, T)
    first = torch.randint(0, T // 2, (n,))
    second = torch.randint(T // 2, T, (n,))
    markers = torch.zeros(n, T)
    rows = torch.arange(n)
    markers[rows, first] = 1.0
    markers[rows, second] = 1.0
    return torch.stack([values, markers], dim=-1), (values * markers).sum(dim=1)


# %% mutant ch05_adding_problem: off by one, the first marker never falls on the last step of its half
def adding_problem(n, T, generator=None):
    values = torch.rand(n, T, generator=generator)
    first = torch.randint(0, T // 2 - 1, (n,), generator=generator)
    second = torch.randint(T // 2, T, (n,), generator=generator)
    markers = torch.zeros(n, T)
    rows = torch.arange(n)
    markers[rows, first] = 1.0
    markers[rows, second] = 1.0
    return torch.stack([values, markers], dim=-1), (values * markers).sum(dim=1)


# %% mutant ch05_pad_collate: pad_sequence without batch_first gives (T_max, B)
def pad_collate(batch, pad_index=0):
    sequences_ = [seq for seq, _ in batch]
    padded = pad_sequence(sequences_, padding_value=pad_index)
    lengths = torch.tensor([len(seq) for seq in sequences_], dtype=torch.long)
    y = torch.tensor([label for _, label in batch], dtype=torch.long)
    return (padded, lengths), y


# %% mutant ch05_pad_collate: measures the lengths after padding
def pad_collate(batch, pad_index=0):
    padded = pad_sequence([seq for seq, _ in batch], batch_first=True, padding_value=pad_index)
    lengths = torch.tensor([len(row) for row in padded], dtype=torch.long)
    y = torch.tensor([label for _, label in batch], dtype=torch.long)
    return (padded, lengths), y


# %% mutant ch05_pad_collate: always pads with 0, ignoring pad_index
def pad_collate(batch, pad_index=0):
    sequences_ = [seq for seq, _ in batch]
    padded = pad_sequence(sequences_, batch_first=True)
    lengths = torch.tensor([len(seq) for seq in sequences_], dtype=torch.long)
    y = torch.tensor([label for _, label in batch], dtype=torch.long)
    return (padded, lengths), y


# %% mutant ch05_final_hidden: no packing, h_n after the padding steps
def final_hidden(rnn, x, lengths):
    _, h_n = rnn(x)
    if isinstance(h_n, tuple):
        h_n = h_n[0]
    if rnn.bidirectional:
        return torch.cat([h_n[-2], h_n[-1]], dim=1)
    return h_n[-1]


# %% mutant ch05_final_hidden: packs, but then reads the padded output's last column
def final_hidden(rnn, x, lengths):
    packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
    out, _ = rnn(packed)
    out, _ = pad_packed_sequence(out, batch_first=True)
    return out[:, -1]


# %% mutant ch05_final_hidden: packs with the default enforce_sorted=True (an unsorted batch fails)
def final_hidden(rnn, x, lengths):
    packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True)
    _, h_n = rnn(packed)
    if isinstance(h_n, tuple):
        h_n = h_n[0]
    if rnn.bidirectional:
        return torch.cat([h_n[-2], h_n[-1]], dim=1)
    return h_n[-1]


# %% mutant ch05_final_hidden: returns the bottom layer's state
def final_hidden(rnn, x, lengths):
    packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
    _, h_n = rnn(packed)
    if isinstance(h_n, tuple):
        h_n = h_n[0]
    if rnn.bidirectional:
        return torch.cat([h_n[0], h_n[1]], dim=1)
    return h_n[0]


# %% mutant ch05_final_hidden: an LSTM's cell state c instead of h
def final_hidden(rnn, x, lengths):
    packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
    _, h_n = rnn(packed)
    if isinstance(h_n, tuple):
        h_n = h_n[1]
    if rnn.bidirectional:
        return torch.cat([h_n[-2], h_n[-1]], dim=1)
    return h_n[-1]


# %% mutant ch05_surname_classifier: runs the LSTM over the padded batch (no packing)
class SurnameClassifier(nn.Module):
    def __init__(self, num_tokens, num_classes, embed_dim=32, hidden_size=128, bidirectional=False):
        super().__init__()
        self.embedding = nn.Embedding(num_tokens, embed_dim, padding_idx=0)
        self.lstm = nn.LSTM(embed_dim, hidden_size, batch_first=True, bidirectional=bidirectional)
        self.head = nn.Linear(hidden_size * (2 if bidirectional else 1), num_classes)

    def forward(self, X):
        tokens, _ = X
        out, _ = self.lstm(self.embedding(tokens))
        return self.head(out[:, -1])


# %% mutant ch05_surname_classifier: returns softmax probabilities instead of logits
class SurnameClassifier(nn.Module):
    def __init__(self, num_tokens, num_classes, embed_dim=32, hidden_size=128, bidirectional=False):
        super().__init__()
        self.embedding = nn.Embedding(num_tokens, embed_dim, padding_idx=0)
        self.lstm = nn.LSTM(embed_dim, hidden_size, batch_first=True, bidirectional=bidirectional)
        self.head = nn.Linear(hidden_size * (2 if bidirectional else 1), num_classes)

    def forward(self, X):
        tokens, lengths = X
        h = text.final_hidden(self.lstm, self.embedding(tokens), lengths)
        return F.softmax(self.head(h), dim=1)


# %% mutant ch05_surname_classifier: a head sized for one direction only
class SurnameClassifier(nn.Module):
    def __init__(self, num_tokens, num_classes, embed_dim=32, hidden_size=128, bidirectional=False):
        super().__init__()
        self.embedding = nn.Embedding(num_tokens, embed_dim, padding_idx=0)
        self.lstm = nn.LSTM(embed_dim, hidden_size, batch_first=True, bidirectional=bidirectional)
        self.head = nn.Linear(hidden_size, num_classes)

    def forward(self, X):
        tokens, lengths = X
        return self.head(text.final_hidden(self.lstm, self.embedding(tokens), lengths))


# %% mutant ch05_sample_temperature: multiplies the logits by the temperature
def sample_with_temperature(logits, temperature, generator=None):
    probs = torch.softmax(logits * temperature, dim=-1)
    return torch.multinomial(probs, 1, generator=generator).squeeze(-1)


# %% mutant ch05_sample_temperature: ignores the temperature
def sample_with_temperature(logits, temperature, generator=None):
    probs = torch.softmax(logits, dim=-1)
    return torch.multinomial(probs, 1, generator=generator).squeeze(-1)


# %% mutant ch05_sample_temperature: softmax over the batch instead of over the vocabulary
def sample_with_temperature(logits, temperature, generator=None):
    probs = torch.softmax(logits / temperature, dim=0)
    return torch.multinomial(probs, 1, generator=generator).squeeze(-1)


# %% mutant ch05_sample_temperature: forgets to pass the generator on
def sample_with_temperature(logits, temperature, generator=None):
    probs = torch.softmax(logits / temperature, dim=-1)
    return torch.multinomial(probs, 1).squeeze(-1)


# %% mutant ch05_glove_embedding: forgets to freeze the weight
def glove_embedding(tokens, words, vectors, freeze=True):
    position = {word: j for j, word in enumerate(words)}
    embedding = nn.Embedding(len(tokens), vectors.shape[1], padding_idx=0)
    with torch.no_grad():
        for i, token in enumerate(tokens):
            if i != 0 and token in position:
                embedding.weight[i].copy_(vectors[position[token]])
    return embedding


# %% mutant ch05_glove_embedding: copies the first rows of vectors, ignoring which word is which
def glove_embedding(tokens, words, vectors, freeze=True):
    embedding = nn.Embedding(len(tokens), vectors.shape[1], padding_idx=0)
    with torch.no_grad():
        n = min(len(tokens), len(words))
        embedding.weight[1:n].copy_(vectors[1:n])
    embedding.weight.requires_grad_(not freeze)
    return embedding


# %% mutant ch05_glove_embedding: replaces the Parameter with a plain tensor
def glove_embedding(tokens, words, vectors, freeze=True):
    position = {word: j for j, word in enumerate(words)}
    embedding = nn.Embedding(len(tokens), vectors.shape[1], padding_idx=0)
    weight = embedding.weight.detach().clone()
    for i, token in enumerate(tokens):
        if i != 0 and token in position:
            weight[i] = vectors[position[token]]
    embedding.weight = weight
    embedding.weight.requires_grad_(not freeze)
    return embedding


# %% mutant ch05_glove_embedding: copies a vector into the padding row too
def glove_embedding(tokens, words, vectors, freeze=True):
    position = {word: j for j, word in enumerate(words)}
    embedding = nn.Embedding(len(tokens), vectors.shape[1], padding_idx=0)
    with torch.no_grad():
        for i, token in enumerate(tokens):
            embedding.weight[i].copy_(vectors[position.get(token, 0)])
    embedding.weight.requires_grad_(not freeze)
    return embedding
