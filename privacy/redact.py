"""Redaction of a text window: every personal-data span becomes its type (`[EMAIL]` …).

Spans come from the scan's sidecar; a runtime pattern pass (the same tiered detector) also
runs on every window shown, so a span the scan missed, or a window of text that was never
scanned, is still redacted. One data subject's own identifiers can be left visible (for their
access report) by passing their value hashes in `keep`.

A third pass, the *display pass* (`display_finds`), always runs: compiled patterns only, no
Presidio call, cheap enough for whole documents. It finds what Presidio's recognizers do not
accept but a reader would still recognise: e-mail addresses with any suffix (`.internal`,
`.example`), written with full-width or invisible characters, or obfuscated (`name [at]
domain [dot] org`, `name(at)domain.org`, `name at domain dot org`); card numbers (Luhn) and
IBANs (mod 97, the country's layout) in any spacing and case. The scan's statistics stay
Presidio's; only what is shown is redacted more widely.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

import re2
import regex

from corpuscope.models.documents import PiiSpan
from corpuscope.privacy.detect import Detector, shared_detector
from corpuscope.privacy.hashing import luhn_valid, value_hash
from corpuscope.privacy.recognizers import LABELS

#: Score of a display-pass find: where it overlaps a scan or runtime find, the more
#: confident of them names the merged span. Its checks (an at-sign and a top-level domain,
#: Luhn, mod 97) are as strict as Presidio's, whose e-mails, cards and IBANs score 1.0; an IP
#: address (0.6) inside "jane@[192.0.2.7]" or a phone number (0.4 and up) read in a spaced
#: card number gives way to it.
DISPLAY_SCORE = 0.9


@dataclass(frozen=True, slots=True)
class Redaction:
    """One replaced stretch of the window: where it was and what label replaced it."""

    start: int
    end: int
    entity_type: str
    label: str


def redact(
    text: str,
    spans: Iterable[PiiSpan] = (),
    offset: int = 0,
    keep: frozenset[str] | set[str] = frozenset(),
    key: bytes | None = None,
    detector: Detector | None = None,
    runtime_pass: bool = True,
    phone_region: str = "US",
) -> tuple[str, list[Redaction]]:
    """Redact `text`, a window starting at character `offset` of its document.

    `spans` are the document's sidecar spans (document offsets; those outside the window are
    ignored, those crossing its edges are cut to it). `keep` holds value hashes left visible;
    runtime and display findings are hashed with `key` to be compared with it (without a key,
    every such finding is redacted). The display pass runs always, also without the runtime
    pass. Returns the redacted text and what was replaced. Redacting redacted text changes
    nothing (labels are never taken for personal data).
    """
    found: list[tuple[int, int, str, float]] = []
    end_of_window = offset + len(text)
    for s in spans:
        if s.end <= offset or s.start >= end_of_window or s.value_hash in keep:
            continue
        found.append(
            (
                max(s.start, offset) - offset,
                min(s.end, end_of_window) - offset,
                s.entity_type,
                s.score,
            )
        )
    check = bool(keep) and key is not None
    if runtime_pass:
        for r in (detector or shared_detector()).detect(text):
            if check:
                h = value_hash(key, r.entity_type, text[r.start : r.end], phone_region)
                if h in keep:
                    continue
            found.append((r.start, r.end, r.entity_type, r.score))
    for f in display_finds(text):
        if check and value_hash(key, f.entity_type, f.value, phone_region) in keep:
            continue
        found.append((f.start, f.end, f.entity_type, DISPLAY_SCORE))
    merged = _merge(found)
    out, last = [], 0
    for start, end, _entity, label in merged:
        out.append(text[last:start])
        out.append(label)
        last = end
    out.append(text[last:])
    return "".join(out), [Redaction(s, e, t, lab) for s, e, t, lab in merged]


def _merge(found: list[tuple[int, int, str, float]]) -> list[tuple[int, int, str, str]]:
    """Overlapping spans become one, labelled by the most confident of them."""
    merged: list[list] = []
    for start, end, entity, score in sorted(found):
        if merged and start < merged[-1][1]:
            m = merged[-1]
            m[1] = max(m[1], end)
            if score > m[3]:
                m[2], m[3] = entity, score
        else:
            merged.append([start, end, entity, score])
    return [(s, e, t, LABELS.get(t, f"[{t}]")) for s, e, t, _ in merged]


# -- the display pass ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DisplayFind:
    """A value the display pass found: where, what, and its canonical value (the address
    as `local@domain`, the card's digits, the IBAN compact and upper-case), which is what
    `value_hash` of the scan's span of the same value hashes."""

    start: int
    end: int
    entity_type: str
    value: str
    form: str  # how it was written: email, email-bracketed, email-spelled, card, iban


#: Characters that show as nothing: Unicode's default-ignorable code points (soft hyphen,
#: combining grapheme joiner, Arabic letter mark, Hangul fillers, Khmer inherent vowels,
#: Mongolian variation selectors and vowel separator, zero-width space, non-joiner and
#: joiner, direction marks, embeddings, overrides and isolates, word joiner, invisible
#: operators, variation selectors, byte-order mark, shorthand format controls, musical
#: formatting, tag characters), as ranges of a character class …
_INVISIBLE_RANGES = (
    (0x00AD, 0x00AD), (0x034F, 0x034F), (0x061C, 0x061C), (0x115F, 0x1160), (0x17B4, 0x17B5),
    (0x180B, 0x180F), (0x200B, 0x200F), (0x202A, 0x202E), (0x2060, 0x206F), (0x3164, 0x3164),
    (0xFE00, 0xFE0F), (0xFEFF, 0xFEFF), (0xFFA0, 0xFFA0), (0xFFF0, 0xFFF8), (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A), (0xE0000, 0xE0FFF),
)  # fmt: skip
_INVISIBLE_CLASS = "".join(chr(a) if a == b else f"{chr(a)}-{chr(b)}" for a, b in _INVISIBLE_RANGES)
#: … and every one of them, as a string.
INVISIBLE = "".join(chr(c) for a, b in _INVISIBLE_RANGES for c in range(a, b + 1))
_INVISIBLE_SET = frozenset(INVISIBLE)
_AT_SIGNS = "@\uff20\ufe6b"  # commercial at, full-width, small: all whose NFKC form is "@"
#: Full stop and every character whose NFKC form is one (full-width, small, one dot leader) …
_NFKC_DOTS = ".\uff0e\ufe52\u2024"
_DOTS = _NFKC_DOTS + "\u3002\uff61"  # … then ideographic and half-width ideographic
#: Spaces between the groups of a card number or an IBAN: space, tab, no-break, the
#: typographic spaces (en quad … hair space), narrow no-break, medium mathematical,
#: ideographic; then dots, hyphens, dashes and the invisible characters. Any run of them
#: (on one line) separates two groups.
_GAP_SPACES = (
    " \t\u00a0\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u202f\u205f\u3000"
)
_GAP_SPACE_SET = frozenset(_GAP_SPACES)
_GAP_MARKS = _NFKC_DOTS + "\u00b7-\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe63\uff0d"
_GAP_CHARS = _GAP_SPACES + _GAP_MARKS + INVISIBLE
_GAP = "[" + _GAP_SPACES + _GAP_MARKS.replace("-", "\\-") + _INVISIBLE_CLASS + "]"
_Z = f"[{_INVISIBLE_CLASS}]"
_SP = f"[ \t\u00a0{_INVISIBLE_CLASS}]"  # spaces around "at" and "dot"; invisible ones too


def _word(*spellings: str, any_case: bool = False) -> str:
    """The words, each letter possibly followed by invisible characters ("d\u00adot")."""
    words = [[f"[{c.lower()}{c.upper()}]" if any_case else c for c in w] for w in spellings]
    return "(?:" + "|".join(f"{_Z}*".join(w) for w in words) + ")"


_OPEN, _CLOSE = r"[\[\(\{<]", r"[\]\)\}>]"
_SPELLED_DOT = (  # "[dot]", "(.)", " dot ", " DOT "
    rf"{_SP}*{_OPEN}{_SP}*(?:{_word('dot', any_case=True)}|[{_NFKC_DOTS}]){_SP}*{_CLOSE}{_SP}*"
    rf"|{_SP}+{_word('dot', 'DOT', 'Dot')}{_SP}+"
)

# IBAN layouts: country -> the BBAN after the check digits, as counts of n (digits),
# a (upper-case letters) and c (letters or digits). From Presidio's table
# (presidio_analyzer iban_patterns), with its PT, PS, QA and MU lengths corrected, plus SV,
# ST, RU, MN and SD.
_IBAN_LAYOUTS = {
    "AL": "8n16c", "AD": "8n12c", "AT": "16n", "AZ": "4c20n", "BH": "4a14c", "BY": "4c4n16c",
    "BE": "12n", "BA": "16n", "BR": "23n1a1c", "BG": "4a6n8c", "CR": "18n", "HR": "17n",
    "CY": "8n16c", "CZ": "20n", "DK": "14n", "DO": "4a20n", "TL": "19n", "EE": "16n",
    "FO": "14n", "FI": "14n", "FR": "10n11c2n", "GE": "2c16n", "DE": "18n", "GI": "4a15c",
    "GR": "7n16c", "GL": "14n", "GT": "24c", "HU": "24n", "IS": "22n", "IE": "4c14n",
    "IL": "19n", "IT": "1a10n12c", "JO": "4a22n", "KZ": "3n13c", "XK": "16n", "KW": "4a22c",
    "LV": "4a13c", "LB": "4n20c", "LI": "5n12c", "LT": "16n", "LU": "3n13c", "MT": "4a5n18c",
    "MR": "23n", "MU": "4a19n3a", "MD": "20c", "MC": "10n11c2n", "ME": "18n", "NL": "4a10n",
    "MK": "3n10c2n", "NO": "11n", "PK": "4c16n", "PS": "4c21n", "PL": "24n", "PT": "21n",
    "QA": "4a21c", "RO": "4a16c", "SM": "1a10n12c", "SA": "2n18c", "RS": "18n", "SK": "20n",
    "SI": "15n", "ES": "20n", "SE": "20n", "CH": "5n12c", "TN": "20n", "TR": "5n17c",
    "AE": "19n", "GB": "4a14n", "VA": "18n", "VG": "4c16n", "EG": "25n", "IQ": "4a15n",
    "LY": "21n", "LC": "4a24c", "SC": "4a20n3a", "UA": "6n19c", "SV": "4a20n", "ST": "21n",
    "RU": "9n5n15c", "MN": "16n", "SD": "14n",
}  # fmt: skip
_LAYOUT_PART = re.compile(r"(\d+)([nac])")
_LAYOUT_CLASS = {"n": "[0-9]", "a": "[A-Z]", "c": "[A-Z0-9]"}
_IBAN_BBAN = {
    cc: (
        sum(int(n) for n, _ in _LAYOUT_PART.findall(layout)),
        re.compile("".join(f"{_LAYOUT_CLASS[k]}{{{n}}}" for n, k in _LAYOUT_PART.findall(layout))),
    )
    for cc, layout in _IBAN_LAYOUTS.items()
}
_MIN_BBAN = min(n for n, _ in _IBAN_BBAN.values())

# Triggers (RE2 over the text's UTF-8; `\b` and `[0-9a-z]` are ASCII there). Each is a
# necessary condition of a find of its family; the Python checks below only narrow them.
_LETTER_RE2 = r"[0-9A-Za-z\x{80}-\x{10ffff}]"  # a letter or digit, or any non-ASCII
_OBFUSCATED_AT = (
    rf"{_OPEN}{_SP}{{0,3}}{_word('at', any_case=True)}{_SP}{{0,3}}{_CLOSE}"
    # "at" as a word, a word after it, then a dot (real, bracketed or spelled) and more
    rf"|(?:^|[\s\x{{a0}}]){_Z}*{_word('at', 'AT', 'At')}{_SP}+{_LETTER_RE2}(?:{_LETTER_RE2}|-)*"
    rf"(?:{_Z}*[{_DOTS}]{_Z}*|{_SPELLED_DOT}){_LETTER_RE2}"
)
# four digits in a row (a card is one group, or groups of four and more), then nine more
_CARD_TRIGGER = rf"\p{{Nd}}{{4}}(?:{_GAP}*\p{{Nd}}){{9,}}"
_IBAN_START = rf"(?i)\b(?:{'|'.join(_IBAN_LAYOUTS)}){_GAP}*[0-9]{{2}}"
_IBAN_TRIGGER = rf"{_IBAN_START}(?:{_GAP}*[0-9a-z]){{{_MIN_BBAN}}}"
_ANY_TRIGGER = re2.compile(
    f"[{_AT_SIGNS}]|(?:{_OBFUSCATED_AT})|(?:{_CARD_TRIGGER})|(?:{_IBAN_TRIGGER})"
)
_OBFUSCATED_FINDER = re2.compile(_OBFUSCATED_AT)  # at-signs are found with str.find
_CARD_FINDER = re2.compile(_CARD_TRIGGER)
_IBAN_FINDER = re2.compile(_IBAN_START)  # the start only: a failed one hides no other

# E-mail parts (the `regex` module; `(?r)` matches backwards from the end position).
_ATOM = rf"(?:[\w!#$%&'*+/=?^`{{|}}~\-]{_Z}*)+"
_LOCAL_DOT = rf"{_Z}*[{_DOTS}]{_Z}*"  # "jane。roe" shows no more than "jane.roe"
_LOCAL = regex.compile(rf"(?r){_ATOM}(?:{_LOCAL_DOT}{_ATOM})*")
_LOCAL_SPELLED = regex.compile(rf"(?r){_ATOM}(?:(?:{_LOCAL_DOT}|{_SPELLED_DOT}){_ATOM})*")
_LABEL = rf"[^\W_]{_Z}*(?:[\w\-]{_Z}*)*"
_DOMAIN = regex.compile(rf"({_LABEL})(?:({_Z}*[{_DOTS}]{_Z}*|{_SPELLED_DOT})({_LABEL}))+")
_ONE_LABEL = regex.compile(rf"{_LABEL}(?![\w\-]|{_Z}*[{_DOTS}]{_Z}*[^\W_])")
_ADDRESS_LITERAL = regex.compile(r"\[(?:\d{1,3}(?:\.\d{1,3}){3}|IPv6:[0-9A-Fa-f:.]+)\]")
_BRACKETED_AT = regex.compile(rf"{_OPEN}{_SP}{{0,3}}[{_AT_SIGNS}]{_SP}{{0,3}}{_CLOSE}")
_WORD_AT = regex.compile(_word("at", "AT", "At"))
_SPELLED_DOT_RE = regex.compile(_SPELLED_DOT)
_RETINA = regex.compile(r"[1-4]x\.(?:png|jpe?g|gif|webp|svg|avif)\b", regex.IGNORECASE)
_BLANK = re.compile(f"[ \t\u00a0{_INVISIBLE_CLASS}]*")  # on the same line
_DIGITS = re.compile(r"\d+")

#: Words that, before "at", say it is prose ("look at", "us at") …
_NOT_LOCAL = frozenset((
    "look", "looks", "looked", "looking", "stare", "stared", "staring", "laugh", "laughed",
    "laughing", "aim", "aimed", "aiming", "point", "pointed", "pointing", "arrive", "arrived",
    "arrives", "arriving", "meet", "met", "meeting", "available", "found", "held", "based",
    "located", "live", "lives", "lived", "living", "work", "works", "worked", "working", "born",
    "stop", "stopped", "me", "us", "you", "him", "her", "them", "it", "we", "they", "i", "he",
    "she", "is", "are", "was", "were", "be", "been", "and", "or", "but", "not", "only", "even",
    "just", "also", "still", "up", "out", "in", "on", "off", "down", "back", "here", "there",
    "time", "times", "home"
))  # fmt: skip
#: … and, after it, that no domain follows ("at the", "at home").
_NOT_DOMAIN = frozenset((
    "the", "a", "an", "this", "that", "these", "those", "my", "your", "his", "her", "its",
    "our", "their", "one", "some", "any", "each", "every", "all", "no", "least", "most", "last",
    "first", "home", "work", "school", "night", "noon", "once", "times", "it", "me", "you",
    "him", "them", "us", "what", "which", "whose", "such", "both", "either", "neither",
    "another", "other", "same", "end", "top", "bottom", "best", "worst"
))  # fmt: skip
#: First labels of code, not of mail domains ("… at com.example.Foo.bar(Foo.java:10)").
_PACKAGE_ROOTS = frozenset((
    "com", "org", "net", "edu", "gov", "io", "java", "javax", "sun", "android", "kotlin", "scala"
))  # fmt: skip
#: Suffixes reserved for tests, documentation and local networks (RFC 2606, 6761, 6762).
_SPECIAL_SUFFIXES = frozenset((
    "example", "test", "invalid", "localhost", "local", "internal", "intranet", "lan", "home",
    "corp", "private", "onion"
))  # fmt: skip
#: Domains of one label taken for an address's ("root@localhost"; not "mom@home", "amig@s").
_ONE_LABEL_DOMAINS = frozenset(
    ("localhost", "localdomain", "example", "test", "invalid", "local", "internal")
)


@lru_cache(maxsize=1)
def _top_level_domains() -> frozenset[str]:
    """The top-level labels of the public suffix list bundled with tldextract (offline)."""
    from importlib.resources import files

    try:
        text = (files("tldextract") / ".tld_set_snapshot").read_text(encoding="utf-8")
    except (OSError, ModuleNotFoundError):  # no snapshot: the common ones
        text = "com org net edu gov mil int info biz io co uk de fr eu"
    tlds = set()
    for line in text.splitlines():
        rule = line.strip()
        if rule and not rule.startswith("//"):
            tlds.add(rule.split()[0].rsplit(".", 1)[-1].lstrip("!*").lower())
    return frozenset(tlds)


def display_finds(text: str) -> list[DisplayFind]:
    """E-mail addresses (any suffix, full-width and invisible characters, obfuscated),
    cards (Luhn) and IBANs (mod 97) in any spacing, found with compiled patterns only.

    One RE2 search over the whole text first: most texts have no trigger at all.
    """
    data = text.encode("utf-8", "surrogatepass")
    if _ANY_TRIGGER.search(data) is None:
        return []
    finds: list[DisplayFind] = []
    signs = []
    for sign in _AT_SIGNS:
        i = text.find(sign)
        while i >= 0:
            signs.append((i, i + 1))
            i = text.find(sign, i + 1)
    for start, end in sorted(signs) + _char_spans(text, data, _OBFUSCATED_FINDER):
        f = _email_at(text, start, end)
        if f is not None:
            finds.append(f)
    for start, end in _char_spans(text, data, _CARD_FINDER):
        finds.extend(_cards_in(text, start, end))
    for start, end in _char_spans(text, data, _IBAN_FINDER):
        f = _iban_at(text, start, end)
        if f is not None:
            finds.append(f)
    return finds


def _char_spans(text: str, data: bytes, finder) -> list[tuple[int, int]]:
    """Character ranges of `finder`'s matches in `data`, the UTF-8 of `text`."""
    found = [(m.start(), m.end()) for m in finder.finditer(data)]
    if len(data) == len(text) or not found:
        return found
    out, byte, char = [], 0, 0
    for start, end in found:
        char += len(data[byte:start].decode("utf-8", "surrogatepass"))
        first = char
        char += len(data[start:end].decode("utf-8", "surrogatepass"))
        byte = end
        out.append((first, char))
    return out


# -- e-mail addresses


def _email_at(text: str, start: int, end: int) -> DisplayFind | None:
    """The address around an at-sign trigger [start, end), if it is one."""
    c = text[start]
    if c in _AT_SIGNS:
        kind, a0, a1 = "sign", start, end
        for lo in range(max(0, start - 4), start):  # "[@]", "( @ )"
            m = _BRACKETED_AT.match(text, lo)
            if m and m.end() > start:
                kind, a0, a1 = "bracket", lo, m.end()
                break
    elif c in "[({<":
        kind, a0, a1 = "bracket", start, end
    else:  # the word "at": a trigger starts at it or at the white space before it
        m = _WORD_AT.search(text, start, end)
        kind, a0, a1 = "word", m.start(), m.end()
    # the local part before it (first: it is what most triggers lack), then the domain
    d0 = a1
    if kind == "sign":
        spaced_before = a0 > 0 and text[a0 - 1] in " \t\u00a0"
        if spaced_before != (d0 < len(text) and text[d0] in " \t\u00a0"):
            return None  # "@handle" after a word, "jane@ x": not "jane @ example.org"
        if spaced_before:
            a0, d0 = a0 - 1, d0 + 1
        l_end = a0
    else:
        d0 = _BLANK.match(text, d0).end()
        l_end = a0 - len(_BLANK.match(text[max(0, a0 - 8) : a0][::-1]).group())
    local = _local(text, l_end, spelled_dots=False)
    if local is None:
        return None
    if kind == "word" and _last_word(local[1]) in _NOT_LOCAL:
        return None
    while d0 < len(text) and text[d0] in _INVISIBLE_SET:
        d0 += 1
    domain = _domain(text, d0, kind)
    if domain is None:
        return None
    d_end, labels, spelled = domain
    if kind == "word" and (
        labels[0].lower() in _NOT_DOMAIN
        or not (spelled or _looks_like_address(local[1]) or _upper_at(text, a0, local[1]))
        or (not spelled and labels[0].lower() in _PACKAGE_ROOTS)
    ):
        return None
    if kind == "bracket" or (kind == "word" and spelled):  # "john [dot] smith [at] …"
        local = _local(text, l_end, spelled_dots=True) or local
    l_start, local_value = local
    if kind == "sign" and _RETINA.match(text, d0):
        return None  # "icon@2x.png": an image name
    form = {"sign": "email", "bracket": "email-bracketed", "word": "email-spelled"}[kind]
    value = f"{local_value}@{'.'.join(labels)}".lower()
    return DisplayFind(l_start, d_end, "EMAIL_ADDRESS", value, form)


def _domain(text: str, start: int, kind: str) -> tuple[int, list[str], bool] | None:
    """The domain starting at `start`: its end, its labels (clean) and whether a dot was
    spelled or bracketed. Its last label must look like a top-level domain: letters (or
    `xn--`), and, where the address is spelled out, a known one."""
    if kind == "sign":
        m = _ADDRESS_LITERAL.match(text, start)
        if m:
            return m.end(), [m.group()], False
    m = _DOMAIN.match(text, start)
    if m is None:
        m = _ONE_LABEL.match(text, start)
        if kind == "sign" and m and _clean(m.group()).lower() in _ONE_LABEL_DOMAINS:
            return m.end(), [_clean(m.group())], False  # jane@localhost, jane@example
        return None
    label_spans = [m.span(1), *m.spans(3)]
    dots = m.captures(2)
    for k in range(len(dots), 0, -1):
        spelled_dot = dots[k - 1].translate(_DROP_INVISIBLE) not in _DOTS
        need_known = kind == "word" or (spelled_dot and kind == "sign")
        end = _tld_end(text, *label_spans[k], need_known)
        if end is None:
            continue
        labels = [_clean(text[s:e]) for s, e in label_spans[:k]] + [
            _clean(text[label_spans[k][0] : end])
        ]
        spelled = any(d.translate(_DROP_INVISIBLE) not in _DOTS for d in dots[:k])
        return end, labels, spelled
    return None


def _tld_end(text: str, start: int, end: int, need_known: bool) -> int | None:
    """Where a top-level label starting at `start` ends: its letters (at least two), or the
    whole label for `xn--`; None if it is no such label."""
    clean = _clean(text[start:end]).lower()
    if clean.startswith("xn--") and len(clean) > 4:
        stop = end
    else:
        stop, letters = start, 0
        for i in range(start, end):
            ch = text[i]
            if ch in _INVISIBLE_SET:
                continue
            if not ch.isalpha():
                break
            letters += 1
            stop = i + 1
        if not 2 <= letters <= 63:
            return None
        clean = _clean(text[start:stop]).lower()
    if need_known and clean not in _SPECIAL_SUFFIXES and clean not in _top_level_domains():
        return None
    return stop


def _local(text: str, end: int, spelled_dots: bool) -> tuple[int, str] | None:
    """The local part ending at `end`: where it starts and its clean value."""
    if end > 0 and text[end - 1] == '"':  # a quoted local part: "jane doe"@example.org
        open_ = text.rfind('"', max(0, end - 66), end - 1)
        if open_ >= 0 and "\n" not in text[open_:end]:
            return open_, text[open_:end]
        return None
    finder = _LOCAL_SPELLED if spelled_dots else _LOCAL
    m = finder.match(text, max(0, end - 256), end)
    if m is None:
        return None
    start = m.start()
    # "/", "=" and "|" are a local part's characters as much as "+" ("jane/doe@…", RFC 5322
    # atext), so "key=jane@…" is hidden whole, as Presidio's recognizer does; only in a URL
    # ("https://host/?to=jane@…") the address starts after its path's or query's last
    # separator. It starts with a letter or digit.
    if start > 0 and text[start - 1] == ":" and text.startswith("//", start):
        for sep in "/=?&":
            cut = text.rfind(sep, start, end)
            if cut >= 0:
                start = max(start, cut + 1)
    while start < end and not (text[start].isalnum() or text[start] == "_"):
        start += 1
    value = _clean(text[start:end])
    if not any(ch.isalnum() for ch in value):
        return None
    value = _SPELLED_DOT_RE.sub(".", value)
    return start, value


def _upper_at(text: str, a0: int, local: str) -> bool:
    """ "jane AT example.com": an upper-case AT after a local part in lower case."""
    return text.startswith("AT", a0) and any(ch.islower() for ch in local)


def _last_word(local: str) -> str:
    return re.split(r"[.\uff0e\s]+", local)[-1].lower()


def _looks_like_address(local: str) -> bool:
    """A local part that is no ordinary word: two letters or more, and a dot, underscore,
    plus or digit ("jane.doe", "jd99"; not "v2.0", not "Jane")."""
    return sum(ch.isalpha() for ch in local) >= 2 and any(
        ch in "._+" or ch.isdigit() for ch in local
    )


def _clean(s: str) -> str:
    """`s` without invisible characters, full-width forms folded (NFKC)."""
    return unicodedata.normalize("NFKC", s.translate(_DROP_INVISIBLE))


_DROP_INVISIBLE = dict.fromkeys(map(ord, INVISIBLE))

# -- cards


def _cards_in(text: str, start: int, end: int) -> list[DisplayFind]:
    """Card numbers in a run of digits and gaps [start, end): 13 to 19 digits that pass Luhn
    and start as a card network's numbers do, written in one group or in groups of at least
    four digits (the last may be shorter); a number inside the run must be set off from the
    rest by a space (not a dot: "0.4111…" is a decimal)."""
    groups = [(m.start(), m.end()) for m in _DIGITS.finditer(text, start, end)]
    digits = [_ascii_digits(text[s:e]) for s, e in groups]
    n = len(groups)
    spaced = [
        any(ch in _GAP_SPACE_SET for ch in text[groups[k][1] : groups[k + 1][0]])
        for k in range(n - 1)
    ]
    blocked_left = start > 0 and (text[start - 1].isalnum() or text[start - 1] == "_")
    blocked_right = end < len(text) and (text[end].isalnum() or text[end] == "_")
    finds: list[DisplayFind] = []
    i = 0
    while i < n:
        first = digits[i]
        if (
            first[0] not in "23456"
            or (i == 0 and blocked_left)
            or (i > 0 and not spaced[i - 1])
            or (len(first) < 4)
        ):
            i += 1
            continue
        number, best = "", None
        for j in range(i, n):  # the longest number from group i: a 19-digit card whose
            number += digits[j]  # first 16 digits pass Luhn too is hidden whole
            if len(number) > 19 or (j > i and len(digits[j - 1]) < 4):
                break
            if len(number) < 13 or (j == n - 1 and blocked_right) or (j < n - 1 and not spaced[j]):
                continue
            if _issuer_ok(number) and luhn_valid(number):
                best = (j, number)
        if best is not None:
            j, number = best
            finds.append(DisplayFind(groups[i][0], groups[j][1], "CREDIT_CARD", number, "card"))
            i = j
        i += 1
    return finds


def _ascii_digits(s: str) -> str:
    return s if s.isascii() else "".join(str(unicodedata.digit(ch)) for ch in s)


def _issuer_ok(d: str) -> bool:
    """Starts like the numbers of a card network, with a length it issues: Visa, Mastercard,
    American Express, Diners, JCB, Discover, UnionPay, Maestro, Mir."""
    n, p2, p3, p4 = len(d), int(d[:2]), int(d[:3]), int(d[:4])
    if d[0] == "4":
        return n in (13, 16, 19)
    if 51 <= p2 <= 55 or 2221 <= p4 <= 2720:
        return n == 16
    if p2 in (34, 37):
        return n == 15
    if 300 <= p3 <= 305 or p2 in (36, 38, 39) or p4 == 3095:
        return 14 <= n <= 19
    if 3528 <= p4 <= 3589 or 2200 <= p4 <= 2204:
        return 16 <= n <= 19
    if d[0] == "6" or p2 in (50, 56, 57, 58):
        return 13 <= n <= 19
    return False


# -- IBANs

_GAP_SET = frozenset(_GAP_CHARS)


def _iban_at(text: str, start: int, end: int) -> DisplayFind | None:
    """The IBAN whose country code and check digits are [start, end), if it is one: as
    many letters and digits as the country's IBANs have (any run of gap characters between
    any two), in its layout, passing mod 97, and not running on into a longer word."""
    if start > 0 and text[start - 1].isalnum():
        return None
    country = text[start : start + 2].upper()
    if country not in _IBAN_BBAN:  # RE2 folds the long s and the Kelvin sign
        return None
    length, layout = _IBAN_BBAN[country]
    bban, i, n = [], end, len(text)
    while len(bban) < length:
        while i < n and text[i] in _GAP_SET:
            i += 1
        if i >= n or not (text[i].isascii() and text[i].isalnum()):
            return None
        bban.append(text[i])
        i += 1
    if i < n and text[i].isalnum():
        return None
    compact = "".join(bban).upper()
    if not layout.fullmatch(compact):
        return None
    check = text[end - 2 : end]
    value = f"{country}{check}{compact}"
    if int("".join(str(int(ch, 36)) for ch in f"{compact}{country}{check}")) % 97 != 1:
        return None
    return DisplayFind(start, i, "IBAN_CODE", value, "iban")
