import torch

from lontar.eval.generate import cut_at_stop, greedy_generate
from lontar.eval.loglik import encode


def reference_greedy(model, tok, prompt, max_new_tokens):
    ids = torch.tensor([encode(tok, prompt)])
    with torch.no_grad():
        for _ in range(max_new_tokens):
            nxt = model(ids).logits[0, -1].argmax()
            ids = torch.cat([ids, nxt.view(1, 1)], dim=1)
    return tok.decode(ids[0, len(encode(tok, prompt)):], skip_special_tokens=True)


def test_batched_greedy_equals_one_by_one_and_cuts_at_stop(model, tok):
    prompts = ["English: hello\nKhmer:", "ខ្មែរ", "a much longer prompt than the others, to force padding: abc"]
    got = greedy_generate(model, tok, prompts, max_new_tokens=6, stop=[], batch_size=3, progress=False)
    for p, g in zip(prompts, got):
        assert g == reference_greedy(model, tok, p, 6)
    # With a stop sequence every row is cut before it, and rows stop independently.
    ref = [reference_greedy(model, tok, p, 12) for p in prompts]
    stop = ref[0][2:4] if len(ref[0]) >= 4 else "\n"
    cut = greedy_generate(model, tok, prompts, max_new_tokens=12, stop=[stop], batch_size=2, progress=False)
    for r, c in zip(ref, cut):
        assert c == cut_at_stop(r, [stop]) and stop not in c


def test_cut_at_stop_takes_the_earliest_stop():
    assert cut_at_stop("abc\ndef###", ["###", "\n"]) == "abc"
    assert cut_at_stop("abc", ["\n"]) == "abc"
