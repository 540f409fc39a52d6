"""Every shipped task file that names a hub dataset runs through `datasets.load_dataset`, here on local
copies in the hub's layout (tests/eval/hub_fixtures.py), end to end on a tiny model."""

import pytest

from lontar.eval.runner import Settings, prepare, run_task
from lontar.eval.sources import DataContext, load_source
from lontar.eval.task import REPO_TASKS, load_task, task_files
from tests.eval.hub_fixtures import build_hub_mirror

HUB_TASKS = sorted(n for n, p in task_files(REPO_TASKS).items() if load_task(p).source.dataset)


@pytest.fixture(scope="module")
def mirror(tmp_path_factory):
    return build_hub_mirror(tmp_path_factory.mktemp("hub"))


def test_the_hub_tasks_cover_every_benchmark():
    benchmarks = {load_task(task_files(REPO_TASKS)[n]).benchmark for n in HUB_TASKS}
    assert benchmarks == {"belebele", "flores", "global_mmlu_lite", "global_mmlu", "xcopa", "xnli", "xquad", "tydiqa"}
    assert len(HUB_TASKS) == 10 + 16 + 2 + 3 + 3 + 2 + 2 + 1


@pytest.mark.parametrize("name", HUB_TASKS)
def test_shipped_hub_task_runs_end_to_end_on_a_local_copy(name, mirror, model, tok):
    task = load_task(task_files(REPO_TASKS)[name])
    # One few-shot example where the task takes them from another split, to run that path too.
    fewshot = task.fewshot.model_copy(update={"k": 1})
    task = task.model_copy(update={"fewshot": fewshot,
                                   "generation": task.generation.model_copy(update={"max_new_tokens": 4})})
    ctx = DataContext(hub_mirror=str(mirror))
    prepared = prepare(task, ctx, limit=None, seed=0)
    assert prepared.n >= 3
    r = run_task(prepared, model, tok, Settings(bootstrap=20, batch_size=4, progress=False), ctx, "base")
    assert set(r.metrics["all"]) >= set(task.default_metrics)
    assert all(0.0 <= r.metrics["all"][m]["value"] <= 100.0 for m in task.default_metrics)
    if task.benchmark.startswith("global_mmlu"):  # culturally sensitive and agnostic reported apart
        assert r.metrics["CS"]["acc"]["n"] == 2 and r.metrics["CA"]["acc"]["n"] == 2
        assert prepared.n == 4  # the unannotated questions of the full Global-MMLU are filtered out
    if task.output == "generate":
        assert len(r.samples) == prepared.n and all("prediction" in s for s in r.samples)


def test_hub_ids_go_to_datasets_with_config_split_and_revision_and_say_which_commit(monkeypatch):
    import datasets

    calls, sha = [], "0123456789abcdef0123456789abcdef01234567"

    class Fake:
        def __init__(self, path, name, revision=None, cache_dir=None):
            calls.append((path, name, revision, cache_dir))
            self.config = type("C", (), {"data_files": {"devtest": [f"hf://datasets/{path}@{sha}/devtest/{name}.parquet"]}})

        def download_and_prepare(self):
            pass

        def as_dataset(self, split):
            assert split == "devtest"
            return type("D", (), {"to_list": lambda self: [{"id": 1, "text": "x"}]})()

    monkeypatch.setattr(datasets, "load_dataset_builder", Fake)
    task = load_task(task_files(REPO_TASKS)["flores_en_km"])
    src = task.source.model_copy(update={"revision": "abc123"})
    docs, prov = load_source(src, DataContext(), where="t")
    assert docs == [{"src": {"id": 1, "text": "x"}, "tgt": {"id": 1, "text": "x"}}]
    # Hub data keeps datasets' own cache (it is keyed by the commit); only local folders get a throwaway one.
    assert calls == [("openlanguagedata/flores_plus", "eng_Latn", "abc123", None),
                     ("openlanguagedata/flores_plus", "khm_Khmr", "abc123", None)]
    assert prov["src"]["kind"] == "hub" and prov["src"]["revision"] == "abc123"
    assert prov["src"]["resolved_revision"] == sha and prov["tgt"]["config"] == "khm_Khmr"


def test_unloadable_hub_data_is_a_one_line_error(mirror):
    from lontar.eval.sources import MissingData
    from lontar.eval.task import SourceSpec

    src = SourceSpec(dataset="facebook/belebele", config="xxx_Xxxx", split="test")
    with pytest.raises(MissingData, match=r"belebele \(xxx_Xxxx, split test\): cannot load: "):
        load_source(src, DataContext(hub_mirror=str(mirror)), where="t")
