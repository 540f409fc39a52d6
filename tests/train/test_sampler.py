"""The sampler: a seeded order over all rows, long documents drawn a block at a time, and a position
that a checkpoint can store and restore exactly."""

import numpy as np

from lontar.train.packing import LOSS, PAD, START, Segment
from lontar.train.sampler import DocOrder, DocStream, Mixer, StreamInfo, StreamPacker


def test_each_epoch_is_a_fresh_permutation_of_every_row_across_chunks():
    rows = np.arange(1000, 2000)
    order = DocOrder(rows, chunk=64, window=4, seed=3, key=(0, 0))
    epoch = lambda e: np.concatenate([order.window_rows(e, w) for w in range(order.n_windows)])  # noqa: E731
    a, b = epoch(0), epoch(1)
    assert sorted(a.tolist()) == rows.tolist() and sorted(b.tolist()) == rows.tolist()
    assert (a != b).any() and (a != rows).any()
    # a window is 4 chunks drawn from all over the stream (not its first rows), its documents mixed
    chunks = (order.window_rows(0, 0) - 1000) // 64
    assert len(set(chunks.tolist())) == 4 and set(chunks.tolist()) != {0, 1, 2, 3}
    assert (np.diff(chunks) != 0).sum() > 100
    other = DocOrder(rows, chunk=64, window=4, seed=4, key=(0, 0))
    assert not np.array_equal(other.window_rows(0, 0), order.window_rows(0, 0))


def _streams(epochs=None):
    rng = np.random.default_rng(0)
    docs = [[Segment(np.arange(1, n + 1, dtype=np.int32) + 100 * k) for n in rng.integers(3, 40, size=60)]
            for k in range(2)]
    infos = [StreamInfo("short", 0, "km", 0.7), StreamInfo("long", 0, "vi", 0.3)]
    return [DocStream(info, DocOrder(np.arange(60), 8, 2, 1, (0, k)), lambda r, k=k: [docs[k][i] for i in r],
                      lambda items: list(items), epochs, block_size=16) for k, info in enumerate(infos)]


def _blocks(mixer, n):
    return [mixer.block() for _ in range(n)]


def test_a_restored_position_continues_with_the_very_same_blocks():
    reference = Mixer(_streams(), StreamPacker(16, 0, 99, open_blocks=4))
    want = _blocks(reference, 60)
    mid_document = 0
    for cut in range(1, 40, 3):
        first = Mixer(_streams(), StreamPacker(16, 0, 99, open_blocks=4))
        got = _blocks(first, cut)
        meta, arrays = first.state()
        mid_document += any(s[4] for s in meta["streams"])  # stopped inside a long document
        resumed = Mixer(_streams(), StreamPacker(16, 0, 99, open_blocks=4))
        resumed.load(meta, {k: v.copy() for k, v in arrays.items()})
        got += _blocks(resumed, 60 - cut)
        for (a, b, c), (x, y, z) in zip(got, want, strict=True):
            assert (a == x).all() and (b == y).all() and (c == z).all(), cut
    assert mid_document


def test_tokens_follow_the_shares_and_long_documents_are_cut_at_blocks():
    mixer = Mixer(_streams(), StreamPacker(16, 0, 99, open_blocks=4))
    blocks = _blocks(mixer, 40)
    sid = np.stack([b[2] for b in blocks])
    flags = np.stack([b[1] for b in blocks])
    real = (flags & PAD) == 0
    share = (sid[real] == 0).mean()
    assert abs(share - 0.7) < 0.03
    assert (flags[:, 0] & START).all()
    # a continuation piece starts a segment whose first token is no target
    starts = flags & START
    ids = np.stack([b[0] for b in blocks])
    cont = (starts != 0) & (ids % 100 == 17)  # token 17 of a document opens its second piece
    assert cont.any() and not (flags[cont] & LOSS).any()


def test_a_finite_run_ends_after_its_epochs():
    mixer = Mixer(_streams(epochs=1), StreamPacker(16, 0, 99, open_blocks=4))
    blocks = []
    while (b := mixer.block()) is not None:
        blocks.append(b)
    sid = np.stack([b[2] for b in blocks])
    flags = np.stack([b[1] for b in blocks])
    real = (flags & PAD) == 0
    assert all(s.exhausted() for s in mixer.streams)
    assert [s.docs_read for s in mixer.streams] == [60, 60]
    ids = np.stack([b[0] for b in blocks])
    per = [int(((sid == k) & real).sum()) for k in range(2)]
    assert per == [sum(len(d.ids) for d in s.fetch(np.arange(60))) for s in mixer.streams]
    assert ids.size
