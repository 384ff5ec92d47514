"""Redaction recall on displayed text: the display pass of `privacy.redact`.

Every syntactically valid e-mail address is redacted in what is shown whatever its suffix,
also written with full-width or invisible characters or obfuscated as the web does; cards
and IBANs in any spacing and case. Ordinary prose stays as it is, numbers that fail Luhn or
mod 97 are shown, and redacting redacted text changes nothing. No time is asserted here
(the throughput is measured by bench/pii_accuracy.py).
"""

from __future__ import annotations

import random
import re

import pytest

from corpuscope.privacy.detect import Detector
from corpuscope.privacy.hashing import value_hash
from corpuscope.privacy.redact import display_finds, redact
from tests.planted import real_texts

ZWSP, ZWNJ, ZWJ, SHY, WJ = "\u200b", "\u200c", "\u200d", "\u00ad", "\u2060"
NBSP, THIN, NNBSP = "\u00a0", "\u2009", "\u202f"

#: (written value, label, pieces of it that must not be shown)
FORMS = [
    # suffixes Presidio's recognizer rejects (not in the public suffix list)
    ("jane.roe@corp.internal", "[EMAIL]", ["jane", "roe", "corp"]),
    ("quorvina@example", "[EMAIL]", ["quorvina"]),
    ("quorvina@mail.example", "[EMAIL]", ["quorvina", "mail"]),
    ("printer-admin@office.local", "[EMAIL]", ["printer", "office"]),
    ("root@localhost", "[EMAIL]", ["root"]),
    ("j.roe+news@lab.test", "[EMAIL]", ["roe", "news", "lab"]),
    ('"jane roe"@example.org', "[EMAIL]", ["jane", "roe"]),
    ("jane@[192.0.2.7]", "[EMAIL]", ["jane", "192.0.2.7"]),
    # full-width and invisible characters
    ("jane\uff20example.org", "[EMAIL]", ["jane", "example"]),
    ("jane\uff20example\uff0eorg", "[EMAIL]", ["jane", "example"]),
    ("jane.roe@example\u3002org", "[EMAIL]", ["jane", "roe", "example"]),
    ("jane\ufe6bexample.org", "[EMAIL]", ["jane", "example"]),
    (
        "\uff4a\uff41\uff4e\uff45\uff20\uff45\uff58\uff41\uff4d\uff50\uff4c\uff45\uff0e\uff4f\uff52\uff47",
        "[EMAIL]",
        ["\uff4a\uff41\uff4e\uff45"],
    ),
    (f"quorvina{ZWSP}@example.org", "[EMAIL]", ["quorvina", "example"]),
    (f"jane{ZWSP}.roe@example.org", "[EMAIL]", ["jane", "roe"]),
    (f"jane.{ZWJ}roe@example.org", "[EMAIL]", ["jane", "roe"]),
    (f"ja{SHY}ne@exam{SHY}ple.org", "[EMAIL]", ["ja", "ple"]),
    (f"jane@{ZWNJ}example.org", "[EMAIL]", ["jane", "example"]),
    (f"jane@example{WJ}.o{ZWSP}rg", "[EMAIL]", ["jane", "example"]),
    # the web's obfuscations
    ("jane [at] example [dot] org", "[EMAIL]", ["jane", "example"]),
    ("jane[at]example[dot]org", "[EMAIL]", ["jane", "example"]),
    ("jane [AT] example [DOT] org", "[EMAIL]", ["jane", "example"]),
    ("jane(at)example.org", "[EMAIL]", ["jane", "example"]),
    ("jane (at) example (dot) org", "[EMAIL]", ["jane", "example"]),
    ("jane {at} example {dot} com", "[EMAIL]", ["jane", "example"]),
    ("jane <at> example <dot> com", "[EMAIL]", ["jane", "example"]),
    ("jane [@] example.org", "[EMAIL]", ["jane", "example"]),
    ("jane(@)example.org", "[EMAIL]", ["jane", "example"]),
    ("jane at example dot org", "[EMAIL]", ["jane", "example"]),
    ("jane AT example DOT com", "[EMAIL]", ["jane", "example"]),
    ("jane.roe at example.com", "[EMAIL]", ["jane", "roe", "example"]),
    ("jane AT example.com", "[EMAIL]", ["jane", "example"]),
    ("jane at example [dot] co [dot] uk", "[EMAIL]", ["jane", "example"]),
    ("john dot smith at example dot com", "[EMAIL]", ["john", "smith", "example"]),
    ("john [dot] smith [at] example [dot] com", "[EMAIL]", ["john", "smith", "example"]),
    ("jane@example dot org", "[EMAIL]", ["jane", "example"]),
    ("jane [at] corp [dot] internal", "[EMAIL]", ["jane", "corp"]),
    ("jane @ example.org", "[EMAIL]", ["jane", "example"]),
    # invisible characters beyond the first list: bidi isolates, combining grapheme joiner,
    # Mongolian variation selectors, tag characters, Arabic letter mark, variation selectors
    ("wovensecret\u2066@example.org", "[EMAIL]", ["wovensecret", "example"]),
    ("jane.do\u2066e@example.org", "[EMAIL]", ["jane.do", "example"]),
    ("jane\u2067.roe@exam\u2068ple.o\u2069rg", "[EMAIL]", ["jane", "roe", "exam"]),
    ("ja\u034fne@example.org", "[EMAIL]", ["ja", "example"]),
    ("jane\u180b\u180c\u180d@example.org", "[EMAIL]", ["jane", "example"]),
    ("jane\U000e0041\U000e007f@ex\U000e0020ample.org", "[EMAIL]", ["jane", "ex"]),
    ("jane\u061c@example\ufe0f.org", "[EMAIL]", ["jane", "example"]),
    # every character whose NFKC form is a full stop is a dot
    ("threadkeeper@gmail\ufe52com", "[EMAIL]", ["threadkeeper", "gmail"]),
    ("jane@example\u2024org", "[EMAIL]", ["jane", "example"]),
    ("jane\ufe52roe@mail\u2024example\ufe52org", "[EMAIL]", ["jane", "roe", "mail"]),
    # RFC 5322 atext in the local part: / = | and the rest are not where it starts
    ("jane/doe@corp.internal", "[EMAIL]", ["jane", "doe", "corp"]),
    ("jane=doe@corp.internal", "[EMAIL]", ["jane", "doe"]),
    ("jane|doe@example.org", "[EMAIL]", ["jane", "doe"]),
    ("jane!#$%&'*+-/=?^_`{|}~doe@example.org", "[EMAIL]", ["jane", "doe"]),
    # cards: Luhn-valid test numbers, any spacing
    (f"4111{NBSP}1111{NBSP}1111{NBSP}1111", "[CARD]", ["4111"]),
    (f"4111{THIN}1111{THIN}1111{THIN}1111", "[CARD]", ["4111"]),
    (f"5500{NNBSP}0000{NNBSP}0000{NNBSP}0004", "[CARD]", ["5500", "0004"]),
    ("4111.1111.1111.1111", "[CARD]", ["4111"]),
    ("4111-1111-1111-1111", "[CARD]", ["4111"]),
    ("4111\u20131111\u20131111\u20131111", "[CARD]", ["4111"]),
    ("4111 - 1111 - 1111 - 1111", "[CARD]", ["4111"]),
    (f"4111{ZWSP}1111{ZWSP}1111{ZWSP}1111", "[CARD]", ["4111"]),
    ("3782 822463 10005", "[CARD]", ["3782", "822463", "10005"]),
    ("3056 930902 5904", "[CARD]", ["3056", "930902"]),
    ("6011111111111117", "[CARD]", ["6011111111111117"]),
    # any run of gap characters between the groups
    ("4111    1111    1111    1111", "[CARD]", ["4111"]),
    ("4111\t\t1111\t\t1111\t\t1111", "[CARD]", ["4111"]),
    ("4111 \t 1111 \t 1111 \t 1111", "[CARD]", ["4111"]),
    (f"4111{NBSP}{NBSP}{THIN}1111{NBSP}{NBSP}{THIN}1111{NBSP}{NBSP}{THIN}1111", "[CARD]", ["4111"]),
    ("4111  --  1111  --  1111  --  1111", "[CARD]", ["4111"]),
    ("4111 . 1111 . 1111 . 1111", "[CARD]", ["4111"]),
    ("5500 \u2014 0000 \u2014 0000 \u2014 0004", "[CARD]", ["5500", "0004"]),
    ("3782     822463     10005", "[CARD]", ["3782", "822463", "10005"]),
    (
        "\uff14\uff11\uff11\uff11 \uff11\uff11\uff11\uff11 \uff11\uff11\uff11\uff11 \uff11\uff11\uff11\uff11",
        "[CARD]",
        ["\uff14\uff11\uff11\uff11"],
    ),
    # IBANs: any spacing, lower case
    ("DE89 3704 0044 0532 0130 00", "[IBAN]", ["3704", "0532"]),
    ("de89 3704 0044 0532 0130 00", "[IBAN]", ["3704", "0532"]),
    ("de89370400440532013000", "[IBAN]", ["de89370400440532013000"]),
    ("gb82 west 1234 5698 7654 32", "[IBAN]", ["west", "5698"]),
    (f"GB82{NBSP}WEST{NBSP}1234{NBSP}5698{NBSP}7654{NBSP}32", "[IBAN]", ["WEST", "5698"]),
    ("FR14.2004.1010.0505.0001.3M02.606", "[IBAN]", ["2004", "3M02"]),
    ("nl91-abna-0417-1643-00", "[IBAN]", ["abna", "0417"]),
    (f"ES91{THIN}2100{THIN}0418{THIN}4502{THIN}0005{THIN}1332", "[IBAN]", ["2100", "1332"]),
    ("DE 89 3704 0044 0532 0130 00", "[IBAN]", ["3704", "0532"]),
    ("PT50 0002 0123 1234 5678 9015 4", "[IBAN]", ["0123", "9015"]),
    # any run of gap characters between the groups
    ("DE89   3704   0044   0532   0130   00", "[IBAN]", ["3704", "0532"]),
    ("DE89 - 3704 - 0044 - 0532 - 0130 - 00", "[IBAN]", ["3704", "0532"]),
    ("DE89\t\t3704\t\t0044\t\t0532\t\t0130\t\t00", "[IBAN]", ["3704", "0532"]),
    ("DE   89   3704   0044   0532   0130   00", "[IBAN]", ["3704", "0532"]),
    (
        f"gb82{NBSP}{NBSP}{NBSP}west . 1234 \u2013 5698{THIN}{THIN}7654    32",
        "[IBAN]",
        ["west", "5698"],
    ),
    ("FR14 . 2004 . 1010 . 0505 . 0001 . 3M02 . 606", "[IBAN]", ["2004", "3M02"]),
]

SENTENCES = [
    "Please write to {} before Friday.",
    "{}",
    "Contact: {}.",
    "(reply to {}) and wait",
    "«{}»",
]

#: Prose and numbers that look a little like the forms above and must be shown unchanged.
PROSE = [
    "look at the dot",
    "Meet at home, then look at the dot on the map.",
    "They laughed at the dot com bubble of 2000.",
    "He stared at the dot com era and at this dot net thing.",
    "Find us at example.com or visit us at www.example.org today.",
    "Sign up at example.com, it is free.",
    "We met at noon at the station. Dot the i's.",
    "Available at Amazon.com and at Target.",
    "He works at Google dot com and she works at home dot com.",
    "Contact us at example dot com.",
    "Version 2.0 at github.com was released.",
    "The meeting is at 10.30 am on Monday at St. Mary's.",
    "Prices start at 4.99 and end at 12.50.",
    "look at Fig. 3 and at U.S. Steel",
    "RT @jack: hello @everyone",
    "Thanks @john.smith and follow @acme.co on Instagram!",
    "Gracias a tod@s l@s amig@s y señor@s.",
    "Greetings from mom@home and work@home!",
    "java.lang.NullPointerException\n\tat com.example.Foo.bar(Foo.java:10)\n\tat org.x.Y.z(Y.java:2)",
    "Exception: boom.x\n    at com.example.Foo.bar(Foo.java:10)",
    "java.lang.NPE at com.example.Foo.bar(Foo.java:10)",
    "Jane\nat example dot com",
    "The retina icon@2x.png and logo@3x.jpg files.",
    "npm install lodash@4.17.21 and left-pad@1.3.0",
    "Buy 4 @ $5.99 each, or 10 @ 4.50.",
    "[at] the top of the page, (at) the bottom",
    "ISBN 978-3-16-148410-0 and ISBN 0-306-40615-2",
    "In 2019 2020 2021 2022 2023 the figures rose.",
    "Pages 1000 1001 1002 1003 1004 1005 1006 1007 1008 1009",
    "pi is 3.14159265358979323846 and e is 2.71828182845904523536",
    "coordinates 39.954941 -75.193362 and 49.807716 -97.136226",
    "id 123e4567-e89b-12d3-a456-426614174000",
    "at 10 am, de 2019 a 2020, IT 12 units, the GB82 model, DE 1234 5678 9012",
    "1,234,567,890,123,456 and 1.234.567.890.123.456",
    "Order no. 2024-0001-0002-0003 shipped.",
    "Call +49 30 1234 5678 or 030 1234 5678.",
    "The road is 4111 meters long, 1111 meters wide.",
    # long runs of spaces, tabs and dashes between numbers (tables, lists) stay as they are
    "Pages    1000    1001    1002    1003    1004    1005    1006    1007",
    "Year\t2019\t2020\t2021\t2022\t2023\t2024\t2025",
    "In 2019 - 2020 - 2021 - 2022 - 2023 the figures rose.",
    "coordinates 39.954941    -75.193362   and   49.807716    -97.136226",
    "Prices  4111.11    1111.11    1111.11    1111.11",
    "pi is 3.14159265358979323846    and e is 2.71828182845904523536",
    "de   2019   a   2020,   IT   12   units,   the   GB82   model",
    "Order no.   2024 - 0001 - 0002 - 0003   shipped.",
    "key=value and a/b or x|y with no at-sign",
    "[EMAIL] at example dot com and [EMAIL]@example.org, [CARD] and [IBAN].",
]

#: Numbers that fail their check digit, in the spacings that pass when it is right.
BAD_NUMBERS = [
    f"4111{NBSP}1111{NBSP}1111{NBSP}1112",
    "4111.1111.1111.1112",
    "4111-1111-1111-1110",
    "3782 822463 10006",
    "6011111111111118",
    "DE89 3704 0044 0532 0130 01",
    "de88 3704 0044 0532 0130 00",
    "gb82 west 1234 5698 7654 33",
    f"GB83{NBSP}WEST{NBSP}1234{NBSP}5698{NBSP}7654{NBSP}32",
    "nl91-abna-0417-1643-01",
    "DE89 3704 0044 0532 0130 0",  # a digit short
    "4111    1111    1111    1112",
    "4111 - 1111 - 1111 - 1110",
    "DE89   3704   0044   0532   0130   01",
    "DE89 - 3704 - 0044 - 0532 - 0130 - 0",
]


@pytest.fixture(scope="module")
def detector() -> Detector:
    return Detector()


@pytest.mark.parametrize(("value", "label", "secrets"), FORMS, ids=[repr(f[0]) for f in FORMS])
def test_every_form_is_redacted_with_its_label(value, label, secrets, detector):
    for sentence in SENTENCES:
        text = sentence.format(value)
        for runtime in (False, True):
            shown, done = redact(text, runtime_pass=runtime, detector=detector)
            assert value not in shown, (text, shown)
            for secret in secrets:
                assert secret not in shown, (text, secret, shown)
            assert label in shown, (text, shown)
            assert shown.replace(label, "", 1) == sentence.format(""), (text, shown)
            assert any(r.label == label for r in done)


def test_the_display_pass_runs_without_the_runtime_pass():
    """What the public index is built from: the sidecar's spans, runtime_pass=False."""
    text = "Write to jane@corp.internal, jane [at] example [dot] org or pay 4111\u00a01111\u00a01111\u00a01111."
    shown, done = redact(text, [], runtime_pass=False)
    assert shown == "Write to [EMAIL], [EMAIL] or pay [CARD]."
    assert [r.entity_type for r in done] == ["EMAIL_ADDRESS", "EMAIL_ADDRESS", "CREDIT_CARD"]


def test_offsets_are_characters_in_non_ascii_text():
    text = "😀 Ünïcödé — «jane@exämple.org», 4111\u00a01111\u00a01111\u00a01111 та de89 3704 0044 0532 0130 00 ✓"
    shown, done = redact(text, runtime_pass=False)
    assert shown == "😀 Ünïcödé — «[EMAIL]», [CARD] та [IBAN] ✓"
    for r in done:
        assert text[r.start : r.end].strip() == text[r.start : r.end]
    # a lone surrogate does not break the pass
    assert redact("\ud800 jane@corp.internal", runtime_pass=False)[0] == "\ud800 [EMAIL]"


@pytest.mark.parametrize("text", PROSE)
def test_ordinary_prose_is_shown_unchanged(text):
    shown, done = redact(text, runtime_pass=False)
    assert (shown, done) == (text, []), [text[r.start : r.end] for r in done]


@pytest.mark.parametrize("number", BAD_NUMBERS)
def test_numbers_failing_luhn_or_mod97_are_shown(number):
    for sentence in SENTENCES:
        text = sentence.format(number)
        assert redact(text, runtime_pass=False)[0] == text


def _luhn_complete(body: str) -> str:
    total = 0
    for k, ch in enumerate(reversed(body)):
        d = int(ch) * (2 if k % 2 == 0 else 1)
        total += d - 9 if d > 9 else d
    return body + str(-total % 10)


def _iban(country: str, bban: str) -> str:
    n = int("".join(str(int(c, 36)) for c in bban + country + "00"))
    return f"{country}{98 - n % 97:02d}{bban}"


def test_generated_values_in_any_spacing_are_all_redacted():
    """Seeded: cards and IBANs with random separators and case, addresses with random
    obfuscations and invisible characters, each in a real C4 sentence."""
    rng = random.Random(12)
    seps = [" ", "\u00a0", "\u2009", "\u202f", ".", "-", "\u2013", " - ", "\u200b", ""]
    sentences = [s for t in real_texts(60) for s in re.split(r"(?<=\.)\s+", t) if 30 < len(s) < 200]
    sentences = [s for s in sentences if not display_finds(s)]
    values = []
    for _ in range(150):
        prefix = rng.choice(["4", "51", "2221", "6011", "3530"])
        number = _luhn_complete(prefix + "".join(rng.choices("0123456789", k=15 - len(prefix))))
        sep = rng.choice(seps)
        values.append(sep.join(number[i : i + 4] for i in range(0, len(number), 4)))
    layouts = {
        "DE": "n" * 18,
        "GB": "aaaa" + "n" * 14,
        "FR": "n" * 10 + "c" * 11 + "nn",
        "NL": "aaaa" + "n" * 10,
        "AT": "n" * 16,
    }
    pools = {
        "n": "0123456789",
        "a": "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
        "c": "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ",
    }
    for _ in range(150):
        country = rng.choice(sorted(layouts))
        iban = _iban(country, "".join(rng.choice(pools[k]) for k in layouts[country]))
        sep = rng.choice([*seps[:6], ""])
        iban = sep.join(iban[i : i + 4] for i in range(0, len(iban), 4))
        values.append(iban.lower() if rng.random() < 0.5 else iban)
    ats = ["@", "\uff20", " [at] ", "(at)", " {at} ", " AT ", " at ", " (@) "]
    for _ in range(150):
        at = rng.choice(ats)
        dot = (
            rng.choice([" dot ", " DOT ", " [dot] "])
            if at.strip() in ("at", "AT")
            else rng.choice([".", "\uff0e", " [dot] "])
        )
        local = rng.choice(["jane", "j.roe", "quorvina", "olivia.dubois", "kw99"])
        domain = (
            rng.choice(["example", "mail.example", "corp"])
            + dot
            + rng.choice(["org", "com", "net"])
        )
        value = f"{local}{at}{domain}"
        if rng.random() < 0.3:
            cut = rng.randrange(1, len(value))
            value = value[:cut] + rng.choice([ZWSP, ZWJ, SHY]) + value[cut:]
        values.append(value)
    for value in values:
        words = rng.choice(sentences).split(" ")
        cut = rng.randrange(1, len(words))
        text = " ".join([*words[:cut], value, *words[cut:]])
        shown, done = redact(text, runtime_pass=False)
        start = len(" ".join(words[:cut])) + 1
        covered = set()
        for r in done:
            covered.update(range(r.start, r.end))
        assert covered >= set(range(start, start + len(value))), (value, text, shown)


def test_redaction_is_idempotent_and_label_safe(detector):
    for value, _label, _ in FORMS:
        once = redact(f"Write to {value} now.", runtime_pass=False)[0]
        assert redact(once, runtime_pass=False) == (once, [])
        assert redact(once, detector=detector) == (once, [])
    for text in real_texts(200):
        once, _ = redact(text, runtime_pass=False)
        assert redact(once, runtime_pass=False)[0] == once
    labels = "[EMAIL] [CARD] [IBAN] [EMAIL]@example.org [EMAIL] [at] example [dot] org"
    assert redact(labels, runtime_pass=False) == (labels, [])


def test_a_subjects_own_identifiers_stay_visible_in_their_report():
    key = b"k" * 32
    text = "Me: jane [at] corp [dot] internal; them: bob@corp.internal; card 4111\u00a01111\u00a01111\u00a01111."
    keep = {
        value_hash(key, "EMAIL_ADDRESS", "jane@corp.internal"),
        value_hash(key, "CREDIT_CARD", "4111 1111 1111 1111"),
    }
    shown, _ = redact(text, keep=keep, key=key, runtime_pass=False)
    assert (
        shown
        == "Me: jane [at] corp [dot] internal; them: [EMAIL]; card 4111\u00a01111\u00a01111\u00a01111."
    )
    shown, _ = redact(text, keep=keep, runtime_pass=False)  # no key: nothing is kept
    assert shown == "Me: [EMAIL]; them: [EMAIL]; card [CARD]."


def test_display_finds_on_real_samples_are_presidios_or_addresses(detector):
    """On real C4 documents the display pass finds what Presidio's recognizers find, plus
    only addresses written with an at-sign or a bracketed "[at]" (no card, IBAN or spelled
    address of its own)."""
    for text in real_texts():
        finds = display_finds(text)
        if not finds:
            continue
        presidio = [(r.entity_type, r.start, r.end) for r in detector.detect(text)]
        for f in finds:
            confirmed = any(
                t == f.entity_type and s < f.end and e > f.start for t, s, e in presidio
            )
            assert confirmed or f.form in ("email", "email-bracketed"), text[f.start : f.end]


def test_every_invisible_and_nfkc_dot_or_at_character_is_handled():
    """Every default-ignorable code point is invisible to the pass (checked against the
    `regex` module's Unicode property), and every character whose NFKC form is "." or "@"
    is a dot or an at-sign."""
    import unicodedata

    import regex

    from corpuscope.privacy import redact as module

    ignorable = regex.compile(r"\p{Default_Ignorable_Code_Point}")
    chars = [chr(c) for c in range(0x110000) if not 0xD800 <= c < 0xE000]
    assert {c for c in chars if ignorable.match(c)} <= set(module.INVISIBLE)
    assert {c for c in chars if unicodedata.normalize("NFKC", c) == "@"} == set(module._AT_SIGNS)
    assert {c for c in chars if unicodedata.normalize("NFKC", c) == "."} <= set(module._DOTS)
    for c in module.INVISIBLE[::7] + module.INVISIBLE[-1]:
        text = f"Mail ja{c}ne.r{c}oe{c}@exam{c}ple.o{c}rg or pay 4111{c}1111{c}1111{c}1111."
        assert redact(text, runtime_pass=False)[0] == "Mail [EMAIL] or pay [CARD].", hex(ord(c))
    for dot in module._DOTS:
        text = f"Mail jane{dot}roe@example{dot}org today."
        assert redact(text, runtime_pass=False)[0] == "Mail [EMAIL] today.", hex(ord(dot))


def test_local_parts_keep_their_atext_in_the_canonical_value():
    """ "/", "=" and "|" are part of the address (as Presidio's recognizer reads it), so the
    value hashed for `keep` is the whole address."""
    for value in ("jane/doe@corp.internal", "jane=doe@corp.internal", "a|b@example.org"):
        (find,) = display_finds(f"Write to {value} now.")
        assert find.value == value
    (find,) = display_finds("mail key=jane@example.org")
    assert find.value == "key=jane@example.org"
    # in a URL, the address after the path's or the query's last separator
    for url, shown in [
        ("https://example.com/?email=jane@example.org", "https://example.com/?email=[EMAIL]"),
        ("https://example.com/?a=1&jane@example.org", "https://example.com/?a=1&[EMAIL]"),
        ("http://x.org/u/jane@example.org", "http://x.org/u/[EMAIL]"),
    ]:
        assert redact(f"see {url} now", runtime_pass=False)[0] == f"see {shown} now"
