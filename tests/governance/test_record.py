import json

import jsonschema
import pytest
import yaml

from lontar.cli import main
from lontar.config import ConfigError, load_config
from lontar.corpus.build import build_corpus
from lontar.governance.record import PRINCIPLES, build_record, validate_record
from tests.conftest import write_config


def _write(tmp_path, khmer_sentences, **extra):
    km = tmp_path / "km.txt"
    km.write_text("\n".join(khmer_sentences[:400]) + "\nអ៊ីមែល៖ dara@example.com ទូរស័ព្ទ +855 12 345 678\n",
                  encoding="utf-8")
    licensed = tmp_path / "licensed.txt"
    licensed.write_text("\n".join(khmer_sentences[400:700]) + "\n", encoding="utf-8")
    data = {"name": "gov", "output_dir": str(tmp_path / "runs"), "model": {"architecture": {"model_type": "llama"}},
            "corpus": {"lang": "km", "sources": [
                {"type": "text", "path": str(km), "name": "scraped"},
                {"type": "text", "path": str(licensed), "name": "news", "license": "cc-by-4.0",
                 "origin": "https://example.org/km-news", "collected": "2026-10-01"}],
                "validation_fraction": 0.1, "lid": {"enabled": False}, "quality": {"enabled": False}}}
    for key, value in extra.items():
        data[key] = value
    return write_config(tmp_path / "gov.yaml", data)


def test_unknown_licence_is_flagged_in_the_card_and_the_record(tmp_path, khmer_sentences):
    cfg = load_config(_write(tmp_path, khmer_sentences))
    card = build_corpus(cfg)
    assert card["unknown_licenses"] == ["scraped"]
    assert card["licenses"]["cc-by-4.0"]["docs"] == card["sources"][1]["kept"] > 0
    assert card["licenses"]["unknown"]["chars"] == card["sources"][0]["kept_chars"] > 0
    md = (cfg.run_dir / "corpus" / "data_card.md").read_text(encoding="utf-8")
    assert "**Unknown licence:** scraped" in md and "https://example.org/km-news" in md
    rec = build_record(cfg)
    validate_record(rec)
    assert rec["data"]["unknown_licenses"] == ["scraped"]
    assert rec["privacy"]["pii_step"] == "ran" and rec["privacy"]["replacements_by_type"]["email"] == 1
    assert rec["privacy"]["replacements_by_source"]["scraped"]["email"] == 1
    assert [p["principle"] for p in rec["risk_assessment"]] == list(PRINCIPLES)
    safety = next(p for p in rec["risk_assessment"] if p["principle"] == "Security and safety")
    assert safety["status"] == "not assessed"  # no evaluation ran: said, not guessed
    items = {i["item"]: i for i in rec["audit"]}
    assert not items["known_licenses"]["ok"] and "scraped" in items["known_licenses"]["detail"]


def test_allow_list_refuses_a_source_before_any_work(tmp_path, khmer_sentences):
    path = _write(tmp_path, khmer_sentences)
    with pytest.raises(ConfigError, match=r"sources\[0\] \(scraped\) has licence 'unknown', which is not in license_allowlist"):
        load_config(path, ["corpus.license_allowlist=[cc-by-4.0, mit]"])
    assert not (tmp_path / "runs").exists()
    assert main(["corpus", "--config", str(path), "--set", "corpus.license_allowlist=[MIT]"]) == 2
    assert not (tmp_path / "runs").exists()
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["corpus"]["sources"][0]["license"] = "cc0-1.0"
    ok = load_config(write_config(path, data), ["corpus.license_allowlist=[CC-BY-4.0, CC0-1.0]"])
    assert ok.corpus.license_allowlist == ["CC-BY-4.0", "CC0-1.0"]  # compared without case


def test_hub_sources_must_declare_a_licence(tmp_path):
    data = {"name": "x", "model": {"architecture": {"model_type": "llama"}},
            "corpus": {"sources": [{"type": "hf", "dataset": "org/khmer-web"}]}}
    with pytest.raises(ConfigError, match="must declare its 'license'"):
        load_config(write_config(tmp_path / "x.yaml", data))


def test_record_follows_the_schema_and_a_broken_one_does_not(tmp_path, khmer_sentences):
    cfg = load_config(_write(tmp_path, khmer_sentences))
    build_corpus(cfg)
    rec = build_record(cfg)
    validate_record(rec)
    broken = json.loads(json.dumps(rec))
    broken["risk_assessment"] = broken["risk_assessment"][:6]
    with pytest.raises(jsonschema.ValidationError):
        validate_record(broken)
    broken = json.loads(json.dumps(rec))
    broken["risk_assessment"][0]["status"] = "fine"
    with pytest.raises(jsonschema.ValidationError):
        validate_record(broken)


def test_audit_fails_and_passes_as_the_config_requires(tmp_path, khmer_sentences, capsys):
    gov = {"require": ["contact", "pii_scrubbed"]}
    path = _write(tmp_path, khmer_sentences, governance=gov)
    assert main(["corpus", "--config", str(path)]) == 0
    capsys.readouterr()
    assert main(["audit", "--config", str(path)]) == 2
    out, err = capsys.readouterr()
    assert "MISSING contact" in out and "lacking safety_eval" in out and "ok      pii_scrubbed" in out
    assert "missing: contact" in err and len(err.strip().splitlines()) == 1
    record = json.loads((tmp_path / "runs" / "gov" / "governance.json").read_text(encoding="utf-8"))
    validate_record(record)
    assert main(["audit", "--config", str(path), "--set", "governance.contact=Khmer NLP team <nlp@example.org>"]) == 0
    assert main(["audit", "--config", str(path), "--set", "governance.contact=x",
                 "--set", "governance.require=[contact, safety_eval]"]) == 2
    assert "missing: safety_eval" in capsys.readouterr().err


def test_audit_flags_an_adapter_licence_the_base_terms_do_not_allow(tmp_path, capsys):
    base = tmp_path / "gemma-3-270m"
    base.mkdir()
    (base / "README.md").write_text("---\nlicense: gemma\n---\n# Gemma 3\n", encoding="utf-8")
    path = write_config(tmp_path / "c.yaml", {
        "name": "lic", "output_dir": str(tmp_path / "runs"),
        "model": {"name_or_path": str(base), "hub_id": "google/gemma-3-270m", "tokenizer": "base"},
        "publish": {"license": "apache-2.0"}, "governance": {"require": ["base_license"]}})
    assert main(["audit", "--config", str(path)]) == 2
    out, err = capsys.readouterr()
    assert "MISSING base_license" in out and "licence mismatch: adapter apache-2.0 on base gemma" in out
    assert "missing: base_license" in err
    record = json.loads((tmp_path / "runs" / "lic" / "governance.json").read_text(encoding="utf-8"))
    validate_record(record)
    assert record["model"]["base"] == "google/gemma-3-270m" and record["model"]["base_source"] == "local folder"
    assert main(["audit", "--config", str(path), "--set", "publish.license=gemma"]) == 0
    assert "ok      base_license" in capsys.readouterr().out
