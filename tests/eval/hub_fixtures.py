"""Local copies, in the hub's own layout, of every hub dataset the shipped task files name.

Each is a folder `<root>/<org>/<name>` with a README whose `configs` block maps config and split to
data files, as on the hub, so `datasets.load_dataset(folder, config, split=...)` reads it exactly as
it would read the hub repository. Field names and types follow the hub datasets; the rows are made up.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import yaml

from lontar.langs import EVAL_LANGS, LANGS

SEA = ["km", "lo", "my", "th", "vi", "id", "ms", "tl"]
PHRASES = {
    "en": ["The river is long.", "Children play in the park.", "The market opens early."],
    "km": ["ទន្លេមេគង្គវែងណាស់។", "កុមារលេងនៅសួនច្បារ។", "ផ្សារបើកពីព្រលឹម។"],
    "lo": ["ແມ່ນ້ຳຂອງຍາວຫຼາຍ.", "ເດັກນ້ອຍຫຼິ້ນຢູ່ສວນ.", "ຕະຫຼາດເປີດແຕ່ເຊົ້າ."],
    "my": ["မြစ်သည် ရှည်သည်။", "ကလေးများ ပန်းခြံတွင် ကစားကြသည်။", "ဈေး စောစော ဖွင့်သည်။"],
    "th": ["แม่น้ำยาวมาก", "เด็กๆ เล่นในสวน", "ตลาดเปิดแต่เช้า"],
    "vi": ["Con sông rất dài.", "Trẻ em chơi trong công viên.", "Chợ mở cửa sớm."],
    "id": ["Sungai itu panjang.", "Anak-anak bermain di taman.", "Pasar buka pagi-pagi."],
    "ms": ["Sungai itu panjang.", "Kanak-kanak bermain di taman.", "Pasar dibuka awal pagi."],
    "tl": ["Mahaba ang ilog.", "Naglalaro ang mga bata sa parke.", "Maagang nagbubukas ang palengke."],
}


def _readme(root: Path, configs: dict[str, dict[str, str]]) -> None:
    meta = {"configs": [{"config_name": name, "data_files": [{"split": s, "path": p} for s, p in splits.items()]}
                        for name, splits in configs.items()]}
    root.mkdir(parents=True, exist_ok=True)
    (root / "README.md").write_text("---\n" + yaml.safe_dump(meta, sort_keys=False) + "---\n# local copy\n",
                                    encoding="utf-8")


def _parquet(path: Path, rows: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows), path)


def _jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


def belebele(root: Path) -> None:
    base = root / "facebook" / "belebele"
    configs = {}
    for lang in [*SEA, "jv", "su"]:
        code = EVAL_LANGS[lang].belebele
        p = PHRASES.get(lang, PHRASES["id"])  # Javanese, Sundanese: stand-in Latin-script phrases
        rows = [{"link": f"https://example.org/{i}", "question_number": i + 1, "flores_passage": " ".join(p),
                 "question": p[i] + "?", "mc_answer1": p[0], "mc_answer2": p[1], "mc_answer3": p[2],
                 "mc_answer4": p[i], "correct_answer_num": str(i + 1), "dialect": code, "ds": "2023-05-03"}
                for i in range(3)]
        _jsonl(base / "data" / f"{code}.jsonl", rows)
        configs[code] = {"test": f"data/{code}.jsonl"}
    _readme(base, configs)


def flores_plus(root: Path) -> None:
    base = root / "openlanguagedata" / "flores_plus"
    configs = {}
    for lang in ["en", *SEA]:
        code = LANGS[lang].flores
        for split in ("dev", "devtest"):
            rows = [{"id": i, "iso_639_3": LANGS[lang].iso639_3, "iso_15924": LANGS[lang].script,
                     "glottocode": "none0000", "text": text, "url": f"https://example.org/{i}", "domain": "wikinews",
                     "topic": "nature", "has_image": False, "has_hyperlink": False, "last_updated": "2.1"}
                    for i, text in enumerate(PHRASES[lang])]
            _parquet(base / split / f"{code}.parquet", rows)
        configs[code] = {"dev": f"dev/{code}.parquet", "devtest": f"devtest/{code}.parquet"}
    _readme(base, configs)


def _mmlu_rows(lang: str, n_extra_unannotated: int = 0) -> list[dict[str, Any]]:
    p = PHRASES[lang]
    rows = []
    for i, label in enumerate(["CS", "CA", "CS", "CA"] + ["-"] * n_extra_unannotated):
        rows.append({"sample_id": f"world_religions/test/{i}", "subject": "world_religions",
                     "subject_category": "Humanities", "question": p[i % 3], "option_a": p[0], "option_b": p[1],
                     "option_c": p[2], "option_d": p[(i + 1) % 3], "answer": "ABCD"[i % 4],
                     "required_knowledge": "['cultural']", "time_sensitive": "['No']", "reference": "[]",
                     "culture": "['Khmer']", "region": "['Asia']", "country": "['Cambodia']",
                     "cultural_sensitivity_label": label, "is_annotated": label != "-"})
    return rows


def global_mmlu_lite(root: Path) -> None:
    base = root / "CohereLabs" / "Global-MMLU-Lite"
    configs = {}
    for lang in ("en", "id"):
        for split in ("test", "dev"):
            _parquet(base / lang / f"{split}-00000-of-00001.parquet", _mmlu_rows(lang))
        configs[lang] = {"test": f"{lang}/test-*", "dev": f"{lang}/dev-*"}
    _readme(base, configs)


def global_mmlu(root: Path) -> None:
    base = root / "CohereLabs" / "Global-MMLU"
    configs = {}
    for cfg, lang in (("ms", "ms"), ("fil", "tl"), ("vi", "vi")):
        for split in ("test", "dev"):
            _parquet(base / cfg / f"{split}-00000-of-00001.parquet", _mmlu_rows(lang, n_extra_unannotated=2))
        configs[cfg] = {"test": f"{cfg}/test-*", "dev": f"{cfg}/dev-*"}
    _readme(base, configs)


def xcopa(root: Path) -> None:
    base = root / "cambridgeltl" / "xcopa"
    configs = {}
    for lang in ("id", "th", "vi"):
        p = PHRASES[lang]
        rows = [{"premise": p[i], "choice1": p[(i + 1) % 3], "choice2": p[(i + 2) % 3],
                 "question": ["cause", "effect"][i % 2], "label": i % 2, "idx": i, "changed": False}
                for i in range(3)]
        for split in ("test", "validation"):
            _parquet(base / lang / f"{split}-00000-of-00001.parquet", rows)
        configs[lang] = {"test": f"{lang}/test-*", "validation": f"{lang}/validation-*"}
    _readme(base, configs)


def xnli(root: Path) -> None:
    base = root / "facebook" / "xnli"
    configs = {}
    for lang in ("th", "vi"):
        p = PHRASES[lang]
        rows = [{"premise": p[i], "hypothesis": p[(i + 1) % 3], "label": i % 3} for i in range(3)]
        for split in ("train", "validation", "test"):
            _parquet(base / lang / f"{split}-00000-of-00001.parquet", rows)
        configs[lang] = {s: f"{lang}/{s}-*" for s in ("train", "validation", "test")}
    _readme(base, configs)


def _squad_rows(lang: str, prefix: str = "") -> list[dict[str, Any]]:
    p = PHRASES[lang]
    context = " ".join(p)
    return [{"id": f"{prefix}{i}", "title": "t", "context": context, "question": p[i] + "?",
             "answers": {"text": [p[i], p[i][:5]], "answer_start": [context.find(p[i])] * 2}} for i in range(3)]


def xquad(root: Path) -> None:
    base = root / "google" / "xquad"
    for lang in ("th", "vi"):
        _parquet(base / f"xquad.{lang}" / "validation-00000-of-00001.parquet", _squad_rows(lang))
    _readme(base, {f"xquad.{lang}": {"validation": f"xquad.{lang}/validation-*"} for lang in ("th", "vi")})


def tydiqa(root: Path) -> None:
    base = root / "google-research-datasets" / "tydiqa"
    rows = _squad_rows("id", "indonesian-") + _squad_rows("th", "thai-")  # the task keeps the Indonesian ones
    _parquet(base / "secondary_task" / "validation-00000-of-00001.parquet", rows)
    _readme(base, {"secondary_task": {"validation": "secondary_task/validation-*"}})


def build_hub_mirror(root: Path) -> Path:
    for build in (belebele, flores_plus, global_mmlu_lite, global_mmlu, xcopa, xnli, xquad, tydiqa):
        build(root)
    return root
