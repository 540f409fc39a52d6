import pyarrow.parquet as pq
import pytest

from lontar.config import ConfigError, load_config
from lontar.corpus.build import build_corpus
from lontar.corpus.mixing import copies, plan_mixture, target_shares
from tests.conftest import REPO, write_config

NOVEL_VI = REPO.parent / "shared" / "data" / "seahelm" / "pure_heart_ngoc_phachHoang_vi.txt"


def test_alpha_one_keeps_the_natural_mix_and_lower_alpha_flattens_it():
    sizes = {"km": 1_000_000.0, "vi": 10_000.0}
    natural = target_shares(sizes, {}, 1.0)
    assert natural["vi"] == pytest.approx(10_000 / 1_010_000)
    flat = target_shares(sizes, {}, 0.3)
    assert flat["vi"] == pytest.approx(10_000 ** 0.3 / (10_000 ** 0.3 + 1_000_000 ** 0.3))
    assert flat["vi"] > 10 * natural["vi"]
    assert all(p.rate == pytest.approx(1.0) for p in plan_mixture(sizes, natural, cap=4).values())


def test_weights_multiply_in_and_split_a_language_among_its_sources():
    sizes = {"a": 100.0, "b": 300.0, "c": 100.0}
    by_source = target_shares(sizes, {"a": 3.0}, 1.0)
    assert by_source["a"] == pytest.approx(by_source["b"])  # 3 x 100 against 1 x 300
    by_lang = target_shares(sizes, {"a": 3.0}, 0.5, lang_of={"a": "km", "b": "km", "c": "vi"})
    km, vi = 400 ** 0.5, 100 ** 0.5
    assert by_lang["c"] == pytest.approx(vi / (km + vi))
    assert by_lang["a"] == pytest.approx(by_lang["b"]) and by_lang["a"] + by_lang["b"] == pytest.approx(km / (km + vi))


def test_default_plan_leaves_nothing_out_and_caps_upsampling():
    sizes = {"km": 1e6, "lo": 1e5, "vi": 1e4}
    plans = plan_mixture(sizes, target_shares(sizes, {}, 0.3), cap=4.0)
    assert min(p.rate for p in plans.values()) == pytest.approx(1.0)
    assert plans["vi"].rate == 4.0 and plans["vi"].capped and not plans["km"].capped


def test_fixed_total_is_met_with_the_capped_budget_spread_over_the_others():
    sizes = {"km": 1e6, "lo": 1e5, "vi": 1e4}
    plans = plan_mixture(sizes, target_shares(sizes, {}, 0.3), cap=4.0, total=1e6)
    assert sum(p.rate * sizes[g] for g, p in plans.items()) == pytest.approx(1e6)
    assert plans["vi"].rate == 4.0 and plans["km"].rate < 1 and 1 < plans["lo"].rate < 4


def test_copies_are_deterministic_and_hit_the_rate_on_average():
    ids = [f"{i:032x}" for i in range(20_000)]
    ks = [copies(i, 2.3, seed=7) for i in ids]
    assert set(ks) == {2, 3} and sum(ks) / len(ks) == pytest.approx(2.3, abs=0.02)
    assert ks == [copies(i, 2.3, seed=7) for i in ids] and ks != [copies(i, 2.3, seed=8) for i in ids]
    assert copies(ids[0], 3.0, 0) == 3


def _tiny_tokenizer(tmp_path, texts):
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.train_from_iterator(texts, trainers.BpeTrainer(vocab_size=600, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    path = tmp_path / "tokenizer.json"
    tok.save(str(path))
    return path


def _config(tmp_path, sources, mixing):
    off = {"lid": {"enabled": False}, "quality": {"enabled": False}, "pii": {"enabled": False}}
    data = {"name": "mix", "output_dir": str(tmp_path / "runs"), "model": {"architecture": {"model_type": "llama"}},
            "corpus": {"lang": "km", "sources": sources, "validation_fraction": 0.1, "shard_docs": 500, **off,
                       "mixing": mixing}}
    return load_config(write_config(tmp_path / "c.yaml", data))


@pytest.mark.skipif(not NOVEL_VI.exists(), reason=f"{NOVEL_VI} missing")
def test_two_languages_mixed_by_temperature_with_char_and_token_shares(tmp_path, khmer_sentences):
    km = tmp_path / "km.txt"
    km.write_text("\n".join(khmer_sentences[:3000]) + "\n", encoding="utf-8")
    vi_lines = NOVEL_VI.read_text(encoding="utf-8").splitlines()
    tok = _tiny_tokenizer(tmp_path, khmer_sentences[:300] + vi_lines[:100])
    sources = [{"type": "text", "path": str(km), "lang": "km", "name": "km-sentences"},
               {"type": "text", "path": str(NOVEL_VI), "lang": "vi", "name": "vi-novel"}]
    cfg = _config(tmp_path, sources, {"enabled": True, "alpha": 0.3, "cap": 3.0, "tokenizer": str(tok)})
    card = build_corpus(cfg)
    mix = card["mixing"]
    km_s, vi_s = mix["sources"]["km-sentences"], mix["sources"]["vi-novel"]
    # The novel has fewer characters than 3,000 Khmer sentences: temperature raises it, up to the cap.
    assert vi_s["natural_chars"] < km_s["natural_chars"]
    assert km_s["rate"] == pytest.approx(1.0) and vi_s["rate"] > 1.0 and vi_s["rate"] <= 3.0
    assert km_s["left_out_docs"] == 0 and vi_s["left_out_docs"] == 0
    langs = mix["languages"]
    assert langs["vi"]["mixed_char_share"] > langs["vi"]["natural_char_share"]
    assert langs["km"]["natural_tokens"] > 0 and 0 < langs["vi"]["mixed_token_share"] < 1
    # What the card says is what the shards hold: the mixed train split, copies of the same ids.
    rows = [r for p in sorted((cfg.run_dir / "corpus").glob("train-*.parquet")) for r in pq.read_table(p).to_pylist()]
    assert len(rows) == card["splits"]["train"]["docs"] == km_s["mixed_docs"] + vi_s["mixed_docs"]
    vi_rows = [r for r in rows if r["lang"] == "vi"]
    assert len(vi_rows) == vi_s["mixed_docs"] and len({r["id"] for r in vi_rows}) == vi_s["natural_docs"]
    assert sum(len(r["text"]) for r in vi_rows) == vi_s["mixed_chars"]
    assert not (cfg.run_dir / "corpus" / ".natural").exists()
    md = (cfg.run_dir / "corpus" / "data_card.md").read_text(encoding="utf-8")
    assert "## Mixture (train split)" in md and "(capped)" in md or f"{vi_s['rate']:.3f}" in md


def test_fixed_total_downsamples_and_counts_what_was_left_out(tmp_path, khmer_sentences):
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text("\n".join(khmer_sentences[:1500]) + "\n", encoding="utf-8")
    b.write_text("\n".join(khmer_sentences[1500:1800]) + "\n", encoding="utf-8")
    sources = [{"type": "text", "path": str(a), "name": "big"}, {"type": "text", "path": str(b), "name": "small"}]
    cfg = _config(tmp_path, sources, {"enabled": True, "by": "source", "alpha": 0.5, "total_chars": 40_000})
    card = build_corpus(cfg)
    big, small = card["mixing"]["sources"]["big"], card["mixing"]["sources"]["small"]
    assert big["rate"] < 1 and big["left_out_docs"] > 0
    assert big["natural_docs"] - big["left_out_docs"] == big["mixed_docs"]
    assert big["rate"] * big["natural_chars"] + small["rate"] * small["natural_chars"] == pytest.approx(40_000, rel=1e-4)
    # Sampled per document (a coin per document), so the total is 40,000 characters in expectation only.
    assert abs(big["mixed_chars"] + small["mixed_chars"] - 40_000) < 6_000
    assert card["languages"]["km"]["docs"] == big["natural_docs"] + small["natural_docs"] + card["splits"]["validation"]["docs"]


def test_mixing_needs_distinct_source_names(tmp_path):
    src = {"type": "rdlab"}
    with pytest.raises(ConfigError, match="distinct source names"):
        _config(tmp_path, [src, src], {"enabled": True})
