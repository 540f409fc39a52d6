"""Web-style text in the ten languages: how much clean prose the corpus steps set aside, and how much
markup, navigation, link runs, menus, banners and spam they keep.

Clean prose per language (real text where this machine has it, parallel paragraphs written for
lontar where it has none):

- km: rdlab-dataset sentences that end with ។, are >= 60 characters, >= 90% Khmer letters and hold
  no markup, eight to a document on one line (a crawl with one document per line), plus
  tests/data/prose/km.txt and km_names.txt (Khmer prose with Latin club and player names);
- vi: paragraphs of the 1925 novel in ../shared/data/seahelm (>= 200 characters);
- my: the Burmese paraphrase sentences (SEA-HELM), five to a document;
- tl: the Tagalog PAWS sentences (SEA-HELM), three to a document;
- en, id, ms, zh: Global-MMLU-Lite questions without fill-in blanks, three to a document; zh also
  tests/data/prose/zh.txt;
- th, lo: tests/data/prose/{th,lo}.txt only (six paragraphs and the whole text: a small sample).

Junk: each language's own prose wrapped in what crawls carry: a navigation tail ("Read More", the
language's own "read more" phrase), Next:/Previous: lines, raw HTML, a run of URLs, a menu line,
a cookie banner; and spam (one phrase repeated). A junk document "keeps junk" when its kept text
still holds the marker (kept documents that lost the marker, or junk documents set aside whole, do
not).

The corpus steps run with the defaults (PII off: it rewrites URLs, which would hide link runs in
both columns alike), once with this checkout's code and once with `--baseline DIR` (a checkout of
another commit, e.g. `git worktree add /tmp/main main`), each in its own process.

`--derive` also prints how each language's unit constants in lontar/langs.py were measured
(`units_per_en_word`, `unit_chars`, `lid_letter_weight`) on parallel text: Global-MMLU-Lite
questions for id, ms, tl, vi, zh, my against en, tests/data/prose for km, th, lo against en.

    python benchmarks/web_text.py [--baseline /tmp/main] [--derive] [--km-docs 2000] [--data DIR]
                                  [--khmer-articles DIR]

`--khmer-articles DIR`: held-out Khmer web articles (see `khmer_articles`), not shipped with lontar;
their set-aside share is reported apart (`held_out_articles_*`).

Writes benchmarks/results/web_text.json.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import unicodedata
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.common import SHARED_DATA, command, git_state, machine, versions  # noqa: E402
from lontar.langs import LANGS, get_lang, script_share  # noqa: E402

PROSE = REPO / "tests" / "data" / "prose"
SEAHELM = SHARED_DATA / "seahelm"

# Run inside a process whose PYTHONPATH puts the code under test first.
WORKER = r"""
import json, sys
from lontar.config import CorpusConfig, SourceConfig
from lontar.corpus.pipeline import process_batch
from lontar.corpus.steps import build_steps
docs = json.load(open(sys.argv[1], encoding="utf-8"))
langs = sorted({d["lang"] for d in docs})
cfg = CorpusConfig(sources=[SourceConfig(type="text", path="-", lang=l) for l in langs], pii={"enabled": False})
steps = build_steps(cfg)
out = process_batch({"text": [d["text"] for d in docs], "source": ["bench"] * len(docs),
                     "lang": [d["lang"] for d in docs], "line": [str(i) for i in range(len(docs))]}, steps)
json.dump({"steps": [s.name for s in steps], "text": out["text"], "reason": out["reason"]},
          open(sys.argv[2], "w", encoding="utf-8"), ensure_ascii=False)
"""

_HTML = re.compile(r"<[A-Za-z/!][^<>]*>")
_URL = r"(?:https?://|www\.)\S+"
_URL_RUN = re.compile(rf"{_URL}(?:\s+{_URL})+")
_MENU = re.compile(r"(?:[^|\n]{1,30} \| ){3,}")


def _letters(text: str) -> int:
    return sum(unicodedata.category(c)[0] in "LM" for c in text)


def _jsonl(name: str) -> list[dict]:
    path = SEAHELM / name
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()] if path.is_file() else []


def _groups(items: list[str], size: int, sep: str = " ") -> list[str]:
    return [sep.join(items[i: i + size]) for i in range(0, len(items) - size + 1, size)]


def _prose_file(code: str) -> list[str]:
    path = PROSE / f"{code}.txt"
    if not path.is_file():
        return []
    paras = [p for p in path.read_text(encoding="utf-8").splitlines() if p.strip()]
    return paras + ["\n".join(paras)]


KM_NAMES = ("ក្រុមហ៊ុនអគ្គិសនីកម្ពុជា ", "លោក សុខ ដារ៉ា ប្រធានមន្ទីរអប់រំខេត្ត ", "ក្រុម Phnom Penh Crown ",
            "ក្រសួងសុខាភិបាល ", "សាលាដំបូងរាជធានីភ្នំពេញ ")
# Long honorific titles, three times in eight short sentences: heavy repetition by Gopher's measure
# in any language (reported apart, not counted as clean prose).
KM_TITLES = ("សម្តេចមហាបវរធិបតី ហ៊ុន ម៉ាណែត នាយករដ្ឋមន្ត្រីនៃព្រះរាជាណាចក្រកម្ពុជា បានមានប្រសាសន៍ថា ",
             "ឯកឧត្តម ប៉ែន បូណា រដ្ឋមន្ត្រីក្រសួងព័ត៌មាន និងជាអ្នកនាំពាក្យរាជរដ្ឋាភិបាល បានបញ្ជាក់ថា ")


def _mention(doc: str, name: str) -> str:
    sentences = [x for x in re.split(r"(?<=។)\s*", doc) if x]
    for j in (1, 4, 7):
        if j < len(sentences):
            sentences[j] = name + sentences[j]
    return " ".join(sentences)


def titled_prose(km_docs: int) -> list[str]:
    from lontar.corpus.sources import rdlab_path, read_rdlab

    sentences = [s.strip() for s in read_rdlab(rdlab_path())[-60000:] if s.strip().endswith("។") and len(s) >= 60]
    return [_mention(g, KM_TITLES[i % 2]) for i, g in enumerate(_groups(sentences, 8)[: km_docs // 4])]


def clean_prose(km_docs: int) -> dict[str, list[str]]:
    from lontar.corpus.sources import rdlab_path, read_rdlab

    def km_clean(s: str) -> bool:
        return (s.strip().endswith("។") and len(s) >= 60 and script_share(s, "km") >= 0.9
                and not re.search(r"[<>]|https?:|www\.", s))

    sentences = [s.strip() for s in read_rdlab(rdlab_path()) if km_clean(s)]
    names = (PROSE / "km_names.txt").read_text(encoding="utf-8").splitlines()
    groups = _groups(sentences, 8)
    # News-style: a short name or title mentioned three times in an eight-sentence document.
    mentioned = [_mention(g, KM_NAMES[i % len(KM_NAMES)]) for i, g in enumerate(groups[km_docs: km_docs + km_docs // 4])]
    prose: dict[str, list[str]] = {"km": groups[:km_docs] + mentioned + _prose_file("km") + names}
    novel = SEAHELM / "pure_heart_ngoc_phachHoang_vi.txt"
    if novel.is_file():
        prose["vi"] = [p.strip() for p in novel.read_text(encoding="utf-8").splitlines() if len(p.strip()) >= 200]
    my = [p["prompts"][0][k] for p in _jsonl("my_myparaphrase.jsonl") for k in ("sentence1", "sentence2")]
    prose["my"] = _groups([s for s in my if isinstance(s, str)], 5)
    tl = [p["prompts"][0]["sentence1"] for p in _jsonl("tl_paws.jsonl")]
    prose["tl"] = _groups(tl, 3)
    for code in ("en", "id", "ms", "zh"):
        qs = [p["prompts"][0]["question"] for p in _jsonl(f"global_mmlu_lite_{code}_test.jsonl")]
        qs = [q.strip() for q in qs if isinstance(q, str) and len(q) >= 40
              and not re.search(r"__|\n|\||Statement|陈述", q)]  # blanks, option lists and statement pairs
        prose[code] = _groups(qs, 3) + (_prose_file(code) if code == "zh" else [])
    for code in ("th", "lo"):
        prose[code] = _prose_file(code)
    return {c: v for c, v in prose.items() if v}


def khmer_articles(folder: Path) -> list[str]:
    """Held-out Khmer web articles (`*_orig.txt`, one article a file, as in the kh_data_*.zip files of
    github.com/phylypo/segmentation-crf-khmer), one document per line as a crawl stores them, kept
    when they are clean prose by the issue's definition: long, >= 90% Khmer letters, sentences
    ending with ។, no markup."""
    docs = []
    for path in sorted(folder.glob("*_orig.txt")):
        text = " ".join(line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip())
        if (len(text) >= 300 and script_share(text, "km") >= 0.9 and text.count("។") >= 3
                and not re.search(r"[<>]|https?:|www\.", text)):
            docs.append(text)
    return docs


def derive_khmer_repetition(articles: list[str]) -> dict:
    """Khmer duplicated n-gram limits from held-out news articles (lontar/langs.py, km `quality`).

    Articles are normalized and cleaned by the junk step (repeated sentences removed), then split:
    even positions derive, odd ones check. Each limit is the largest value among the deriving half
    (clean prose by definition) rounded up to 0.01, never below Gopher's scaled one; the checking
    half's set-aside share under those limits is reported.
    """
    import math

    from lontar.corpus.junk import junk_step
    from lontar.corpus.quality import _duplicate_ngram_fraction
    from lontar.langs import GOPHER_DUP_NGRAM, normalizer_for
    from lontar.text.syllables import units

    sizes = [round(n * get_lang("km").units_per_en_word) for n in (5, 6, 7, 8, 9, 10)]
    texts = [normalizer_for("km")(t) for t in articles]
    texts, reasons, _ = junk_step({"text": texts, "lang": ["km"] * len(texts)}, 0.7)
    texts = [t for t, r in zip(texts, reasons) if r is None]
    fracs = [{n: _duplicate_ngram_fraction([u for u in units(t, "km") if u.strip()], n) for n in sizes} for t in texts]
    derive, check = fracs[0::2], fracs[1::2]
    scaled = dict(zip(sizes, GOPHER_DUP_NGRAM.values()))
    limits = {n: max(scaled[n], math.ceil(max(f[n] for f in derive) * 100) / 100) for n in sizes}
    over = sum(any(f[n] > limits[n] for n in sizes) for f in check)
    over_gopher = sum(any(f[n] > scaled[n] for n in sizes) for f in check)
    return {"articles": len(texts), "derive": len(derive), "check": len(check), "limits": limits,
            "registry": dict(get_lang("km").quality.get("max_dup_ngram_frac", {})),
            "check_set_aside_share": round(over / len(check), 4),
            "check_set_aside_share_with_gopher_scaled": round(over_gopher / len(check), 4)}


def junk_docs(code: str, prose: list[str]) -> list[dict]:
    """Web-style junk around this language's prose: (kind, text, marker regex)."""
    lang = get_lang(code)
    nav = [*lang.nav_phrases, "Read More", "Continue reading"]
    out = []
    for i, p in enumerate(prose[:60]):
        other = prose[(i + 1) % len(prose)][:80]
        phrase = nav[i % len(nav)]
        out += [
            {"kind": "navigation", "text": f"{p} {phrase} »", "marker": re.escape(phrase)},
            {"kind": "next/previous", "text": f"{p}\nNext: {other}\nPrevious: {other[:40]}",
             "marker": r"Next:|Previous:"},
            {"kind": "html", "text": f'<div class="entry-content"><p>{p}</p><br/></div>', "marker": _HTML.pattern},
            {"kind": "url run", "text": f"{p}\nhttps://example.com/news/{i} https://example.com/tag/{i} "
                                        f"www.example.org/p/{i}", "marker": _URL_RUN.pattern},
            {"kind": "menu", "text": f"Home | News | Sport | Video | Contact\n{p}", "marker": _MENU.pattern},
            {"kind": "cookie banner", "text": f"{p}\nThis website uses cookies to give you the best experience. "
                                              "Accept all cookies", "marker": r"cookies"},
        ]
    for i, p in enumerate(prose[:20]):
        phrase = p[:30].strip()
        out.append({"kind": "spam", "text": " ".join([phrase] * 40), "marker": None})
    return out


def run_code(code_root: Path, docs: list[dict]) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        src, dst = Path(tmp) / "in.json", Path(tmp) / "out.json"
        src.write_text(json.dumps(docs, ensure_ascii=False), encoding="utf-8")
        env = {**os.environ, "PYTHONPATH": str(code_root)}
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", WORKER, str(src), str(dst)], env=env, check=True, cwd=tmp,
                       stdout=subprocess.DEVNULL)
        result = json.loads(dst.read_text(encoding="utf-8"))
        result["seconds"] = round(time.perf_counter() - started, 1)
        return result


def score(docs: list[dict], result: dict) -> dict:
    per_lang: dict[str, dict] = {}
    for d, text, reason in zip(docs, result["text"], result["reason"]):
        s = per_lang.setdefault(d["lang"], {"prose": 0, "prose_set_aside": 0, "prose_reasons": Counter(),
                                            "junk": Counter(), "junk_kept": Counter(), "junk_doc_kept": Counter()})
        if d["kind"] in ("titles", "articles"):
            s[d["kind"]] = s.get(d["kind"], 0) + 1
            s[d["kind"] + "_set_aside"] = s.get(d["kind"] + "_set_aside", 0) + (reason is not None)
            if reason is not None:
                s.setdefault(d["kind"] + "_reasons", Counter())[reason.split(" (", 1)[0]] += 1
            continue
        if d["kind"] == "prose":
            s["prose"] += 1
            if reason is not None:
                s["prose_set_aside"] += 1
                s["prose_reasons"][reason.split(" (", 1)[0]] += 1
            continue
        s["junk"][d["kind"]] += 1
        if reason is None:
            s["junk_doc_kept"][d["kind"]] += 1
            if d["marker"] is None or re.search(d["marker"], text):
                s["junk_kept"][d["kind"]] += 1
    out = {}
    for code, s in sorted(per_lang.items()):
        junk, kept = sum(s["junk"].values()), sum(s["junk_kept"].values())
        out[code] = {
            "prose_docs": s["prose"], "prose_set_aside": s["prose_set_aside"],
            "prose_set_aside_share": round(s["prose_set_aside"] / s["prose"], 4) if s["prose"] else None,
            "prose_reasons": dict(s["prose_reasons"].most_common(5)),
            "junk_docs": junk, "junk_kept": kept, "junk_kept_share": round(kept / junk, 4) if junk else None,
            "junk_kept_by_kind": {k: f"{s['junk_kept'][k]}/{n}" for k, n in sorted(s["junk"].items())},
            "junk_docs_kept_clean": sum(s["junk_doc_kept"].values()) - kept,
        }
        if s.get("titles"):
            out[code]["long_titles_docs"] = s["titles"]
            out[code]["long_titles_set_aside_share"] = round(s["titles_set_aside"] / s["titles"], 4)
        if s.get("articles"):
            out[code]["held_out_articles"] = s["articles"]
            out[code]["held_out_articles_set_aside_share"] = round(s["articles_set_aside"] / s["articles"], 4)
            out[code]["held_out_articles_reasons"] = dict(s.get("articles_reasons", Counter()).most_common(5))
    return out


def derive() -> dict:
    """The unit constants of lontar/langs.py, measured on parallel text (see the module docstring)."""
    from lontar.text.syllables import units

    def counted(texts: list[str], code: str) -> tuple[int, float, int]:
        us = [u for t in texts for u in units(t, code) if any(ch.isalnum() for ch in u)]
        all_units = [u for t in texts for u in units(t, code) if u.strip()]
        return len(us), sum(map(len, all_units)) / len(all_units), sum(_letters(t) for t in texts)

    rows = {}
    mmlu = {c: [p["prompts"][0]["question"] for p in _jsonl(f"global_mmlu_lite_{c}_test.jsonl")]
            for c in ("en", "id", "ms", "tl", "vi", "zh", "my")}
    if mmlu["en"]:
        keep = [i for i in range(len(mmlu["en"])) if all(isinstance(mmlu[c][i], str) for c in mmlu)]
        en_n, _, en_letters = counted([mmlu["en"][i] for i in keep], "en")
        for c in ("en", "id", "ms", "tl", "vi", "zh", "my"):
            n, chars, letters = counted([mmlu[c][i] for i in keep], c)
            rows[c] = {"text": "Global-MMLU-Lite test questions", "units_per_en_word": round(n / en_n, 2),
                       "unit_chars": round(chars, 2), "en_letters_per_letter": round(en_letters / letters, 2)}
    en_prose = (PROSE / "en.txt").read_text(encoding="utf-8").splitlines()
    en_n, _, en_letters = counted(en_prose, "en")
    for c in ("km", "th", "lo"):
        n, chars, letters = counted((PROSE / f"{c}.txt").read_text(encoding="utf-8").splitlines(), c)
        rows[c] = {"text": "tests/data/prose", "units_per_en_word": round(n / en_n, 2), "unit_chars": round(chars, 2),
                   "en_letters_per_letter": round(en_letters / letters, 2)}
    for c, row in rows.items():
        lang = LANGS[c]
        row["registry"] = {"units_per_en_word": lang.units_per_en_word, "unit_chars": lang.unit_chars,
                           "lid_letter_weight": lang.lid_letter_weight}
    return rows


def main() -> None:
    global SEAHELM
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--baseline", type=Path, help="a checkout of the code to compare with (e.g. main)")
    ap.add_argument("--km-docs", type=int, default=2000)
    ap.add_argument("--derive", action="store_true")
    ap.add_argument("--khmer-articles", type=Path, help="a folder of held-out Khmer web articles (*_orig.txt)")
    ap.add_argument("--khmer-articles-derive", type=Path,
                    help="a second folder of such articles, pooled with the first for --derive")
    ap.add_argument("--data", type=Path, default=SEAHELM, help="the SEA-HELM files (default ../shared/data/seahelm)")
    args = ap.parse_args()
    SEAHELM = args.data.resolve()
    prose = clean_prose(args.km_docs)
    docs = [{"lang": c, "kind": "prose", "text": t, "marker": None} for c, texts in prose.items() for t in texts]
    docs += [{"lang": c, **j} for c, texts in prose.items() for j in junk_docs(c, texts)]
    docs += [{"lang": "km", "kind": "titles", "text": t, "marker": None} for t in titled_prose(args.km_docs)]
    if args.khmer_articles:
        docs += [{"lang": "km", "kind": "articles", "text": t, "marker": None} for t in khmer_articles(args.khmer_articles)]
    codes = {"branch": REPO, **({"baseline": args.baseline.resolve()} if args.baseline else {})}
    results, runs = {}, {}
    for name, root in codes.items():
        run = run_code(root, docs)
        runs[name] = {"steps": run["steps"], "seconds": run["seconds"],
                      "commit": subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True,
                                               text=True).stdout.strip() or None}
        results[name] = score(docs, run)
    print(f"{'lang':5} {'prose':>6} | " + " | ".join(f"{n}: prose set aside, junk kept" for n in results))
    for code in sorted(prose):
        cells = []
        for name in results:
            r = results[name][code]
            cells.append(f"{r['prose_set_aside_share']:>7.2%} {r['junk_kept_share']:>7.2%}")
        print(f"{code:5} {results['branch'][code]['prose_docs']:>6} | " + " | ".join(cells))
    data = {
        "benchmark": "web_text", "command": command(), "git": git_state(["lontar", "benchmarks/web_text.py"]),
        "machine": machine(), "versions": versions(["lingua-language-detector", "rdlab-dataset"]),
        "settings": {"km_docs": args.km_docs, "pii": False, "everything else": "corpus defaults"},
        "runs": runs, "results": results,
    }
    if "baseline" in results:
        def marked(res: dict, langs: list[str], kinds: tuple[str, ...]) -> int:
            return sum(int(res[c]["junk_kept_by_kind"].get(k, "0/0").split("/")[0]) for c in langs for k in kinds)
        kinds = ("navigation", "next/previous", "html", "url run")
        for scope, langs in (("km", ["km"]), ("all", sorted(prose))):
            before, after = marked(results["baseline"], langs, kinds), marked(results["branch"], langs, kinds)
            data.setdefault("junk_lines_reduction", {})[scope] = {
                "kinds": list(kinds), "baseline_kept": before, "branch_kept": after,
                "reduction": round(1 - after / before, 4) if before else None}
        print("kept junk (Read More / Next: / HTML / URL runs):", data["junk_lines_reduction"])
    if args.derive and args.khmer_articles:
        data["derived_khmer_repetition"] = derive_khmer_repetition(
            khmer_articles(args.khmer_articles) + khmer_articles(args.khmer_articles_derive or args.khmer_articles))
        print("km duplicated n-gram limits:", data["derived_khmer_repetition"])
    if args.derive:
        data["derived_units"] = derive()
        for c, row in data["derived_units"].items():
            print(c, row)
    from benchmarks.common import write_result

    print(f"wrote {write_result('web_text', data)}")


if __name__ == "__main__":
    main()
