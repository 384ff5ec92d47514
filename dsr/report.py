"""The access report of a case (GDPR Art. 15): JSON for machines, plain HTML for the person.

Every document kept as evidence, with its corpus, source URL, date and passages around what
matched, read from the shards (raw text: officers produce it, the person receives it). In each
passage the subject's own identifiers stay visible and every other personal-data span is
replaced by its type (`privacy.redact.redact` with `keep` = the subject's keyed hashes: the
scan's spans, the runtime pass and the display pass). A summary counts documents per corpus
and per identifier, and says what the corpora are for, where they come from, how long they
are kept and which rights are left.
"""

from __future__ import annotations

import html
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from corpuscope.config import Settings
from corpuscope.dsr import cases
from corpuscope.dsr.search import _sidecar_spans, raw_documents
from corpuscope.models.documents import PiiSpan
from corpuscope.privacy.hashing import store_key
from corpuscope.privacy.redact import redact
from corpuscope.store import Store

_MAX_PASSAGES = 3
RIGHTS = [
    "You can ask us to correct inaccurate data about you (Art. 16 GDPR).",
    "You can ask us to erase these documents from our corpora (Art. 17 GDPR).",
    "You can object to their use for training models (Art. 21 GDPR).",
    "You can ask us to restrict their use while a request is examined (Art. 18 GDPR).",
    cases.COMPLAINT,
]


def _windows(matches: list[dict], n_chars: int, radius: int) -> list[tuple[int, int]]:
    """Merged windows of `radius` characters around each match."""
    spans = sorted(
        (max(0, s - radius), min(n_chars, e + radius)) for m in matches for s, e in m["offsets"]
    )
    out: list[list[int]] = []
    for s, e in spans:
        if out and s <= out[-1][1]:
            out[-1][1] = max(out[-1][1], e)
        else:
            out.append([s, e])
    return [(s, e) for s, e in out[:_MAX_PASSAGES]] or [(0, min(n_chars, 2 * radius))]


def _corpus_facts(settings: Settings, corpus: str) -> dict[str, Any]:
    """Purpose, sources and retention as the provider declared them (provider.toml)."""
    from corpuscope.stats.summary import load_provider, provider_file

    cs = Store(settings.data).corpus(corpus)
    p = load_provider(provider_file(cs))

    def get(path: str) -> Any:
        node: Any = p
        for part in path.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        return node or "not declared by the provider"

    return {
        "description": get("corpus.description"),
        "purposes": get("crawling.purposes"),
        "sources": get("corpus.url"),
        "retention": get("corpus.retention"),
    }


def build_report(settings: Settings, case_id: str) -> dict[str, Any]:
    """The access report (JSON-ready). Needs a verified identity and a search."""
    case = cases.show(settings, case_id)
    if case["state"] not in ("searched", "decided", "fulfilled", "closed"):
        raise cases.CaseConflict(
            f"case {case_id} is {case['state']}: a report needs a verified identity and a search"
        )
    if (case["record"]["decision"] or {}).get("outcome") == "refused":
        raise cases.CaseConflict(f"case {case_id} was refused: there is no report to give")
    ids = cases.identifiers(settings, case_id)
    keep = frozenset(i["value_hash"] for i in ids)
    key = store_key(Path(settings.data))
    kept = [e for e in case["evidence"] if not e["dropped"]]
    by_shard: dict[tuple[str, str], set[str]] = defaultdict(set)
    for e in kept:
        by_shard[(e["corpus"], e["shard"])].add(e["doc_id"])
    store = Store(settings.data)
    documents = []
    per_corpus: Counter[str] = Counter()
    per_identifier: Counter[str] = Counter()
    for (corpus, shard), doc_ids in sorted(by_shard.items()):
        cs = store.corpus(corpus)
        raw = raw_documents(cs, shard, doc_ids)
        spans = _sidecar_spans(cs, shard, doc_ids)
        for e in (x for x in kept if x["corpus"] == corpus and x["shard"] == shard):
            doc = raw.get(e["doc_id"])
            if doc is None:  # erased from the shards since it was found
                continue
            text = doc["text"]
            doc_spans = [PiiSpan(**s) for s in spans.get(e["doc_id"], [])]
            passages = []
            for s, t in _windows(e["matches"], len(text), settings.dsr_passage_chars):
                shown, _ = redact(
                    text[s:t],
                    doc_spans,
                    offset=s,
                    keep=keep,
                    key=key,
                    phone_region=settings.phone_region,
                )
                passages.append({"start": s, "end": t, "text": shown})
            labels = sorted({m["label"] for m in e["matches"]}) or ["added by the officer"]
            per_corpus[corpus] += 1
            for lb in labels:
                per_identifier["name" if lb.startswith("name") else lb] += 1
            ts = doc["timestamp"]
            documents.append(
                {
                    "doc_id": e["doc_id"],
                    "corpus": corpus,
                    "url": doc["url"],
                    "date": ts.date().isoformat() if ts else None,
                    "matched": labels,
                    "passages": passages,
                }
            )
    record = case["record"]
    return {
        "case_id": case_id,
        "kind": case["kind"],
        "received": case["received"],
        "subject": {i["label"]: i["value"] for i in ids},
        "summary": {
            "documents": len(documents),
            "per_corpus": dict(sorted(per_corpus.items())),
            "per_identifier": dict(sorted(per_identifier.items())),
            "searched": record["searches"][-1] if record["searches"] else None,
            "corpora": {c: _corpus_facts(settings, c) for c in sorted(per_corpus)},
            "rights": RIGHTS,
        },
        "documents": documents,
        "note": "Other people's personal data in these passages is replaced by its type "
        "([EMAIL], [PHONE] ...).",
    }


def to_html(report: dict[str, Any]) -> str:
    """The report as one plain, printable HTML page for a reader who is not an engineer."""
    e = html.escape
    s = report["summary"]
    out = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>Your data in our training corpora ({e(report['case_id'])})</title>",
        "<style>body{font:16px/1.5 Georgia,serif;max-width:46em;margin:2em auto;color:#111}"
        "h1,h2{font-family:sans-serif}blockquote{border-left:3px solid #999;margin:.5em 0;"
        "padding:.2em 1em;white-space:pre-wrap}table{border-collapse:collapse}"
        "td,th{border:1px solid #999;padding:.2em .6em}@media print{a{color:#111}}</style>",
        "</head><body>",
        "<h1>Your data in our training corpora</h1>",
        f"<p>Reference {e(report['case_id'])}, request received on {e(report['received'])}.</p>",
        "<p>You asked what our text collections (used to train language models) hold about "
        "you. We searched them for your name and the details you gave us:</p><ul>",
        *(f"<li>{e(k)}: {e(v)}</li>" for k, v in report["subject"].items()),
        "</ul>",
        f"<h2>What we found</h2><p>{s['documents']} document(s) mention you.</p>",
    ]
    if s["per_corpus"]:
        out.append(
            "<table><tr><th>Collection</th><th>Documents</th><th>What it is for</th>"
            "<th>Where it comes from</th><th>How long it is kept</th></tr>"
        )
        for c, n in s["per_corpus"].items():
            f = s["corpora"][c]
            out.append(
                f"<tr><td>{e(c)}</td><td>{n}</td><td>{e(str(f['purposes']))}</td>"
                f"<td>{e(str(f['sources']))}</td><td>{e(str(f['retention']))}</td></tr>"
            )
        out.append("</table>")
    for i, d in enumerate(report["documents"], 1):
        out.append(
            f"<h2>Document {i}</h2><p>Collection: {e(d['corpus'])}<br>"
            f"Web address: {e(d['url'] or 'not recorded')}<br>Date: {e(d['date'] or 'not recorded')}<br>"
            f"Found by: {e(', '.join(d['matched']))}</p>"
        )
        out += [f"<blockquote>{e(p['text'])}</blockquote>" for p in d["passages"]]
    out.append(f"<p><em>{e(report['note'])}</em></p><h2>Your rights</h2><ul>")
    out += [f"<li>{e(r)}</li>" for r in s["rights"]]
    out.append("</ul></body></html>")
    return "\n".join(out)
