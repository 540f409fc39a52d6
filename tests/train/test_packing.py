import numpy as np
import pytest
import torch
from peft import LoraConfig, get_peft_model
from transformers import AutoConfig, AutoModelForCausalLM

from lontar.train.packing import (IGNORE, LOSS, PAD, START, Segment, attention_pairs_per_block, labels, pack_segments,
                                  position_ids, targets_per_block, to_batch)

EOS, PAD_ID = 2, 3


def seg(*ids, loss=None):
    return Segment(np.asarray(ids, dtype=np.int32), None if loss is None else np.asarray(loss, dtype=bool), nbytes=len(ids))


def test_first_fit_keeps_documents_whole_and_pads_the_rest():
    # block 8: [E 5 6 7 8] fits, [E 9 9 9 9] does not fit beside it, [E 1 1] fills block one
    packed = pack_segments([seg(EOS, 5, 6, 7, 8), seg(EOS, 9, 9, 9, 9), seg(EOS, 1, 1)], 8, PAD_ID, end_id=EOS)
    assert packed.input_ids.tolist() == [[EOS, 5, 6, 7, 8, EOS, 1, 1], [EOS, 9, 9, 9, 9, EOS, PAD_ID, PAD_ID]]
    assert position_ids(packed.flags).tolist() == [[0, 1, 2, 3, 4, 0, 1, 2], [0, 1, 2, 3, 4, 0, 1, 2]]
    # the padding starts with an EOS target (the last document learns to end), then no loss
    assert packed.flags[1, 5] == START | PAD | LOSS and (packed.flags[1, 6:] == PAD).all()
    assert packed.docs == 3 and packed.nbytes == 5 + 5 + 3 and packed.cut == 0
    assert targets_per_block(packed.flags).tolist() == [7, 5]
    assert attention_pairs_per_block(packed.flags).tolist() == [15 + 6, 15]


def test_long_documents_are_cut_and_a_continuation_is_not_a_target_of_its_neighbour():
    packed = pack_segments([seg(EOS, *range(10, 20))], 4, PAD_ID, end_id=EOS)  # 11 tokens -> 4 + 4 + 3
    assert packed.cut == 1
    assert packed.input_ids.tolist() == [[EOS, 10, 11, 12], [13, 14, 15, 16], [17, 18, 19, EOS]]
    assert not packed.flags[1, 0] & LOSS and not packed.flags[2, 0] & LOSS


def test_chat_segments_are_truncated_not_cut_and_keep_their_masks():
    packed = pack_segments([seg(7, 7, 8, 8, 8, 8, loss=[0, 0, 1, 1, 1, 1])], 4, PAD_ID, split_long=False)
    assert packed.input_ids.tolist() == [[7, 7, 8, 8]] and packed.cut == 1
    assert [bool(f & LOSS) for f in packed.flags[0]] == [False, False, True, True]


def test_reading_stops_once_max_blocks_are_full():
    def docs():
        yield from (seg(EOS, i, i, i) for i in range(10))
        raise AssertionError("read past what was needed")

    packed = pack_segments(docs(), 8, PAD_ID, max_blocks=2, end_id=EOS)
    assert packed.input_ids.shape == (2, 8)


def test_fill_rate_on_many_short_documents():
    rng = np.random.default_rng(0)
    packed = pack_segments((seg(EOS, *([5] * int(n))) for n in rng.integers(5, 60, 2000)), 256, PAD_ID, end_id=EOS)
    assert packed.stats["fill"] > 0.98


@pytest.mark.parametrize("attn", ["sdpa", "eager"])
def test_a_packed_block_scores_each_document_as_if_alone(attn):
    """Padding-free packing: per-document losses and logits in a block equal each document run by itself."""
    torch.manual_seed(0)
    config = AutoConfig.for_model("llama", vocab_size=50, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                                  num_attention_heads=4, num_key_value_heads=2)
    model = get_peft_model(AutoModelForCausalLM.from_config(config, attn_implementation=attn),
                           LoraConfig(r=4, target_modules="all-linear", init_lora_weights=False)).eval()
    docs = [seg(EOS, *torch.randint(4, 50, (n,)).tolist()) for n in (9, 4, 13)]
    packed = pack_segments(docs, 32, PAD_ID, end_id=EOS)
    assert len(packed) == 1  # 10 + 5 + 14 = 29 tokens in one block of 32
    batch = to_batch(packed.input_ids, packed.flags)
    with torch.no_grad():
        logits = model(input_ids=batch["input_ids"], position_ids=batch["position_ids"], use_cache=False).logits[0]
        at = 0
        for d in docs:
            alone = model(input_ids=torch.tensor([d.ids.tolist()]), use_cache=False).logits[0]
            torch.testing.assert_close(logits[at: at + len(d.ids)], alone, rtol=1e-5, atol=1e-5)
            at += len(d.ids)
        # and documents really are isolated: without position ids the later ones see the earlier ones
        mixed = model(input_ids=batch["input_ids"], use_cache=False).logits[0]
        assert not torch.allclose(mixed[10:15], logits[10:15], atol=1e-3)


def test_document_segment_starts_as_the_model_was_trained():
    from types import SimpleNamespace

    from lontar.train.packing import document_segment, document_start_id

    assert document_start_id(SimpleNamespace(bos_token_id=2, eos_token_id=1)) == 2  # Gemma, Llama: BOS
    assert document_start_id(SimpleNamespace(bos_token_id=None, eos_token_id=7)) == 7  # Qwen-style: after an EOS
    seg = document_segment([5, 6], 2, 1, nbytes=3)
    assert seg.ids.tolist() == [2, 5, 6, 1] and seg.loss.tolist() == [False, True, True, True]
    packed = pack_segments([seg, document_segment([8], 2, 1)], 8, 0)
    lab = labels(packed.input_ids, packed.flags)[0]
    assert lab.tolist() == [IGNORE, 5, 6, 1, IGNORE, 8, 1, IGNORE]  # no document's start is another's target
