"""IFEval-style checks count in the language's own units: syllables for Khmer/Lao/Thai, the scripts' own
full stops for sentences, the script for the response language."""

import pytest

from lontar.errors import DataError
from lontar.eval.ifeval import check_item, count_sentences, count_words
from lontar.text.syllables import units

KM = "ខ្ញុំស្រលាញ់ប្រទេសកម្ពុជា។ ទន្លេមេគង្គវែងណាស់។ ផ្សារបើកពីព្រលឹម។"
LO = "ແມ່ນ້ຳຂອງຍາວຫຼາຍ ເດັກນ້ອຍຫຼິ້ນຢູ່ສວນ"
TH = "แม่น้ำยาวมาก เด็กๆ เล่นในสวน ตลาดเปิดแต่เช้า"


def one(response, iid, kwargs, lang):
    return check_item(response, [iid], [kwargs], lang)["strict"][0]


def test_words_are_syllables_where_the_script_has_no_spaces():
    n = len([u for u in units(KM, "km") if u != "។"])  # syllables, not the full stops
    assert n > 10 and count_words(KM, "km") == n  # whitespace would say 3
    assert one(KM, "length_constraints:number_words", {"relation": "at least", "num_words": n}, "km")
    assert not one(KM, "length_constraints:number_words", {"relation": "less than", "num_words": n}, "km")
    assert count_words(LO, "lo") > 2 and count_words(TH, "th") > 3
    assert count_words("Sungai itu panjang sekali.", "id") == 4


def test_sentences_end_at_each_scripts_full_stop():
    assert count_sentences(KM, "km") == 3  # ។
    assert count_sentences("မြစ်သည် ရှည်သည်။ ကလေးများ ကစားကြသည်။", "my") == 2  # ။
    assert count_sentences(TH, "th") == 4  # Thai separates sentences (and phrases) with spaces
    assert count_sentences("Dr. Tan datang. Dia pulang!", "id") == 3
    assert one(KM, "length_constraints:number_sentences", {"relation": "at least", "num_sentences": 3}, "km")


def test_response_language_by_script_and_no_comma():
    assert one(KM, "language:response_language", {"language": "km"}, "km")
    assert not one(TH, "language:response_language", {"language": "km"}, "km")
    assert one(LO, "language:response_language", {"language": "lo"}, "lo")
    assert one(KM, "punctuation:no_comma", {}, "km")
    assert not one("一、二", "punctuation:no_comma", {}, "zh")


def test_forbidden_words_match_inside_unspaced_text_and_as_words_elsewhere():
    assert not one(KM, "keywords:forbidden_words", {"forbidden_words": ["មេគង្គ"]}, "km")
    assert one("Sungai itu panjang.", "keywords:forbidden_words", {"forbidden_words": ["sun"]}, "id")
    assert not one("Sungai itu panjang.", "keywords:forbidden_words", {"forbidden_words": ["sungai"]}, "id")


def test_loose_forgives_a_preamble_line_and_markdown():
    r = "Here you go:\n" + KM + "\nP.S. ok"
    got = check_item(r, ["startend:end_checker", "detectable_content:postscript"],
                     [{"end_phrase": "ព្រលឹម។"}, {"postscript_marker": "P.S."}], "km")
    assert got == {"strict": [False, True], "loose": [True, True]}
    assert check_item("", ["punctuation:no_comma"], [{}], "km") == {"strict": [False], "loose": [False]}


def test_unknown_instruction_or_mismatched_kwargs_fail_loudly():
    with pytest.raises(DataError, match="no check"):
        check_item(KM, ["detectable_format:made_up"], [{}], "km")
    with pytest.raises(DataError, match="kwargs"):
        check_item(KM, ["punctuation:no_comma"], [], "km")


def test_an_unknown_response_language_is_a_data_error():
    with pytest.raises(DataError, match="response_language"):
        check_item(KM, ["language:response_language"], [{"language": "xx"}], "km")
