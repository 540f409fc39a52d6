import numpy as np

from lontar.train.data import Source, TrainData, apportion, document_segments, tokenize_stream
from lontar.train.packing import Segment, pack_segments


def test_literal_special_token_text_stays_text(khmer_tokenizer):
    tok = khmer_tokenizer
    [ids] = list(tokenize_stream(tok, ["ក</s>ខ<s>"]))
    assert tok.eos_token_id not in ids and tok.bos_token_id not in ids
    assert tok.decode(ids) == "ក</s>ខ<s>"


def test_documents_start_with_the_eos_separator_and_count_their_bytes(khmer_tokenizer):
    texts = ["ភាសាខ្មែរ", "", "កម្ពុជា"]
    segments = list(document_segments(khmer_tokenizer, texts, batch_size=2))
    assert len(segments) == 2  # the empty document is skipped
    for segment, text in zip(segments, ["ភាសាខ្មែរ", "កម្ពុជា"]):
        assert segment.ids[0] == khmer_tokenizer.eos_token_id
        assert khmer_tokenizer.decode(segment.ids[1:].tolist()) == text
        assert segment.nbytes == len(text.encode("utf-8"))


def test_apportion_is_proportional_and_exact():
    assert apportion(10, [3, 1]) == [8, 2]
    assert sum(apportion(1000, [0.7, 0.2, 0.1])) == 1000


def _source(name, n_blocks, token):
    segments = [Segment(np.full(8, token + i, dtype=np.int32)) for i in range(n_blocks)]
    return pack_segments(segments, 8, 0)


def test_plan_is_the_same_for_one_process_or_two_with_the_same_global_batch():
    sources = lambda: [Source("a", _source("a", 40, 100), 30), Source("b", _source("b", 5, 500), 10)]  # noqa: E731
    one = TrainData(sources(), steps=10, micro=4, accum=1, world=1, seed=3)
    two = TrainData(sources(), steps=10, micro=1, accum=2, world=2, seed=3)
    for step in range(10):
        a = one.micro_batch(step, 0, 0)["input_ids"][:, 0].tolist()
        b = [two.micro_batch(step, i, r)["input_ids"][0, 0].item() for i in range(2) for r in range(2)]
        assert sorted(a) == sorted(b)
        assert one.step_stats(step) == two.step_stats(step)
    assert one.fingerprint() == two.fingerprint()
    # weights: 30 blocks from a (of 40), 10 from b (5 blocks, so two epochs)
    firsts = one.plan[:, 0]
    assert (firsts == 0).sum() == 30 and (firsts == 1).sum() == 10
    assert sorted(np.bincount(one.plan[firsts == 1, 1]).tolist()) == [2] * 5


def test_plan_depends_on_the_seed_only():
    make = lambda seed: TrainData([Source("a", _source("a", 16, 100), 16)], 4, 4, 1, 1, seed)  # noqa: E731
    assert (make(0).plan == make(0).plan).all() and not (make(0).plan == make(1).plan).all()
