"""Build lontar/eval/data/km_culture_completion.jsonl: a small Khmer sentence-completion benchmark that the
package ships, so the CPU demo reports a benchmark beside bits per byte with no download.

Items come from the real Khmer sentences of the PyPI package rdlab-dataset (MIT licence, see
lontar/eval/data/LICENSE-rdlab-dataset.txt), chosen because they name Cambodian places, heritage or customs
(the keywords below). Each item shows the first half of a sentence (cut at a Khmer syllable boundary) and
asks which of four endings is the true one; the three others are endings of other chosen sentences.
Deterministic: `python scripts/build_km_culture.py` rewrites the same file.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

from lontar.corpus.sources import rdlab_path, read_rdlab
from lontar.text.normalize import normalize_text
from lontar.text.syllables import khmer_syllables

OUT = Path(__file__).resolve().parents[1] / "lontar" / "eval" / "data" / "km_culture_completion.jsonl"
# Cambodia, Khmer, Angkor, Phnom Penh, Siem Reap, Mekong, Tonle Sap, festival/ceremony, pagoda, monk, New Year,
# Water Festival, Pchum Ben, apsara, temple
KEYWORDS = ("កម្ពុជា", "ខ្មែរ", "អង្គរ", "ភ្នំពេញ", "សៀមរាប", "មេគង្គ", "ទន្លេសាប", "បុណ្យ", "វត្ត", "ព្រះសង្ឃ",
            "ចូលឆ្នាំ", "អុំទូក", "ភ្ជុំបិណ្ឌ", "អប្សរា", "ប្រាសាទ")
ITEMS = 100


def main() -> None:
    rng = random.Random(2024)
    seen, chosen = set(), []
    for raw in read_rdlab(rdlab_path()):
        text = normalize_text(raw).strip()
        syl = khmer_syllables(text)
        if 16 <= len(syl) <= 40 and any(k in text for k in KEYWORDS) and text not in seen:
            seen.add(text)
            chosen.append(syl)
    rng.shuffle(chosen)
    chosen = chosen[:ITEMS * 4]
    cut = [(("".join(s[:len(s) // 2])), "".join(s[len(s) // 2:])) for s in chosen]
    endings = [e for _, e in cut]
    with OUT.open("w", encoding="utf-8") as f:
        for i, (context, ending) in enumerate(cut[:ITEMS]):
            others = [e for e in rng.sample(endings, 8) if e != ending][:3]
            gold = rng.randrange(4)
            options = others[:gold] + [ending] + others[gold:]
            # `text`, the whole sentence, is what corpus.decontaminate matches (km-tiny removes it from training)
            f.write(json.dumps({"id": f"km-culture-{i}", "context": context, "options": options, "gold": gold,
                                "text": context + ending, "source": "rdlab-dataset"}, ensure_ascii=False) + "\n")
    print(f"{OUT}: {ITEMS} items from {len(seen):,} matching sentences")


if __name__ == "__main__":
    main()
