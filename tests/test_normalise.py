"""Normalisation: domains offline, timestamps to UTC, language from a bundled model."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from corpuscope.ingest.normalise import (
    detect_language,
    domain_of,
    normalise_text,
    to_document,
    to_utc,
)

from corpuscope.models import SourceRecord


@pytest.mark.parametrize(
    ("url", "domain"),
    [
        ("https://forums.news.bbc.co.uk/a?b=1", "bbc.co.uk"),
        ("http://16thfleet.wikidot.com/chatter:anewhome", "wikidot.com"),
        ("16thfleet.wikidot.com/chatter:anewhome", "wikidot.com"),  # Dolma's scheme-less url
        ("https://user:pw@Example.ORG:8080/x", "example.org"),
        ("http://192.168.1.1/admin", "192.168.1.1"),
        ("http://localhost/x", "localhost"),
        ("https://foo.github.io/x", "foo.github.io"),  # private suffixes of the PSL
        ("not a url", None),
        (None, None),
    ],
)
def test_registered_domain_offline(url, domain, monkeypatch):
    import socket

    def no_network(*a, **k):
        raise AssertionError("tried to reach the network")

    monkeypatch.setattr(socket, "create_connection", no_network)
    assert domain_of(url) == domain


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2019-04-25T12:57:54Z", datetime(2019, 4, 25, 12, 57, 54, tzinfo=UTC)),
        ("2019-07-17T13:39:42.000Z", datetime(2019, 7, 17, 13, 39, 42, tzinfo=UTC)),
        ("2021-05-01T10:00:00+02:00", datetime(2021, 5, 1, 8, 0, tzinfo=UTC)),
        ("2019-04-25 12:57:54", datetime(2019, 4, 25, 12, 57, 54, tzinfo=UTC)),
        ("Thu, 25 Apr 2019 12:57:54 GMT", datetime(2019, 4, 25, 12, 57, 54, tzinfo=UTC)),
        (1556197074, datetime(2019, 4, 25, 12, 57, 54, tzinfo=UTC)),
        (1556197074000, datetime(2019, 4, 25, 12, 57, 54, tzinfo=UTC)),
        ("yesterday", None),
        ("", None),
        (None, None),
    ],
)
def test_timestamps_to_utc(value, expected):
    assert to_utc(value) == expected


def test_language_identification():
    assert detect_language("The quick brown fox jumps over the lazy dog and runs far away.") == "en"
    assert detect_language("Le renard brun rapide saute par-dessus le chien paresseux.") == "fr"
    assert detect_language("Быстрая коричневая лиса прыгает через ленивую собаку.") == "ru"
    assert detect_language("\x00\x01 ...", declared="de") == "de"
    assert detect_language("12345") == "und"


def test_text_normalisation_and_counts():
    assert normalise_text("  a\r\nb\rc  ") == "a\nb\nc"
    assert normalise_text("cafe\u0301") == "cafe\u0301"  # kept verbatim, no NFC rewrite
    doc = to_document(
        SourceRecord(0, " Hello   wide\tworld \n", url="https://a.example.com/"),
        "c",
        "s",
        "src",
        2000,
    )
    assert (doc.text, doc.n_words, doc.n_chars, doc.domain) == (
        "Hello   wide\tworld",
        3,
        18,
        "example.com",
    )
    same = to_document(SourceRecord(1, "Hello   wide\tworld"), "c", "s", "src", 2000)
    assert doc.text_hash == same.text_hash and doc.doc_id != same.doc_id


def test_word_count_is_str_split_on_every_kind_of_white_space():
    import sys

    from corpuscope.whitespace import space_positions, word_count

    spaces = "".join(chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace())
    texts = ["", " ", "a", " a ", "a b", "a\u00a0b\u3000c\x1cd\x85e", spaces, f"x{spaces}y"]
    texts += [f"{w}{s}{w}" for s in spaces for w in ("", "w", "é", "\ud800")]
    for text in texts:
        assert word_count(text) == len(text.split()), repr(text)
        assert space_positions(text) == [i for i, c in enumerate(text) if c.isspace()]
