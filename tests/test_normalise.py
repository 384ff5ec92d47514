"""Normalisation: domains offline, timestamps to UTC, language from a bundled model."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime

import pytest

from corpuscope.ingest.normalise import (
    detect_language,
    domain_of,
    normalise_text,
    to_utc,
)
from corpuscope.models.documents import SourceRecord
from tests.conftest import to_document


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
        ("HTTP://News.Example.CO.UK:8080/x", "example.co.uk"),
        (" http://a.example.com/x", "example.com"),  # leading space: the urlsplit path
        ("http://a.exa\tmple.com/", "example.com"),  # urlsplit drops tabs
        ("http://[::1]:80/x", "::1"),
        ("http://[broken/x", None),
        ("//b.example.net/x", "example.net"),
        ("example.com/a//b", None),  # "//" later in the path: no host, as urlsplit reads it
    ],
)
def test_registered_domain_offline(url, domain, monkeypatch):
    import socket

    def no_network(*a, **k):
        raise AssertionError("tried to reach the network")

    monkeypatch.setattr(socket, "create_connection", no_network)
    assert domain_of(url) == domain


def test_quick_host_path_reads_urls_as_urlsplit_does():
    """`domain_of` finds ordinary hosts without urlsplit; it must agree with urlsplit."""
    from corpuscope.ingest.normalise import _domain_of_url
    from tests.conftest import SAMPLES

    urls = set()
    for path in [*(SAMPLES / "c4").glob("*.jsonl.gz"), *(SAMPLES / "commoncrawl").glob("*.gz")]:
        if "dolma" not in path.name and "c4" not in path.name:
            continue
        with gzip.open(path) as f:
            for rec in map(json.loads, f):
                meta = rec.get("meta") or rec.get("metadata") or {}
                meta = json.loads(meta) if isinstance(meta, str) else meta
                urls.add(rec.get("url") or meta.get("url") or meta.get("warc_url"))
    urls.discard(None)
    assert len(urls) > 1000
    for url in urls:
        assert domain_of(url) == _domain_of_url(url if "//" in url else f"//{url}"), url


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

    import numpy as np
    import pyarrow as pa

    from corpuscope.whitespace import space_positions, word_count, word_counts

    spaces = "".join(chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace())
    texts = ["", " ", "a", " a ", "a b", "a\u00a0b\u3000c\x1cd\x85e", spaces, f"x{spaces}y"]
    texts += [f"{w}{s}{w}" for s in spaces for w in ("", "w", "é", "\ud800")]
    for text in texts:
        assert word_count(text) == len(text.split()), repr(text)
        assert space_positions(text) == [i for i, c in enumerate(text) if c.isspace()]
    # The batch form over UTF-8 (surrogates cannot be UTF-8), also cut into several chunks
    # and read from a slice of an Arrow array.
    utf8 = (
        [t for t in texts if "\ud800" not in t] * 3 + ["x\x00y\x08z\x0e\x1b w"] + ["a b " * 300_000]
    )
    array = pa.array(utf8).slice(1)
    _, offsets, data = array.buffers()
    offsets = np.frombuffer(offsets, np.int32)[array.offset : array.offset + len(array) + 1]
    assert word_counts(data, offsets) == [len(t.split()) for t in utf8[1:]]
