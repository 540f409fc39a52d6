"""The model-index of a two-language run with CS/CA subsets reads back exactly as results.json has it."""

import json
import math

import yaml
from huggingface_hub import ModelCard

from lontar.hub.model_index import metric_type, parse_metric_type, read_back
from lontar.hub.stage import run_publish


def test_every_model_index_entry_matches_results_json(local_run):
    folder = run_publish(local_run["cfg"])
    results = json.loads((folder / "results.json").read_text(encoding="utf-8"))
    expected = {(r["task"], r["lang"], r["subset"], r["metric"]): r["value"] for r in results["rows"]
                if r["checkpoint"] == "adapter" and not math.isnan(r["value"])}
    assert {k[1] for k in expected if k[0].startswith("seahelm")} == {"vi", "id"}
    assert {k[2] for k in expected} == {None, "CS", "CA"}

    text = (folder / "README.md").read_text(encoding="utf-8")
    model_index = yaml.safe_load(text.split("---")[1])["model-index"]
    got = read_back(model_index)
    assert len(got) == len(expected)  # one entry per row of the adapter, none folded into another
    for entry in got:
        key = (entry["task"], entry["lang"], entry["subset"], entry["metric"])
        assert math.isclose(entry["value"], expected[key], abs_tol=1e-6), key
    assert {(e["task"], e["lang"], e["subset"], e["metric"]) for e in got} == set(expected)

    # huggingface_hub's own reader agrees, and entries say what they measure
    card = ModelCard.load(folder / "README.md")
    assert len(card.data.eval_results) == len(expected)
    types = {r.metric_type for r in card.data.eval_results}
    assert {"acc_culturally_sensitive", "acc_culturally_agnostic", "acc", "bits_per_byte"} <= types
    vi = [r for r in card.data.eval_results if r.task_name == "seahelm_global_mmlu_lite_vi"]
    assert vi and {r.dataset_config for r in vi} == {"vi"} and {(r.dataset_args or {}).get("language") for r in vi} == {"vi"}
    heldout = {(r.dataset_args or {}).get("language") for r in card.data.eval_results if r.task_name == "heldout"}
    assert heldout == {None, "km", "vi"}
    # resaving through huggingface_hub keeps every entry apart
    again = ModelCard(str(card))
    assert len(again.data.eval_results) == len(expected)


def test_metric_names_round_trip():
    for metric in ("acc", "acc_norm", "chrf", "chrf_syllables", "bleu_syllables", "bits_per_byte", "refusal_rate"):
        for subset in (None, "CS", "CA"):
            assert parse_metric_type(metric_type(metric, subset)) == (metric, subset)
    assert metric_type("chrf", None) == "chrf++" and metric_type("acc", "CS") == "acc_culturally_sensitive"


def test_the_eval_stage_provenance_names_the_dataset():
    from lontar.hub.model_index import eval_results

    results = {"run": "r", "tasks": {
        "flores_en_km": {"benchmark": "flores", "lang": "km", "provenance": {"source": {
            "kind": "parallel", "src": {"kind": "hub", "dataset": "openlanguagedata/flores_plus", "config": "eng_Latn",
                                        "split": "devtest", "revision": "abc"},
            "tgt": {"kind": "hub", "dataset": "openlanguagedata/flores_plus", "config": "khm_Khmr", "split": "devtest"}}}},
        "global_mmlu_vi": {"benchmark": "global_mmlu", "lang": "vi", "provenance": {"source": {
            "kind": "local_dataset", "dataset": "CohereLabs/Global-MMLU", "config": "vi", "split": "test"}}}},
        "rows": [{"checkpoint": "adapter", "task": "flores_en_km", "benchmark": "flores", "lang": "km", "subset": None,
                  "metric": "chrf", "value": 31.25},
                 {"checkpoint": "adapter", "task": "global_mmlu_vi", "benchmark": "global_mmlu", "lang": "vi",
                  "subset": "CS", "metric": "acc", "value": 0.5},
                 {"checkpoint": "base", "task": "global_mmlu_vi", "benchmark": "global_mmlu", "lang": "vi",
                  "subset": "CS", "metric": "acc", "value": 0.25}]}
    evals, left_out = eval_results(results, "r", tasks_dir=None)
    assert left_out == []
    flores, mmlu = evals
    assert (flores.dataset_type, flores.dataset_config, flores.dataset_split, flores.dataset_revision) == (
        "openlanguagedata/flores_plus", "eng_Latn+khm_Khmr", "devtest", "abc")
    assert (flores.metric_type, flores.metric_value) == ("chrf++", 31.25)
    assert (mmlu.dataset_type, mmlu.dataset_config, mmlu.metric_type, mmlu.metric_value) == (
        "CohereLabs/Global-MMLU", "vi", "acc_culturally_sensitive", 0.5)
