"""Writes km.jsonl, lo.jsonl and th.jsonl here: the stand-in instruction data of the CPU twins, made from
lontar's own parallel prose in ../prose (no Khmer, Lao or Thai chat data ships with a package or with
SEA-HELM's files).

Each record is one turn pair inside a paragraph: the user gives a sentence, the assistant answers with
the next one (Khmer ends sentences with ។, Lao with a full stop; Thai marks no sentence end, so its
space-separated phrases are the units). Only the language's own text, so a twin's tiny tokenizer,
trained on that language alone, keeps every record within a 128-token block. A format exercise for the
instruction phase and its loss masking, not instruction data. Rerun: python tests/data/chat/make_chat.py
"""

import json
import re
from pathlib import Path

HERE = Path(__file__).parent
PROSE = HERE.parent / "prose"
SPLIT = {"km": r"(?<=។)\s*", "lo": r"(?<=\.)\s+", "th": r"\s+"}


def main() -> None:
    for lang, pattern in SPLIT.items():
        with (HERE / f"{lang}.jsonl").open("w", encoding="utf-8") as f:
            for paragraph in (PROSE / f"{lang}.txt").read_text(encoding="utf-8").splitlines():
                units = [s for s in re.split(pattern, paragraph.strip()) if s]
                for prompt, reply in zip(units, units[1:]):
                    f.write(json.dumps({"messages": [{"role": "user", "content": prompt},
                                                     {"role": "assistant", "content": reply}]},
                                       ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
