"""Opt-out rules: a whole domain, a URL prefix, or an identifier, each with its reason and case.

A rule is applied to what is stored when it is made (every matching document is added to the
suppression list) and at every later ingest (`suppression.IngestFilter`). A domain matches its
subdomains (``example.org`` matches ``blog.example.org``); a URL prefix is compared without
its scheme and ``www.``; an identifier is sealed like a case's (`sealing`) and matches the
documents whose PII sidecars hold its keyed hash (e-mails, phones: any way they are written)
or whose text holds it literally, case aside.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from corpuscope.config import Settings
from corpuscope.dsr import db, suppression
from corpuscope.dsr.audit import cli_actor
from corpuscope.dsr.sealing import KINDS, keyed_hash, seal, unseal
from corpuscope.errors import UsageError
from corpuscope.store import Store, check_corpus_name

RULE_KINDS = ("domain", "url_prefix", "identifier")
_LOOKUP = {"email": "EMAIL_ADDRESS", "phone": "PHONE_NUMBER"}


@dataclass(frozen=True)
class Rule:
    """A rule with its value in clear (only in memory, for matching)."""

    id: str
    kind: str
    value: str
    identifier_kind: str | None = None

    def mask(self, documents: pa.Table) -> pa.Array:
        """Which rows of a table of `DOCUMENT_SCHEMA` the rule matches."""
        if self.kind == "identifier":
            return pc.fill_null(
                pc.match_substring(documents["text"], self.value, ignore_case=True), False
            )
        test = suppression.domain_matches if self.kind == "domain" else suppression.prefix_matches
        return pa.array([test(u, self.value) for u in documents["url"].to_pylist()], pa.bool_())


def _check(kind: str, value: str, identifier_kind: str | None) -> None:
    if kind not in RULE_KINDS:
        raise UsageError(f"a rule is one of {', '.join(RULE_KINDS)}")
    if not value.strip() or len(value) > 2048:
        raise UsageError("a rule's value must be between 1 and 2048 characters")
    if not value.isprintable():
        raise UsageError("a rule's value must be printable text (no control characters)")
    if kind == "identifier" and identifier_kind not in KINDS:
        raise UsageError(f"an identifier rule names its kind: {', '.join(KINDS)}")
    if kind == "domain" and ("/" in value or " " in value.strip()):
        raise UsageError("a domain is a host name such as example.org (no path)")


def add_rule(
    settings: Settings,
    kind: str,
    value: str,
    reason: str,
    corpus: str | None = None,
    case_id: str | None = None,
    identifier_kind: str | None = None,
    actor: str | None = None,
) -> dict[str, Any]:
    """Record a rule and suppress every stored document it matches; returns the rule's id
    and how many documents it added (the value is not returned or logged)."""
    _check(kind, value, identifier_kind)
    if not reason.strip():
        raise UsageError("a rule needs its reason")
    if corpus is not None:
        check_corpus_name(corpus)
    rule_id = "rule-" + secrets.token_hex(6)
    value = value.strip()
    rule = Rule(rule_id, kind, value, identifier_kind)
    matched = matching_documents(settings, rule, corpus)
    with db.writing(settings.data) as (st, con):
        sealed = seal(settings, rule_id, value) if kind == "identifier" else None
        con.execute(
            "insert into dsr_rules (id, kind, value, sealed, value_hash, corpus, case_id, "
            "reason, added) values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                rule_id,
                kind if kind != "identifier" else f"identifier:{identifier_kind}",
                None if kind == "identifier" else value,
                sealed,
                keyed_hash(settings, identifier_kind, value) if kind == "identifier" else None,
                corpus,
                case_id,
                reason,
                time.time(),
            ),
        )
        added = suppression.add(con, matched, reason, case_id=case_id, rule_id=rule_id)
        detail = {"kind": kind, "corpus": corpus, "case": case_id, "documents": added}
        if kind != "identifier":
            detail["value"] = value  # a domain or URL prefix, not a person's identifier
        st.append_audit(con, actor or cli_actor(), "rule.add", rule_id, detail)
    suppression.export(settings.data)
    return {"rule_id": rule_id, "documents_added": added, "documents_matched": len(matched)}


def active(data_dir: Path, corpus: str, settings: Settings) -> list[Rule]:
    """The rules that apply to `corpus`, with identifiers unsealed (in memory only)."""
    with db.reading(data_dir) as con:
        rows = con.execute(
            "select id, kind, value, sealed from dsr_rules where corpus is null or corpus = ?",
            (corpus,),
        ).fetchall()
    out = []
    for rule_id, kind, value, sealed in rows:
        if kind.startswith("identifier:"):
            out.append(Rule(rule_id, "identifier", unseal(settings, rule_id, sealed), kind[11:]))
        else:
            out.append(Rule(rule_id, kind, value))
    return out


def listed(data_dir: Path) -> list[dict[str, Any]]:
    """Every rule (identifier values are never shown: their kind only)."""
    with db.reading(data_dir) as con:
        rows = con.execute(
            "select r.id, r.kind, r.value, r.corpus, r.case_id, r.reason, r.added, "
            "(select count(*) from dsr_suppressed s where s.rule_id = r.id) "
            "from dsr_rules r order by r.added"
        ).fetchall()
    keys = ("rule_id", "kind", "value", "corpus", "case_id", "reason", "added", "documents")
    return [dict(zip(keys, r, strict=True)) for r in rows]


def matching_documents(
    settings: Settings, rule: Rule, corpus: str | None = None
) -> list[suppression.Doc]:
    """Every stored document `rule` matches, in `corpus` or in all corpora."""
    from corpuscope.privacy.lookup import find_identifier

    store = Store(settings.data)
    names = [corpus] if corpus else store.corpora()
    hashed: set[str] = set()
    if rule.kind == "identifier" and rule.identifier_kind in _LOOKUP:
        for found in find_identifier(
            store, rule.value, _LOOKUP[rule.identifier_kind], names, settings.phone_region, 10**9
        ):
            hashed.update(found.documents)
    out = []
    for name in names:
        cs = store.corpus(name)
        for path in cs.shard_paths():
            table = pq.read_table(path, columns=["doc_id", "shard", "url", "text_hash", "text"])
            mask = pc.or_(
                rule.mask(table), pc.is_in(table["doc_id"], pa.array(sorted(hashed), pa.string()))
            )
            for row in table.filter(mask).select(["doc_id", "shard", "text_hash"]).to_pylist():
                out.append(suppression.Doc(row["doc_id"], name, row["shard"], row["text_hash"]))
    return out
