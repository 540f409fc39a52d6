"""Log-likelihood of continuations (multiple choice), with each item's context encoded once.

Tokenization follows lm-evaluation-harness exactly, so both tools score the same tokens: trailing
whitespace of the context moves to the continuation, `context + continuation` is encoded whole and the
continuation is what follows the encoded context; an empty context becomes the BOS (else EOS) token.

Two strategies compute the same numbers:

Contexts too long for the window are cut per (context, continuation) pair in both strategies, as
lm-eval cuts them (see `score`); a kv_cache item whose choices then see different contexts runs one
context pass per distinct cut.

- `kv_cache` (default): one forward pass over each item's context (batched, right padded) returns
  the first continuation token's log-probability from the last context position and the context's KV
  cache; the cache rows are then repeated for the item's choices and only the continuation tokens run
  through the model (sorted by length, at most batch_size rows of similar length a pass). Contexts that share a prefix that is
  most of each (a few-shot block, SEA-HELM's preamble, one Belebele passage asked several questions)
  form families across the whole task: the prefix runs once per family and the members run only their
  own suffixes. Single-token answers (A/B/C/D) need no second pass at all.
- `flat`: every (context, continuation) pair is one sequence, sorted by length and batched, as
  lm-evaluation-harness does (identical sequences, e.g. one-token answers, are run once).

Both compute logits only at the positions that are scored (`logits_to_keep` as a boolean mask), never
over the whole context and the full vocabulary, take log-probabilities as logit minus a log-sum-exp
combined from cache-sized tiles of the logits (no full log-softmax written out), and pad on the right without an attention mask where
the causal mask is exact (SDPA's fast causal path). `benchmarks/eval_throughput.py` and
`benchmarks/eval_end_to_end.py` measure both against lm-evaluation-harness.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import torch
from tqdm import tqdm
from lontar.errors import InvalidInput

Strategy = Literal["kv_cache", "flat"]
MIN_SHARED_PREFIX = 16  # tokens: a shorter common prefix is not worth a separate pass
SAME_PASS_LENGTH = 0.75  # a continuation pass takes rows down to this share of its longest: padding under a quarter


@dataclass
class Scored:
    loglik: float  # summed log-probability of the continuation tokens (nats)
    greedy: bool  # every continuation token is the argmax
    tokens: int
    truncated: bool = False  # the context lost tokens from the left to fit the window


def prefix_token_id(tokenizer: Any) -> int:
    return tokenizer.bos_token_id if tokenizer.bos_token_id is not None else tokenizer.eos_token_id


def encode(tokenizer: Any, text: str) -> list[int]:
    """The tokenizer's own default for special tokens (as lm-eval), without a second BOS."""
    return encode_many(tokenizer, [text])[0]


def encode_many(tokenizer: Any, texts: Sequence[str]) -> list[list[int]]:
    """`encode` over many texts in as few batched tokenizer calls as there are special-token settings
    (a fast tokenizer encodes a batch in one call, instead of paying the Python round trip per text)."""
    bos = tokenizer.bos_token
    out: list[list[int]] = [[] for _ in texts]
    for add in (True, False):
        at = [i for i, t in enumerate(texts) if (not (bos and t.startswith(bos))) == add]
        if at:
            ids = tokenizer([texts[i] for i in at], add_special_tokens=add, verbose=False)["input_ids"]
            for i, x in zip(at, ids):
                out[i] = x
    return out


def encode_pair(tokenizer: Any, context: str, continuation: str) -> tuple[list[int], list[int]]:
    return encode_pairs(tokenizer, [(context, [continuation])])[0][0]


def encode_pairs(tokenizer: Any, items: Sequence[tuple[str, Sequence[str]]]) -> list[list[tuple[list[int], list[int]]]]:
    """Per item (context, continuations), each continuation's (context ids, continuation ids); every
    context encoded once, all texts in batched calls."""
    texts: list[str] = []
    bare: list[str] = []  # continuations of an empty context, encoded without special tokens
    plan: list[tuple[bool, int, list[int]]] = []  # (empty context, context text index or -1, whole text indices)
    for context, conts in items:
        if context == "":
            plan.append((True, -1, list(range(len(bare), len(bare) + len(conts)))))
            bare.extend(conts)
            continue
        n_spaces = len(context) - len(context.rstrip())
        moved, context = (context[-n_spaces:], context[:-n_spaces]) if n_spaces else ("", context)
        plan.append((False, len(texts), list(range(len(texts) + 1, len(texts) + 1 + len(conts)))))
        texts.append(context)
        texts.extend(context + moved + c for c in conts)
    ids = encode_many(tokenizer, texts)
    bare_ids = tokenizer(bare, add_special_tokens=False, verbose=False)["input_ids"] if bare else []
    prefix = prefix_token_id(tokenizer)
    out: list[list[tuple[list[int], list[int]]]] = []
    for empty, c, wholes in plan:
        if empty:
            out.append([([prefix], cont) if not cont or cont[0] != prefix else (cont[:1], cont[1:])
                        for cont in (bare_ids[w] for w in wholes)])
        else:
            ctx = ids[c]
            out.append([(ctx, ids[w][len(ctx):]) for w in wholes])
    return out


# Causal LMs whose logits are exactly `lm_head(last_hidden_state)` (then an optional final soft-cap):
# for these the head runs in chunks of rows fused with the reductions, never writing rows x vocab logits.
FUSED_HEAD_TYPES = {"llama", "mistral", "qwen2", "qwen3", "gemma", "gemma2", "gemma3_text", "phi3", "olmo2"}


class _Scores:
    """Next-token log-probabilities at the kept positions, row-major: per row those of the tokens asked
    for (`wanted`), and the token among them that is the row's argmax (lm-eval's greedy test), if any.

    The logits are visited in tiles of rows x vocabulary slices small enough to stay in cache while the
    tile is reduced: each tile gives its log-sum-exp (through the fused log-softmax kernel, cheaper on CPU
    than separate max and exp passes), its maximum and the wanted logits that fall in it; the row's
    log-sum-exp combines the tiles'. With a fused head (`head`) a tile's logits are computed for that tile
    only, so neither the full log-softmax nor the full logits are ever written out. The greedy test needs
    no argmax pass: a wanted token is the argmax when it is the first maximum of its tile and its tile is
    the first to reach the row's maximum."""

    # CPU: tiles of TILE_LOGITS floats (1 MiB, in L2 while reduced), as many rows as the call has up to
    # TILE_ROWS (the head's matmul runs faster on tall, narrow tiles than on wide ones); an accelerator
    # takes whole rows, for fewer launches.
    TILE_ROWS, TILE_LOGITS, MIN_TILE_VOCAB = 1024, 1 << 18, 256
    ACCELERATOR_LOGITS = 1 << 24

    def __init__(self, rows: torch.Tensor, wanted: Sequence[Sequence[int]], head: Any = None, softcap: float | None = None):
        n = rows.shape[0]
        dev = rows.device
        vocab = head.weight.shape[0] if head is not None else rows.shape[-1]
        if dev.type == "cpu":
            tile_rows = self.TILE_ROWS
            tile_vocab = min(vocab, max(self.MIN_TILE_VOCAB, self.TILE_LOGITS // max(1, min(n, tile_rows))))
        else:
            tile_rows, tile_vocab = max(1, self.ACCELERATOR_LOGITS // vocab), vocab
        n_tiles = -(-vocab // tile_vocab)
        counts = [len(w) for w in wanted]
        tokens = [t for w in wanted for t in w]
        starts = [0]
        for c in counts:
            starts.append(starts[-1] + c)
        row_of = torch.repeat_interleave(torch.arange(n), torch.tensor(counts, dtype=torch.long)).to(dev)
        tok = torch.tensor(tokens, dtype=torch.long, device=dev)
        tile_of = tok // tile_vocab
        picked = torch.empty(len(tokens), device=dev)
        first_in_tile = torch.zeros(len(tokens), dtype=torch.bool, device=dev)
        lse = torch.empty(n, device=dev)
        tile_max = torch.empty(n, n_tiles, device=dev)
        for i in range(0, n, tile_rows):
            x = rows[i: i + tile_rows]
            m = len(x)
            e0, e1 = starts[i], starts[i + m]
            order = (torch.argsort(tile_of[e0:e1], stable=True) + e0).tolist() if e1 > e0 else []
            per_tile = torch.bincount(tile_of[e0:e1], minlength=n_tiles).tolist() if e1 > e0 else [0] * n_tiles
            part_lse = torch.empty(m, n_tiles, device=dev)
            at = 0
            for j in range(n_tiles):
                v0, v1 = j * tile_vocab, min(vocab, (j + 1) * tile_vocab)
                if head is not None:
                    z = torch.nn.functional.linear(x, head.weight[v0:v1], None if head.bias is None else head.bias[v0:v1])
                else:
                    z = x[:, v0:v1]
                if softcap:
                    z = torch.tanh(z / softcap) * softcap
                z = z.float()
                top = z.amax(dim=-1)
                # the log-softmax's maximum is -log(sum(exp(z - top))): the tile's log-sum-exp less its maximum
                part_lse[:, j] = torch.where(top == -math.inf, top, top - torch.log_softmax(z, dim=-1).amax(dim=-1))
                tile_max[i: i + m, j] = top
                k = per_tile[j]
                if k:
                    e = torch.tensor(order[at: at + k], dtype=torch.long, device=dev)
                    r, c = row_of[e] - i, tok[e] - v0
                    val = z[r, c]
                    picked[e] = val
                    hit = val >= top[r]
                    if bool(hit.any()):  # the first maximum of the tile (argmax's tie rule: first index)
                        first_in_tile[e[hit]] = z[r[hit]].argmax(dim=-1) == c[hit]
                    at += k
            lse[i: i + m] = torch.logsumexp(part_lse, dim=1)
        row_max = tile_max.amax(dim=1)
        first_tile = (tile_max == row_max[:, None]).to(torch.uint8).argmax(dim=1)
        greedy = first_in_tile & (tile_of == first_tile[row_of])
        logp = (picked - lse[row_of]).tolist()
        self.best: list[int] = [-1] * n  # the wanted token that is the row's argmax, else -1
        for e in greedy.nonzero().flatten().tolist():
            self.best[int(row_of[e])] = tokens[e]
        self.picked: list[dict[int, float]] = [dict(zip(wanted[r], logp[starts[r]: starts[r + 1]])) for r in range(n)]

    def span(self, start: int, targets: Sequence[int]) -> tuple[float, bool]:
        """Summed log-probability of `targets` at rows start.. and whether each is the argmax."""
        total = sum(self.picked[start + k][t] for k, t in enumerate(targets))
        greedy = all(self.best[start + k] == t for k, t in enumerate(targets))
        return float(total), greedy


def _fused_head(model: Any) -> tuple[Any, Any, float | None] | None:
    """(decoder, lm_head, soft-cap) where the logits are exactly the head over the decoder's output."""
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    cfg = getattr(base, "config", None)
    head = base.get_output_embeddings() if hasattr(base, "get_output_embeddings") else None
    decoder = getattr(base, "model", None)
    if getattr(cfg, "model_type", None) not in FUSED_HEAD_TYPES or type(head) is not torch.nn.Linear or decoder is None:
        return None
    return decoder, head, getattr(cfg, "final_logit_softcapping", None)


def _logits(model: Any, keep: torch.Tensor, wanted: Sequence[Sequence[int]], **kwargs: Any) -> tuple[_Scores, Any]:
    """Scores at the `keep` positions only, flattened in row-major order (and the output); `wanted`: per
    kept position, the token ids whose log-probability will be asked for."""
    fused = _fused_head(model)
    if fused is not None:
        decoder, head, softcap = fused
        out = decoder(**kwargs)
        return _Scores(out.last_hidden_state[keep], wanted, head, softcap), out
    out = model(logits_to_keep=keep, **kwargs)
    logits = out.logits
    if logits.dim() == 3:  # a model that does not take a boolean logits_to_keep: select here
        logits = logits[keep] if logits.shape[1] == keep.shape[1] else logits.reshape(-1, logits.shape[-1])
    return _Scores(logits, wanted), out


def _length_chunks(lengths: Sequence[int], size: int) -> list[tuple[int, int]]:
    """Passes over rows sorted longest first: at most `size` rows each, and a new pass where a row is
    shorter than SAME_PASS_LENGTH of the pass's longest, so no pass is mostly padding (answer texts vary
    several-fold in length; an extra pass costs less than the padding it saves)."""
    out: list[tuple[int, int]] = []
    start = 0
    for i in range(1, len(lengths) + 1):
        if i == len(lengths) or i - start >= size or lengths[i] < SAME_PASS_LENGTH * lengths[start]:
            out.append((start, i))
            start = i
    return out


def _pad(rows: Sequence[Sequence[int]], pad: int) -> tuple[torch.Tensor, torch.Tensor]:
    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), pad, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, r in enumerate(rows):
        ids[i, : len(r)] = torch.tensor(r, dtype=torch.long)
        mask[i, : len(r)] = 1
    return ids, mask


class LoglikScorer:
    """Scores continuations of contexts under `model`: one `Scored` per (context, continuation)."""

    def __init__(self, model: Any, tokenizer: Any, *, batch_size: int = 16, max_length: int | None = None,
                 device: torch.device | str = "cpu", strategy: Strategy = "kv_cache", progress: bool = True):
        self.model, self.tokenizer = model, tokenizer
        self.batch_size, self.strategy, self.progress = batch_size, strategy, progress
        self.device = torch.device(device)
        cfg = getattr(model, "config", None)
        self.max_length = max_length or getattr(cfg, "max_position_embeddings", None) or 2048
        pad = tokenizer.pad_token_id
        self.pad = pad if pad is not None else prefix_token_id(tokenizer)
        # Several families per pass (padded prefixes, masked suffixes) pays on a GPU; on CPU the masked
        # attention path costs more than the larger batch saves.
        self.pack_families = self.device.type != "cpu"

    # ------------------------------------------------------------------ public

    def score(self, items: Sequence[tuple[str, Sequence[str]]], desc: str = "loglik") -> list[list[Scored]]:
        """For each item (context, continuations): the continuations' scores, in order.

        A pair longer than the window is cut per pair, as lm-eval does: the context loses tokens from
        the left until context + continuation fits `max_length + 1` (the last token is never input).
        Choices of different lengths then see different contexts; pairs that still share one context
        share its pass. `Scored.truncated` says which pairs were cut."""
        encoded = encode_pairs(self.tokenizer, items)
        for (context, _), pairs in zip(items, encoded):
            if any(not cont for _, cont in pairs):
                raise InvalidInput(f"a continuation encodes to no tokens (context ends {context[-40:]!r})")
        return self.score_tokens(encoded, desc)

    def score_tokens(self, items: Sequence[Sequence[tuple[Sequence[int], Sequence[int]]]],
                     desc: str = "loglik") -> list[list[Scored]]:
        """`score` on token ids: per item, its (context, continuation) pairs as encoded already (the lm-eval
        backend receives them so). Pairs of any item that share a context share its pass."""
        groups: list[tuple[list[int], list[list[int]]]] = []
        slots: list[list[tuple[int, int, bool]]] = []  # per group: (item, choice, cut) of each continuation
        limit = self.max_length + 1
        for i, pairs in enumerate(items):
            by_ctx: dict[tuple[int, ...], int] = {}
            for j, (ctx, cont) in enumerate(pairs):
                ctx, cont = list(ctx), list(cont)
                if not cont:
                    raise InvalidInput("a continuation encodes to no tokens")
                if len(cont) >= limit:
                    raise InvalidInput(f"a continuation of {len(cont)} tokens does not fit max_length {self.max_length}")
                cut = len(ctx) + len(cont) > limit
                if cut:
                    ctx = ctx[-(limit - len(cont)):]
                g = by_ctx.setdefault(tuple(ctx), len(groups))
                if g == len(groups):
                    groups.append((ctx, []))
                    slots.append([])
                groups[g][1].append(cont)
                slots[g].append((i, j, cut))
        flat = self._flat(groups, desc) if self.strategy == "flat" else self._kv(groups, desc)
        out: list[list[Scored | None]] = [[None] * len(pairs) for pairs in items]
        k = 0
        for slot in slots:
            for i, j, cut in slot:
                flat[k].truncated = cut
                out[i][j] = flat[k]
                k += 1
        return out  # type: ignore[return-value]

    # ------------------------------------------------------------------ strategies

    def _batches(self, order: list[int], rows_of: Sequence[int]) -> list[list[int]]:
        batches, cur, rows = [], [], 0
        for g in order:
            if cur and rows + rows_of[g] > self.batch_size:
                batches.append(cur)
                cur, rows = [], 0
            cur.append(g)
            rows += rows_of[g]
        if cur:
            batches.append(cur)
        return batches

    def _families(self, groups: list[tuple[list[int], list[list[int]]]]) -> list[tuple[int, list[int]]]:
        """Contexts that share a long token prefix (a few-shot block, SEA-HELM's preamble, one Belebele
        passage asked several questions): (prefix length, groups), the prefix worth a pass of its own
        only when it is most of every member's context. Singles come back with prefix length 0."""
        order = sorted(range(len(groups)), key=lambda g: groups[g][0])  # lexicographic: sharers adjacent
        fams: list[tuple[int, list[int]]] = []
        for g in order:
            ctx = groups[g][0]
            if fams:
                plen, members = fams[-1]
                head = groups[members[0]][0]
                limit = min(len(ctx) - 1, plen if len(members) > 1 else len(head) - 1)
                n = 0
                while n < limit and ctx[n] == head[n]:
                    n += 1
                shortest = min(len(ctx), *(len(groups[m][0]) for m in members))
                if n >= max(MIN_SHARED_PREFIX, shortest // 2):
                    fams[-1] = (n, [*members, g])
                    continue
            fams.append((0, [g]))
        out: list[tuple[int, list[int]]] = []
        for plen, members in fams:
            if len(members) == 1:
                out.append((0, members))
                continue
            members.sort(key=lambda g: -len(groups[g][0]))
            for i in range(0, len(members), self.batch_size):  # a family larger than a batch: its prefix per chunk
                out.append((plen, members[i: i + self.batch_size]))
        return out

    def _kv_batches(self, groups: list[tuple[list[int], list[list[int]]]]) -> list[list[tuple[int, list[int]]]]:
        """Batches of at most batch_size contexts: singles by length (little padding), families by prefix
        length, never mixed (a batch of singles needs no prefix pass and no attention mask)."""
        fams = self._families(groups)
        singles = sorted((m[0] for p, m in fams if p == 0), key=lambda g: -len(groups[g][0]))
        shared = sorted((f for f in fams if f[0] > 0), key=lambda f: -f[0])
        batches = [[(0, [g]) for g in b] for b in self._batches(singles, [1] * len(groups))]
        if not self.pack_families:
            # One family per batch: its prefix runs alone (no padding), so the members' suffixes need no
            # attention mask either and SDPA keeps its fast causal path, which on CPU outweighs batching.
            return batches + [[f] for f in shared]
        cur: list[tuple[int, list[int]]] = []
        for f in shared:
            if cur and sum(len(m) for _, m in cur) + len(f[1]) > self.batch_size:
                batches.append(cur)
                cur = []
            cur.append(f)
        if cur:
            batches.append(cur)
        return batches

    @torch.no_grad()
    def _kv(self, groups: list[tuple[list[int], list[list[int]]]], desc: str) -> list[Scored]:
        results: list[list[Scored | None]] = [[None] * len(conts) for _, conts in groups]
        bar = tqdm(total=sum(len(c) for _, c in groups), desc=desc, mininterval=1.0, disable=not self.progress)
        for fams in self._kv_batches(groups):
            batch = [g for _, members in fams for g in members]
            self._kv_batch(groups, fams, results)
            bar.update(sum(len(groups[g][1]) for g in batch))
        bar.close()
        return [s for r in results for s in r]  # type: ignore[misc]

    def _kv_batch(self, groups: list[tuple[list[int], list[list[int]]]], fams: list[tuple[int, list[int]]],
                  results: list[list[Scored | None]]) -> None:
        dev = self.device
        batch = [g for _, members in fams for g in members]
        ctxs = [groups[g][0] for g in batch]
        lens = torch.tensor([len(c) for c in ctxs])
        cache, pos, attn = None, None, None
        if fams[0][0] == 0:  # singles: one pass over whole contexts
            ids, mask = _pad(ctxs, self.pad)
            starts = torch.zeros(len(batch), dtype=torch.long)
        else:
            # Each family's prefix once (right padded; a causal mask alone is exact for its real tokens),
            # its cache rows repeated for the members, then only the members' own suffixes.
            plens = [p for p, members in fams for _ in members]
            pids, pmask = _pad([groups[members[0]][0][:p] for p, members in fams], self.pad)
            out = self.model(input_ids=pids.to(dev), use_cache=True, logits_to_keep=1)
            cache = out.past_key_values
            owner = torch.tensor([f for f, (_, members) in enumerate(fams) for _ in members])
            cache.batch_select_indices(owner.to(dev))
            ids, smask = _pad([c[p:] for c, p in zip(ctxs, plens)], self.pad)
            starts = torch.tensor(plens)
            pos = starts.unsqueeze(1) + torch.arange(ids.shape[1]).unsqueeze(0)
            mask = torch.cat([pmask[owner], smask], dim=1)
            # One prefix without padding: the suffixes' right padding is again exact under the causal mask.
            attn = None if len(fams) == 1 else mask
        keep = torch.zeros(ids.shape, dtype=torch.bool)
        keep[torch.arange(len(batch)), lens - 1 - starts] = True
        multi = [(b, j) for b, g in enumerate(batch) for j, c in enumerate(groups[g][1]) if len(c) > 1]
        # Right padding needs no attention mask here (as in lm-eval): pads come after every real token,
        # so the causal mask alone is exact and SDPA takes its fast causal path. The pads' cache
        # entries are masked out in the continuation pass.
        firsts = [sorted({c[0] for c in groups[g][1]}) for g in batch]
        logp, out = _logits(self.model, keep.to(dev), firsts, input_ids=ids.to(dev), past_key_values=cache,
                            attention_mask=None if attn is None else attn.to(dev),
                            position_ids=None if pos is None else pos.to(dev), use_cache=bool(multi))
        sums: dict[tuple[int, int], list[Any]] = {}  # row b: the next-token distribution after context b
        for b, g in enumerate(batch):
            for j, cont in enumerate(groups[g][1]):
                sums[(b, j)] = list(logp.span(b, cont[:1]))
        if multi:
            # The continuations of all the batch's items, sorted by length and run batch_size rows at a time
            # (an item with many long choices does not make one huge pass).
            cache = out.past_key_values
            multi.sort(key=lambda bj: -len(groups[batch[bj[0]]][1][bj[1]]))
            layers = getattr(cache, "layers", None)
            saved = [(layer.keys, layer.values) for layer in layers] if layers is not None else None
            lengths = [len(groups[batch[b]][1][j]) for b, j in multi]
            chunks = _length_chunks(lengths, self.batch_size) if saved is not None else [(0, len(multi))]
            for at0, at1 in chunks:
                chunk = multi[at0: at1]
                rows = torch.tensor([b for b, _ in chunk])
                if saved is not None:
                    for layer, (k, v) in zip(layers, saved):
                        layer.keys, layer.values = k[rows.to(k.device)], v[rows.to(v.device)]
                else:
                    cache.batch_select_indices(rows.to(dev))
                conts = [groups[batch[b]][1][j] for b, j in chunk]
                cids, cmask = _pad([c[:-1] for c in conts], self.pad)
                pos2 = lens[rows].unsqueeze(1) + torch.arange(cids.shape[1]).unsqueeze(0)
                full_mask = torch.cat([mask[rows], cmask], dim=1)
                logp2, _ = _logits(self.model, cmask.bool().to(dev), [[t] for c in conts for t in c[1:]],
                                   input_ids=cids.to(dev),
                                   attention_mask=full_mask.to(dev), past_key_values=cache,
                                   position_ids=pos2.to(dev), use_cache=False)
                at = 0
                for (b, j), cont in zip(chunk, conts):
                    ll, greedy = logp2.span(at, cont[1:])
                    s = sums[(b, j)]
                    s[0] += ll
                    s[1] = s[1] and greedy
                    at += len(cont) - 1
        for (b, j), (ll, greedy) in sums.items():
            g = batch[b]
            results[g][j] = Scored(ll, greedy, len(groups[g][1][j]))

    @torch.no_grad()
    def _flat(self, groups: list[tuple[list[int], list[list[int]]]], desc: str) -> list[Scored]:
        # One row per distinct input sequence; a row scores every continuation that shares it.
        rows: dict[tuple[int, ...], list[tuple[int, list[int]]]] = {}
        flat_index = 0
        for ctx, conts in groups:
            for cont in conts:
                seq = tuple((ctx + cont)[-(self.max_length + 1):][:-1])
                rows.setdefault(seq, []).append((flat_index, cont))
                flat_index += 1
        results: list[Scored | None] = [None] * flat_index
        seqs = sorted(rows, key=lambda s: -len(s))
        bar = tqdm(total=flat_index, desc=desc, mininterval=1.0, disable=not self.progress)
        for b in range(0, len(seqs), self.batch_size):
            batch = seqs[b: b + self.batch_size]
            ids, mask = _pad(batch, self.pad)
            keep = torch.zeros_like(mask, dtype=torch.bool)
            spans = []
            for r, seq in enumerate(batch):
                n = max(len(c) for _, c in rows[seq])
                keep[r, len(seq) - n: len(seq)] = True
                spans.append(n)
            wanted: list[set[int]] = []
            for seq, n in zip(batch, spans):
                at_seq = [set() for _ in range(n)]
                for _, cont in rows[seq]:
                    for k, t in enumerate(cont):
                        at_seq[n - len(cont) + k].add(t)
                wanted.extend(at_seq)
            logp, _ = _logits(self.model, keep.to(self.device), [sorted(w) for w in wanted],
                              input_ids=ids.to(self.device), use_cache=False)
            at = 0
            for seq, n in zip(batch, spans):
                for index, cont in rows[seq]:
                    ll, greedy = logp.span(at + n - len(cont), cont)
                    results[index] = Scored(ll, greedy, len(cont))
                at += n
            bar.update(sum(len(rows[s]) for s in batch))
        bar.close()
        return results  # type: ignore[return-value]
