"""PII scrubbing: e-mail addresses, URLs, IP addresses, phone numbers, national-ID-like numbers.

Pure functions. `scrub_pii(text)` replaces each find with a placeholder (`<EMAIL>`, `<URL>`, `<IP>`,
`<PHONE>`, `<ID>`) and counts them per type; `scrub_batch(batch)` does it for a batch's "text"
column. Scrubbing is idempotent: placeholders contain nothing any rule matches.

Matching runs on a view of the text in which Khmer, Thai, Lao, Myanmar (and Shan) and full-width
digits read as ASCII digits; the view has the same length, so a find is cut out of the original
text and everything else stays exactly as it was (Khmer digits in a date stay Khmer digits).

Precision first: a phone number must have a country code of the region (or a plus and 10-15 digits)
or a trunk 0 and the length of a national number; an ID must have a known shape (Thai 13 digits with
a valid check digit, Malaysian MyKad with a valid date, Philippine SSS/TIN/UMID/PhilHealth shapes,
16 digits grouped by four (PhilSys, payment cards), Singapore NRIC/FIN with a valid check letter) or
be a bare run of 9-16 digits that is not a price, a decimal, a counting sequence, a round number
(ending in 00) or an ISBN-13, and at 16 digits is an Indonesian NIK (valid birth date) or passes
Luhn. Years, prices, dates, times, version numbers and thousands-separated quantities are left
alone. See tests/corpus/test_pii.py for what is and is not matched.
"""

from __future__ import annotations

import ipaddress
import itertools
import re
from collections.abc import Callable

TYPES = ("email", "url", "ip", "phone", "id")
PLACEHOLDER = {t: f"<{t.upper()}>" for t in TYPES}

# -- digits of the region's scripts, read as ASCII (one character for one: offsets do not move) ------
_DIGIT_BLOCKS = (0x17E0, 0x0E50, 0x0ED0, 0x1040, 0x1090, 0xFF10)  # Khmer, Thai, Lao, Myanmar, Shan, full-width
_DIGITS = {base + i: ord("0") + i for base in _DIGIT_BLOCKS for i in range(10)}
_DIGITS[0xFF0B] = ord("+")  # full-width plus


def ascii_digits(text: str) -> str:
    """`text` with the region's native digits as ASCII digits; same length, nothing else changed."""
    return text.translate(_DIGITS)


def _digit_block(ch: str) -> int:
    """The code point of the zero of `ch`'s digit script."""
    cp = ord(ch)
    return cp - (_DIGITS.get(cp, cp) - 0x30)


def _one_digit_script(text: str, a: int, b: int) -> int:
    """End of the longest prefix of text[a:b] whose digits are all of one script: "016 855 722៤"
    is a number followed by a Khmer list number, not one number."""
    first = None
    for i in range(a, b):
        ch = text[i]
        if ch.isdigit():
            block = _digit_block(ch)
            if first is None:
                first = block
            elif block != first:
                return i
    return b


# Boundaries are ASCII only: Khmer, Thai, Lao and Burmese write no spaces, so a phone number or an
# address may touch a letter of those scripts and must still be found.
_W = "0-9A-Za-z_"

# -- e-mail and URL ----------------------------------------------------------------------------------
_EMAIL = re.compile(
    rf"(?<![{_W}.+-])[A-Za-z0-9][A-Za-z0-9._%+-]*@(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+[A-Za-z]{{2,24}}(?![{_W}-])")


def _email_spans(view: str, text: str) -> list[tuple[int, int]]:
    out = []
    for m in _EMAIL.finditer(view):
        end = m.end()
        # "x@mfa.gov.khWebsite": a top-level domain in lower case glued to a capitalised word.
        glued = re.search(r"\.[a-z]{2,}(?=[A-Z][a-z]+$)", m.group(0))
        if glued:
            end = m.start() + glued.end()
        out.append((m.start(), end))
    return out


# Top-level domains accepted for a bare domain without scheme or www.: generic ones and the region's.
_TLDS = ("com|net|org|edu|gov|info|biz|io|co|asia|"
         "kh|th|vn|id|my|ph|la|mm|sg|bn|tl|cn|tw|hk|jp|kr|in|au|uk|us")
_URL_CHARS = r"[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]"
# After scheme://host/, a path may hold letters of any script (an IRI such as a Wikipedia title in
# Khmer), but a run of them must start a path part (after / _ - = ? & #): "qna/2122សូម..." is a URL
# glued to the next Khmer sentence, which is not eaten.
_NON_ASCII = r"[^\x00-\x7f\s“”‘’«»។៕ฯ။၊。，、；：！？\u200b]"
_IRI_PATH = rf"(?:/(?:{_URL_CHARS}|(?<=[/_=?&#-]){_NON_ASCII}+)*)?"
_URL = re.compile(
    rf"(?<![{_W}@.-])(?:"
    r"(?:https?|ftp)://[A-Za-z0-9\-._~:@!$&'*+,;=%\[\]]+" + _IRI_PATH +  # scheme://host[/path]
    r"|www\.[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+(?:[/?#]" + _URL_CHARS + r"*)?"  # www.host
    r"|(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+(?:" + _TLDS + r")(?:\.(?:" + _TLDS + r"))?"
    r"(?![A-Za-z0-9-])(?:/" + _URL_CHARS + r"*)?"  # bare host.tld[/path]
    r")", re.IGNORECASE)
_URL_TRAIL = ".,;:!?'\")]}*"


def _url_end(m: re.Match[str]) -> int | None:
    """End of a URL match without trailing punctuation (a closing bracket stays when it closes one)."""
    s = m.group(0)
    end = len(s)
    while end and s[end - 1] in _URL_TRAIL:
        ch = s[end - 1]
        if ch == ")" and s[:end].count("(") >= s[:end].count(")"):
            break
        if ch == "]" and s[:end].count("[") >= s[:end].count("]"):
            break
        end -= 1
    host = s[:end].split("//", 1)[-1]
    if not re.search(r"[A-Za-z]", host.split("/", 1)[0]) and not host.startswith("["):
        return None  # "1.2.3" is not a host name
    return m.start() + end


# -- IP addresses ------------------------------------------------------------------------------------
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_IPV4 = re.compile(rf"(?<![{_W}.])(?:{_OCTET}\.){{3}}{_OCTET}(?:/(?:3[0-2]|[12]?[0-9]))?(?![{_W}]|\.[0-9])")
_IPV6 = re.compile(rf"(?<![{_W}:.])(?:[0-9A-Fa-f]{{0,4}}:){{2,7}}(?:[0-9A-Fa-f]{{0,4}}|(?:[0-9]{{1,3}}\.){{3}}[0-9]{{1,3}})"
                   rf"(?:%[0-9A-Za-z]+)?(?:/[0-9]{{1,3}})?(?![{_W}:])")


def _ipv6_ok(s: str) -> bool:
    addr = s.split("/", 1)[0].split("%", 1)[0]
    try:
        ipaddress.IPv6Address(addr)
    except ValueError:
        return False
    groups = [g for g in addr.split(":") if g]
    # Times never pass ipaddress; "::" and "ab::cd"-like tokens do: demand some substance.
    return addr == "::1" or len(groups) >= 3 or (len(groups) == 2 and max(map(len, groups)) >= 3)


# -- phone numbers -----------------------------------------------------------------------------------
# National significant number lengths (digits after the country code, trunk 0 dropped).
_NSN = {
    "855": (8, 9),    # Cambodia: 12 345 678, 97 123 4567, 23 123 456
    "856": (8, 10),   # Laos: 21 123 456, 20 12 345 678
    "66": (8, 9),     # Thailand: 2 123 4567, 81 234 5678
    "84": (9, 10),    # Vietnam: 91 234 5678, 24 1234 5678
    "62": (8, 12),    # Indonesia: 21 1234 5678, 812 3456 7890
    "60": (8, 10),    # Malaysia: 3 1234 5678, 12 345 6789
    "63": (8, 10),    # Philippines: 2 8123 4567, 917 123 4567
    "95": (7, 10),    # Myanmar: 1 234 567, 9 123 456 789
    "65": (8, 8),     # Singapore: 6123 4567, 9123 4567
}
_CC = sorted(_NSN, key=len, reverse=True)

# A run of digit groups separated by one space, hyphen or dot, optional parentheses around a group,
# optionally led by + or 00; native digits already read as ASCII. Candidates are then validated.
# Digit groups are possessive (whole runs), so a long digit string cannot make the regex backtrack.
_PHONE_CAND = re.compile(
    rf"(?<![{_W}+.,/-])(?:\+ ?)?\(?\+?[0-9]++\)?(?:[ .\-]?\(?[0-9]++\)?){{0,7}}(?![{_W}]|[.,][0-9])")
_GROUP = re.compile(r"[0-9]+")
# Dates and times never count as phone numbers (they are short anyway; this makes it certain).
_DATE = re.compile(r"^(?:[0-9]{1,4}[./-][0-9]{1,2}[./-][0-9]{1,4})$")


def _phone_ok(s: str) -> bool:
    s = s.strip()
    digits = "".join(_GROUP.findall(s))
    groups = _GROUP.findall(s)
    if _DATE.match(s):
        return False
    seps = set(re.sub(r"[0-9()+ ]", "", s))
    if len(seps) > 1:
        return False  # mixed "-" and "." : a date or a code, not a phone number
    if s.startswith("+") or (s.startswith("00") and not s.startswith("000")):
        rest = digits if s.startswith("+") else digits[2:]
        for cc in _CC:
            if rest.startswith(cc):
                nsn = rest[len(cc):]
                nsn = nsn.removeprefix("0")  # "+855 (0)12 ..." or "+84 091..."
                lo, hi = _NSN[cc]
                return lo <= len(nsn) <= hi
        # Any other country: E.164 allows 15 digits; ask for 10 so "+12 345 678" is not a number.
        return s.startswith("+") and 10 <= len(rest) <= 15
    # National format: trunk 0 then 8-12 digits (KH 9-10 in all, ID up to 13, PH/VN/MY 10-11, ...).
    if not digits.startswith("0") or digits.startswith("00"):
        # Singapore numbers have no trunk 0: 8 digits as "6123 4567" / "9123-4567" only.
        return (len(groups) == 2 and len(groups[0]) == 4 and len(groups[1]) == 4
                and groups[0][0] in "689" and re.fullmatch(r"[0-9]{4}[ -][0-9]{4}", s) is not None)
    if not 9 <= len(digits) <= 13:
        return False
    if len(groups) == 1 and len(digits) >= 12 and not digits.startswith("08"):
        return False  # 12-13 bare digits are an Indonesian mobile (08...) or an ID (Vietnamese CCCD)
    if "." in s and len(groups[0]) < 2:
        return False  # "0.123456789" is a decimal
    # A list of small numbers ("0 12 34 56 78") is not a phone number: groups of 1 only at the start.
    return all(len(g) >= 2 for g in groups[1:]) and len(groups) <= 5


def _trim_parens(view: str, a: int, b: int) -> tuple[int, int]:
    """Drop an unmatched "(" at the start or ")" at the end of a candidate: "(... 088 40 14 987)"."""
    s = view[a:b]
    if s.endswith(")") and s.count("(") < s.count(")"):
        b -= 1
    elif s.startswith("(") and s.count("(") > s.count(")"):
        a += 1
    return a, b


def _phone_spans(view: str, text: str) -> list[tuple[int, int]]:
    spans = []
    for m in _PHONE_CAND.finditer(view):
        a, b = _trim_parens(view, m.start(), _one_digit_script(text, m.start(), m.end()))
        b = len(view[:b].rstrip(" .-"))
        s, start = view[a:b], a
        if _phone_ok(s):
            spans.append((a, b))
            continue
        # The candidate may glue a number to its neighbours ("2024 012 345 678"): from each chunk
        # (whitespace-separated) left to right, take the longest run of chunks that validates and go
        # on after it, so two numbers in one candidate are both found.
        chunks = [(c.start(), c.end()) for c in re.finditer(r"\S+", s)]
        i = 0
        while i < len(chunks):
            for j in range(len(chunks) - 1, i - 1, -1):
                if i == 0 and j == len(chunks) - 1:
                    continue  # the whole candidate, already refused
                a, b = chunks[i][0], chunks[j][1]
                if s[a] in "(+0123456789" and _phone_ok(s[a:b]):
                    spans.append((start + a, start + b))
                    i = j
                    break
            i += 1
    return spans


# -- national IDs -----------------------------------------------------------------------------------
def thai_id_ok(digits: str) -> bool:
    """Thai national ID: 13 digits, the last a check digit over the first 12."""
    if len(digits) != 13 or not digits.isdigit() or digits[0] == "0":
        return False
    total = sum(int(d) * (13 - i) for i, d in enumerate(digits[:12]))
    return (11 - total % 11) % 10 == int(digits[12])


def nik_ok(digits: str) -> bool:
    """Indonesian NIK: 16 digits, province 11-94, then DDMMYY (day + 40 for women) at 7-12."""
    if len(digits) != 16 or not digits.isdigit():
        return False
    prov, day, month = int(digits[:2]), int(digits[6:8]), int(digits[8:10])
    day = day - 40 if day > 40 else day
    return 11 <= prov <= 94 and 1 <= day <= 31 and 1 <= month <= 12 and digits[12:] != "0000"


def _yymmdd_ok(s: str) -> bool:
    month, day = int(s[2:4]), int(s[4:6])
    return 1 <= month <= 12 and 1 <= day <= 31


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, d in enumerate(reversed(digits)):
        n = int(d) * (2 if i % 2 else 1)
        total += n - 9 if n > 9 else n
    return total % 10 == 0


def isbn13_ok(digits: str) -> bool:
    return sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(digits)) % 10 == 0


_NRIC_W = (2, 7, 6, 5, 4, 3, 2)


def nric_ok(s: str) -> bool:
    """Singapore NRIC/FIN: S/T/F/G/M, 7 digits, check letter."""
    s = s.upper()
    if not re.fullmatch(r"[STFGM][0-9]{7}[A-Z]", s):
        return False
    total = sum(int(d) * w for d, w in zip(s[1:8], _NRIC_W))
    if s[0] in "TG":
        total += 4
    elif s[0] == "M":
        total += 3
    table = {"S": "JZIHGFEDCBA", "T": "JZIHGFEDCBA", "F": "XWUTRQPNMLK", "G": "XWUTRQPNMLK", "M": "XWUTRQPNJLK"}[s[0]]
    return table[total % 11] == s[8]


# Shaped IDs, validated where a check exists. Native digits are already ASCII in the view.
_B = rf"(?<![{_W}.,/+-])"  # not inside a longer number, word or path
_E = rf"(?![{_W}]|[.,/-][0-9])"
_ID_SHAPES: list[tuple[re.Pattern[str], Callable[[str], bool]]] = [
    # Thai ID, grouped 1-4-5-2-1 or bare 13 digits, with a valid check digit.
    (re.compile(_B + r"[0-9][ -]?[0-9]{4}[ -]?[0-9]{5}[ -]?[0-9]{2}[ -]?[0-9]" + _E),
     lambda s: thai_id_ok(re.sub(r"[ -]", "", s))),
    # Malaysian MyKad: YYMMDD-PB-###G (hyphens or none).
    (re.compile(_B + r"[0-9]{6}-[0-9]{2}-[0-9]{4}" + _E), lambda s: _yymmdd_ok(s[:6])),
    # Four groups of four: PhilSys PSN or a payment card; not four years ("1990 1995 2000 2005").
    (re.compile(_B + r"[0-9]{4}([ -])[0-9]{4}\1[0-9]{4}\1[0-9]{4}" + _E),
     lambda s: not all(1000 <= int(g) <= 2100 for g in re.split(r"[ -]", s))),
    # Philippine SSS 34-1234567-8, UMID CRN 0111-1234567-8, PhilHealth 12-123456789-0, TIN 123-456-789(-000).
    (re.compile(_B + r"(?:[0-9]{2}-[0-9]{7}-[0-9]|[0-9]{4}-[0-9]{7}-[0-9]|[0-9]{2}-[0-9]{9}-[0-9]"
                r"|[0-9]{3}-[0-9]{3}-[0-9]{3}(?:-[0-9]{3,5})?)" + _E), lambda s: True),
    # Singapore NRIC/FIN with its check letter.
    (re.compile(rf"(?<![{_W}])[STFGMstfgm][0-9]{{7}}[A-Za-z](?![{_W}])"), nric_ok),
]
# Bare digit runs of ID length (CMND 9, CCCD 12, NIK 16, MyKad 12, ...) that are not money or decimals.
_ID_RUN = re.compile(_B + r"[0-9]{9,16}" + _E)
_MONEY_NEAR = re.compile(
    r"[$€£¥₫៛฿₱₭₹]|រៀល|ដុល្លារ|บาท|ກີບ|ကျပ်|元"
    r"|(?<![A-Za-z])(?:rp|rm|usd|vnd|sgd|idr|myr|php|khr|thb|lak|mmk|kyat|riels?|baht|pesos?|kip|đồng|dong|đ)(?![A-Za-z])",
    re.IGNORECASE)


def _not_an_id(digits: str) -> bool:
    """Runs that are numbers, not identifiers: a counting sequence ("123456789", "987654321"), one
    repeated digit, a round quantity ("165384000" km², ending in 00), an ISBN-13, 16 digits that
    are neither an NIK nor pass Luhn."""
    steps = [(int(b) - int(a)) % 10 for a, b in itertools.pairwise(digits)]
    if max(steps.count(1), steps.count(9), steps.count(0)) >= 0.8 * len(steps):
        return True
    if digits.endswith("00"):
        return True
    if len(digits) == 13 and digits[:3] in ("978", "979") and isbn13_ok(digits):
        return True
    return len(digits) == 16 and not (nik_ok(digits) or luhn_ok(digits))


def _id_spans(view: str, text: str) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    taken = bytearray(len(view))
    for rx, ok in _ID_SHAPES:
        for m in rx.finditer(view):
            if not any(taken[m.start():m.end()]) and ok(m.group(0)):
                spans.append((m.start(), m.end()))
                taken[m.start():m.end()] = b"\x01" * (m.end() - m.start())
    for m in _ID_RUN.finditer(view):
        if any(taken[m.start():m.end()]) or _one_digit_script(text, m.start(), m.end()) != m.end():
            continue
        if _not_an_id(m.group(0)):
            continue
        near = view[max(0, m.start() - 6):m.start()] + " " + view[m.end():m.end() + 8]
        if _MONEY_NEAR.search(near):
            continue  # a price in đồng or rupiah written without separators
        spans.append((m.start(), m.end()))
    return spans


# -- the scrubber ------------------------------------------------------------------------------------
def _regex_spans(rx: re.Pattern[str], ok: Callable[[str], bool] | None = None):
    def spans(view: str, text: str) -> list[tuple[int, int]]:
        return [(m.start(), m.end()) for m in rx.finditer(view) if ok is None or ok(m.group(0))]
    return spans


def _url_spans(view: str, text: str) -> list[tuple[int, int]]:
    out = []
    for m in _URL.finditer(view):
        end = _url_end(m)
        if end is not None and end > m.start():
            out.append((m.start(), end))
    return out


# Order matters: an e-mail before the URL rule sees its domain, URLs before IPs and phone numbers see
# the digits in their paths, phone numbers before bare ID-length digit runs.
_PASSES: tuple[tuple[str, Callable[[str, str], list[tuple[int, int]]]], ...] = (
    ("email", _email_spans),
    ("url", _url_spans),
    ("ip", _regex_spans(_IPV6, _ipv6_ok)),
    ("ip", _regex_spans(_IPV4)),
    ("phone", _phone_spans),
    ("id", _id_spans),
)


def find_pii(text: str) -> list[tuple[str, int, int, str]]:
    """Every find as (type, start, end, matched text), in the order the passes apply them, with
    offsets into the text as it stands before that pass. For inspection; `scrub_pii` replaces."""
    found = []
    cur = text
    for kind, spans_of in _PASSES:
        spans = spans_of(ascii_digits(cur), cur)
        for a, b in spans:
            found.append((kind, a, b, cur[a:b]))
        cur, _ = _replace(cur, spans, PLACEHOLDER[kind])
    return found


def _replace(text: str, spans: list[tuple[int, int]], placeholder: str) -> tuple[str, int]:
    """Replace non-overlapping spans (an overlapping one is dropped); returns the text and the count."""
    if not spans:
        return text, 0
    parts, last, n = [], 0, 0
    for a, b in sorted(spans):
        if a < last:
            continue
        parts.append(text[last:a])
        parts.append(placeholder)
        last = b
        n += 1
    parts.append(text[last:])
    return "".join(parts), n


def scrub_pii(text: str) -> tuple[str, dict[str, int]]:
    """`text` with PII replaced by placeholders, and the number of replacements per type."""
    counts = dict.fromkeys(TYPES, 0)
    if not text:
        return text, counts
    view = ascii_digits(text)
    for kind, spans_of in _PASSES:
        spans = spans_of(view, text)
        if spans:
            text, n = _replace(text, spans, PLACEHOLDER[kind])
            counts[kind] += n
            view = ascii_digits(text)
    return text, counts


def scrub_batch(batch: dict[str, list]) -> tuple[dict[str, list], dict[str, int]]:
    """Scrub the "text" column of a batch; returns the new batch and the counts summed over it."""
    out = dict(batch)
    texts = []
    totals = dict.fromkeys(TYPES, 0)
    for text in batch["text"]:
        new, counts = scrub_pii(text)
        texts.append(new)
        for k, v in counts.items():
            totals[k] += v
    out["text"] = texts
    return out, totals
