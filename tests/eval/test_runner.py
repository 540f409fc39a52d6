import json

import pytest

import lontar.eval.runner as R
from lontar.eval.sources import DataContext
from lontar.eval.task import load_task


def _task(tmp_path, rows, lang="id", metrics="[exact_match, f1, chrf]"):
    data = tmp_path / "items.jsonl"
    data.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    (tmp_path / "t.yaml").write_text(f"benchmark: tydiqa\noutput: generate\nlang: {lang}\nsource: {{path: {data}}}\n"
                                     f"prompt: '{{{{ q }}}}'\ntarget: refs\nmetrics: {metrics}\n", encoding="utf-8")
    return load_task(tmp_path / "t.yaml")


def test_a_prediction_equal_to_the_second_reference_scores_full_marks(tmp_path, monkeypatch, model, tok):
    rows = [{"q": "Ibu kota?", "refs": ["Jakarta Pusat", "Jakarta"]}, {"q": "Kota?", "refs": ["Surabaya"]}]
    task = _task(tmp_path, rows)
    monkeypatch.setattr(R, "greedy_generate", lambda *a, truncated, **k: truncated.extend([False, False])
                        or ["Jakarta", "Surabaya"])
    p = R.prepare(task, DataContext(), limit=None, seed=0)
    r = R.run_task(p, model, tok, R.Settings(bootstrap=0, progress=False), DataContext(), "base")
    assert r.metrics["all"]["exact_match"]["value"] == 1.0 and r.metrics["all"]["f1"]["value"] == 1.0
    assert r.samples[0]["references"] == ["Jakarta Pusat", "Jakarta"] and "references" not in r.samples[1]
    assert "chrf_syllables" not in r.metrics["all"]  # Indonesian is written with spaces


def test_unspaced_languages_get_chrf_over_syllables_beside_sacrebleus_chrf(tmp_path, monkeypatch, model, tok):
    task = _task(tmp_path, [{"q": "เมืองหลวง?", "refs": ["กรุงเทพมหานคร"]}], lang="th", metrics="[chrf]")
    monkeypatch.setattr(R, "greedy_generate", lambda *a, truncated, **k: truncated.append(False) or ["กรุงเทพ"])
    p = R.prepare(task, DataContext(), limit=None, seed=0)
    r = R.run_task(p, model, tok, R.Settings(bootstrap=0, progress=False), DataContext(), "base")
    assert set(r.metrics["all"]) == {"chrf", "chrf_syllables"}
    assert r.metrics["all"]["chrf"]["value"] != pytest.approx(r.metrics["all"]["chrf_syllables"]["value"])


def test_limit_takes_the_first_items_or_a_seeded_sample(tmp_path):
    task = _task(tmp_path, [{"q": str(i), "refs": ["x"]} for i in range(20)])
    assert R.prepare(task, DataContext(), limit=5, seed=0).indices == [0, 1, 2, 3, 4]
    sample = R.prepare(task, DataContext(), limit=5, seed=0, mode="sample")
    assert sample.indices == sorted(sample.indices) and sample.indices != [0, 1, 2, 3, 4]
    assert sample.indices == R.prepare(task, DataContext(), limit=5, seed=0, mode="sample").indices


def test_the_window_is_resolved_as_lm_eval_resolves_it(tok):
    from types import SimpleNamespace as NS

    assert R.effective_max_length(NS(config=NS(max_position_embeddings=512)), None) == 512
    assert R.effective_max_length(NS(config=NS(max_position_embeddings=512)), 128) == 128
    gemma = NS(config=NS(text_config=NS(max_position_embeddings=32768), max_position_embeddings=1200))
    assert R.effective_max_length(gemma, None) == 32768
    assert R.effective_max_length(NS(config=NS()), None, NS(model_max_length=4096)) == 4096
    assert R.effective_max_length(NS(config=NS()), None, NS(model_max_length=int(1e30))) == 2048
