import json
from pathlib import Path

import pytest

from lontar.config import DecontamConfig
from lontar.corpus.decontam import ContaminationIndex, decontaminate, gram_units
from tests.corpus.test_build import _config
from lontar.corpus.build import build_corpus

SEAHELM = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "seahelm"


def _index(tmp_path, rows, lang, n, fields=("text",)):
    path = tmp_path / f"eval-{lang}.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    return ContaminationIndex.build(DecontamConfig(enabled=True, n=n, sources=[
        {"path": str(path), "lang": lang, "text_fields": list(fields)}])), path.name


def test_khmer_matches_by_syllables_not_whitespace_words(tmp_path, khmer_sentences):
    item = khmer_sentences[10]
    assert len(item.split()) < 8 <= len(gram_units(item, "km"))  # as whitespace words it could never match
    index, name = _index(tmp_path, [{"text": "other"}, {"text": item}], "km", 8)
    doc = "សេចក្តីផ្តើម។ " + item + " ហើយបន្ទាប់មក"
    texts, reasons, counts = decontaminate({"text": [doc, khmer_sentences[11]], "lang": ["km", "km"]}, index, "remove")
    assert reasons[0] == f"contaminated ({name}:2)" and reasons[1] is None
    assert counts == {f"item {name}:2": 1, "documents": 1}
    _, reasons, counts = decontaminate({"text": [doc], "lang": ["km"]}, index, "flag")
    assert reasons == [None] and counts["documents"] == 1
    assert index.too_short == 1  # "other" has fewer than 8 units


def test_words_ignore_case_and_punctuation(tmp_path):
    q = "Which planet in the solar system has the most moons orbiting around it today?"
    index, name = _index(tmp_path, [{"prompts": [{"question": q}]}], "en", 8, fields=("prompts.0.question",))
    doc = "Trivia night. WHICH planet, in the Solar System, has the most moons orbiting around it — answer below."
    _, reasons, _ = decontaminate({"text": [doc], "lang": ["en"]}, index, "remove")
    assert reasons[0] is not None
    _, reasons, _ = decontaminate({"text": ["Which planet is the largest in the solar system?"], "lang": ["en"]},
                                  index, "remove")
    assert reasons == [None]


@pytest.mark.skipif(not SEAHELM.is_dir(), reason=f"SEA-HELM data not at {SEAHELM}")
def test_corpus_stage_removes_benchmark_items_and_the_card_names_them(tmp_path):
    rows = [json.loads(line) for line in (SEAHELM / "global_mmlu_lite_vi_test.jsonl").read_text(encoding="utf-8").splitlines()]
    questions = [r["prompts"][0]["question"] for r in rows]
    novel = (SEAHELM / "pure_heart_ngoc_phachHoang_vi.txt").read_text(encoding="utf-8").split("\n")
    docs = [p for p in novel if len(p) > 150][:150] + [f"Câu hỏi ôn tập: {questions[3]} Hãy trả lời.", questions[7]]
    corpus = tmp_path / "vi.jsonl"
    corpus.write_text("\n".join(json.dumps({"text": d}, ensure_ascii=False) for d in docs) + "\n", encoding="utf-8")
    cfg = _config(tmp_path, [{"type": "jsonl", "path": str(corpus), "lang": "vi"}], decontaminate={
        "enabled": True, "n": 8, "sources": [{"path": str(SEAHELM / "global_mmlu_lite_vi_test.jsonl"), "lang": "vi",
                                              "text_fields": ["prompts.0.question"]}]})
    card = build_corpus(cfg)
    step = card["steps"]["decontaminate"]
    found = {k for k in step["counts"] if k.startswith("item ")}
    assert found == {"item global_mmlu_lite_vi_test.jsonl:4", "item global_mmlu_lite_vi_test.jsonl:8"}
    assert step["counts"]["documents"] == 2 and sum(step["rejected"].values()) == 2
    assert "global_mmlu_lite_vi_test.jsonl:4" in (cfg.run_dir / "corpus" / "data_card.md").read_text(encoding="utf-8")
