import itertools
import json
import unicodedata
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lontar.text.syllables import (
    burmese_syllables,
    han_syllables,
    khmer_syllables,
    lao_syllables,
    thai_syllables,
    units,
)

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared" / "data" / "seahelm"
needs_shared = pytest.mark.skipif(not SHARED.is_dir(), reason=f"shared test data not found at {SHARED}")

THAI = [
    "ภาษาไทยเป็นภาษาราชการของประเทศไทย",
    "กรุงเทพมหานครเป็นเมืองหลวงของประเทศไทย",
    "วันนี้อากาศดีมาก ฉันจะไปเที่ยวทะเล",
    "นักเรียนกำลังเรียนหนังสืออยู่ในห้องสมุด เมื่อวันที่ ๑๒ มกราคม 2024",
]
LAO = [
    "ພາສາລາວເປັນພາສາທາງການຂອງປະເທດລາວ",
    "ນະຄອນຫຼວງວຽງຈັນເປັນເມືອງຫຼວງຂອງລາວ",
    "ຂ້ອຍມັກກິນເຂົ້າໜຽວ",
    "ສະບາຍດີ ເຈົ້າສະບາຍດີບໍ່",
]


def _burmese_sentences() -> list[str]:
    out = []
    for name in ("my_myparaphrase.jsonl", "global_mmlu_lite_my_test.jsonl"):
        for line in (SHARED / name).read_text(encoding="utf-8").splitlines()[:200]:
            for prompt in json.loads(line)["prompts"]:
                out += [v for v in prompt.values() if isinstance(v, str)]
    return out


def _no_unit_starts_with_a_mark(units_: list[str], block: tuple[str, str]) -> bool:
    """A dependent mark of the script never starts a unit unless nothing it could attach to precedes."""
    lo, hi = block
    for prev, unit in itertools.pairwise(units_):
        starts_with_mark = lo <= unit[0] <= hi and unicodedata.category(unit[0]).startswith("M")
        if starts_with_mark and lo <= prev[-1] <= hi and unicodedata.category(prev[-1])[0] in "LM":
            return False
    return True


@pytest.mark.parametrize(
    ("fn", "text", "expected"),
    [
        (khmer_syllables, "ខ្ញុំស្រឡាញ់ភាសាខ្មែរ", ["ខ្ញុំ", "ស្រ", "ឡា", "ញ់", "ភា", "សា", "ខ្មែ", "រ"]),
        (khmer_syllables, "ស្ត្រី ២០២៤ abc។", ["ស្ត្រី", " ", "២០២៤", " ", "abc", "។"]),
        (burmese_syllables, "မြန်မာနိုင်ငံ", ["မြန်", "မာ", "နိုင်", "ငံ"]),
        (burmese_syllables, "အင်္ဂလိပ် ၎င်း။", ["အင်္ဂ", "လိပ်", " ", "၎င်း", "။"]),
        (burmese_syllables, "ကျေးဇူးတင်ပါတယ်", ["ကျေး", "ဇူး", "တင်", "ပါ", "တယ်"]),
        (thai_syllables, "เป็นนักเรียน", ["เป็น", "นัก", "เรีย", "น"]),
        (thai_syllables, "ก็ได้ น้ำ", ["ก็", "ได้", " ", "น้ำ"]),
        (thai_syllables, "เปลี่ยนจันทร์", ["เปลี่ย", "น", "จัน", "ทร์"]),
        (thai_syllables, "ในห้อง", ["ใน", "ห้", "อ", "ง"]),  # no two-consonant onset after ใ
        (lao_syllables, "ເປັນຄົນ", ["ເປັນ", "ຄົນ"]),
        (lao_syllables, "ເຂົາເຈົ້າ ເຮືອນ", ["ເຂົາ", "ເຈົ້າ", " ", "ເຮືອ", "ນ"]),
        (han_syllables, "你好，世界 ok", ["你", "好", "，", "世", "界", " ", "ok"]),
    ],
)
def test_known_splits(fn, text, expected):
    assert fn(text) == expected


def test_khmer_syllables_on_rdlab(khmer_sentences):
    for s in khmer_sentences:
        parts = khmer_syllables(s)
        assert "".join(parts) == s
        assert _no_unit_starts_with_a_mark(parts, ("\u1780", "\u17ff"))
        # a COENG always takes the consonant after it into its own unit
        assert not any(a.endswith("\u17d2") and "\u1780" <= b[0] <= "\u17b3" for a, b in itertools.pairwise(parts))


def test_thai_and_lao_real_sentences():
    for fn, sentences, block, leads in (
        (thai_syllables, THAI, ("\u0e00", "\u0e7f"), "เแโใไ"),
        (lao_syllables, LAO, ("\u0e80", "\u0eff"), "ເແໂໃໄ"),
    ):
        for s in sentences:
            parts = fn(s)
            assert "".join(parts) == s
            assert _no_unit_starts_with_a_mark(parts, block)
            assert not any(p[-1] in leads for p in parts), parts  # a leading vowel binds forward
            assert not any(p[0] in "ะาำ\u0eb0\u0eb2\u0eb3" for p in parts), parts  # following vowels bind back


@needs_shared
def test_burmese_syllables_on_real_text():
    sentences = _burmese_sentences()
    assert len(sentences) > 300
    for s in sentences:
        parts = burmese_syllables(s)
        assert "".join(parts) == s
        assert _no_unit_starts_with_a_mark(parts, ("\u1000", "\u109f"))
        # asat and virama always stay inside the unit of the consonant they close or stack
        assert not any(p[0] in "\u103a\u1039" for p in parts)


def test_units():
    assert units("ខ្ញុំ\u200bស្រឡាញ់ ខ្មែរ", "km") == ["ខ្ញុំ", "ស្រ", "ឡា", "ញ់", "ខ្មែ", "រ"]
    assert units("Saya suka  makan nasi.", "ms") == ["Saya", "suka", "makan", "nasi."]
    assert units("你好 世界", "zh") == ["你", "好", "世", "界"]
    assert units("ສະບາຍດີ ເຈົ້າ", "lo") == ["ສະ", "ບາ", "ຍ", "ດີ", "ເຈົ້າ"]
    assert units("ภาษาไทย", "tha") == ["ภา", "ษา", "ไท", "ย"]
    with pytest.raises(ValueError, match="unknown language"):
        units("x", "xx")


@needs_shared
def test_units_for_spaced_languages_are_whitespace_words():
    for code in ("vi", "tl", "id"):
        line = (SHARED / f"global_mmlu_lite_{code}_test.jsonl").read_text(encoding="utf-8").splitlines()[0]
        question = json.loads(line)["prompts"][0]["question"]
        assert units(question, code) == question.split()


if given is not None:
    _EXTRA = st.sampled_from([" ", "\n", "\u200b", "\u200c", "a", "Z", "7", ".", "é", "\u0301"])

    def _script(lo: int, hi: int):
        return st.text(st.characters(min_codepoint=lo, max_codepoint=hi) | _EXTRA, max_size=40)

    _CASES = [
        (khmer_syllables, _script(0x1780, 0x17FF)),
        (burmese_syllables, _script(0x1000, 0x109F)),
        (thai_syllables, _script(0x0E00, 0x0E7F)),
        (lao_syllables, _script(0x0E80, 0x0EFF)),
        (han_syllables, _script(0x4E00, 0x4E80)),
    ]
    _settings = settings(max_examples=300, deadline=None, database=None)
else:
    _CASES, _settings = [], None


@pytest.mark.parametrize("case", range(5))
def test_every_splitter_is_lossless(case):
    fn, strategy = _CASES[case]

    @_settings
    @given(strategy)
    def check(text):
        parts = fn(text)
        assert "".join(parts) == text
        assert all(parts)

    check()
