"""Instruction data: rendered with the chat template, loss on the assistant replies only (Khmer text)."""

import json

import pytest

from lontar.train.packing import LOSS, pack_segments
from lontar.train.sft import ChatFormatError, assistant_spans, chat_segment, chat_segments, to_messages

CHAT = {"messages": [
    {"role": "system", "content": "អ្នកជាជំនួយការ។"},
    {"role": "user", "content": "រាជធានីនៃប្រទេសកម្ពុជាគឺជាអ្វី?"},
    {"role": "assistant", "content": "ភ្នំពេញ។"},
    {"role": "user", "content": "ចុះខេត្តធំជាងគេ?"},
    {"role": "assistant", "content": "មណ្ឌលគិរី។"},
]}


def labelled_text(tok, segment):
    return tok.decode([int(i) for i, keep in zip(segment.ids, segment.loss) if keep])


def test_only_assistant_replies_and_their_end_of_turn_are_targets(khmer_tokenizer):
    tok = khmer_tokenizer
    segment = chat_segment(tok, to_messages(CHAT))
    eos = tok.eos_token
    assert labelled_text(tok, segment) == f"ភ្នំពេញ។{eos}\nមណ្ឌលគិរី។{eos}\n"
    text, spans = assistant_spans(tok, CHAT["messages"])
    assert [text[a:b] for a, b in spans] == [f"ភ្នំពេញ។{eos}\n", f"មណ្ឌលគិរី។{eos}\n"]
    # the template's EOS is the real end-of-turn id, not the text "</s>"
    assert list(segment.ids).count(tok.eos_token_id) == len(CHAT["messages"])


def test_alpaca_records_become_a_user_turn_and_an_assistant_turn(khmer_tokenizer):
    record = {"instruction": "បកប្រែជាភាសាអង់គ្លេស", "input": "សួស្តី", "output": "Hello"}
    messages = to_messages(record)
    assert messages == [{"role": "user", "content": "បកប្រែជាភាសាអង់គ្លេស\n\nសួស្តី"},
                        {"role": "assistant", "content": "Hello"}]
    assert labelled_text(khmer_tokenizer, chat_segment(khmer_tokenizer, messages)) == f"Hello{khmer_tokenizer.eos_token}\n"


def test_jsonl_of_both_kinds_packs_into_blocks(tmp_path, khmer_tokenizer):
    path = tmp_path / "sft.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in
                              [CHAT, {"instruction": "និយាយសួស្តី", "output": "សួស្តី"}]) + "\n", encoding="utf-8")
    segments = list(chat_segments(khmer_tokenizer, str(path)))
    assert len(segments) == 2
    packed = pack_segments(segments, 128, khmer_tokenizer.pad_token_id, split_long=False)
    assert packed.docs == 2 and int(((packed.flags & LOSS) != 0).sum()) == sum(int(s.loss.sum()) for s in segments)


def test_bad_records_name_the_file_and_line(tmp_path, khmer_tokenizer):
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(CHAT) + "\n" + json.dumps({"messages": [{"role": "user", "content": "x"}]}) + "\n")
    with pytest.raises(ChatFormatError, match=r"bad.jsonl:2: no assistant message"):
        list(chat_segments(khmer_tokenizer, str(path)))


SHAREGPT = {"conversations": [{"from": "human", "value": "រាជធានីនៃប្រទេសកម្ពុជាគឺជាអ្វី?"},
                              {"from": "gpt", "value": "ភ្នំពេញ។"}], "system": "អ្នកជាជំនួយការ។"}


def test_sharegpt_records_map_their_speakers_to_roles():
    assert to_messages(SHAREGPT) == [{"role": "system", "content": "អ្នកជាជំនួយការ។"},
                                     {"role": "user", "content": "រាជធានីនៃប្រទេសកម្ពុជាគឺជាអ្វី?"},
                                     {"role": "assistant", "content": "ភ្នំពេញ។"}]
    with pytest.raises(ChatFormatError, match="needs 'from'"):
        to_messages({"conversations": [{"from": "narrator", "value": "x"}]}, "sharegpt")


@pytest.mark.parametrize("name, reply", [("chatml", "ភ្នំពេញ។<|im_end|>\n"), ("qwen", "ភ្នំពេញ។<|im_end|>\n"),
                                         ("llama3", "ភ្នំពេញ។<|eot_id|>"), ("gemma", "ភ្នំពេញ។<end_of_turn>\n")])
def test_named_templates_add_their_role_markers_as_single_tokens(khmer_tokenizer, name, reply):
    from types import SimpleNamespace

    from lontar.train.sft import ROLE_MARKERS, chat_setup, marker_ids

    tok = khmer_tokenizer
    cfg = SimpleNamespace(train=SimpleNamespace(chat_template=name, datasets=[SimpleNamespace(type="chat")]))
    before = len(tok)
    added = chat_setup(tok, cfg)
    assert added and len(tok) == before + len(added)
    for marker in ROLE_MARKERS[name]:
        assert len(tok(marker, add_special_tokens=False)["input_ids"]) == 1
    assert len(marker_ids(tok, cfg)) == len(ROLE_MARKERS[name])
    segment = chat_segment(tok, to_messages(SHAREGPT))
    assert labelled_text(tok, segment) == reply


def test_lontars_default_template_markers_become_special_tokens(khmer_tokenizer):
    from types import SimpleNamespace

    from lontar.train.sft import chat_setup

    tok = khmer_tokenizer
    cfg = SimpleNamespace(train=SimpleNamespace(chat_template="tokenizer", datasets=[SimpleNamespace(type="chat")]))
    before = len(tok("<|assistant|>\n", add_special_tokens=False)["input_ids"])
    assert chat_setup(tok, cfg) == ["<|system|>", "<|user|>", "<|assistant|>"]
    assert before > 3 and len(tok("<|assistant|>", add_special_tokens=False)["input_ids"]) == 1


def test_unusable_records_are_set_aside_with_their_reason_not_raised(tmp_path, khmer_tokenizer):
    path = tmp_path / "mixed.jsonl"
    path.write_text("\n".join([json.dumps(SHAREGPT, ensure_ascii=False), "{not json",
                               json.dumps({"messages": [{"role": "user", "content": "x"}]}),
                               json.dumps(CHAT, ensure_ascii=False)]) + "\n", encoding="utf-8")
    rejected = []
    segments = list(chat_segments(khmer_tokenizer, str(path), block_size=100, rejected=rejected))
    assert len(segments) == 1
    assert [(r["line"], r["reason"].split(" (")[0]) for r in rejected][:2] == [(2, "not JSON"), (3, "no assistant message: nothing to learn from")]
    assert rejected[2]["line"] == 4 and "longer than train.block_size (100)" in rejected[2]["reason"]
    assert rejected[0]["raw"] == "{not json"


def test_a_hub_dataset_with_its_own_column_names_reads_as_alpaca(tmp_path, khmer_tokenizer):
    """Aya's layout (inputs, targets), read through a local directory in the hub's layout."""
    import datasets

    from lontar.train.sft import read_hub_records

    rows = [{"inputs": "រាជធានីនៃប្រទេសកម្ពុជាគឺជាអ្វី?", "targets": "ភ្នំពេញ។", "language": "khm"},
            {"inputs": "និយាយសួស្តី", "targets": None, "language": "khm"},
            {"inputs": "ចុះខេត្តធំជាងគេ?", "targets": "មណ្ឌលគិរី។", "language": "khm"}]
    (tmp_path / "aya" / "data").mkdir(parents=True)
    datasets.Dataset.from_list(rows).to_parquet(str(tmp_path / "aya" / "data" / "train-00000-of-00001.parquet"))
    rejected: list = []
    segs = list(chat_segments(khmer_tokenizer, read_hub_records(str(tmp_path / "aya"), limit=3), "alpaca",
                              rejected=rejected, columns={"instruction": "inputs", "output": "targets"}))
    assert len(segs) == 2  # a row with no reply is set aside with its reason, not trained
    assert labelled_text(khmer_tokenizer, segs[0]).startswith("ភ្នំពេញ។")
    assert "ភ្នំពេញ" not in khmer_tokenizer.decode([int(i) for i, k in zip(segs[0].ids, segs[0].loss) if not k])
    assert len(rejected) == 1 and rejected[0]["line"] == 2 and "'instruction' and 'output'" in rejected[0]["reason"]
    with pytest.raises(Exception, match="cannot load it"):
        list(read_hub_records(str(tmp_path / "no-such-dataset")))
