import random

import pytest
import torch

from lontar.eval.loglik import LoglikScorer, encode_pair


def naive(model, tok, context, continuation):
    """The reference: one full forward pass over context + continuation, no batching, no cache."""
    ctx, cont = encode_pair(tok, context, continuation)
    with torch.no_grad():
        logp = torch.log_softmax(model(torch.tensor([ctx + cont])).logits[0, :-1].float(), -1)
    rows = logp[len(ctx) - 1:]
    target = torch.tensor(cont)
    return float(rows.gather(1, target.unsqueeze(1)).sum()), bool((rows.argmax(-1) == target).all())


def _items(seed=0, shared=""):
    rng = random.Random(seed)

    def text(n):
        return "".join(rng.choice("abcdefgh ខ្មែរកា") for _ in range(n))

    items = []
    for i in range(11):
        ctx = (shared if i % 3 else "") + text(rng.randint(2, 50)) + " Answer:"
        conts = [" " + text(rng.randint(1, 9)) for _ in range(3)] + [" A", " B"]
        items.append((ctx, conts))
    items.append(("", ["ab", "ខ្មែរ"]))  # empty context: scored after the BOS token
    return items


@pytest.mark.parametrize("strategy", ["kv_cache", "flat"])
@pytest.mark.parametrize("batch_size", [1, 4, 64])
def test_scores_equal_a_naive_full_sequence_computation(model, tok, strategy, batch_size):
    items = _items(shared="Preamble shared by most items: " * 2)
    got = LoglikScorer(model, tok, batch_size=batch_size, strategy=strategy, progress=False).score(items)
    for (ctx, conts), scored in zip(items, got):
        assert len(scored) == len(conts)
        for cont, s in zip(conts, scored):
            ll, greedy = naive(model, tok, ctx, cont)
            assert s.loglik == pytest.approx(ll, abs=2e-4)
            assert s.greedy == greedy
            assert s.tokens == len(encode_pair(tok, ctx, cont)[1])


def _prefix_len(rows):
    n = 0
    while all(len(r) > n + 1 and r[n] == rows[0][n] for r in rows):
        n += 1
    return n


def _shapes_and_scores(model, tok, items, pack_families=None, **kw):
    shapes = []
    hook = model.register_forward_pre_hook(lambda m, a, kw: shapes.append(tuple(kw["input_ids"].shape)),
                                           with_kwargs=True)
    try:
        scorer = LoglikScorer(model, tok, progress=False, **kw)
        if pack_families is not None:
            scorer.pack_families = pack_families
        got = scorer.score(items)
    finally:
        hook.remove()
    return shapes, got


def test_shared_prefix_pass_is_used_and_exact(model, tok):
    from lontar.eval.loglik import MIN_SHARED_PREFIX, encode_pair

    items = [("Few-shot block that every item shares. " * 2 + q, [" yes", " no", " maybe not"])
             for q in ("one?", "two??", "three???", "four")]
    shared = _prefix_len([encode_pair(tok, c, " yes")[0] for c, _ in items])
    shapes, got = _shapes_and_scores(model, tok, items, batch_size=8)
    assert shared >= MIN_SHARED_PREFIX
    assert shapes[0] == (1, shared)  # the shared block ran once, alone
    for (ctx, conts), scored in zip(items, got):
        for cont, s in zip(conts, scored):
            assert s.loglik == pytest.approx(naive(model, tok, ctx, cont)[0], abs=2e-4)


@pytest.mark.parametrize("pack", [False, True])
def test_passages_asked_several_questions_run_once_per_batch(model, tok, pack):
    """Belebele's shape: a passage, then one of its questions. Items are interleaved and of different
    lengths; each passage's prefix runs once: alone, its members' suffixes then unmasked (the CPU
    default), or both passages in one padded pass with masked suffixes (`pack_families`, the GPU
    default). Every score equals the naive full-sequence one, letters and answer texts."""
    passages = ["ទន្លេមេគង្គវែងណាស់ ហើយហូរកាត់ប្រទេសជាច្រើន។ " * 2, "Sungai itu panjang sekali dan airnya jernih. " * 2]
    questions = ["Q: kenapa?", "Q: ដោយសារអ្វី?", "Q: bagaimana airnya hari ini?"]
    items = [(f"P: {passages[i % 2]}\n{questions[i % 3]}\nAnswer:", [" A", " B", " sungai panjang"]) for i in range(6)]
    shapes, got = _shapes_and_scores(model, tok, items, pack_families=pack, batch_size=8)
    prefix_passes = [sh for sh in shapes if sh[1] > 60]  # the passages are far longer than any suffix
    assert len(prefix_passes) == (1 if pack else 2) and prefix_passes[0][0] == (2 if pack else 1)
    for (ctx, conts), scored in zip(items, got):
        for cont, s in zip(conts, scored):
            ll, greedy = naive(model, tok, ctx, cont)
            assert s.loglik == pytest.approx(ll, abs=2e-4) and s.greedy == greedy
    # Small batches: families are split, and the continuation passes are chunked by batch_size.
    _, again = _shapes_and_scores(model, tok, items, pack_families=pack, batch_size=2)
    assert [x.loglik for r in again for x in r] == pytest.approx([x.loglik for r in got for x in r], abs=2e-4)


@pytest.mark.parametrize("strategy", ["kv_cache", "flat"])
def test_long_context_is_cut_per_pair_from_the_left_like_lm_eval(tok, strategy):
    from tests.eval.conftest import tiny_llama

    small = tiny_llama(len(tok), max_positions=32)
    # Choices of different lengths: each pair keeps the last 33 tokens of context + continuation, as
    # lm-eval's `(context_enc + continuation_enc)[-(max_length + 1):][:-1]`, so each sees its own context.
    ctx, conts = "x" * 100 + " Answer:", [" A", " yes it is", " no"]
    short = ("Q?", [" A", " B"])  # fits: not cut
    got = LoglikScorer(small, tok, batch_size=4, strategy=strategy, progress=False).score([(ctx, conts), short])
    for cont, s in zip(conts, got[0]):
        c, k = encode_pair(tok, ctx, cont)
        seq = (c + k)[-(32 + 1):][:-1]
        with torch.no_grad():
            logp = torch.log_softmax(small(torch.tensor([seq])).logits[0], -1)[len(seq) - len(k):]
        assert s.loglik == pytest.approx(float(logp.gather(1, torch.tensor(k).unsqueeze(1)).sum()), abs=2e-4)
        assert s.truncated
    assert not any(s.truncated for s in got[1])


def test_a_continuation_longer_than_the_window_is_refused(tok):
    from tests.eval.conftest import tiny_llama

    small = tiny_llama(len(tok), max_positions=8)
    with pytest.raises(ValueError, match="does not fit max_length 8"):
        LoglikScorer(small, tok, progress=False).score([("Q:", [" " + "y" * 20])])


def test_batched_encoding_equals_lm_evals_pair_by_pair(model, tok):
    """Every context encoded once and all texts in batched calls give lm-eval's own `_encode_pair` ids
    (and its empty-context rule: the continuation after the BOS token), pair by pair."""
    from lm_eval.models.huggingface import HFLM

    from lontar.eval.loglik import encode_pairs

    lm = HFLM(pretrained=model, tokenizer=tok, batch_size=1, device="cpu")
    items = [("Q: ខ្មែរ?\nAnswer: ", ["A", " B", "ខ្ម"]), ("", ["ab", "ខ្មែរ"]), (tok.bos_token + "with BOS:", [" x"]),
             ("no space", [" yes", "no"]), ("  ", [" z"])]
    got = encode_pairs(tok, items)
    for (ctx, conts), pairs in zip(items, got):
        for cont, pair in zip(conts, pairs):
            want = (([tok.bos_token_id], tok(cont, add_special_tokens=False)["input_ids"]) if ctx == ""
                    else lm._encode_pair(ctx, cont))
            assert pair == tuple(map(list, want)), (ctx, cont)


def test_continuation_passes_cover_every_row_once_without_mostly_padding():
    from lontar.eval.loglik import SAME_PASS_LENGTH, _length_chunks

    rng = random.Random(0)
    lengths = sorted((rng.randint(2, 60) for _ in range(97)), reverse=True)
    for size in (1, 4, 16, 200):
        chunks = _length_chunks(lengths, size)
        assert [i for a, b in chunks for i in range(a, b)] == list(range(len(lengths)))
        for a, b in chunks:
            assert 0 < b - a <= size
            assert lengths[b - 1] >= SAME_PASS_LENGTH * lengths[a]  # every row at least this share of the longest
        # a pass ends only when full or when the next row would be too short for it
        for (a, b), _ in zip(chunks, chunks[1:]):
            assert b - a == size or lengths[b] < SAME_PASS_LENGTH * lengths[a]
    assert _length_chunks([], 8) == []


def test_encode_pair_moves_trailing_space_to_the_continuation(tok):
    ctx, cont = encode_pair(tok, "Answer: ", "A")
    assert tok.decode(ctx, skip_special_tokens=True) == "Answer:"
    assert tok.decode(cont) == " A"
    assert ctx[0] == tok.bos_token_id


@pytest.mark.parametrize("fused", [True, False])
@pytest.mark.parametrize("softcap", [None, 3.0])
def test_tiled_scores_equal_the_full_log_softmax_and_its_argmax(monkeypatch, fused, softcap):
    """Tiles smaller than the vocabulary and the rows (sizes that do not divide them), and exact ties.
    Small integer weights and inputs make every logit exact whatever the matmul's summation order, so
    duplicated head rows tie exactly, in different tiles and within one; argmax takes the first index,
    so only the first of each tied pair is greedy. (A soft-cap's tanh may round one element differently
    in a vectorised and a scalar tail, so there the ties are left out.)"""
    from lontar.eval.loglik import _Scores

    monkeypatch.setattr(_Scores, "TILE_ROWS", 3)
    monkeypatch.setattr(_Scores, "TILE_LOGITS", 21)  # 3 rows x 7 vocabulary entries
    monkeypatch.setattr(_Scores, "MIN_TILE_VOCAB", 1)
    gen = torch.Generator().manual_seed(0)
    vocab, hidden, n = 50, 8, 11
    head = torch.nn.Linear(hidden, vocab, bias=True)
    rows = torch.randint(-3, 4, (n, hidden), generator=gen).float()
    with torch.no_grad():
        head.weight.copy_(torch.randint(-3, 4, (vocab, hidden), generator=gen).float())
        head.bias.copy_(torch.randint(-3, 4, (vocab,), generator=gen).float())

    def full_logits():
        z = head(rows)
        return torch.tanh(z / softcap) * softcap if softcap else z

    with torch.no_grad():
        if softcap is None:  # each row's argmax token duplicated in a later tile and right after it
            top = full_logits().argmax(-1)
            for r in range(n):
                t = int(top[r])
                for dup in {(t + 20) % vocab, min(t + 1, vocab - 1)} - {t}:
                    head.weight[dup] = head.weight[t]
                    head.bias[dup] = head.bias[t]
        logits = full_logits()
    logp = torch.log_softmax(logits, -1)
    best = logp.argmax(-1)
    if softcap is None:  # a duplicate can overwrite another row's argmax token, so not every row ties
        assert sum(int((logits[r] == logits[r].max()).sum()) > 1 for r in range(n)) >= n // 2
    wanted = [sorted({int(best[r]), (int(best[r]) + 20) % vocab, min(int(best[r]) + 1, vocab - 1), r % vocab, 49})
              for r in range(n)]
    wanted[4] = []  # a row asked nothing (a single-token continuation's context row)
    with torch.no_grad():
        got = _Scores(rows, wanted, head, softcap) if fused else _Scores(logits, wanted)
    for r in range(n):
        for t in wanted[r]:
            ll, greedy = got.span(r, [t])
            assert ll == pytest.approx(float(logp[r, t]), abs=1e-5)
            assert greedy == (t == int(best[r])), (r, t)


def test_a_continuation_the_model_would_generate_is_greedy(model, tok, monkeypatch):
    """The greedy flag on real continuations, through the scorer, with tiles smaller than the vocabulary:
    the model's own greedy tokens, and the same with the last one changed."""
    from lontar.eval.loglik import _Scores

    monkeypatch.setattr(_Scores, "TILE_LOGITS", 100)
    monkeypatch.setattr(_Scores, "MIN_TILE_VOCAB", 1)
    ids = encode_pair(tok, "ខ្មែរ abc", " x")[0]
    with torch.no_grad():
        out = model.generate(torch.tensor([ids]), max_new_tokens=4, do_sample=False, pad_token_id=tok.pad_token_id)
    own = out[0, len(ids):].tolist()
    other = own[:-1] + [own[-1] + 1]
    for strategy in ("kv_cache", "flat"):
        got = LoglikScorer(model, tok, strategy=strategy, progress=False).score_tokens([[(ids, own), (ids, other)]])[0]
        for cont, s in zip([own, other], got):
            with torch.no_grad():
                logp = torch.log_softmax(model(torch.tensor([ids + cont])).logits[0, len(ids) - 1:-1], -1)
            assert s.loglik == pytest.approx(float(logp.gather(1, torch.tensor(cont)[:, None]).sum()), abs=2e-4)
            assert s.greedy == bool((logp.argmax(-1) == torch.tensor(cont)).all())
        assert got[0].greedy and not got[1].greedy
