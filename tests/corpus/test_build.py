import json
from pathlib import Path

import pytest

import datasets

from lontar.config import load_config
from lontar.corpus.build import build_corpus
from lontar.corpus.shards import side_records
from lontar.corpus.steps import split_of, text_hash
from lontar.errors import ConfigError, DataError
from lontar.manifest import read_manifest
from tests.conftest import write_config


def _config(tmp_path, sources, **corpus):
    """The runner alone by default: junk, language ID, quality and PII steps off unless a test turns them on."""
    off = {"junk": {"enabled": False}, "lid": {"enabled": False}, "quality": {"enabled": False},
           "pii": {"enabled": False}}
    data = {"name": "c", "output_dir": str(tmp_path / "runs"),
            "model": {"architecture": {"model_type": "llama"}},
            "corpus": {"lang": "km", "sources": sources, "validation_fraction": 0.2, **off, **corpus}}
    return load_config(write_config(tmp_path / "c.yaml", data))


def test_build_counts_dedups_splits_and_loads_with_datasets(tmp_path, khmer_sentences):
    docs = khmer_sentences[:300]
    path = tmp_path / "docs.jsonl"
    with path.open("w", encoding="utf-8") as f:
        for t in docs + docs[:20]:  # 20 exact duplicates
            f.write(json.dumps({"text": t}, ensure_ascii=False) + "\n")
        f.write("{broken\n")
        f.write(json.dumps({"text": "   "}) + "\n")  # empty after normalization
        f.write(json.dumps({"text": docs[0].replace(" ", "   ")}, ensure_ascii=False) + "\n")  # dup after normalizing
    cfg = _config(tmp_path, [{"type": "jsonl", "path": str(path)}], shard_docs=100)
    card = build_corpus(cfg)
    src = card["sources"][0]
    unique = len({" ".join(t.split()) for t in docs})
    assert src["read"] == 323
    assert src["rejected"] == {"bad JSON: Expecting property name enclosed in double quotes": 1, "empty": 1}
    assert src["kept"] == unique and src["duplicates"] == 323 - 2 - unique
    assert card["splits"]["train"]["docs"] + card["splits"]["validation"]["docs"] == unique
    corpus = cfg.run_dir / "corpus"
    ds = datasets.load_dataset("parquet", data_files={
        "train": sorted(str(p) for p in corpus.glob("train-*.parquet")),
        "validation": sorted(str(p) for p in corpus.glob("validation-*.parquet"))})
    assert len(ds["train"]) == card["splits"]["train"]["docs"] and len(ds["train"]) > 100  # several shards
    assert len(list(corpus.glob("train-*-of-*.parquet"))) >= 2
    for row in ds["validation"]:
        assert split_of(row["id"], 0.2) == "validation" and row["id"] == text_hash(row["text"])
    rejected = [json.dumps(r, ensure_ascii=False) for r in side_records(corpus, "rejected")]
    assert len(rejected) == 2 and all(json.loads(r)["reason"] for r in rejected)
    assert (corpus / "data_card.md").read_text(encoding="utf-8").startswith("# Data card: c")
    stages = read_manifest(cfg.run_dir)["stages"]
    assert [s["stage"] for s in stages] == ["corpus"] and stages[0]["inputs"][0]["sha256"]
    assert (cfg.run_dir / "config.yaml").exists()


def test_split_is_deterministic_across_runs(tmp_path, khmer_sentences):
    path = tmp_path / "k.txt"
    path.write_text("\n".join(khmer_sentences[:500]) + "\n", encoding="utf-8")
    cfg = _config(tmp_path, [{"type": "text", "path": str(path)}])
    first = build_corpus(cfg)
    val1 = (cfg.run_dir / "corpus" / "validation-00000-of-00001.parquet").read_bytes()
    second = build_corpus(cfg)
    assert first["splits"] == second["splits"]
    assert (cfg.run_dir / "corpus" / "validation-00000-of-00001.parquet").read_bytes() == val1
    assert 0.1 < first["splits"]["validation"]["docs"] / 500 < 0.3


def test_nothing_is_lost_at_any_step(tmp_path, khmer_sentences):
    path = tmp_path / "k.jsonl"
    docs = khmer_sentences[:400] + khmer_sentences[:50] + ["", "ក", " \t "]
    with path.open("w", encoding="utf-8") as f:
        for t in docs:
            f.write(json.dumps({"text": t}, ensure_ascii=False) + "\n")
        f.write("not json\n")
    card = build_corpus(_config(tmp_path, [{"type": "jsonl", "path": str(path)}], min_chars=2))
    [src] = card["sources"]
    for name, st in src["steps"].items():
        removed = sum(st["rejected"].values()) + st.get("counts", {}).get("exact duplicates", 0)
        assert st["docs_in"] == st["docs_out"] + removed, name
        assert st["chars_out"] <= st["chars_in"] and st["bytes_out"] <= st["bytes_in"]
    steps = list(src["steps"].values())
    for before, after in zip(steps, steps[1:]):
        assert before["docs_out"] == after["docs_in"]
    assert src["read"] == steps[0]["docs_in"] + 1  # the bad JSON line never reached a step
    assert src["read"] == src["kept"] + src["duplicates"] + sum(src["rejected"].values())
    assert src["rejected"]["empty"] == 2 and src["rejected"]["shorter than 2 chars"] == 1
    assert (tmp_path / "runs" / "c" / "corpus" / "length_histogram.png").stat().st_size > 1000
    assert card["languages"]["km"]["docs"] == src["kept"]


def test_rerun_reuses_done_chunks_and_parallel_equals_serial(tmp_path, khmer_sentences):
    path = tmp_path / "k.txt"
    path.write_text("\n".join(khmer_sentences[:2500]) + "\n", encoding="utf-8")
    src = [{"type": "text", "path": str(path)}]
    first = build_corpus(_config(tmp_path, src, chunk_docs=1000, num_proc=1))
    assert first["chunks"] == {"processed": 3, "reused": 0}
    def shards() -> list[bytes]:  # one shard per chunk and split (shard_docs is larger than a chunk)
        return [p.read_bytes() for p in sorted((tmp_path / "runs" / "c" / "corpus").glob("train-*-of-00003.parquet"))]

    shard = shards()
    assert len(shard) == 3
    again = build_corpus(_config(tmp_path, src, chunk_docs=1000, num_proc=1))
    assert again["chunks"] == {"processed": 0, "reused": 3}
    assert again["steps"] == first["steps"]
    assert shards() == shard
    changed = build_corpus(_config(tmp_path, src, chunk_docs=1000, num_proc=1, min_chars=30))
    assert changed["chunks"] == {"processed": 3, "reused": 0}
    assert changed["splits"]["train"]["docs"] < first["splits"]["train"]["docs"]
    (tmp_path / "p").mkdir()
    parallel = build_corpus(_config(tmp_path / "p", src, chunk_docs=2500, num_proc=2))
    assert parallel["steps"] == first["steps"] and parallel["splits"] == first["splits"]


SEAHELM = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "seahelm"


@pytest.mark.skipif(not SEAHELM.is_dir(), reason=f"SEA-HELM data not at {SEAHELM} (../shared/data beside the checkout)")
def test_all_steps_on_real_multilingual_text(tmp_path, khmer_sentences):
    km = tmp_path / "km.jsonl"
    with km.open("w", encoding="utf-8") as f:
        for t in khmer_sentences[:300]:
            f.write(json.dumps({"text": t}, ensure_ascii=False) + "\n")
        f.write(json.dumps({"text": "សូមទាក់ទងមកកាន់ info@example.org ឬលេខទូរស័ព្ទ 012 345 678 សម្រាប់ព័ត៌មានបន្ថែម។"},
                           ensure_ascii=False) + "\n")
        f.write(json.dumps({"text": "This sentence is plainly written in English and not in Khmer at all."}) + "\n")
        f.write(json.dumps({"text": "ភាសាខែ្មរគឺជាភាសាជាតិ"}, ensure_ascii=False) + "\n")  # mis-ordered cluster, fixed by normalize
    vi = tmp_path / "vi.jsonl"
    rows = [json.loads(line) for line in (SEAHELM / "global_mmlu_lite_vi_test.jsonl").read_text(encoding="utf-8").splitlines()]
    with vi.open("w", encoding="utf-8") as f:
        for r in rows[:200]:
            f.write(json.dumps({"q": r["prompts"][0]["question"]}, ensure_ascii=False) + "\n")
        f.write(json.dumps({"q": khmer_sentences[400]}, ensure_ascii=False) + "\n")  # labelled vi, really Khmer
    on = {"junk": {"enabled": True}, "lid": {"enabled": True}, "quality": {"enabled": True}, "pii": {"enabled": True}}
    cfg = _config(tmp_path, [{"type": "jsonl", "path": str(km), "lang": "km"},
                             {"type": "jsonl", "path": str(vi), "lang": "vi", "text_field": "q"}], min_chars=2, **on)
    card = build_corpus(cfg)
    assert list(card["steps"]) == ["normalize", "junk", "min_length", "lid", "quality", "pii", "dedup"]
    km_src, vi_src = card["sources"]
    for src in card["sources"]:
        assert src["read"] == src["kept"] + src["duplicates"] + sum(src["rejected"].values())
        for st in src["steps"].values():
            removed = sum(st["rejected"].values()) + st.get("counts", {}).get("exact duplicates", 0)
            assert st["docs_in"] == st["docs_out"] + removed
    assert km_src["rejected"].get("lid: en", 0) >= 1  # the English line (rdlab has a few mostly-English ones too)
    assert vi_src["rejected"].get("lid: km") == 1
    pii = km_src["steps"]["pii"]["counts"]
    assert pii["email"] == 1 and pii["phone"] == 1  # (rdlab itself carries a few URLs)
    assert km_src["kept"] > 250 and vi_src["kept"] > 180
    texts = datasets.load_dataset("parquet", data_files=[str(p) for p in (cfg.run_dir / "corpus").glob("*.parquet")],
                                  split="train")["text"]
    texts = list(texts)
    assert any("<EMAIL>" in t and "<PHONE>" in t for t in texts)
    assert "ភាសាខ្មែរគឺជាភាសាជាតិ" in texts and not any("ខែ្មរ" in t for t in texts)
    assert set(card["languages"]) == {"km", "vi"}
    rejected = list(side_records(cfg.run_dir / "corpus", "rejected"))
    assert {r["step"] for r in rejected} >= {"lid"} and all(r["reason"] for r in rejected)
    assert any(r["raw"].startswith("This sentence is plainly") and r["step"] == "lid" for r in rejected)


# -- nothing silent at the source ----------------------------------------------------------------------
def _yaml(tmp_path, corpus):
    data = {"name": "c", "output_dir": str(tmp_path / "runs"), "model": {"architecture": {"model_type": "llama"}},
            "corpus": corpus}
    return write_config(tmp_path / "c.yaml", data)


def test_a_source_without_lang_is_a_config_error(tmp_path):
    path = tmp_path / "a.txt"
    path.write_text("ក\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"c\.yaml.*sources\[0\] \(text:.*\) has no 'lang'.*corpus\.lang"):
        load_config(_yaml(tmp_path, {"sources": [{"type": "text", "path": str(path)}]}))
    cfg = load_config(_yaml(tmp_path, {"lang": "th", "sources": [{"type": "text", "path": str(path)},
                                                                  {"type": "text", "path": str(path), "lang": "lo"}]}))
    assert [s.lang for s in cfg.corpus.sources] == ["th", "lo"]
    assert load_config(_yaml(tmp_path, {"sources": [{"type": "rdlab"}]})).corpus.sources[0].lang == "km"


def _lines(path, texts):
    path.write_text("\n".join(json.dumps(t, ensure_ascii=False) for t in texts) + "\n", encoding="utf-8")
    return str(path)


def test_dotted_text_field_builds_a_corpus(tmp_path, khmer_sentences):
    docs = khmer_sentences[:100]
    path = _lines(tmp_path / "a.jsonl", [{"prompts": [{"question": t}]} for t in docs])
    card = build_corpus(_config(tmp_path, [{"type": "jsonl", "path": path, "text_field": "prompts.0.question"}]))
    assert card["sources"][0]["rejected"] == {} and card["sources"][0]["kept"] > 90


def test_a_mostly_rejected_source_fails_after_the_card_is_written(tmp_path, khmer_sentences):
    english = [f"Line {i} of a plainly English text that was labelled as Khmer by mistake." for i in range(60)]
    good = _lines(tmp_path / "km.jsonl", [{"text": t} for t in khmer_sentences[:60]])
    bad = _lines(tmp_path / "en.jsonl", [{"text": t} for t in english + khmer_sentences[100:140]])
    cfg = _config(tmp_path, [{"type": "jsonl", "path": good}, {"type": "jsonl", "path": bad, "name": "mislabelled"}],
                  lid={"enabled": True})
    with pytest.raises(DataError) as err:
        build_corpus(cfg)
    message = str(err.value)
    assert "\n" not in message
    assert "corpus source 'mislabelled' (lang km): 60 of 100 documents (60%) set aside" in message
    assert "corpus.max_reject_fraction 0.5; top reason: lid: en (60)" in message
    card = json.loads((cfg.run_dir / "corpus" / "data_card.json").read_text(encoding="utf-8"))
    assert card["sources"][1]["rejected"] == {"lid: en": 60}
    assert "corpus" not in [s["stage"] for s in read_manifest(cfg.run_dir)["stages"]]
    # A looser limit lets the same run through.
    assert build_corpus(_config(tmp_path, [{"type": "jsonl", "path": bad}], lid={"enabled": True},
                                max_reject_fraction=0.7))["sources"][0]["kept"] > 30


def test_zero_kept_documents_is_one_line_and_the_card_is_written(tmp_path):
    path = _lines(tmp_path / "a.jsonl", [{"text": "ក"}] * 3)
    cfg = _config(tmp_path, [{"type": "jsonl", "path": path}], min_chars=5, max_reject_fraction=1.0)
    with pytest.raises(DataError, match=r"^corpus for run 'c' kept 0 documents of 3 read \(data card: "):
        build_corpus(cfg)
    card = json.loads((cfg.run_dir / "corpus" / "data_card.json").read_text(encoding="utf-8"))
    assert card["sources"][0]["rejected"] == {"shorter than 5 chars": 3}
    assert (cfg.run_dir / "corpus" / "data_card.md").exists()


def test_bad_records_are_set_aside_one_by_one_and_counted(tmp_path, khmer_sentences):
    docs = khmer_sentences[:200]
    jsonl = tmp_path / "a.jsonl"
    lines = [json.dumps({"text": t}, ensure_ascii=False) for t in docs[:100]]
    lines.insert(10, '{"text": "lone \\ud800 surrogate"}')
    lines.insert(20, '{"text": ' + "[" * 50_000 + "]" * 50_000 + "}")
    jsonl.write_text("\n".join(lines) + "\n", encoding="utf-8")
    rows = [f'{i},"{t.replace(chr(34), chr(34) * 2)}"' for i, t in enumerate(docs[100:], 1)]  # "" escapes "
    rows[5] = '6,"an unterminated quote'
    csv_path = tmp_path / "b.csv"
    csv_path.write_text("id,text\n" + "\n".join(rows) + "\n", encoding="utf-8")
    card = build_corpus(_config(tmp_path, [{"type": "jsonl", "path": str(jsonl)}, {"type": "csv", "path": str(csv_path)}]))
    a, b = card["sources"]
    assert a["read"] == 102 and a["rejected"] == {"lone surrogate in 'text'": 1,  # the kind; the place in "detail"
                                                  "bad JSON: nested too deeply": 1}
    assert b["read"] == 100 and b["rejected"] == {"bad CSV: unterminated quote": 1}
    for s in (a, b):
        assert s["read"] == s["kept"] + s["duplicates"] + sum(s["rejected"].values())
        assert s["kept"] + s["duplicates"] == s["read"] - 2 + (s is b)
    rejected = json.dumps(list(side_records(cfg_dir := tmp_path / "runs" / "c" / "corpus", "rejected")))
    assert cfg_dir.exists() and "\\ud800" in rejected and "an unterminated quote" in rejected
    assert '"detail": "U+D800 at character 5"' in rejected


def test_documents_converted_from_zawgyi_are_counted(tmp_path):
    from tests.text.test_burmese import ZAWGYI_UNICODE

    texts = [z for z, _ in ZAWGYI_UNICODE] + [u for _, u in ZAWGYI_UNICODE]
    path = _lines(tmp_path / "my.jsonl", [{"text": t} for t in texts])
    card = build_corpus(_config(tmp_path, [{"type": "jsonl", "path": path, "lang": "my"}]))
    converted = sum(1 for z, u in ZAWGYI_UNICODE if z != u)
    assert card["steps"]["normalize"]["counts"] == {"converted from Zawgyi": converted}
    assert "converted from Zawgyi" in (tmp_path / "runs" / "c" / "corpus" / "data_card.md").read_text(encoding="utf-8")
