"""The EU AI Act public summary of training content (Article 53(1)(d)), for one corpus.

It follows the structure of the AI Office's template of July 2025: 1 general information
(provider, model, modalities and size in the template's bins, languages, period of
collection, other characteristics), 2 list of data sources (2.1 public datasets, 2.2 private
or licensed datasets, 2.3 crawled and scraped data with the top domain names by content size,
2.4 user data, 2.5 synthetic data, 2.6 other), 3 data processing (3.1 respect of
text-and-data-mining opt-outs, 3.2 removal of illegal content, 3.3 other information).

Every figure the corpus can give comes from its published statistics; what only the provider
can declare comes from a provider file (TOML, `docs/statistics.md` shows one). A declaration
that is missing is reported as missing, never filled in.
"""

from __future__ import annotations

import hashlib
import math
import time
import tomllib
from pathlib import Path
from typing import Any

from corpuscope.errors import NoStatistics, UsageError
from corpuscope.stats.build import SPECS, load_table, read_manifest
from corpuscope.stats.disclosure import suppress
from corpuscope.store import CorpusStore

TEMPLATE = "AI Office, Template for the Public Summary of Training Content for general-purpose AI models (July 2025)"
MISSING = "NOT DECLARED: to be completed by the provider"
WITHHELD = "withheld (fewer documents than the small-cell threshold)"
#: Tokens are estimated from words (about 0.75 words per token for English BPE tokenizers).
TOKENS_PER_WORD = 4 / 3
TEXT_BINS = [
    (1e9, "less than 1 billion tokens"),
    (10e12, "1 billion to 10 trillion tokens"),
    (math.inf, "more than 10 trillion tokens"),
]
CORPUS_KINDS = ("public", "licensed", "private", "crawled", "user", "synthetic", "other")
LANGUAGE_MIN_DOCUMENTS = 10  # smaller languages are counted, not named with a share


def provider_file(cs: CorpusStore) -> Path:
    """Where the API looks for the corpus's provider declarations."""
    return cs.root / "provider.toml"


def load_provider(path: Path | None) -> dict[str, Any]:
    if path is None or not path.exists():
        return {}
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{path} is not valid TOML: {exc}") from None


class _Declared:
    """Reads provider declarations and remembers which were missing."""

    def __init__(self, data: dict[str, Any]):
        self.data, self.missing = data, []

    def __call__(self, path: str) -> Any:
        node: Any = self.data
        for part in path.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        if node in (None, "", []):
            self.missing.append(path)
            return MISSING
        return node


def _undeclared(d: _Declared, path: str, figure: str) -> str:
    """A figure the corpus suggests where the provider has not declared one: shown as such,
    and the declaration listed as missing."""
    d.missing.append(path)
    return f"{MISSING} (the corpus suggests: {figure})"


def _rounded(value: float | None, digits: int) -> float | str:
    return WITHHELD if value is None else round(value, digits)


def size_bin(tokens: float) -> str:
    return next(label for limit, label in TEXT_BINS if tokens < limit)


def top_domains(rows: list[dict[str, Any]], sme: bool) -> tuple[list[str], str]:
    """The top domains by content size: 10%, or for an SME 5% or 1,000 (the lower)."""
    named = sorted(
        (r for r in rows if r["domain"] != "(none)"), key=lambda r: (-r["bytes"], r["domain"])
    )
    if sme:
        n, rule = min(math.ceil(0.05 * len(named)), 1000), "top 5% or 1,000 (SME), the lower"
    else:
        n, rule = math.ceil(0.10 * len(named)), "top 10%"
    return [r["domain"] for r in named[:n]], f"{rule} of {len(named):,} domains by bytes of text"


def build_summary(cs: CorpusStore, provider: dict[str, Any], threshold: int = 10) -> dict[str, Any]:
    """The summary as a JSON-able dict (sections keyed like the template). It is public, so
    its figures come from the tables as the public sees them (`threshold`: small cells)."""
    manifest = read_manifest(cs)
    if manifest is None:
        raise NoStatistics(f"no statistics for {cs.name}: run `corpuscope stats` first")
    d = _Declared(provider)
    overview = load_table(cs, "overview").to_pylist()[0]
    languages = load_table(cs, "by_language").to_pylist()
    domains = load_table(cs, "by_domain").to_pylist()
    dup, pii, quality = (
        suppress(SPECS[name], load_table(cs, name).to_pylist(), threshold).rows
        for name in ("duplicates_exact", "pii", "quality")
    )
    dup, quality = dup[0], quality[0]
    tokens = (overview["words"] or 0) * TOKENS_PER_WORD
    declared_sme = provider.get("provider", {}).get("sme")
    if declared_sme is None:
        d.missing.append("provider.sme")  # the larger (non-SME) top-domain list applies
    sme = bool(declared_sme)
    named_langs = [r for r in languages if r["documents"] >= LANGUAGE_MIN_DOCUMENTS]
    first, last = overview["first_timestamp"], overview["last_timestamp"]
    period = f"{first:%Y-%m} to {last:%Y-%m}" if first and last else "unknown (no timestamps)"
    kind = provider.get("corpus", {}).get("kind")
    if kind is not None and kind not in CORPUS_KINDS:
        raise UsageError(f"corpus.kind must be one of {', '.join(CORPUS_KINDS)}")
    this_corpus = {
        "name": provider.get("corpus", {}).get("name", cs.name),
        "url": d("corpus.url"),
        "description": d("corpus.description"),
        "documents": overview["documents"],
        "estimated_tokens": round(tokens),
    }
    listed, rule = top_domains(domains, sme)

    def among(k: str) -> list[dict[str, Any]]:
        return [this_corpus] if kind == k else []

    sections = {
        "1_general_information": {
            "1.1_provider": {
                "name": d("provider.name"),
                "contact": d("provider.contact"),
                "authorised_representative": d("provider.authorised_representative"),
            },
            "1.2_model": {
                "name": d("model.name"),
                "versions": d("model.versions"),
                "dependencies": d("model.dependencies"),
                "placed_on_market": d("model.placed_on_market"),
            },
            "1.3_modalities_and_size": {
                "modalities": ["text"],
                "text": {
                    "size_bin": size_bin(tokens),
                    "estimated_tokens": round(tokens),
                    "token_estimate": f"{TOKENS_PER_WORD:.3f} tokens per word (white-space words)",
                    "documents": overview["documents"],
                    "words": overview["words"],
                    "bytes": overview["bytes"],
                    "types_of_content": d("corpus.types_of_content"),
                },
                "languages": [
                    {
                        "language": r["language"],
                        "share_of_documents": round(r["share_of_documents"], 4),
                    }
                    for r in named_langs
                ],
                "other_languages": len(languages) - len(named_langs),
                "period_of_collection": period,
                "latest_data": f"{last:%Y-%m}" if last else "unknown",
                "other_characteristics": {
                    "exact_duplicate_share": _rounded(dup["redundant_share"], 4),
                    "personal_data_spans_per_million_words": {
                        r["entity_type"]: _rounded(r["spans_per_million_words"], 1) for r in pii
                    },
                    "share_with_code_lines": _rounded(
                        quality["code_lines"] / max(1, quality["documents"])
                        if quality["code_lines"] is not None and quality["documents"]
                        else None,
                        4,
                    ),
                },
            },
        },
        "2_data_sources": {
            "2.1_public_datasets": (
                among("public") + provider.get("sources", {}).get("public_datasets", [])
            )
            or d("sources.public_datasets"),
            "2.2_private_datasets": {
                "licensed": among("licensed") or d("sources.licensed"),
                "other_third_parties": among("private") or d("sources.private_other"),
            },
            "2.3_crawled_and_scraped": {
                "crawlers": d("crawling.crawlers"),
                "purposes": d("crawling.purposes"),
                "behaviour": d("crawling.behaviour"),
                "period_of_collection": provider.get("crawling", {}).get("period")
                or _undeclared(d, "crawling.period", f"{period} (the documents' timestamps)"),
                "content": d("crawling.content"),
                "top_domains_rule": rule,
                "top_domains": listed,
            },
            "2.4_user_data": among("user") or d("sources.user_data"),
            "2.5_synthetic_data": among("synthetic") or d("sources.synthetic"),
            "2.6_other": among("other") or d("sources.other"),
        },
        "3_data_processing": {
            "3.1_tdm_opt_out": d("processing.tdm_opt_out"),
            "3.2_illegal_content": d("processing.illegal_content"),
            "3.3_other": d("processing.other"),
        },
    }
    if kind is None:
        d.missing.append("corpus.kind")
    stats_sha = hashlib.sha256(cs.stats_manifest_path.read_bytes()).hexdigest()
    return {
        "template": TEMPLATE,
        "corpus": cs.name,
        "generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "statistics_manifest_sha256": stats_sha,
        "sections": sections,
        "missing_declarations": d.missing,
    }


TITLES = {
    "1_general_information": "1. General information",
    "1.1_provider": "1.1 Provider identification",
    "1.2_model": "1.2 Model identification",
    "1.3_modalities_and_size": "1.3 Modalities, overall training data size and other characteristics",
    "2_data_sources": "2. List of data sources",
    "2.1_public_datasets": "2.1 Publicly available datasets",
    "2.2_private_datasets": "2.2 Private non-publicly available datasets obtained from third parties",
    "2.3_crawled_and_scraped": "2.3 Data crawled and scraped from online sources",
    "2.4_user_data": "2.4 User data",
    "2.5_synthetic_data": "2.5 Synthetic data",
    "2.6_other": "2.6 Other sources of data",
    "3_data_processing": "3. Data processing aspects",
    "3.1_tdm_opt_out": "3.1 Respect of reservation of rights from the text and data mining exception",
    "3.2_illegal_content": "3.2 Removal of illegal content",
    "3.3_other": "3.3 Other information",
}


def to_markdown(summary: dict[str, Any]) -> str:
    """The summary as a Markdown document, headed like the template."""
    out = [
        f"# Public summary of training content: corpus `{summary['corpus']}`",
        "",
        f"Structure: {summary['template']}. Generated {summary['generated_at']} from the "
        f"statistics manifest sha256 `{summary['statistics_manifest_sha256']}`.",
        "",
    ]
    for key, section in summary["sections"].items():
        out += [f"## {TITLES[key]}", ""]
        for sub, body in section.items():
            out += [f"### {TITLES[sub]}", "", *_md(body), ""]
    if summary["missing_declarations"]:
        out += ["## Missing declarations", ""]
        out += [f"- `{m}`" for m in summary["missing_declarations"]] + [""]
    return "\n".join(out)


def _md(value: Any, depth: int = 0) -> list[str]:
    pad = "  " * depth
    if isinstance(value, dict):
        lines = []
        for k, v in value.items():
            label = k.replace("_", " ")
            if isinstance(v, dict | list) and v:
                lines.append(f"{pad}- **{label}**:")
                lines += _md(v, depth + 1)
            else:
                lines.append(f"{pad}- **{label}**: {_scalar(v)}")
        return lines
    if isinstance(value, list):
        if not value:
            return [f"{pad}- none"]
        if all(isinstance(v, str) for v in value):
            return [f"{pad}- {', '.join(value)}"]
        return [
            f"{pad}- "
            + (
                ", ".join(f"{k.replace('_', ' ')}: {_scalar(x)}" for k, x in v.items())
                if isinstance(v, dict)
                else _scalar(v)
            )
            for v in value
        ]
    return [f"{pad}- {_scalar(value)}"]


def _scalar(v: Any) -> str:
    if v == MISSING:
        return f"**{MISSING}**"
    if isinstance(v, int) and not isinstance(v, bool):
        return f"{v:,}"
    return "none" if v in (None, []) else str(v)
