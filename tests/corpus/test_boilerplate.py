import json

from lontar.corpus.boilerplate import count_lines, strip_boilerplate
from lontar.corpus.build import build_corpus
from lontar.corpus.shards import side_records
from tests.corpus.test_build import _config

HEADER = "ទំព័រដើម | ព័ត៌មាន | កីឡា | ទំនាក់ទំនង"
FOOTER = "រក្សាសិទ្ធិគ្រប់យ៉ាងដោយ សារព័ត៌មានគំរូ ២០២៤"


def test_repeated_lines_of_multiline_documents_go(khmer_sentences):
    docs = [f"{HEADER}\n{khmer_sentences[i]}\n{khmer_sentences[i + 1]}\n{FOOTER}" for i in range(0, 10, 2)]
    counts = count_lines(docs + khmer_sentences[:3], min_chars=10)
    text, removed = strip_boilerplate(docs[0], counts, min_docs=3, min_chars=10)
    assert removed == 2 and text == f"{khmer_sentences[0]}\n{khmer_sentences[1]}"
    # a one-line document is never boilerplate, even if it repeats: that is exact dedup's job
    assert strip_boilerplate(HEADER, counts, 3, 10) == (HEADER, 0)


def test_corpus_stage_strips_boilerplate_with_accounting(tmp_path, khmer_sentences):
    docs = [f"{HEADER}\n{khmer_sentences[i]}\n{khmer_sentences[i + 1]}\n{FOOTER}" for i in range(0, 200, 2)]
    docs.append(f"{HEADER}\n{FOOTER}")  # nothing but boilerplate
    path = tmp_path / "web.jsonl"
    path.write_text("\n".join(json.dumps({"text": d}, ensure_ascii=False) for d in docs) + "\n", encoding="utf-8")
    cfg = _config(tmp_path, [{"type": "jsonl", "path": str(path)}], boilerplate={"enabled": True})
    card = build_corpus(cfg)
    [src] = card["sources"]
    st = src["steps"]["boilerplate"]
    assert st["counts"]["lines removed"] == 2 * 101
    assert st["rejected"] == {"only boilerplate lines": 1}
    assert st["docs_in"] == st["docs_out"] + 1 and st["chars_out"] < st["chars_in"]
    assert src["read"] == src["kept"] + src["duplicates"] + sum(src["rejected"].values())
    rejected = json.dumps(list(side_records(cfg.run_dir / "corpus", "rejected")), ensure_ascii=False)
    assert HEADER in rejected
    assert list(card["steps"])[-2:] == ["boilerplate", "dedup"]


def test_copies_of_one_page_are_duplicates_not_boilerplate(tmp_path, khmer_sentences):
    """A multi-line page copied many times (in two files, so in two chunks) keeps its lines: its
    copies are exact duplicates; the lines shared by distinct pages still go."""
    page = "\n".join(khmer_sentences[300:304])
    pages = [f"{HEADER}\n{khmer_sentences[i]}\n{khmer_sentences[i + 1]}" for i in range(0, 40, 2)]
    for name, docs in (("a", pages[:10] + [page] * 4), ("b", pages[10:] + [page] * 4)):
        (tmp_path / f"{name}.jsonl").write_text(
            "\n".join(json.dumps({"text": d}, ensure_ascii=False) for d in docs) + "\n", encoding="utf-8")
    cfg = _config(tmp_path, [{"type": "jsonl", "path": str(tmp_path / "*.jsonl")}],
                  boilerplate={"enabled": True, "min_docs": 3})
    card = build_corpus(cfg)
    [src] = card["sources"]
    assert src["steps"]["boilerplate"]["counts"]["lines removed"] == 20  # the header of each distinct page
    assert src["steps"]["boilerplate"]["rejected"] == {}
    assert src["duplicates"] == 7 and card["steps"]["dedup"]["counts"]["exact duplicates"] == 7
    kept = [r["text"] for p in sorted((cfg.run_dir / "corpus").glob("*-of-*.parquet"))
            for r in __import__("pyarrow.parquet", fromlist=["x"]).read_table(p).to_pylist()]
    assert page in kept and not any(HEADER in t for t in kept)
