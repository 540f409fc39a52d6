import torch
from transformers import AutoConfig, AutoModelForCausalLM

from lontar.train.mfu import FlopCounter, matmul_params, measure_peak_flops


def test_flops_follow_the_benchmarks_definition():
    config = AutoConfig.for_model("llama", vocab_size=1000, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                                  num_attention_heads=4, num_key_value_heads=2, tie_word_embeddings=False)
    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(config)
    # per layer: q, o 64x64; k, v 64x32; gate, up, down 64x128; plus lm_head 64x1000 (embedding lookup excluded)
    n = 2 * (2 * 64 * 64 + 2 * 64 * 32 + 3 * 64 * 128) + 64 * 1000
    assert matmul_params(model) == n
    counter = FlopCounter.for_model(model)
    # two documents of 3 and 2 tokens: 5 tokens, 6 + 3 causal query-key pairs
    assert counter.flops(5, 9) == 4 * n * 5 + 12 * 2 * 64 * 9
    assert FlopCounter.for_model(model, full_finetune=True).per_token == 6 * n


def test_lora_factors_are_not_counted():
    from peft import LoraConfig, get_peft_model

    config = AutoConfig.for_model("llama", vocab_size=100, hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                                  num_attention_heads=2, num_key_value_heads=1)
    model = AutoModelForCausalLM.from_config(config)
    before = matmul_params(model)
    assert matmul_params(get_peft_model(model, LoraConfig(r=4, target_modules="all-linear"))) == before


def test_peak_is_measured():
    peak = measure_peak_flops("cpu", n=256, reps=2)
    assert peak["flops_per_s"] > 0 and peak["matmul"] == "256^3 float32"


def test_peak_in_the_models_dtype_and_mfu_never_above_one():
    from lontar.train.mfu import PeakFlops

    bf16 = measure_peak_flops("cpu", torch.bfloat16, n=256, reps=2)
    assert bf16["matmul"] == "256^3 bfloat16"
    peak = PeakFlops("cpu", torch.float32, fixed=1e6)  # a configured peak far below what the CPU does
    assert peak.utilisation(5e5) == 0.5
    achieved = 1e15  # faster than any CPU measurement: taken as the peak, never reported as >100%
    assert peak.utilisation(achieved) == 1.0 and peak.source == "observed"
    assert peak.utilisation(achieved / 2) == 0.5
