"""Personal-data figures without false alarms (issue 13).

Each false-alarm family seen on the real samples is written as a small document: the value
that only looks like personal data must not be counted by the statistics (not found, or found
below its entity's `stats_min_score`), while a true value of the same entity is still found and
counted. The statistics test builds a corpus and checks that a span below its threshold is
redacted but not counted.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from corpuscope.config import Settings
from corpuscope.privacy.detect import Detector

LEAST = Settings().stats_min_score

#: family -> (entity, document, values that must not be counted, true values that must be)
FAMILIES = {
    "number run as card": (
        "CREDIT_CARD",
        "Pages: 1228 1229 1230 1231 1232 1233 1234 1235 1236 1237 1238 1239 1240 1241 1242. "
        "Card number 4111 1111 1111 1111 was charged twice.",
        ["1236 1237 1238 1239"],
        ["4111 1111 1111 1111"],
    ),
    "barcode as card (no network issues it)": (
        "CREDIT_CARD",
        "Trailer bar code • 31223125214735 • 31223125214768 on the shelf; Amex 378282246310005.",
        ["31223125214735", "31223125214768"],
        ["378282246310005"],
    ),
    "identifiers in URLs as card and phone": (
        "CREDIT_CARD",
        "Photo flickr.com/photos/the_moog_image_dump/8056003471/ and "
        "facebook.com/pages/p/388213067901331 here. Card 6011111111111117 was refused.",
        ["388213067901331", "8056003471"],
        ["6011111111111117"],
    ),
    "DOIs as SSN and card": (
        "US_SSN",
        "Sutter JM. Comb Sci. 2004, 23: 311-318. 10.1002/qsar.200410011. See also "
        "10.1080/10629360902949567. His social security number is 853-37-1694.",
        ["200410011", "10629360902949567"],
        ["853-37-1694"],
    ),
    "ISBNs as SSN and phone": (
        "US_SSN",
        "Paseka, 2003. ISBN 978-80-7185-998-7. New York: Penguin. ISBN 0-14-303469-3. "
        "Here's my SSN: 460-89-9847",
        ["978-80-7185", "0-14-303469-3"],
        ["460-89-9847"],
    ),
    "version strings and dotted ids as IP": (
        "IP_ADDRESS",
        "Install version 2.0.0.1 or see citeseerx doi=10.1.1.8.5098 for details. "
        "The request came from 192.0.2.17 yesterday.",
        ["2.0.0.1", "10.1.1.8"],
        ["192.0.2.17"],
    ),
    "'::' as IP": (
        "IP_ADDRESS",
        'classifiers=["Programming Language :: Python :: 3", "License :: OSI Approved"], '
        "integer,intent(in)::a,b. The host 2001:db8::8a2e:370:7334 answered.",
        ["::", "::a"],
        ["2001:db8::8a2e:370:7334"],
    ),
    "dates and times as phones": (
        "PHONE_NUMBER",
        "Sie hatte am 07.12.2014 gesagt. 1. user 2019.05.03 20:49 reply. Minister "
        "1935-10-1414 października. Posted 2016-11-11 03:38:35 -0500. Call us on (202) "
        "456-1111 during office hours.",
        ["07.12.2014", "2019.05.03 20", "1935-10-1414", "35 -0500"],
        ["(202) 456-1111"],
    ),
    "page ranges, coordinates and years as phones": (
        "PHONE_NUMBER",
        "Mod Pathol. 2001, 14(4): 338-342. Library at 49.807878 -97.129961 in Winnipeg, "
        "founded in 1648. Tel. 020 7946 0018.",
        ["338-342", "49.807878 -97.129961", "1648"],
        ["020 7946 0018"],
    ),
    "rows of numbers as phones": (
        "PHONE_NUMBER",
        "Ranking 13 10 17 40\n8 others. Write to us or phone +49 30 18272-0 today.",
        ["13 10 17 40"],
        ["+49 30 18272-0"],
    ),
}


def _at(text: str, value: str) -> tuple[int, int]:
    start = text.index(value)
    return start, start + len(value)


def _counted(found, entity: str, start: int, end: int) -> list:
    return [
        r
        for r in found
        if r.start < end
        and r.end > start
        and r.score >= LEAST[r.entity_type]
        and (entity is None or r.entity_type == entity)
    ]


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_false_alarms_are_not_counted_and_true_values_are(family: str):
    entity, text, false, true = FAMILIES[family]
    detector = Detector()
    found = detector.detect(text)
    for value in false:
        start, end = _at(text, value)
        # no entity at all may count it: a date is not a phone, an ISBN not an SSN
        assert not _counted(found, None, start, end), (family, value, found)
    for value in true:
        start, end = _at(text, value)
        hits = _counted(found, entity, start, end)
        assert hits and hits[0].start <= start and hits[0].end >= end, (family, value, found)
    # the tiered scan and Presidio on the whole text (plus the same review) agree
    key = lambda r: (r.entity_type, r.start, r.end, round(r.score, 4))  # noqa: E731
    assert sorted(map(key, found)) == sorted(map(key, detector.full_scan(text)))


def test_below_threshold_values_are_still_redacted():
    """Display redaction hides every span, whatever its score: a number run the statistics
    do not count as a card is still not shown."""
    from corpuscope.privacy.redact import redact

    _entity, text, false, _true = FAMILIES["number run as card"]
    shown, _ = redact(text)
    assert false[0] not in shown and "4111 1111 1111 1111" not in shown


def test_the_unspecified_address_is_never_an_ip():
    """`::` alone is dropped, so windows no longer read "[IP] Python [IP]"."""
    from corpuscope.privacy.redact import redact

    text = "Programming Language :: Python :: 3"
    assert not Detector().detect(text)
    assert redact(text)[0] == text


def test_stats_min_score_setting():
    s = Settings(stats_min_score={"PHONE_NUMBER": 0.8})
    assert s.stats_min_score["PHONE_NUMBER"] == 0.8
    assert s.stats_min_score["EMAIL_ADDRESS"] == LEAST["EMAIL_ADDRESS"]  # the others kept
    with pytest.raises(ValueError, match="unknown entities"):
        Settings(stats_min_score={"PHONE": 0.5})
    with pytest.raises(ValueError, match="between 0 and 1"):
        Settings(stats_min_score={"US_SSN": 1.5})


def test_statistics_count_only_spans_at_or_above_the_threshold(tmp_path: Path):
    """A card-shaped number run is scanned (and redacted) but not counted; with a threshold
    of 0 for cards the same build counts it: the threshold is what leaves it out."""
    import pyarrow.parquet as pq

    from corpuscope import jobs
    from corpuscope.stats.build import build_stats, load_table
    from corpuscope.store import Store

    pages = "Pages: " + " ".join(str(n) for n in range(1228, 1243)) + " of the register."
    docs = [
        {"id": "a", "text": pages},
        {"id": "b", "text": "Write to desk@example.org or call (202) 456-1111 today."},
    ]
    src = tmp_path / "docs.jsonl"
    src.write_text("".join(json.dumps(d) + "\n" for d in docs))
    settings = Settings(data=tmp_path / "data", workers=1)
    assert jobs.ingest(settings, "t", [str(src)]).ok
    assert jobs.scan(settings, "t").ok
    jobs.stats(settings, "t")
    cs = Store(settings.data).corpus("t")
    spans = [r for p in cs.pii_paths() for r in pq.read_table(p).to_pylist()]
    cards = [s for s in spans if s["entity_type"] == "CREDIT_CARD"]
    assert cards and all(s["score"] < LEAST["CREDIT_CARD"] for s in cards)  # scanned, low
    counted = {r["entity_type"]: r["spans"] for r in load_table(cs, "pii").to_pylist()}
    assert counted == {"EMAIL_ADDRESS": 1, "PHONE_NUMBER": 1}
    by_domain = {r["entity_type"] for r in load_table(cs, "pii_by_domain").to_pylist()}
    assert "CREDIT_CARD" not in by_domain
    manifest = json.loads(cs.stats_manifest_path.read_bytes())
    assert {"entity_type": "CREDIT_CARD", "min_score": LEAST["CREDIT_CARD"]} in manifest["inputs"][
        "pii_min_score"
    ]

    build_stats(cs, min_score={**LEAST, "CREDIT_CARD": 0.0})
    counted = {r["entity_type"]: r["spans"] for r in load_table(cs, "pii").to_pylist()}
    assert counted["CREDIT_CARD"] == len(cards)
