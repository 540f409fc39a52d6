"""The SEA coverage task files (SEA-HELM Khmer/Lao MCQA and instruction following, M3Exam th/vi/jv, XQuAD
th/vi, TyDiQA id, KALAHI tl, Belebele jv/su) run end to end on local fixtures written in each dataset's
own schema and layout (from the datasets' cards; the rows are made up or taken from real text)."""

import json

import pytest

from lontar.eval.runner import Settings, prepare, run_task
from lontar.eval.sources import DataContext
from lontar.eval.task import REPO_TASKS, load_task
from tests.eval.hub_fixtures import PHRASES, _jsonl, _parquet, _readme

def _mcqa(lang: str, n: int) -> list[dict]:
    p = PHRASES[lang]
    return [{"id": str(i), "label": "ABCD"[i % 4], "prompts": [{"question": p[i % 3], "option_a": p[0], "option_b": p[1],
                                                                "option_c": p[2], "option_d": p[i % 3]}],
             "metadata": {"language": lang, "cultural_sensitivity_label": "CS" if i % 2 else "CA"}} for i in range(n)]


def _ifeval(lang: str, n: int, nested: bool) -> list[dict]:
    rows = []
    for i in range(n):
        checks = {"instruction_id_list": ["length_constraints:number_words", "punctuation:no_comma",
                                          "language:response_language"],
                  "kwargs": [{"relation": "at least", "num_words": 5}, {}, {"language": lang}]}
        row = {"id": str(i), "prompts": [{"text": PHRASES[lang][i % 3]}], "metadata": {"language": lang}}
        if nested:
            row["metadata"].update(checks)
        else:
            row.update(checks)
        rows.append(row)
    return rows


def _m3exam(language: str, lang: str, n: int) -> list[dict]:
    p = PHRASES[lang] if lang in PHRASES else PHRASES["id"]
    numbered = language == "thai"
    rows = []
    for i in range(n):
        opts = [(f"({k + 1}) " if numbered else f"{'ABCD'[k]}. ") + p[k % 3] for k in range(4)]
        rows.append({"question_text": p[i % 3], "background_description": [p[(i + 1) % 3]] if i % 2 else [],
                     "answer_text": str(i % 4 + 1) if numbered else "ABCD"[i % 4], "options": opts,
                     "need_image": "yes" if i == n - 1 else "no", "language": language, "level": ["low", "mid"][i % 2],
                     "subject": "social", "subject_category": "social-science", "year": "2019"})
    return rows


def _squad(lang: str, n: int, prefix: str = "") -> list[dict]:
    p = PHRASES[lang]
    context = " ".join(p)
    return [{"id": f"{prefix}{i}", "context": context, "question": p[i % 3] + "?",
             "answers": {"text": [p[i % 3], p[i % 3][:5]], "answer_start": [context.find(p[i % 3])] * 2}}
            for i in range(n)]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("sea")
    seahelm, m3, kal, hub = root / "seahelm", root / "m3exam", root / "kalahi", root / "hub"
    for lang in ("km", "lo"):
        _jsonl(seahelm / f"mcqa_{lang}_test.jsonl", _mcqa(lang, 6))
        _jsonl(seahelm / f"mcqa_{lang}_dev.jsonl", _mcqa(lang, 5))
        _jsonl(seahelm / f"ifeval_{lang}.jsonl", _ifeval(lang, 4, nested=lang == "lo"))
    for language, lang in (("thai", "th"), ("vietnamese", "vi"), ("javanese", "id")):
        path = m3 / "text-question" / f"{language}-questions-test.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(_m3exam(language, lang, 5), ensure_ascii=False), encoding="utf-8")
    _jsonl(kal / "kalahi_tl.jsonl", [{"prompt": p + "?", "best_answer": p, "relevant_answers": [p],
                                      "irrelevant_answers": PHRASES["tl"][:2]} for p in PHRASES["tl"]])
    xq = hub / "google" / "xquad"
    for lang in ("th", "vi"):
        _parquet(xq / f"xquad.{lang}" / "validation-00000-of-00001.parquet", _squad(lang, 3))
    _readme(xq, {f"xquad.{lang}": {"validation": f"xquad.{lang}/validation-*"} for lang in ("th", "vi")})
    ty = hub / "google-research-datasets" / "tydiqa"
    rows = _squad("id", 3, "indonesian-") + _squad("vi", 2, "thai-")
    for r in rows:
        r["title"] = "judul"
    _parquet(ty / "secondary_task" / "validation-00000-of-00001.parquet", rows)
    _readme(ty, {"secondary_task": {"validation": "secondary_task/validation-*"}})
    bb = hub / "facebook" / "belebele"
    for code, lang in (("jav_Latn", "id"), ("sun_Latn", "ms")):
        p = PHRASES[lang]
        _jsonl(bb / "data" / f"{code}.jsonl", [
            {"link": f"https://example.org/{i}", "question_number": i + 1, "flores_passage": " ".join(p),
             "question": p[i] + "?", "mc_answer1": p[0], "mc_answer2": p[1], "mc_answer3": p[2], "mc_answer4": p[i],
             "correct_answer_num": str(i + 1), "dialect": code, "ds": "2023-05-03"} for i in range(3)])
    _readme(bb, {c: {"test": f"data/{c}.jsonl"} for c in ("jav_Latn", "sun_Latn")})
    return DataContext(data_dirs={"seahelm": str(seahelm), "m3exam": str(m3), "kalahi": str(kal)}, hub_mirror=str(hub))


EXPECTED = {  # task: (items after filters, main metric)
    "seahelm_mcqa_km": (6, "acc"), "seahelm_mcqa_lo": (6, "acc"),
    "seahelm_ifeval_km": (4, "ifeval_prompt"), "seahelm_ifeval_lo": (4, "ifeval_instruction"),
    "m3exam_th": (4, "acc"), "m3exam_vi": (4, "acc"), "m3exam_jv": (4, "acc"),
    "xquad_th": (3, "f1"), "xquad_vi": (3, "exact_match"), "tydiqa_id": (3, "f1"),
    "kalahi_tl": (3, "acc"), "belebele_jv": (3, "acc"), "belebele_su": (3, "acc"),
}


def test_every_task_file_states_source_licence_and_items():
    for name in EXPECTED:
        head = (REPO_TASKS / f"{name}.yaml").read_text(encoding="utf-8").lower()
        comments = " ".join(line for line in head.splitlines() if line.startswith("#"))
        includes = " ".join(line for f in REPO_TASKS.glob("_*.yaml") if f.stem.lstrip("_") in name
                            for line in f.read_text(encoding="utf-8").lower().splitlines() if line.startswith("#"))
        text = comments + " " + includes
        assert "licen" in text and "item" in text and ("source" in text or "/" in text), name


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_task_runs_on_its_fixture(name, data, model, tok):
    task = load_task(REPO_TASKS / f"{name}.yaml")
    if task.output == "generate":
        task = task.model_copy(update={"generation": task.generation.model_copy(update={"max_new_tokens": 8})})
    p = prepare(task, data, limit=None, seed=0)
    n, metric = EXPECTED[name]
    assert p.n == n
    r = run_task(p, model, tok, Settings(bootstrap=0, batch_size=4, progress=False), data, "base")
    value = r.metrics["all"][metric]["value"]
    assert 0.0 <= value <= 1.0 or metric == "f1" and 0.0 <= value <= 100.0
    assert len(r.samples) == n
    if name.startswith("m3exam"):  # grouped by school level
        assert {"low", "mid"} <= set(r.metrics)
    if name.startswith("seahelm_ifeval"):
        assert all(len(s["followed"]) == 3 for s in r.samples)
        assert set(r.metrics["all"]) >= {"ifeval_prompt", "ifeval_instruction", "ifeval_prompt_loose",
                                         "ifeval_instruction_loose"}


def test_m3exam_gold_is_the_labelled_option(data):
    """Thai options are numbered '(1)'..., Vietnamese lettered 'A.': the gold choice follows answer_text."""
    from lontar.eval.prompts import build_instances

    for name, first in (("m3exam_th", "1"), ("m3exam_vi", "A")):
        task = load_task(REPO_TASKS / f"{name}.yaml")
        p = prepare(task, data, limit=None, seed=0)
        inst = build_instances(task, p.docs, p.pool, style="base", tokenizer=None, ctx=data, indices=p.indices)
        assert inst[0].choice_texts[inst[0].gold] == first
        assert [x.gold for x in inst] == [0, 1, 2, 3]
        assert "(1)" in inst[0].context if first == "1" else "A." in inst[0].context


def test_tydiqa_keeps_only_indonesian(data):
    p = prepare(load_task(REPO_TASKS / "tydiqa_id.yaml"), data, limit=None, seed=0)
    assert all(p.docs[i]["id"].startswith("indonesian") for i in p.indices)
