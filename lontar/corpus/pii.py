"""PII scrubbing: e-mail addresses, URLs, IP addresses, phone numbers, national-ID-like numbers.

Pure functions. `scrub_pii(text, lang)` replaces each find with a placeholder (`<EMAIL>`, `<URL>`,
`<IP>`, `<PHONE>`, `<ID>`) and counts them per type; `scrub_batch(batch)` does it for a batch's
"text" column (in each row's "lang"). Scrubbing is idempotent: placeholders contain nothing any
rule matches.

Matching runs on a view of the text in which Khmer, Thai, Lao, Myanmar (and Shan) and full-width
digits read as ASCII digits; the view has the same length, so a find is cut out of the original
text and everything else stays exactly as it was (Khmer digits in a date stay Khmer digits).

Precision first, with the ecosystem's validators rather than hand tables:
- IP addresses: only public ones (`ipaddress` is_global, as datatrove does), written in ASCII digits,
  not right after a version word nor next to a currency (២.១៥៣.២១១.១១៨ដុល្លារ is a price);
- URLs: a bare host (no scheme, no www.) needs a lower-case top-level domain and must not be a dotted
  software name (VB.NET, System.IO, Socket.io);
- phone numbers: valid for `phonenumbers` (libphonenumber's ranges and lengths), in international
  form for any country, in national form (trunk 0) for the country of the document's language
  (`Lang.region` in `lontar.langs`; every SEA country when the language names none);
- national ids: a known shape with its check where one exists (Thai PIN, Indonesian NIK and Malaysian
  MyKad via python-stdnum: check digit, a real birth date, a known birth place; Singapore NRIC/FIN
  check letter; Philippine SSS/TIN/UMID/PhilHealth shapes; 16 digits by four that pass Luhn or are not
  four years), or a bare digit run of an id's length with that id's check (9; 12 MyKad or CCCD;
  13 Thai PIN; 16 NIK or Luhn) that is not money, a counting sequence, a round number or an ISBN.
Years, prices, dates, times, version numbers and thousands-separated quantities are left alone. See
tests/corpus/test_pii.py for what is and is not matched, benchmarks/pii_precision.py for figures.
"""

from __future__ import annotations

import ipaddress
import itertools
import re
from collections.abc import Callable

import phonenumbers
from stdnum import isbn as stdnum_isbn
from stdnum import luhn as stdnum_luhn
from stdnum.id import nik as id_nik
from stdnum.my import nric as my_nric
from stdnum.th import pin as th_pin

from lontar.langs import PHONE_REGIONS, get_lang

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
# A dotted quad right after one of these words is a version number ("Python 3.11.4.1", "build 10.0.1.2").
_VERSION_BEFORE = re.compile(
    r"(?:^|[^A-Za-z])(?:v|ver|version|versi|versión|phiên bản|build|release|rev|update|python|java|node|android|"
    r"ios|windows|firmware|kernel|chrome|firefox|php|sdk|api)\.?[ :]*$", re.IGNORECASE)


def _public(addr: str) -> bool:
    """Only addresses that identify a host on the internet are personal data; private, loopback,
    link-local, documentation and reserved ranges are not (datatrove's rule: `is_global`)."""
    try:
        return ipaddress.ip_address(addr).is_global
    except ValueError:
        return False


def _ipv4_spans(view: str, text: str, regions: tuple[str, ...] = PHONE_REGIONS) -> list[tuple[int, int]]:
    out = []
    for m in _IPV4.finditer(view):
        a, b = m.span()
        if not text[a:b].isascii():
            continue  # addresses are written in ASCII digits; ២.១៥៣.២១១.១១៨ is a price
        if _VERSION_BEFORE.search(view[max(0, a - 20):a]):
            continue
        near = view[max(0, a - 6):a] + " " + view[b:b + 10]
        if _MONEY_NEAR.search(near):
            continue
        if _public(m.group(0).split("/", 1)[0]):
            out.append((a, b))
    return out


def _ipv6_spans(view: str, text: str, regions: tuple[str, ...] = PHONE_REGIONS) -> list[tuple[int, int]]:
    out = []
    for m in _IPV6.finditer(view):
        addr = m.group(0).split("/", 1)[0].split("%", 1)[0]
        groups = [g for g in addr.split(":") if g]
        # Times never pass ipaddress; "ab::cd"-like tokens might: demand some substance.
        if not (len(groups) >= 3 or (len(groups) == 2 and max(map(len, groups)) >= 3)):
            continue
        if text[m.start():m.end()].isascii() and _public(addr):
            out.append(m.span())
    return out


# -- phone numbers -----------------------------------------------------------------------------------
# A run of digit groups separated by one space, hyphen or dot, optional parentheses around a group,
# optionally led by + or 00; native digits already read as ASCII. Candidates are then validated by
# `phonenumbers` (Google's libphonenumber metadata: real number ranges and lengths per country).
# Digit groups are possessive (whole runs), so a long digit string cannot make the regex backtrack.
# A number may touch letters (Latin ones too: "Tel012 345 678", "012345678Mr"), follow "/" or ","
# ("012 345 678/097 123 4567") or an abbreviation's dot ("โทร.081..."), and be followed by "," and
# another number; it may not continue a number ("3.012", "1990-012"), nor be followed by a decimal
# part (".5", ",50") or a time (":30").
_PHONE_CAND = re.compile(
    r"(?<![0-9+])(?<![0-9][.-])(?:\+ ?)?\(?\+?[0-9]++\)?(?:[ .\-]?\(?[0-9]++\)?){0,7}"
    r"(?![0-9]|\.[0-9]|:[0-9]|,[0-9]{1,2}(?![0-9]))")
_GROUP = re.compile(r"[0-9]+")
# Dates and times never count as phone numbers (they are short anyway; this makes it certain).
_DATE = re.compile(r"^(?:[0-9]{1,4}[./-][0-9]{1,2}[./-][0-9]{1,4})$")
_DATE_START = re.compile(r"^[0-9]{1,2}([./-])[0-9]{1,2}\1(?:19|20)[0-9]{2}(?![0-9])")  # "09-07-1958 02"


_REGION_CODES = tuple(str(phonenumbers.country_code_for_region(r)) for r in PHONE_REGIONS)  # "855", "856", ...


def _valid_in(s: str, region: str | None) -> bool:
    try:
        number = phonenumbers.parse(s, region)
    except phonenumbers.NumberParseException:
        return False
    if region and phonenumbers.region_code_for_number(number) != region:
        return False
    return phonenumbers.is_valid_number(number)


def _phone_ok(s: str, regions: tuple[str, ...] = PHONE_REGIONS) -> bool:
    """A candidate is a phone number when its shape is one people write and `phonenumbers` finds it
    valid: in international form (+ or 00) for any country, in national form (trunk 0) for one of
    `regions` (the document language's country), or as Singapore's 8 digits grouped 4-4."""
    s = s.strip()
    groups = _GROUP.findall(s)
    digits = "".join(groups)
    if _DATE.match(s) or _DATE_START.match(s):
        return False
    seps = set(re.sub(r"[0-9()+ ]", "", s))
    if len(seps) > 1:
        return False  # mixed "-" and "." : a date or a code, not a phone number
    if s.startswith("+") or (s.startswith("00") and not s.startswith("000")):
        rest = digits if s.startswith("+") else digits[2:]
        intl = "+" + (s[1:] if s.startswith("+") else s[2:])
        # Outside the region ask for 10 digits at least, so "+12 345 678" is not a number anywhere;
        # the region's own short landlines ("+95 1 219 585", Yangon) have 8 or 9.
        short_ok = len(rest) >= 8 and rest.startswith(_REGION_CODES)
        return (len(rest) >= 10 or short_ok) and _valid_in(intl, None)
    if not digits.startswith("0") or digits.startswith("00"):
        # Singapore numbers have no trunk 0: 8 digits as "6123 4567" / "9123-4567" only.
        return ("SG" in regions and re.fullmatch(r"[0-9]{4}[ -][0-9]{4}", s) is not None
                and _valid_in(s, "SG"))
    if not 8 <= len(digits) <= 13:
        return False  # 8: a Yangon or Vientiane landline with its trunk 0 (01 234 567)
    if len(groups) == 1 and len(digits) >= 12 and not digits.startswith("08"):
        return False  # 12-13 bare digits are an Indonesian mobile (08...) or an ID (Vietnamese CCCD)
    if "." in s and len(groups[0]) < 2:
        return False  # "0.123456789" is a decimal
    # A list of small numbers ("0 12 34 56 78") is not a phone number: groups of 1 only at the start.
    if not (all(len(g) >= 2 for g in groups[1:]) and len(groups) <= 5):
        return False
    return any(_valid_in(s, r) for r in regions)


def regions_for(lang: str | None) -> tuple[str, ...]:
    """Countries whose national phone formats a document in `lang` is checked against."""
    if not lang:
        return PHONE_REGIONS
    try:
        region = get_lang(lang).region
    except ValueError:
        return PHONE_REGIONS
    return (region,) if region else PHONE_REGIONS


_BOOK_NUMBER_BEFORE = re.compile(r"IS[BS]N[- :]*$", re.IGNORECASE)  # "ISBN 0306406152" is a book
_FOUR_BY_FOUR = re.compile(r"[0-9]{4}([ -])[0-9]{4}\1[0-9]{4}\1[0-9]{4}")


def _trim_parens(view: str, a: int, b: int) -> tuple[int, int]:
    """Drop an unmatched "(" at the start or ")" at the end of a candidate: "(... 088 40 14 987)"."""
    s = view[a:b]
    if s.endswith(")") and s.count("(") < s.count(")"):
        b -= 1
    elif s.startswith("(") and s.count("(") > s.count(")"):
        a += 1
    return a, b


def _phone_spans(view: str, text: str, regions: tuple[str, ...] = PHONE_REGIONS) -> list[tuple[int, int]]:
    spans = []
    for m in _PHONE_CAND.finditer(view):
        if _BOOK_NUMBER_BEFORE.search(view, max(0, m.start() - 8), m.start()):
            continue
        a, b = _trim_parens(view, m.start(), _one_digit_script(text, m.start(), m.end()))
        b = len(view[:b].rstrip(" .-"))
        s, start = view[a:b], a
        if _phone_ok(s, regions):
            spans.append((a, b))
            continue
        if _FOUR_BY_FOUR.fullmatch(s):
            continue  # a card or PhilSys number, for the id pass: no phone number hides inside it
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
                # Only a part that starts like a number of its own: trunk 0, + or a bracket ("9659 8556"
                # inside a card number "4896 9659 8556 3736" is not a Singapore number).
                if s[a] in "(+0" and _phone_ok(s[a:b], regions):
                    spans.append((start + a, start + b))
                    i = j
                    break
            i += 1
    return spans


# -- national IDs -----------------------------------------------------------------------------------
# Checks from python-stdnum where it has the country (Thai PIN, Indonesian NIK, Malaysian NRIC: check
# digit, registration place, a real birth date), Luhn and ISBN from it too; Singapore's check letter
# below (stdnum has no Singapore NRIC).
def thai_id_ok(digits: str) -> bool:
    """Thai national ID (PIN): 13 digits, the last a check digit over the first 12."""
    return len(digits) == 13 and digits.isdigit() and th_pin.is_valid(digits)


def nik_ok(digits: str) -> bool:
    """Indonesian NIK: 16 digits, a known registration place, then a real DDMMYY birth date (day + 40 for women)."""
    if len(digits) != 16 or not digits.isdigit() or digits[12:] == "0000":
        return False
    day = int(digits[6:8])  # stdnum reads the day modulo 40, which lets 99 through as the 19th
    return (1 <= day <= 31 or 41 <= day <= 71) and id_nik.is_valid(digits)


def mykad_ok(s: str) -> bool:
    """Malaysian MyKad (NRIC): YYMMDD (a real date: no 31 February) + a birth-place code + 4 digits."""
    return my_nric.is_valid(s)


def luhn_ok(digits: str) -> bool:
    return stdnum_luhn.is_valid(digits)


def isbn13_ok(digits: str) -> bool:
    return stdnum_isbn.is_valid(digits)


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
    (re.compile(_B + r"[0-9]{6}-[0-9]{2}-[0-9]{4}" + _E), mykad_ok),
    # Four groups of four: PhilSys PSN or a payment card; not four years ("1990 1995 2000 2005").
    (re.compile(_B + r"[0-9]{4}([ -])[0-9]{4}\1[0-9]{4}\1[0-9]{4}" + _E),
     lambda s: not all(1000 <= int(g) <= 2100 for g in re.split(r"[ -]", s))),
    # Philippine SSS 34-1234567-8, UMID CRN 0111-1234567-8, PhilHealth 12-123456789-0, TIN 123-456-789(-000).
    (re.compile(_B + r"(?:[0-9]{2}-[0-9]{7}-[0-9]|[0-9]{4}-[0-9]{7}-[0-9]|[0-9]{2}-[0-9]{9}-[0-9]"
                r"|[0-9]{3}-[0-9]{3}-[0-9]{3}(?:-[0-9]{3,5})?)" + _E), lambda s: True),
    # Singapore NRIC/FIN with its check letter.
    (re.compile(rf"(?<![{_W}])[STFGMstfgm][0-9]{{7}}[A-Za-z](?![{_W}])"), nric_ok),
]
# Bare digit runs of ID length (CMND 9, CCCD 12, NIK 16, MyKad 12, Thai 13) that are not money or decimals.
_ID_RUN = re.compile(_B + r"[0-9]{9,16}" + _E)
_MONEY_NEAR = re.compile(
    r"[$€£¥₫៛฿₱₭₹]|រៀល|ដុល្លារ|บาท|ກີບ|ကျပ်|元"
    r"|(?<![A-Za-z])(?:rp|rm|usd|vnd|sgd|idr|myr|php|khr|thb|lak|mmk|kyats?|riels?|baht|pesos?|piso|kip|đồng|dong|đ"
    r"|rupiah|ringgit|dollars?|yuan|euros?)(?![A-Za-z])",
    re.IGNORECASE)


def _cccd_ok(digits: str) -> bool:
    """Vietnamese CCCD: province 001-096, a century-and-sex digit 0-3 (1900-2099), birth year, 6 digits."""
    return 1 <= int(digits[:3]) <= 96 and digits[3] in "0123"


def _not_an_id(digits: str) -> bool:
    """Runs that are numbers, not identifiers. Only the lengths of the region's ids count, each with
    its own check where one exists: 9 (Vietnamese CMND, Cambodian id card), 12 (Malaysian MyKad with
    a real date and birth place, Vietnamese CCCD), 13 (Thai PIN check digit), 16 (NIK or Luhn).
    Also not ids: a counting sequence ("123456789", "987654321"), one repeated digit, a round
    quantity ("165384000" km², ending in 00), an ISBN-13."""
    steps = [(int(b) - int(a)) % 10 for a, b in itertools.pairwise(digits)]
    if max(steps.count(1), steps.count(9), steps.count(0)) >= 0.8 * len(steps):
        return True
    if digits.endswith("00"):
        return True
    if len(digits) == 13 and digits[:3] in ("978", "979") and isbn13_ok(digits):
        return True
    if len(digits) == 12:
        return not (mykad_ok(digits) or _cccd_ok(digits))
    if len(digits) == 13:
        return not thai_id_ok(digits)
    if len(digits) == 16:
        return not (nik_ok(digits) or luhn_ok(digits))
    return len(digits) != 9


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
        if _BOOK_NUMBER_BEFORE.search(view, max(0, m.start() - 8), m.start()):
            continue
        if _not_an_id(m.group(0)):
            continue
        near = view[max(0, m.start() - 8):m.start()] + " " + view[m.end():m.end() + 10]
        if _MONEY_NEAR.search(near):
            continue  # a price in đồng or rupiah written without separators
        spans.append((m.start(), m.end()))
    return spans


# -- the scrubber ------------------------------------------------------------------------------------
def _email_pass(view: str, text: str, regions: tuple[str, ...] = PHONE_REGIONS) -> list[tuple[int, int]]:
    return _email_spans(view, text)


def _id_pass(view: str, text: str, regions: tuple[str, ...] = PHONE_REGIONS) -> list[tuple[int, int]]:
    return _id_spans(view, text)


# Dotted words of software that look like a host name with a top-level domain.
_TECH_WORDS = frozenset({"asp.net", "vb.net", "ado.net", "f.net", "j.net", "dot.net", "socket.io"})


def _bare_host_ok(s: str) -> bool:
    """A host written without scheme, www. or path must look like one: its top-level domain in
    lower case ("example.com", not "VB.NET" or "System.IO") and not a dotted software name."""
    host = s.split("/", 1)[0]
    tld = host.rsplit(".", 1)[-1]
    return tld.islower() and host.lower() not in _TECH_WORDS


def _url_spans(view: str, text: str, regions: tuple[str, ...] = PHONE_REGIONS) -> list[tuple[int, int]]:
    out = []
    for m in _URL.finditer(view):
        end = _url_end(m)
        if end is None or end <= m.start():
            continue
        s = view[m.start():end]
        bare = not re.match(r"(?:https?|ftp)://|www\.", s, re.IGNORECASE)
        if bare and "/" not in s and not _bare_host_ok(s):
            continue
        out.append((m.start(), end))
    return out


# Order matters: an e-mail before the URL rule sees its domain, URLs before IPs and phone numbers see
# the digits in their paths, phone numbers before bare ID-length digit runs.
Spans = Callable[[str, str, tuple[str, ...]], list[tuple[int, int]]]
_PASSES: tuple[tuple[str, Spans], ...] = (
    ("email", _email_pass),
    ("url", _url_spans),
    ("ip", _ipv6_spans),
    ("ip", _ipv4_spans),
    ("phone", _phone_spans),
    ("id", _id_pass),
)


def find_pii(text: str, lang: str | None = None) -> list[tuple[str, int, int, str]]:
    """Every find as (type, start, end, matched text), in the order the passes apply them, with
    offsets into the text as it stands before that pass. For inspection; `scrub_pii` replaces."""
    found = []
    cur = text
    regions = regions_for(lang)
    for kind, spans_of in _PASSES:
        spans = spans_of(ascii_digits(cur), cur, regions)
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


def scrub_pii(text: str, lang: str | None = None) -> tuple[str, dict[str, int]]:
    """`text` with PII replaced by placeholders, and the number of replacements per type.

    `lang` (the document's language) picks the country whose national phone formats are checked
    (`lontar.langs`); without it, or for a language written across the region, every SEA country's."""
    counts = dict.fromkeys(TYPES, 0)
    if not text:
        return text, counts
    regions = regions_for(lang)
    view = ascii_digits(text)
    for kind, spans_of in _PASSES:
        spans = spans_of(view, text, regions)
        if spans:
            text, n = _replace(text, spans, PLACEHOLDER[kind])
            counts[kind] += n
            view = ascii_digits(text)
    return text, counts


def scrub_batch(batch: dict[str, list]) -> tuple[dict[str, list], dict[str, int]]:
    """Scrub the "text" column of a batch (each row in its "lang", when the batch has that column);
    returns the new batch and the counts summed over it."""
    out = dict(batch)
    texts = []
    totals = dict.fromkeys(TYPES, 0)
    langs = batch.get("lang") or [None] * len(batch["text"])
    for text, lang in zip(batch["text"], langs):
        new, counts = scrub_pii(text, lang)
        texts.append(new)
        for k, v in counts.items():
            totals[k] += v
    out["text"] = texts
    return out, totals
