"""A labelled PII set per language, generated from a seed: positives and hard negatives in running text.

Each item is one sentence of the language (templates written for this set) with one slot, or two
phone numbers joined by "/" or ",". A positive's slot holds PII of a known type whose value is drawn
from that country's real formats: mobile prefixes in use, national ids with their check digits and
real birth dates, public IP addresses, e-mail addresses and URLs; in Khmer, Thai, Lao and Burmese
half of the numbers are written in the script's own digits, and some numbers touch the word before
them (no space) or Latin letters ("Tel012 345 678"). A hard negative's slot holds something that
looks like PII and is not: prices (dotted, in native digits too, "២.១៥៣.២១១.១១៨ដុល្លារ"), version
numbers, dotted software names (VB.NET, Node.js), private and loopback addresses, dates and times,
counts, ISBNs, decimals, ids with a wrong check digit or an impossible date (31 February).

    from benchmarks.pii_labelled import generate
    items = generate("km", seed=0)   # list[Item]; same seed, same items

Ground truth is by construction: a value is PII because of how it was drawn, not because any
detector says so.
"""

from __future__ import annotations

import datetime
import ipaddress
import random
from dataclasses import dataclass, field

from stdnum import ean, luhn
from stdnum.th import pin as th_pin

LANGS = ("km", "lo", "my", "th", "vi", "id", "ms", "tl", "en")

# Slots: contact (phone), email, web (url), server (ip), id, and the negatives' price, version, date,
# count, tech. Two contact templates: one with a space before the number, one glued to the word.
T: dict[str, dict[str, str | tuple[str, ...]]] = {
    "km": {"ref": "សូមមើល {x} ។", "contact": ("សូមទាក់ទងមកលេខ {x} ដើម្បីទទួលបានព័ត៌មានបន្ថែម។", "ទូរស័ព្ទ{x} ម៉ោងធ្វើការ។"),
           "email": "ផ្ញើអ៊ីមែលមក {x} ។", "web": "សូមចូលមើលគេហទំព័រ {x} សម្រាប់ព័ត៌មានលម្អិត។",
           "server": "ម៉ាស៊ីនមេនៅអាសយដ្ឋាន {x} បានដាច់។", "id": "លេខអត្តសញ្ញាណប័ណ្ណ {x} ។",
           "price": "តម្លៃសរុប {x} ក្នុងឆ្នាំនេះ។", "version": "កម្មវិធី {x} ត្រូវបានចេញផ្សាយ។",
           "date": "ថ្ងៃទី {x} ។", "count": "ប្រជាជនចំនួន {x} នាក់។", "tech": "ក្រុមហ៊ុនប្រើ {x} សម្រាប់គេហទំព័រ។"},
    "th": {"ref": "ดูข้อมูลที่ {x} ครับ", "contact": ("ติดต่อสอบถามได้ที่ {x} ค่ะ", "โทร.{x} ในเวลาทำการ"),
           "email": "ส่งอีเมลมาที่ {x} นะครับ", "web": "ดูรายละเอียดได้ที่เว็บไซต์ {x} ครับ",
           "server": "เซิร์ฟเวอร์ที่อยู่ {x} ล่ม", "id": "เลขประจำตัวประชาชน {x} ของผู้สมัคร",
           "price": "ราคารวม {x} ในปีนี้", "version": "โปรแกรม {x} ออกแล้ว", "date": "วันที่ {x}",
           "count": "ประชากร {x} คน", "tech": "บริษัทใช้ {x} ในการพัฒนาเว็บ"},
    "lo": {"ref": "ເບິ່ງ {x} .", "contact": ("ຕິດຕໍ່ສອບຖາມໄດ້ທີ່ເບີ {x} ໃນເວລາລາຊະການ", "ໂທ{x} ໄດ້ທຸກມື້."),
           "email": "ສົ່ງອີເມວມາທີ່ {x} .", "web": "ເບິ່ງລາຍລະອຽດໄດ້ທີ່ເວັບໄຊ {x} .",
           "server": "ເຊີບເວີຢູ່ທີ່ {x} ໃຊ້ບໍ່ໄດ້.", "id": "ເລກບັດປະຈຳຕົວ {x}",
           "price": "ລາຄາລວມ {x} ໃນປີນີ້.", "version": "ໂປຣແກຣມ {x} ອອກແລ້ວ.", "date": "ວັນທີ {x}",
           "count": "ປະຊາກອນ {x} ຄົນ.", "tech": "ບໍລິສັດໃຊ້ {x} ໃນການພັດທະນາເວັບ."},
    "my": {"ref": "{x} ကို ကြည့်ပါ။", "contact": ("အသေးစိတ်သိရှိလိုပါက ဖုန်း {x} သို့ ဆက်သွယ်ပါ။", "ဖုန်း{x} ။"),
           "email": "အီးမေးလ် {x} သို့ ပို့ပါ။", "web": "ဝက်ဘ်ဆိုက် {x} တွင် ကြည့်ပါ။",
           "server": "ဆာဗာ {x} ပျက်နေသည်။", "id": "အမှတ် {x}",
           "price": "စုစုပေါင်း {x} ။", "version": "ဆော့ဖ်ဝဲ {x} ထွက်ရှိပြီ။", "date": "ရက်စွဲ {x}",
           "count": "လူဦးရေ {x} ဦး။", "tech": "ကုမ္ပဏီက {x} ကို အသုံးပြုသည်။"},
    "vi": {"ref": "Xem {x}.", "contact": ("Liên hệ hotline {x} để được tư vấn.", "ĐT:{x} (giờ hành chính)."),
           "email": "Gửi email về {x} nhé.", "web": "Xem chi tiết tại {x} nhé.", "server": "Máy chủ {x} bị lỗi.",
           "id": "Số CCCD {x} của ông Nam.", "price": "Tổng giá trị {x} trong năm nay.",
           "version": "Đã phát hành {x}.", "date": "Ngày {x}.", "count": "Dân số {x} người.",
           "tech": "Công ty dùng {x} để phát triển web."},
    "id": {"ref": "Lihat {x}.", "contact": ("Hubungi {x} untuk informasi lebih lanjut.", "HP:{x} (Budi)."),
           "email": "Kirim email ke {x} ya.", "web": "Info lengkap di {x} ya.", "server": "Server {x} sedang down.",
           "id": "NIK {x} atas nama Siti.", "price": "Total nilai {x} tahun ini.", "version": "Sudah rilis {x}.",
           "date": "Tanggal {x}.", "count": "Penduduk {x} jiwa.", "tech": "Perusahaan memakai {x} untuk situs web."},
    "ms": {"ref": "Rujuk {x}.", "contact": ("Sila hubungi {x} untuk maklumat lanjut.", "Tel:{x} (pejabat)."),
           "email": "Hantar e-mel ke {x} sekarang.", "web": "Layari {x} untuk butiran.",
           "server": "Pelayan {x} tidak berfungsi.", "id": "No. kad pengenalan {x} milik Ahmad.",
           "price": "Jumlah nilai {x} tahun ini.", "version": "Telah dikeluarkan {x}.", "date": "Tarikh {x}.",
           "count": "Penduduk seramai {x} orang.", "tech": "Syarikat menggunakan {x} untuk laman web."},
    "tl": {"ref": "Tingnan ang {x}.", "contact": ("Tumawag sa {x} para sa karagdagang impormasyon.", "Cel:{x} (Maria)."),
           "email": "Mag-email sa {x} ngayon.", "web": "Bisitahin ang {x} para sa detalye.",
           "server": "Ang server na {x} ay down.", "id": "Ang PhilSys number ay {x} ayon sa card.",
           "price": "Kabuuang halaga na {x} ngayong taon.", "version": "Inilabas ang {x} kahapon.",
           "date": "Petsa {x}.", "count": "Populasyon na {x} katao.", "tech": "Gumagamit ang kompanya ng {x} para sa website."},
    "en": {"ref": "See {x}.", "contact": ("Call us on {x} for details.", "Tel:{x} (office hours)."),
           "email": "Email {x} for a quote.", "web": "See {x} for details.", "server": "The server at {x} is down.",
           "id": "Card number {x} was used.", "price": "The total is {x} this year.", "version": "We shipped {x} today.",
           "date": "Dated {x}.", "count": "A population of {x} people.", "tech": "The company uses {x} for its website."},
}

REGION = {"km": "KH", "lo": "LA", "my": "MM", "th": "TH", "vi": "VN", "id": "ID", "ms": "MY", "tl": "PH", "en": "SG"}
CC = {"KH": "855", "LA": "856", "MM": "95", "TH": "66", "VN": "84", "ID": "62", "MY": "60", "PH": "63", "SG": "65"}
# Mobile prefixes in use (with the trunk 0) and the digits that follow them.
MOBILE = {
    "KH": [("012", 6), ("017", 6), ("077", 6), ("089", 6), ("092", 6), ("010", 6), ("015", 6), ("070", 6),
           ("097", 7), ("088", 7), ("096", 7), ("071", 7)],
    "TH": [("081", 7), ("089", 7), ("091", 7), ("095", 7), ("061", 7), ("086", 7)],
    "VN": [("091", 7), ("098", 7), ("090", 7), ("032", 7), ("070", 7), ("086", 7), ("083", 7)],
    "ID": [("0812", 8), ("0813", 7), ("0852", 8), ("0878", 8), ("0896", 8)],
    "MY": [("012", 7), ("013", 7), ("016", 7), ("017", 7), ("019", 7), ("011", 8)],
    "PH": [("0917", 7), ("0918", 7), ("0920", 7), ("0927", 7), ("0939", 7), ("0995", 7)],
    "LA": [("0202", 7), ("0205", 7), ("0207", 7), ("0209", 7)],
    "MM": [("0925", 7), ("0945", 7), ("0979", 7), ("0926", 7)],
    "SG": [("8", 7), ("9", 7)],
}
# Landline area codes (with the trunk 0), the first digit of the local number and its length.
LANDLINE = {
    "KH": [("023", "2", 6), ("024", "2", 6), ("063", "9", 6)],
    "TH": [("02", "2", 7), ("053", "2", 6)],
    "VN": [("024", "3", 8), ("028", "3", 8)],
    "ID": [("021", "5", 8), ("022", "2", 7)],
    "MY": [("03", "2", 8), ("04", "2", 7)],
    "PH": [("02", "8", 8), ("032", "2", 7)],
    "LA": [("021", "2", 6), ("021", "4", 6)],
    "MM": [("01", "2", 6), ("067", "4", 6)],
    "SG": [("6", "2", 7)],
}
NATIVE_ZERO = {"km": 0x17E0, "th": 0x0E50, "lo": 0x0ED0, "my": 0x1040}
CURRENCY = {"km": ("ដុល្លារ", "រៀល"), "th": ("บาท",), "lo": ("ກີບ",), "my": ("ကျပ်",), "vi": ("đồng", "VND"),
            "id": ("rupiah",), "ms": ("ringgit",), "tl": ("piso",), "en": ("dollars", "USD")}
TLD = {"km": "kh", "th": "th", "lo": "la", "my": "mm", "vi": "vn", "id": "id", "ms": "my", "tl": "ph", "en": "com"}
NAMES = ("sokha", "dara", "somchai", "nguyen.van.a", "budi", "siti", "ahmad", "maria", "john", "mya", "khamla")


@dataclass
class Item:
    lang: str
    text: str
    label: str  # what the slot holds: "phone", "email", "url", "ip", "id" or a negative kind
    truth: list[tuple[str, str]] = field(default_factory=list)  # (type, value) that must be found

    @property
    def positive(self) -> bool:
        return bool(self.truth)


def _native(lang: str, s: str) -> str:
    zero = NATIVE_ZERO[lang]
    return "".join(chr(zero + int(c)) if c.isdigit() else c for c in s)


def _digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(n))


def _group(rng: random.Random, digits: str) -> str:
    """A national number written the way people do: bare, or in groups with spaces, hyphens or dots."""
    style = rng.choice(["bare", "space", "hyphen", "dot", "space"])
    if style == "bare":
        return digits
    sep = {"space": " ", "hyphen": "-", "dot": "."}[style]
    head = 4 if len(digits) >= 11 else 3
    rest = digits[head:]
    mid = len(rest) // 2 if len(rest) >= 7 else 3
    return sep.join(p for p in (digits[:head], rest[:mid], rest[mid:]) if p)


def phone(rng: random.Random, lang: str, international: bool, landline: bool = False) -> str:
    region = REGION[lang]
    if landline:
        area, first, n = rng.choice(LANDLINE[region])
        national = area + first + _digits(rng, n - 1)
    else:
        prefix, n = rng.choice(MOBILE[region])
        # The block after the prefix starts with 2-5: blocks in use everywhere (some 0, 8, 9 blocks are not).
        national = prefix + str(rng.randint(2, 5)) + _digits(rng, n - 1)
    if region == "SG":
        number = f"{national[:4]} {national[4:]}"
        return f"+65 {number}" if international else number
    if international:
        lead = rng.choice([f"+{CC[region]} ", f"00{CC[region]} ", f"+{CC[region]} (0)"])
        return lead + _group(rng, national[1:])
    return _group(rng, national)


def _date(rng: random.Random) -> datetime.date:
    return datetime.date(1950, 1, 1) + datetime.timedelta(days=rng.randrange(365 * 55))


def national_id(rng: random.Random, lang: str) -> str | None:
    """A valid national id of the language's country, or None where lontar has no rule for one."""
    if lang == "th":
        body = str(rng.randint(1, 8)) + _digits(rng, 11)
        pid = body + th_pin.calc_check_digit(body)
        return rng.choice([pid, f"{pid[0]}-{pid[1:5]}-{pid[5:10]}-{pid[10:12]}-{pid[12]}"])
    if lang == "id":
        d = _date(rng)
        day = d.day + (40 if rng.random() < 0.5 else 0)
        place = rng.choice(["3201", "3171", "3578", "5171", "3273", "1271"]) + f"{rng.randint(1, 30):02d}"
        return f"{place}{day:02d}{d.month:02d}{d.year % 100:02d}{rng.randint(1, 9999):04d}"
    if lang == "ms":
        d = _date(rng)
        return f"{d.year % 100:02d}{d.month:02d}{d.day:02d}-{rng.randint(1, 14):02d}-{_digits(rng, 4)}"
    if lang == "vi":  # CCCD: province 001-096, century/sex digit, birth year, 6 digits
        d = _date(rng)
        return f"{rng.randint(1, 96):03d}{rng.choice('0123') if d.year < 2000 else rng.choice('23')}{d.year % 100:02d}{_digits(rng, 6)}"
    if lang == "tl":  # PhilSys PSN, 16 digits in groups of four
        psn = str(rng.randint(1, 9)) + _digits(rng, 15)
        return "-".join(psn[i:i + 4] for i in range(0, 16, 4))
    if lang == "km":  # Cambodian national id card: 9 digits
        return str(rng.randint(1, 9)) + _digits(rng, 8)
    if lang == "en":  # a payment card number (Luhn)
        body = "4" + _digits(rng, 14)
        card = body + luhn.calc_check_digit(body)
        return " ".join(card[i:i + 4] for i in range(0, 16, 4))
    return None  # lo, my: no id format lontar knows


def public_ip(rng: random.Random) -> str:
    while True:
        if rng.random() < 0.8:
            addr = ipaddress.IPv4Address(rng.getrandbits(32))
        else:
            addr = ipaddress.IPv6Address((0x2400 + rng.randrange(0x300)) << 112 | rng.getrandbits(64))
        if addr.is_global:
            return addr.compressed


def email(rng: random.Random, lang: str) -> str:
    return f"{rng.choice(NAMES)}{rng.randint(1, 99)}@{rng.choice(['gmail.com', 'yahoo.com', f'mail.gov.{TLD[lang]}', f'company.com.{TLD[lang]}'])}"


def url(rng: random.Random, lang: str) -> str:
    host = rng.choice(["news", "shop", "school", "ministry", "travel"]) + f"{rng.randint(1, 99)}"
    return rng.choice([f"https://www.{host}.{TLD[lang]}/article/{rng.randint(100, 99999)}",
                       f"http://{host}.com/page?id={rng.randint(1, 999)}", f"www.{host}.org", f"{host}.com.{TLD[lang]}"])


# -- negatives ---------------------------------------------------------------------------------------
def _dotted_amount(rng: random.Random) -> str:
    return ".".join([str(rng.randint(1, 9))] + [f"{rng.randint(0, 999):03d}" for _ in range(3)])


def negative(rng: random.Random, lang: str, kind: str) -> tuple[str, str]:
    """(slot name, value) for a hard negative of `kind`."""
    native = lang in NATIVE_ZERO and rng.random() < 0.5
    if kind == "price_dotted":
        v = _dotted_amount(rng) + ("" if lang in NATIVE_ZERO else " ") + rng.choice(CURRENCY[lang])
        return "price", _native(lang, v) if lang in NATIVE_ZERO else v
    if kind == "price_plain":
        v = f"{rng.randint(100, 999)}{rng.randint(100000, 999999)} {rng.choice(CURRENCY[lang])}"
        return "price", _native(lang, v) if native else v
    if kind == "version":
        return "version", rng.choice([f"v{rng.randint(1, 9)}.{rng.randint(0, 20)}.{rng.randint(0, 9)}",
                                      f"version {rng.randint(1, 9)}.{rng.randint(0, 9)}.{rng.randint(0, 9)}.{rng.randint(1, 99)}",
                                      f"Python 3.{rng.randint(8, 13)}.{rng.randint(0, 9)}",
                                      f"build 10.0.{rng.randint(10000, 22000)}.{rng.randint(1, 999)}"])
    if kind == "tech":
        return "tech", rng.choice(["VB.NET", "ASP.NET", "Node.js", "Vue.js", "System.IO", "ADO.NET", "Socket.io",
                                   "Next.js", "ASP.NET Core"])
    if kind == "private_ip":
        return "server", rng.choice([f"192.168.{rng.randint(0, 255)}.{rng.randint(1, 254)}",
                                     f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}",
                                     "127.0.0.1", f"172.{rng.randint(16, 31)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}",
                                     "::1", f"fe80::{rng.randint(1, 0xffff):x}"])
    if kind == "date":
        d = _date(rng)
        v = rng.choice([f"{d.day:02d}/{d.month:02d}/{d.year}", d.isoformat(), f"{d.day}.{d.month}.{d.year}",
                        f"{d.day:02d}-{d.month:02d}-{d.year} {rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}"])
        return "date", _native(lang, v) if native else v
    if kind == "count":
        v = rng.choice([f"{rng.randint(10, 99)} {rng.randint(100, 999)} {rng.randint(100, 999)}",
                        f"{rng.randint(1, 9)},{rng.randint(100, 999)},{rng.randint(100, 999)}",
                        f"{rng.randint(1960, 1990)}-{rng.randint(1991, 2024)}", f"0.{_digits(rng, 9)}"])
        return "count", _native(lang, v) if native else v
    if kind == "reference":  # book numbers, law numbers, coordinates, times: digits that are no one's
        isbn10 = "0" + _digits(rng, 8)
        isbn10 += _isbn10_check(isbn10)
        v = rng.choice([f"ISBN {isbn10}", f"ISBN {isbn10[0]}-{isbn10[1:4]}-{isbn10[4:9]}-{isbn10[9]}",
                        f"No. 0{rng.randint(10, 99)}/{rng.randint(2000, 2024)}",
                        f"{rng.uniform(-10, 25):.4f}, {rng.uniform(95, 125):.4f}",
                        f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}",
                        f"{rng.randint(1, 99)}.{rng.randint(1, 9)}%"])
        return "ref", _native(lang, v) if native and not v.startswith(("ISBN", "No")) else v
    if kind == "bad_id":
        body = str(rng.randint(1, 8)) + _digits(rng, 11)
        good = th_pin.calc_check_digit(body)
        thai_bad = body + str((int(good) + rng.randint(1, 9)) % 10)
        return "id", rng.choice([
            thai_bad,
            f"{rng.randint(50, 99):02d}0231-{rng.randint(1, 14):02d}-{_digits(rng, 4)}",  # 31 February
            f"{rng.randint(50, 99):02d}13{rng.randint(1, 28):02d}-{rng.randint(1, 14):02d}-{_digits(rng, 4)}",  # month 13
            (lambda b: b + ean.calc_check_digit(b))("978" + _digits(rng, 9)),  # an ISBN-13
        ])
    raise ValueError(kind)


NEGATIVE_KINDS = ("price_dotted", "price_plain", "version", "tech", "private_ip", "date", "count", "bad_id",
                  "reference")


def _isbn10_check(body: str) -> str:
    check = (11 - sum((10 - i) * int(d) for i, d in enumerate(body)) % 11) % 11
    return "X" if check == 10 else str(check)


def _fill(rng: random.Random, lang: str, slot: str, value: str) -> tuple[str, str]:
    tmpl = T[lang][slot]
    if isinstance(tmpl, tuple):
        tmpl = rng.choice(tmpl)
    return tmpl.replace("{x}", value), value


def generate(lang: str, seed: int = 0, positives: int = 63, negatives: int = 63) -> list[Item]:
    """`positives` items holding PII and `negatives` hard negatives for `lang`, the same for the same seed."""
    rng = random.Random(f"{lang}:{seed}")
    items: list[Item] = []
    kinds = ["phone", "phone_intl", "phone_pair", "phone_latin", "landline", "email", "url", "ip", "id"]
    if national_id(random.Random(0), lang) is None:
        kinds.remove("id")
    for i in range(positives):
        kind = kinds[i % len(kinds)]
        native = lang in NATIVE_ZERO and rng.random() < 0.5
        if kind in ("phone", "phone_intl", "landline"):
            v = phone(rng, lang, kind == "phone_intl" or (kind == "landline" and rng.random() < 0.3),
                      landline=kind == "landline")
            v = _native(lang, v) if native and not v.startswith(("+", "00")) else v
            text, _ = _fill(rng, lang, "contact", v)
            items.append(Item(lang, text, "phone", [("phone", v)]))
        elif kind == "phone_pair":
            a, b = phone(rng, lang, False), phone(rng, lang, False)
            if native:
                a, b = _native(lang, a), _native(lang, b)
            text, _ = _fill(rng, lang, "contact", f"{a}{rng.choice(['/', ',', ' / ', ', '])}{b}")
            items.append(Item(lang, text, "phone", [("phone", a), ("phone", b)]))
        elif kind == "phone_latin":
            v = phone(rng, lang, False)
            word = rng.choice(["Tel", "Phone", "HP", "Mob"])
            text = T[lang]["contact"][0].replace("{x}", f"{word}{v}" if rng.random() < 0.5 else f"{v}{word}")
            items.append(Item(lang, text, "phone", [("phone", v)]))
        elif kind == "email":
            v = email(rng, lang)
            items.append(Item(lang, _fill(rng, lang, "email", v)[0], "email", [("email", v)]))
        elif kind == "url":
            v = url(rng, lang)
            items.append(Item(lang, _fill(rng, lang, "web", v)[0], "url", [("url", v)]))
        elif kind == "ip":
            v = public_ip(rng)
            items.append(Item(lang, _fill(rng, lang, "server", v)[0], "ip", [("ip", v)]))
        else:
            v = national_id(rng, lang)
            assert v is not None
            v = _native(lang, v) if native else v
            items.append(Item(lang, _fill(rng, lang, "id", v)[0], "id", [("id", v)]))
    for i in range(negatives):
        kind = NEGATIVE_KINDS[i % len(NEGATIVE_KINDS)]
        slot, v = negative(rng, lang, kind)
        items.append(Item(lang, _fill(rng, lang, slot, v)[0], kind))
    return items
