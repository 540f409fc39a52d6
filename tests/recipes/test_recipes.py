"""Every full recipe loads, names hub data that exists in the shape its card gives, and lists only tasks that exist."""

from pathlib import Path

import pytest
import yaml

from lontar.config import load_config
from lontar.eval.task import REPO_TASKS, resolve_tasks
from lontar.langs import LANGS
from tests.conftest import REPO

SEA = ("km", "lo", "my", "th", "vi", "id", "ms", "tl")
FIXTURE = yaml.safe_load((Path(__file__).parent / "fixtures" / "hub_datasets.yaml").read_text(encoding="utf-8"))
# km-tiny (the demo) and km-gemma (the real base on a CPU) are CPU runs on packaged text, not GPU recipes.
RECIPES = sorted(p for p in (REPO / "configs").glob("*.yaml") if p.stem not in ("km-tiny", "km-gemma"))


def test_every_sea_language_has_a_recipe_and_a_cpu_twin():
    names = {p.stem for p in RECIPES}
    assert set(SEA) <= names
    assert set(SEA) <= {p.stem for p in (REPO / "configs" / "tiny").glob("*.yaml")}


@pytest.mark.parametrize("path", RECIPES, ids=lambda p: p.stem)
def test_recipe_hub_sources_match_their_dataset_cards(path):
    cfg = load_config(path)
    hub = [s for s in cfg.corpus.sources if s.type == "hf"]
    assert hub, f"{path.name}: a GPU recipe reads hub corpora"
    for src in hub:
        card = FIXTURE.get(src.dataset)
        assert card is not None, f"{path.name}: {src.dataset} has no schema in the fixtures"
        assert src.config in card["configs"], f"{path.name}: {src.dataset} has no config {src.config}"
        assert src.split in card["splits"], f"{path.name}: {src.dataset} has no split {src.split}"
        assert src.text_field in card["fields"], f"{path.name}: {src.dataset} has no field {src.text_field}"
        assert src.license == card["license"], f"{path.name}: {src.dataset} licence {src.license} != {card['license']}"
        assert src.origin and src.dataset in src.origin
    # instruction sets of the training phases, read from the hub
    for ds in cfg.train.all_datasets():
        if not ds.dataset:
            continue
        card = FIXTURE.get(ds.dataset)
        assert card is not None, f"{path.name}: {ds.dataset} has no schema in the fixtures"
        assert ds.config in card["configs"], f"{path.name}: {ds.dataset} has no config {ds.config}"
        assert ds.split in card["splits"], f"{path.name}: {ds.dataset} has no split {ds.split}"
        columns = [c for cols in ds.columns.values() for c in ([cols] if isinstance(cols, str) else cols)]
        assert columns and all(c.split(".")[0] in card["fields"] for c in columns), (path.name, ds.dataset, columns)
        assert ds.license == card["license"] and ds.origin and ds.dataset in ds.origin, (path.name, ds.dataset)
    # parity sets read from the hub: a config per language, filled from the language registry
    for pset in cfg.tokenizer.report.parallel_sets():
        assert pset.kind == "hf", f"{path.name}: a GPU recipe's parity set comes from the hub, not a local path"
        card = FIXTURE.get(pset.dataset)
        assert card is not None, f"{path.name}: {pset.dataset} has no schema in the fixtures"
        for lang in pset.langs:
            info = LANGS[lang]
            config = pset.config.format(lang=lang, flores=info.flores, iso3=info.iso639_3)
            assert config in card["configs"], f"{path.name}: {pset.dataset} has no config {config}"
        assert pset.split in card["splits"] and set(pset.text_fields) <= set(card["fields"]), (path.name, pset.name)
        assert pset.license == card["license"], (path.name, pset.name)


@pytest.mark.parametrize("code", ["km", "sea-multi"])
def test_the_seed_recipes_pretrain_then_instruction_tune(code):
    cfg = load_config(REPO / "configs" / f"{code}.yaml")
    cpt, sft = cfg.train.phases
    assert (cpt.name, sft.name) == ("cpt", "sft")
    assert {d.type for d in cpt.datasets} == {"corpus"} and {d.type for d in sft.datasets} == {"chat"}
    assert cfg.train.chat_template == "qwen"  # the base's own turn markers
    langs = {d.lang for d in sft.datasets}
    assert langs == ({"km"} if code == "km" else set(SEA) - {"ms"} | {"en"})  # Malay: no confirmed Aya config
    from lontar.hub.card import card_datasets

    assert "CohereLabs/aya_collection_language_split" in card_datasets(cfg)  # the card's hub metadata names it


@pytest.mark.parametrize("code", ["km", "lo", "th", "sea-multi"])
def test_parity_against_english_is_measured_for_the_recipe_languages(code):
    cfg = load_config(REPO / "configs" / f"{code}.yaml")
    (pset,) = cfg.tokenizer.report.parallel_sets()
    assert pset.reference == "en" and pset.dataset == "openlanguagedata/flores_plus" and pset.split == "devtest"
    assert set(pset.langs) == ({"en", code} if code != "sea-multi" else set(SEA) | {"en"})


@pytest.mark.parametrize("path", RECIPES, ids=lambda p: p.stem)
def test_recipe_tasks_exist_and_speak_the_recipe_languages(path):
    cfg = load_config(path)
    tasks = resolve_tasks(cfg.eval.tasks, REPO_TASKS)
    assert len(tasks) >= len(cfg.eval.tasks)  # an unknown name raises; a glob may give several
    langs = {s.lang for s in cfg.corpus.sources}
    # FLORES+ pairs the language with English; every other task is in the recipe's own languages
    for task in tasks:
        assert task.lang in langs | {"en"} | ({"*"} if task.benchmark == "heldout" else set()), (task.task, task.lang)
    if path.stem in SEA:
        assert langs == {path.stem}
        benchmarks = {t.benchmark for t in tasks}
        assert {"belebele", "heldout"} <= benchmarks and any(t.benchmark.startswith("flores") for t in tasks)


@pytest.mark.parametrize("code", SEA)
def test_recipe_governance_names_only_its_own_language(code):
    for path in (REPO / "configs" / f"{code}.yaml", REPO / "configs" / "tiny" / f"{code}.yaml"):
        cfg = load_config(path)
        text = " ".join(cfg.governance.intended_uses + cfg.governance.out_of_scope_uses + cfg.governance.limitations)
        assert LANGS[code].name in text
        others = [lang.name for c, lang in LANGS.items() if c != code and lang.name in text]
        assert not others, (path.name, others)


def test_sea_multi_mixes_the_eight_languages_and_english_by_temperature():
    cfg = load_config(REPO / "configs" / "sea-multi.yaml")
    assert {s.lang for s in cfg.corpus.sources} == set(SEA) | {"en"}
    assert cfg.corpus.mixing.enabled and cfg.corpus.mixing.by == "lang" and cfg.corpus.mixing.alpha < 1
    assert cfg.tokenizer.mode == "extend" and cfg.tokenizer.lang_alpha < 1 and cfg.tokenizer.report.parallel
    tasks = resolve_tasks(cfg.eval.tasks, REPO_TASKS)
    assert {t.lang for t in tasks if t.benchmark == "belebele"} == set(SEA)
