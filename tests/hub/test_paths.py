import importlib.metadata
from pathlib import Path

from lontar.hub.paths import absolute_paths, public_path, scrub, scrub_text


def test_paths_become_run_relative_package_or_name_only(tmp_path):
    run = tmp_path / "runs" / "km"
    assert public_path(run / "corpus" / "train-00000-of-00001.parquet", run) == "corpus/train-00000-of-00001.parquet"
    import rdlab_dataset

    pkg_file = Path(rdlab_dataset.__file__)
    version = importlib.metadata.version("rdlab-dataset")
    assert public_path(pkg_file, run) in (f"rdlab-dataset=={version}:rdlab_dataset/{pkg_file.name}",
                                         f"rdlab_dataset=={version}:rdlab_dataset/{pkg_file.name}")
    assert public_path(tmp_path / "elsewhere" / "km.txt", run) == "<local>/km.txt"
    assert public_path("data/km.txt", run) == "data/km.txt"  # relative paths are not the machine's


def test_text_and_trees_keep_urls_templates_and_relative_paths(tmp_path):
    run = tmp_path / "runs" / "km"
    text = (f"text:{tmp_path}/km.txt from https://example.org/km/news, {run}/adapter; "
            "template {{ '<|' + role + '|>' }}</s> and {seahelm}/global_mmlu_lite_vi_test.jsonl")
    clean = scrub_text(text, run)
    assert clean == ("text:<local>/km.txt from https://example.org/km/news, adapter; "
                     "template {{ '<|' + role + '|>' }}</s> and {seahelm}/global_mmlu_lite_vi_test.jsonl")
    assert absolute_paths(clean) == [] and absolute_paths(text) == [f"{tmp_path}/km.txt", f"{run}/adapter"]
    assert absolute_paths('"/../../": 1234, "/-/": 99') == []  # vocabulary pieces of Gemma 3's tokenizer
    tree = {"sources": [{"source": f"text:{tmp_path}/a/km.txt", "kept": 3}], f"{run}/eval": [1.5, None, True]}
    assert scrub(tree, run) == {"sources": [{"source": "text:<local>/km.txt", "kept": 3}], "eval": [1.5, None, True]}
