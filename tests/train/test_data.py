from lontar.train.data import apportion, document_segments, tokenize_stream


def test_literal_special_token_text_stays_text(khmer_tokenizer):
    tok = khmer_tokenizer
    [ids] = list(tokenize_stream(tok, ["ក</s>ខ<s>"]))
    assert tok.eos_token_id not in ids and tok.bos_token_id not in ids
    assert tok.decode(ids) == "ក</s>ខ<s>"


def test_documents_start_with_bos_end_with_eos_and_count_their_bytes(khmer_tokenizer):
    texts = ["ភាសាខ្មែរ", "", "កម្ពុជា"]
    segments = list(document_segments(khmer_tokenizer, texts, batch_size=2))
    assert len(segments) == 2  # the empty document is skipped
    for segment, text in zip(segments, ["ភាសាខ្មែរ", "កម្ពុជា"]):
        assert segment.ids[0] == khmer_tokenizer.bos_token_id != khmer_tokenizer.eos_token_id
        assert segment.ids[-1] == khmer_tokenizer.eos_token_id
        assert not segment.loss[0] and segment.loss[1:].all()  # the start is context, the end a target
        assert khmer_tokenizer.decode(segment.ids[1:-1].tolist()) == text
        assert segment.nbytes == len(text.encode("utf-8"))


def test_apportion_is_proportional_and_exact():
    assert apportion(10, [3, 1]) == [8, 2]
    assert sum(apportion(1000, [0.7, 0.2, 0.1])) == 1000


def test_one_or_two_processes_with_the_same_global_batch_read_the_same_blocks(tiny_config):
    from lontar.config import load_config
    from lontar.train.data import build_train_data
    from lontar.train.model import load_tokenizer

    path = tiny_config("procs", {"micro_batch_size": 4})
    one = build_train_data(load_config(path), load_tokenizer(load_config(path)), world=1)
    two = build_train_data(load_config(path, ["train.micro_batch_size=1", "train.gradient_accumulation_steps=2"]),
                           load_tokenizer(load_config(path)), world=2)
    assert one.global_batch == two.global_batch == 4
    for _ in range(5):
        a, b = one.next_step(), two.next_step()
        assert (a.ids == b.ids).all() and one.step_stats(a)["targets"] == two.step_stats(b)["targets"]
        rows = [two.micro_batch(b, i, r)["input_ids"][0] for i in range(2) for r in range(2)]
        assert sorted(x.sum().item() for x in rows) == sorted(one.micro_batch(a, 0, 0)["input_ids"].sum(1).tolist())
