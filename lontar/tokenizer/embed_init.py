"""Embeddings for the tokens an extension added, so training starts from sense rather than noise.

Each new token's text is split by the *base* tokenizer's own model (for `▁ការ`, Mistral gives `▁`,
`ក`, `<0xE1>`, ...); its input row (and output row, when not tied) starts as the mean of those base
rows. The FOCUS-like variant (Dobler & de Melo, 2023) instead weights base tokens by how similar
their contexts are on the target corpus: tokens are embedded by a truncated SVD of their positive
PMI co-occurrence matrix (FOCUS uses fastText; this needs no extra model), and the weights are the
sparsemax of the cosine similarities between a new token and every base token seen in the corpus.
A new token not seen in the corpus falls back to the mean.

The tokenizer stage records, per new id, the base ids and weights (`new_tokens.json`); the train
stage applies them to any model whose vocabulary starts with the base's, and trains exactly those rows.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tokenizers import Tokenizer
from lontar.errors import InvalidInput

NEW_TOKENS_FILE = "new_tokens.json"


def mean_sources(base: Tokenizer, new_tokens: Sequence[tuple[int, str]]) -> list[dict[str, Any]]:
    """Per new (id, token): the base ids its text splits into under the base model, equally weighted."""
    out = []
    for token_id, token in new_tokens:
        ids = [t.id for t in base.model.tokenize(token)]
        if not ids:
            raise InvalidInput(f"the base tokenizer gives no tokens for new token {token!r} (id {token_id})")
        out.append({"id": token_id, "token": token, "base_ids": ids, "weights": [1.0 / len(ids)] * len(ids)})
    return out


def text_sources(base: Tokenizer, tokens: Sequence[tuple[int, str]]) -> list[dict[str, Any]]:
    """Per added special token (id, text): the base ids of its text, equally weighted (`<|im_start|>` -> `<`, `|`, ...)."""
    out = []
    for token_id, text in tokens:
        ids = base.encode(text, add_special_tokens=False).ids
        out.append({"id": token_id, "token": text, "base_ids": ids, "weights": [1.0 / len(ids)] * len(ids),
                    "special": True})
    return out


def sparsemax(z: np.ndarray) -> np.ndarray:
    """Euclidean projection of `z` onto the simplex (Martins & Astudillo, 2016): sparse weights summing to 1."""
    s = np.sort(z)[::-1]
    cumulative = np.cumsum(s)
    k = np.arange(1, len(z) + 1)
    support = 1 + k * s > cumulative
    k_max = k[support][-1]
    tau = (cumulative[k_max - 1] - 1) / k_max
    return np.maximum(z - tau, 0.0)


def context_vectors(sequences: Iterable[Sequence[int]], vocab_size: int, *, window: int = 5,
                    dim: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """Token vectors from a truncated SVD of the PPMI co-occurrence matrix; returns (ids seen, unit vectors)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.linalg import svds

    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    for seq in sequences:
        ids = np.asarray(seq, dtype=np.int64)
        for d in range(1, window + 1):
            if len(ids) > d:
                rows += [ids[:-d], ids[d:]]
                cols += [ids[d:], ids[:-d]]
    if not rows:
        raise InvalidInput("no co-occurrences: the corpus sample is empty")
    r, c = np.concatenate(rows), np.concatenate(cols)
    seen = np.unique(np.concatenate([r, c]))
    compact = np.full(vocab_size, -1, dtype=np.int64)
    compact[seen] = np.arange(len(seen))
    counts = coo_matrix((np.ones(len(r), dtype=np.float64), (compact[r], compact[c])),
                        shape=(len(seen), len(seen))).tocsr()
    counts.sum_duplicates()
    row_sum = np.asarray(counts.sum(axis=1)).ravel()
    col_sum = np.asarray(counts.sum(axis=0)).ravel() ** 0.75  # context smoothing (Levy et al., 2015)
    coo = counts.tocoo()
    pmi = np.log(coo.data) + np.log(col_sum.sum()) - np.log(row_sum[coo.row]) - np.log(col_sum[coo.col])
    keep = pmi > 0
    ppmi = coo_matrix((pmi[keep], (coo.row[keep], coo.col[keep])), shape=counts.shape).tocsr()
    k = max(1, min(dim, min(ppmi.shape) - 1))
    u, s, _ = svds(ppmi, k=k, random_state=0)
    vectors = u * np.sqrt(s)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return seen, vectors / np.where(norms > 0, norms, 1.0)


def focus_sources(
    mean: list[dict[str, Any]],
    sequences: Iterable[Sequence[int]],
    vocab_size: int,
    base_vocab_size: int,
    *,
    exclude: Iterable[int] = (),
    window: int = 5,
    dim: int = 64,
) -> tuple[list[dict[str, Any]], int]:
    """FOCUS-like weights for the new tokens in `mean` (its entries are the fallback); returns (sources, count weighted)."""
    seen, vectors = context_vectors(sequences, vocab_size, window=window, dim=dim)
    row = {int(t): i for i, t in enumerate(seen)}
    excluded = set(exclude)
    old = np.array([t for t in seen if t < base_vocab_size and int(t) not in excluded], dtype=np.int64)
    if not len(old):
        return mean, 0
    old_vectors = vectors[[row[int(t)] for t in old]]
    out, weighted = [], 0
    for entry in mean:
        i = row.get(entry["id"])
        if i is None:
            out.append(entry)
            continue
        weights = sparsemax(old_vectors @ vectors[i])
        nz = np.nonzero(weights)[0]
        out.append({**entry, "base_ids": [int(old[j]) for j in nz], "weights": [float(weights[j]) for j in nz]})
        weighted += 1
    return out, weighted


def write_new_tokens(path: Path, record: dict[str, Any]) -> None:
    """JSON with one new token per line: readable, diffable, and a fraction of an indented dump."""
    head = {k: v for k, v in record.items() if k != "tokens"}
    tokens = [{**t, "weights": [round(w, 6) for w in t["weights"]]} for t in record.get("tokens", [])]
    body = ",\n".join("  " + json.dumps(t, ensure_ascii=False) for t in tokens)
    text = json.dumps(head, ensure_ascii=False, indent=1)[:-2] + ',\n "tokens": [\n' + body + "\n ]\n}\n"
    json.loads(text)  # the hand-made layout must stay valid JSON
    path.write_text(text, encoding="utf-8")


def read_new_tokens(path: Path) -> dict[str, Any]:
    record = json.loads(Path(path).read_text(encoding="utf-8"))
    for key in ("base_vocab_size", "vocab_size", "tokens"):
        if key not in record:
            raise InvalidInput(f"{path}: missing '{key}' (written by the tokenizer stage)")
    return record


@torch.no_grad()
def init_new_embeddings(model: Any, tokens: Sequence[dict[str, Any]]) -> None:
    """Set each new row to the weighted sum of base rows, for input and (if untied) output embeddings."""
    if not tokens:
        return
    targets = torch.tensor([t["id"] for t in tokens], dtype=torch.long)
    which = torch.tensor([i for i, t in enumerate(tokens) for _ in t["base_ids"]], dtype=torch.long)
    sources = torch.tensor([s for t in tokens for s in t["base_ids"]], dtype=torch.long)
    weights = torch.tensor([w for t in tokens for w in t["weights"]], dtype=torch.float32)
    if bool(torch.isin(sources, targets).any()):
        raise InvalidInput("new-token sources must be base tokens, not other new tokens")
    layers = [model.get_input_embeddings().weight]
    out = model.get_output_embeddings()
    if out is not None and out.weight.data_ptr() != layers[0].data_ptr():
        layers.append(out.weight)
    for weight in layers:
        if int(targets.max()) >= weight.shape[0]:
            raise InvalidInput(f"new token id {int(targets.max())} is outside the embedding matrix ({weight.shape[0]} rows)")
        gathered = weight[sources.to(weight.device)].float() * weights.to(weight.device)[:, None]
        rows = torch.zeros(len(tokens), weight.shape[1], dtype=torch.float32, device=weight.device)
        rows.index_add_(0, which.to(weight.device), gathered)
        weight[targets.to(weight.device)] = rows.to(weight.dtype)
