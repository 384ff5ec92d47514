"""Person search quality: recall of the forms people write names in, and false matches.

    .venv/bin/python bench/person_quality.py [--people 40] [--out bench/out/person_quality.json]
    .venv/bin/python bench/person_quality.py --smoke   # 8 people

A planted set built from a seeded RNG: people with given, middle and family names (diacritics,
hyphenated given names and surnames, particles, apostrophes), each written in 16 document
forms ("Jane Walker", "Jane A. Walker", "J.A. Walker", "Walker, J.", "Walker JA,", upper
case, without diacritics …), each inside a real C4 sentence (`samples/c4`), plus 5 decoys a
person's queries must not match ("K. Walker", "Jane met Walker", "Jane Walker-Smithers",
"Jane.\\nWalker", another given name with another initial). The set is ingested, scanned and
indexed as a corpus; every person is asked for in 7 query forms ("Jane Walker", "Jane Ann
Walker", "Walker, Jane", "Walker, J.", "J. Walker", and the name with its diacritics
transliterated, "Mueller", or stripped, "Muller").

Recall (per document form and per query form) is the share of a person's planted documents
that the answer's evidence lists; false matches are decoys listed. Baseline, measured in the
same run on the same index: the plain phrases person search looked for before issue 13
(`name_variants`: "jane walker", "walker jane", "j walker", "walker j", as tantivy phrases).
Latency: median milliseconds a question, corpuscope's whole answer against the baseline's
phrase search (which builds no evidence).
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import re
import shutil
import statistics
import sys
import tempfile
import time
import unicodedata
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from corpuscope import jobs  # noqa: E402
from corpuscope.config import Settings  # noqa: E402
from corpuscope.index.person import _any, _phrase, name_variants, person  # noqa: E402
from corpuscope.index.searcher import Indexes  # noqa: E402
from corpuscope.models.answers import Filters  # noqa: E402
from corpuscope.store import Store  # noqa: E402

GIVEN = [
    ("Jane", "Ann"), ("José", "Luis"), ("Jürgen", "Wolfgang"), ("Søren", "Aabye"),
    ("Zoë", "Beth"), ("Jean-Paul", "Charles"), ("Marie-Claire", "Louise"), ("Émile", "Paul"),
    ("Björn", "Erik"), ("Chloé", "Rose"), ("Priya", "Devi"), ("Olusegun", "Kwame"),
    ("Siobhán", "Niamh"), ("Tomás", "Eduardo"), ("Mei", "Lin"), ("Hana", "Yuki"),
    ("Dmitri", "Ivan"), ("Fatima", "Zahra"), ("Lukas", "Johann"), ("Ingrid", "Maria"),
]  # fmt: skip
SURNAMES = [
    "Walker", "Müller", "Schröder", "van der Berg", "de la Cruz", "von Neumann", "O'Brien",
    "Smith-Jones", "Nguyen", "Okafor", "Kowalski", "Haraldsson", "Dubois", "Lindqvist",
    "Łukasiewicz", "Çelik", "Østergaard", "Kühn", "MacLeod", "D'Angelo", "Papadopoulos",
    "Yamamoto", "Fernández", "Nakamura", "Brontë", "Sørensen", "Größer", "Ferreira",
    "Petrović", "Hämäläinen", "Castellanos", "Abernathy", "Whitcombe", "Thorvaldsen",
    "Mbeki", "Ishikawa", "Rasmussen", "Villanueva", "Kristiansen", "Ramanathan",
]  # fmt: skip
#: other given names for the decoys, by initial
OTHERS = ["Quentin", "Ursula", "Xavier", "Yvonne", "Victor", "Wanda", "Otto", "Nadia"]
_UMLAUT = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue"})


def strip(s: str) -> str:
    """Without diacritics (José -> Jose, Müller -> Muller, Łukasiewicz -> Lukasiewicz)."""
    s = s.replace("ł", "l").replace("Ł", "L").replace("ø", "o").replace("Ø", "O")
    s = s.replace("ß", "ss")
    return "".join(c for c in unicodedata.normalize("NFKD", s) if not unicodedata.combining(c))


def transliterate(s: str) -> str:
    """Umlauts written out (Müller -> Mueller, Søren -> Soeren), then stripped."""
    return strip(s.translate(_UMLAUT).replace("ø", "oe").replace("Ø", "Oe"))


def initials(given: str) -> str:
    """ "J." for Jane, "J.-P." for Jean-Paul."""
    return "-".join(p[0] + "." for p in given.split("-"))


def doc_forms(g: str, m: str, last: str) -> dict[str, str]:
    """The document forms of one person: form -> how the name is written."""
    f, mi = initials(g), m[0]
    return {
        "First Last": f"{g} {last}",
        "First Middle Last": f"{g} {m} {last}",
        "First M. Last": f"{g} {mi}. {last}",
        "F. Last": f"{f} {last}",
        "F Last": f"{f.replace('.', '')} {last}",
        "F. M. Last": f"{f} {mi}. {last}",
        "F.M. Last": f"{f}{mi}. {last}",
        "Last, First": f"{last}, {g}",
        "Last, First M.": f"{last}, {g} {mi}.",
        "Last, F.": f"{last}, {f}",
        "Last, F. M.": f"{last}, {f} {mi}.",
        "Last F,": f"{last} {f.replace('.', '').replace('-', '')},",
        "Last FM,": f"{last} {f.replace('.', '').replace('-', '')}{mi},",
        "Last First": f"{last} {g}",
        "UPPER CASE": f"{g} {last}".upper(),
        "no diacritics": f"{strip(g)} {strip(last)}",
    }


def decoy_forms(g: str, last: str, other: str) -> dict[str, str]:
    core = last.split()[-1]
    return {
        "another initial": f"{other[0]}. {last}",
        "another given name": f"{other} {last}",
        "a word between": f"{g} met {last}",
        "double-barrelled": f"{g} {core}-Smithers",
        "line break": f"{g}.\n{last}",
    }


def query_forms(g: str, m: str, last: str) -> dict[str, str]:
    return {
        "First Last": f"{g} {last}",
        "First Middle Last": f"{g} {m} {last}",
        "Last, First": f"{last}, {g}",
        "Last, F.": f"{last}, {initials(g)}",
        "F. Last": f"{initials(g)} {last}",
        "transliterated": f"{transliterate(g)} {transliterate(last)}",
        "stripped": f"{strip(g)} {strip(last)}",
    }


def sentences(limit: int, rng: random.Random) -> list[str]:
    """Real C4 sentences of 8-30 words."""
    out = []
    with gzip.open(ROOT / "samples" / "c4" / "c4-en-sample-449.jsonl.gz", "rt") as fh:
        for line in fh:
            for s in re.split(r"(?<=[.!?])\s+", json.loads(line)["text"]):
                if 8 <= len(s.split()) <= 30 and "\n" not in s:
                    out.append(s)
    rng.shuffle(out)
    return out[:limit]


def plant(n_people: int, seed: int = 13):
    """The people and the planted documents: (text, person, form, is decoy, the name as
    written)."""
    rng = random.Random(seed)
    surnames = rng.sample(SURNAMES, n_people)
    people = [(*rng.choice(GIVEN), last) for last in surnames]
    pool = sentences(100_000, rng)
    docs = []
    for p, (g, m, last) in enumerate(people):
        other = next(o for o in rng.sample(OTHERS, len(OTHERS)) if o[0] != g[0])
        for kinds, decoy in ((doc_forms(g, m, last), False), (decoy_forms(g, last, other), True)):
            for form, written in kinds.items():
                words = pool[len(docs) % len(pool)].split()
                at = rng.randint(1, len(words) - 1)
                text = " ".join([*words[:at], written, *words[at:]])
                docs.append((text, p, form, decoy, written))
    return people, docs


def build(work: Path, docs) -> tuple[Indexes, Settings]:
    src = work / "planted.jsonl"
    src.write_text(
        "".join(json.dumps({"id": f"d{i}", "text": d[0]}) + "\n" for i, d in enumerate(docs))
    )
    settings = Settings(data=work / "data")
    assert jobs.ingest(settings, "people", [str(src)]).ok
    assert jobs.scan(settings, "people").ok
    jobs.index(settings, "people")
    return Indexes(Store(settings.data)), settings


def baseline(ix: Indexes, name: str, k: int) -> list[str]:
    """Texts of the documents the plain phrases of before issue 13 match."""
    (ci,) = ix.indexed()
    q = _any([_phrase(ci.schema, v) for v in name_variants(name)])
    _, found = ix.search([ci], lambda c: q, k)
    return [ix.fetch(f).text for f in found]


def run(n_people: int) -> dict:
    people, docs = plant(n_people)
    work = Path(tempfile.mkdtemp(prefix="person-quality-"))
    try:
        ix, settings = build(work, docs)
        by_text = {d[0]: i for i, d in enumerate(docs)}
        k = settings.max_k
        hits = {"corpuscope": defaultdict(lambda: [0, 0]), "baseline": defaultdict(lambda: [0, 0])}
        by_query = {
            "corpuscope": defaultdict(lambda: [0, 0]),
            "baseline": defaultdict(lambda: [0, 0]),
        }
        false = {"corpuscope": defaultdict(int), "baseline": defaultdict(int)}
        decoys = defaultdict(int)
        ms = {"corpuscope": [], "baseline": []}
        misses = []
        for p, (g, m, last) in enumerate(people):
            mine = [i for i, d in enumerate(docs) if d[1] == p]
            for qform, query in query_forms(g, m, last).items():
                t = time.perf_counter()
                ans = person(ix, query, settings, filters=Filters(corpora=["people"]), k=k)
                ms["corpuscope"].append((time.perf_counter() - t) * 1000)
                got = {by_text[ix.find_doc(e.doc_id).text] for e in ans.evidence}
                t = time.perf_counter()
                texts = baseline(ix, query, k)
                ms["baseline"].append((time.perf_counter() - t) * 1000)
                old = {by_text[x] for x in texts}
                for system, found in (("corpuscope", got), ("baseline", old)):
                    for i in mine:
                        form, decoy = docs[i][2], docs[i][3]
                        if decoy:
                            false[system][form] += i in found
                            continue
                        hits[system][form][0] += i in found
                        hits[system][form][1] += 1
                        by_query[system][qform][0] += i in found
                        by_query[system][qform][1] += 1
                        if system == "corpuscope" and i not in found:
                            misses.append((query, docs[i][4], form))
                for i in mine:
                    decoys[docs[i][2]] += docs[i][3]
        report = {
            "people": n_people,
            "documents": len(docs),
            "recall_by_document_form": {
                s: {f: round(a / b, 3) for f, (a, b) in hits[s].items()} for s in hits
            },
            "recall_by_query_form": {
                s: {f: round(a / b, 3) for f, (a, b) in by_query[s].items()} for s in by_query
            },
            "recall": {
                s: round(
                    sum(a for a, _ in hits[s].values()) / sum(b for _, b in hits[s].values()), 3
                )
                for s in hits
            },
            "false_matches": {s: dict(false[s]) for s in false},
            "decoy_questions": dict(decoys),
            "median_ms": {s: round(statistics.median(v), 2) for s, v in ms.items()},
            "misses": sorted(set(misses))[:50],
        }
        return report
    finally:
        shutil.rmtree(work, ignore_errors=True)


def show(r: dict) -> None:
    print(f"{r['people']} people, {r['documents']} planted documents (16 forms + 5 decoys each)")
    print(f"\n{'document form':22} {'corpuscope':>10} {'baseline':>9}")
    for form, v in r["recall_by_document_form"]["corpuscope"].items():
        print(f"{form:22} {v:10.3f} {r['recall_by_document_form']['baseline'][form]:9.3f}")
    print(f"\n{'query form':22} {'corpuscope':>10} {'baseline':>9}")
    for form, v in r["recall_by_query_form"]["corpuscope"].items():
        print(f"{form:22} {v:10.3f} {r['recall_by_query_form']['baseline'][form]:9.3f}")
    print(f"\n{'decoy (false matches)':22} {'corpuscope':>10} {'baseline':>9} {'asked':>6}")
    for form, n in r["decoy_questions"].items():
        if not n:
            continue
        c, b = (
            r["false_matches"]["corpuscope"].get(form, 0),
            r["false_matches"]["baseline"].get(form, 0),
        )
        print(f"{form:22} {c:10d} {b:9d} {n:6d}")
    rc, rb = r["recall"]["corpuscope"], r["recall"]["baseline"]
    print(f"\nrecall: corpuscope {rc:.3f}, baseline (plain phrases) {rb:.3f}")
    print(f"recall ratio corpuscope/baseline: {rc / rb:.2f}")
    mc, mb = r["median_ms"]["corpuscope"], r["median_ms"]["baseline"]
    print(
        f"median ms a question: corpuscope {mc:.2f} ms, baseline {mb:.2f} ms; ratio {mc / mb:.2f}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--people", type=int, default=40, help=f"people planted (at most {len(SURNAMES)})"
    )
    ap.add_argument("--out", type=Path, help="default: bench/out/person_quality.json")
    ap.add_argument("--smoke", action="store_true", help="a tiny run that checks it works")
    args = ap.parse_args()
    n = 8 if args.smoke else min(args.people, len(SURNAMES))
    if args.smoke:
        print("--smoke: 8 people")
    report = run(n)
    show(report)
    if not args.smoke:
        out = args.out or ROOT / "bench" / "out" / "person_quality.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n")
        print(f"\nwrote {out}")


if __name__ == "__main__":
    main()
