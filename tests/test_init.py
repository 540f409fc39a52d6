"""`lontar init --lang X` writes a config that loads on its own, in X's terms, from any directory."""

from lontar.cli import main
from lontar.config import load_config
from lontar.init import recipe_path
from lontar.langs import LANGS


def test_init_writes_a_standalone_config_for_the_language(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["init", "--lang", "vi"]) == 0
    text = (tmp_path / "vi.yaml").read_text(encoding="utf-8")
    assert "extends" not in text
    cfg = load_config(tmp_path / "vi.yaml")
    assert cfg.name == "vi" and {s.lang for s in cfg.corpus.sources} == {"vi"}
    assert all(t.endswith("_vi") or t.startswith("flores_") for t in cfg.eval.tasks)
    gov = " ".join(cfg.governance.intended_uses + cfg.governance.limitations)
    assert "Vietnamese" in gov and not [l.name for c, l in LANGS.items() if c != "vi" and l.name in gov]
    # a data folder named by the recipe still points at the same place from the new file
    assert cfg.eval.data_dirs == load_config(recipe_path("vi")).eval.data_dirs


def test_init_refuses_to_overwrite_and_unknown_languages(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "vi.yaml").write_text("keep me", encoding="utf-8")
    assert main(["init", "--lang", "vi"]) == 2
    assert (tmp_path / "vi.yaml").read_text(encoding="utf-8") == "keep me"
    assert main(["init", "--lang", "xx"]) == 2
    err = capsys.readouterr().err
    assert "already exists" in err and "no recipe for this language" in err and "km" in err
    assert main(["init", "--lang", "th", "--tiny", "--out", "sub/mine.yaml", "--name", "mine"]) == 0
    cfg = load_config(tmp_path / "sub" / "mine.yaml")
    assert cfg.name == "mine" and cfg.model.architecture and cfg.corpus.sources[0].path.endswith("th.txt")


def test_init_tiny_khmer_keeps_its_phases_and_parity_set_with_relative_paths(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["init", "--lang", "km", "--tiny", "--out", "sub/km.yaml"]) == 0
    import os

    import yaml

    raw = yaml.safe_load((tmp_path / "sub" / "km.yaml").read_text(encoding="utf-8"))
    written = [raw["train"]["phases"][1]["datasets"][0]["path"], raw["tokenizer"]["report"]["parallel"][0]["path"]]
    assert not [p for p in written if os.path.isabs(p)], written  # relative to the new file, as sources are
    cfg, recipe = load_config(tmp_path / "sub" / "km.yaml"), load_config(recipe_path("km", tiny=True))
    assert [p.name for p in cfg.train.phases] == ["cpt", "sft"]
    assert cfg.train.phases[1].datasets[0].path == recipe.train.phases[1].datasets[0].path
    assert cfg.tokenizer.report.parallel[0].path == recipe.tokenizer.report.parallel[0].path
