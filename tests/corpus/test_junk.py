"""Web junk removed line by line: markup, link runs, menus, banners, navigation; prose kept."""

from pathlib import Path

import pytest

from lontar.corpus.junk import clean_text, junk_step

PROSE = Path(__file__).resolve().parents[1] / "data" / "prose"


@pytest.fixture(scope="module")
def km() -> list[str]:
    return (PROSE / "km.txt").read_text(encoding="utf-8").splitlines()


def _clean(text: str, lang: str = "km") -> tuple[str, dict]:
    counts: dict[str, int] = {}
    return clean_text(text, lang, counts), counts


def test_navigation_cuts_the_line_and_keeps_the_prose_before_it(km):
    assert _clean(f"{km[0]} Read More »") == (km[0], {"navigation cut": 1})
    assert _clean(f"{km[0]} អានបន្ត") == (km[0], {"navigation cut": 1})  # Khmer "read more", from the registry
    text, counts = _clean(f"{km[0]}\nNext: {km[1][:50]}\nPrevious: {km[2][:40]}")
    assert text == km[0] and counts == {"navigation cut": 2, "lines removed": 2}
    # Thai and Chinese navigation, and English words that merely contain a phrase, stay apart.
    assert _clean("ข่าวการเมืองวันนี้ อ่านต่อ", "th")[0] == "ข่าวการเมืองวันนี้"
    assert _clean("教育部周一宣布新学年将开始。阅读更多", "zh")[0] == "教育部周一宣布新学年将开始。"
    assert _clean("He read more than ten books; next: none.", "en")[0] == "He read more than ten books; next: none."


def test_html_is_removed_and_the_text_between_tags_kept(km):
    text, counts = _clean(f'<div class="entry"><p>{km[0]}</p><br/></div><script>var x = "<b>";</script>')
    assert text == km[0] and counts == {"html tags removed": 6}  # five tags and one script block
    assert _clean("ភ្នំពេញ &amp; សៀមរាប &nbsp;ខេត្ត")[0] == "ភ្នំពេញ & សៀមរាប \xa0ខេត្ត"
    # a comparison in prose is not a tag
    assert _clean("x < y and y > z", "en")[0] == "x < y and y > z"


def test_link_runs_menus_and_banners_go(km):
    text, counts = _clean(f"{km[0]}\nhttps://a.example/1 https://a.example/2 www.b.example/3\n{km[1]}")
    assert text == f"{km[0]}\n{km[1]}" and counts == {"url runs removed": 1, "lines removed": 1}
    assert _clean(f"{km[0]} https://example.com/one")[0].endswith("https://example.com/one")  # one link in prose stays
    assert _clean(f"Home | News | Sport | Contact\n{km[0]}")[0] == km[0]
    assert _clean(f"ទំព័រដើម | ព័ត៌មាន | កីឡា | ទំនាក់ទំនង\n{km[0]}")[0] == km[0]
    assert _clean(f"{km[0]}\nThis website uses cookies. Accept all cookies")[0] == km[0]
    assert _clean("Lorem ipsum dolor sit amet, consectetur adipiscing elit.", "en")[0] == ""


def test_clean_prose_is_left_exactly_as_it_is(km):
    for line in km:
        assert _clean(line) == (line, {})
    english = (PROSE / "en.txt").read_text(encoding="utf-8")
    assert _clean(english, "en") == (english.strip("\n"), {})


def test_step_sets_aside_documents_that_are_mostly_junk(km):
    batch = {"text": [km[0] + " Read More", "Home | News | Sport | Contact", "<p>x</p>" * 40 + " ខ្មែរ", km[1]],
             "lang": ["km"] * 4}
    texts, reasons, counts = junk_step(batch, max_removed_char_frac=0.7)
    assert texts[0] == km[0] and texts[3] == km[1] and reasons[0] is None and reasons[3] is None
    assert reasons[1] == "junk: only markup, links or navigation"
    assert reasons[2].startswith("junk: mostly markup, links or navigation (0.")
    assert counts["navigation cut"] == 1 and counts["html tags removed"] == 80


def test_a_body_stored_twice_is_kept_once(km):
    from lontar.corpus.junk import drop_repeated_sentences

    body = " ".join(km)
    counts: dict[str, int] = {}
    assert drop_repeated_sentences(f"{body} {body}", "km", counts) == body
    assert counts == {"repeated sentences removed": sum(s.count("។") for s in km)}
    # short repeats (a refrain, "ok.") stay; so does a document without repeats
    assert drop_repeated_sentences("Yes. Yes. Yes.", "en", {}) == "Yes. Yes. Yes."
    assert drop_repeated_sentences(body, "km", {}) == body
    # spam that is one sentence many times is mostly removed, so the step sets it aside
    spam = " ".join(["ទិញឥឡូវនេះ តម្លៃពិសេសសម្រាប់អ្នកទាំងអស់គ្នា!"] * 20)
    texts, reasons, _ = junk_step({"text": [spam], "lang": ["km"]}, max_removed_char_frac=0.7)
    assert reasons[0].startswith("junk: mostly")
