"""lontar_sdpa_packed: per-document buckets give the same logits and gradients as a block-diagonal mask."""

import numpy as np
import torch
from peft import LoraConfig, get_peft_model
from transformers import AutoConfig, AutoModelForCausalLM

from lontar.train.attention import MIN_BUCKET, bucket_plan, register
from lontar.train.packing import Segment, pack_segments, segment_lengths, to_batch


def test_bucket_plan_covers_every_token_once():
    lengths = np.array([3, 20, 1, 40, 16])
    plan = bucket_plan(lengths, block=64)
    assert sorted(g.shape[1] for g, _, _ in plan) == [MIN_BUCKET, 32, 64]
    dst = torch.cat([d for _, d, _ in plan]).sort().values
    assert dst.tolist() == list(range(lengths.sum()))


def test_packed_attention_equals_the_masked_block():
    torch.manual_seed(0)
    config = AutoConfig.for_model("llama", vocab_size=60, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                                  num_attention_heads=4, num_key_value_heads=2)
    base = AutoModelForCausalLM.from_config(config, attn_implementation="sdpa")
    rng = np.random.default_rng(0)
    docs = [Segment(np.asarray([2, *rng.integers(4, 60, n)], dtype=np.int32)) for n in (5, 30, 2, 17, 9, 40, 3, 11)]
    packed = pack_segments(docs, 48, 3, end_id=2)
    results = []
    for attention in ("mask", "packed"):
        model = AutoModelForCausalLM.from_config(config, attn_implementation="sdpa")
        model.load_state_dict(base.state_dict())
        if attention == "packed":
            model.set_attn_implementation(register())
        torch.manual_seed(1)  # the same random LoRA weights on both sides
        model = get_peft_model(model, LoraConfig(r=4, target_modules="all-linear", init_lora_weights=False))
        batch = to_batch(packed.input_ids, packed.flags, attention=attention)
        out = model(**batch, use_cache=False)
        out.loss.backward()
        grads = {n: p.grad.clone() for n, p in model.named_parameters() if p.requires_grad}
        results.append((out.logits.detach(), out.loss.item(), grads))
    (logits_a, loss_a, grads_a), (logits_b, loss_b, grads_b) = results
    assert len(segment_lengths(packed.flags)) > len(packed)  # several documents per block
    torch.testing.assert_close(logits_b, logits_a, rtol=1e-5, atol=1e-5)
    assert abs(loss_a - loss_b) < 1e-6
    for name in grads_a:
        torch.testing.assert_close(grads_b[name], grads_a[name], rtol=1e-4, atol=1e-6)


def test_packed_attention_keeps_sliding_windows():
    # Gemma 3 alternates sliding-window and global layers; a document longer than the window must see, packed,
    # exactly what it sees alone (transformers' own sliding mask), not full causal attention.
    torch.manual_seed(0)
    config = AutoConfig.for_model("gemma3_text", vocab_size=60, hidden_size=32, intermediate_size=64,
                                  num_hidden_layers=2, num_attention_heads=2, num_key_value_heads=1, head_dim=16,
                                  sliding_window=8, layer_types=["sliding_attention", "full_attention"])
    model = AutoModelForCausalLM.from_config(config, attn_implementation="sdpa").eval()
    rng = np.random.default_rng(0)
    docs = [np.asarray([2, *rng.integers(4, 60, n)], dtype=np.int32) for n in (30, 5, 20)]
    alone = [model(input_ids=torch.from_numpy(d.astype(np.int64))[None]).logits[0] for d in docs]
    packed = pack_segments([Segment(d) for d in docs], 64, 3)
    model.set_attn_implementation(register())
    batch = to_batch(packed.input_ids, packed.flags, attention="packed")
    batch.pop("labels")
    with torch.no_grad():
        logits = model(**batch, use_cache=False).logits.reshape(-1, 60)
    starts = np.flatnonzero(packed.flags.reshape(-1) & 1)
    for d, ref in zip(docs, alone):
        at = next(s for s in starts if np.array_equal(packed.input_ids.reshape(-1)[s: s + len(d)], d))
        torch.testing.assert_close(logits[at: at + len(d)], ref.detach(), rtol=1e-4, atol=1e-5)
    # and the window matters here: full causal attention in the sliding layer gives other logits
    model.set_attn_implementation("sdpa")
    model.config.layer_types = ["full_attention", "full_attention"]
    for layer in model.model.layers:
        layer.self_attn.sliding_window = None
        layer.attention_type = "full_attention"
    full = model(input_ids=torch.from_numpy(docs[0].astype(np.int64))[None]).logits[0]
    assert not torch.allclose(full, alone[0], atol=1e-4)
