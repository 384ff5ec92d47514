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

The summary is public, so its figures follow the small-cell rule of the public statistics
(`corpuscope.stats.disclosure`): they come from the tables as the public sees them, and a
figure the rule hides is null and named in the `withheld` list of the object holding it (in
Markdown: "withheld"). With a threshold of 1 (the auditor role) every figure is shown.
"""

from __future__ import annotations

import hashlib
import math
import time
import tomllib
from datetime import date
from pathlib import Path
from typing import Any

from corpuscope.errors import NoStatistics, UsageError
from corpuscope.stats.build import SPECS, load_table, read_manifest
from corpuscope.stats.disclosure import suppress
from corpuscope.store import CorpusStore

TEMPLATE = "AI Office, Template for the Public Summary of Training Content for general-purpose AI models (July 2025)"
MISSING = "NOT DECLARED: to be completed by the provider"
#: A withheld figure in the Markdown summary (null in JSON, named in its object's `withheld`).
WITHHELD = "withheld (small-cell rule)"
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


def _is_text(v: Any) -> bool:
    return isinstance(v, str)


def _is_texts(v: Any) -> bool:
    return isinstance(v, str) or (isinstance(v, list) and all(isinstance(x, str) for x in v))


def _is_entries(v: Any) -> bool:
    return _is_texts(v) or (isinstance(v, list) and all(isinstance(x, str | dict) for x in v))


def _is_date(v: Any) -> bool:
    return isinstance(v, str | date)


_TEXT = ("a string", _is_text)
_TEXTS = ("a string or a list of strings", _is_texts)
_ENTRIES = ("a string, or a list of strings or tables", _is_entries)
#: Every key a provider file may declare, with the type it must have (docs/statistics.md).
PROVIDER_KEYS: dict[str, dict[str, tuple[str, Any]]] = {
    "provider": {
        "name": _TEXT,
        "contact": _TEXT,
        "authorised_representative": _TEXT,
        "sme": ("true or false", lambda v: isinstance(v, bool)),
    },
    "model": {
        "name": _TEXT,
        "versions": _TEXTS,
        "dependencies": _TEXTS,
        "placed_on_market": ("a string or a date", _is_date),
    },
    "corpus": {
        "kind": (f"one of {', '.join(CORPUS_KINDS)}", lambda v: v in CORPUS_KINDS),
        "name": _TEXT,
        "url": _TEXT,
        "description": _TEXT,
        "types_of_content": _TEXTS,
    },
    "crawling": {
        "crawlers": _TEXTS,
        "purposes": _TEXTS,
        "behaviour": _TEXTS,
        "period": _TEXT,
        "content": _TEXTS,
    },
    "sources": {
        key: _ENTRIES
        for key in (
            "public_datasets",
            "licensed",
            "private_other",
            "user_data",
            "synthetic",
            "other",
        )
    },
    "processing": {"tdm_opt_out": _TEXTS, "illegal_content": _TEXTS, "other": _TEXTS},
}


def provider_keys() -> list[str]:
    """The valid keys of a provider file, as `section.key`."""
    return [f"{section}.{key}" for section, keys in PROVIDER_KEYS.items() for key in keys]


def _type_name(v: Any) -> str:
    names = {str: "a string", bool: "a boolean", int: "an integer", float: "a number"}
    names |= {list: "a list", dict: "a table"}
    return names.get(type(v), type(v).__name__)


def check_provider(data: dict[str, Any]) -> list[str]:
    """What is wrong with provider declarations: unknown sections or keys (with the nearest
    valid one) and values of the wrong type. Empty when they are right."""
    from difflib import get_close_matches

    valid = provider_keys()
    problems = []
    for section, body in data.items():
        keys = PROVIDER_KEYS.get(section)
        if keys is None:
            near = get_close_matches(section, list(PROVIDER_KEYS), 1)
            hint = f" (did you mean [{near[0]}]?)" if near else ""
            problems.append(f"unknown section [{section}]{hint}")
            continue
        if not isinstance(body, dict):
            problems.append(f"{section} must be a table ([{section}]), not {_type_name(body)}")
            continue
        for key, value in body.items():
            if key not in keys:
                near = get_close_matches(f"{section}.{key}", valid, 1)
                hint = f" (did you mean {near[0]}?)" if near else ""
                problems.append(f"unknown key {section}.{key}{hint}")
            elif not keys[key][1](value):
                wanted = keys[key][0]
                if not wanted.startswith("one of"):  # a word out of a list: no type to name
                    wanted += f", not {_type_name(value)}"
                problems.append(f"{section}.{key} must be {wanted}")
    return problems


def load_provider(path: Path | None, required: bool = False) -> dict[str, Any]:
    """The provider declarations of a TOML file, checked against `PROVIDER_KEYS`; `{}`
    when there is no file (unless it is `required`: a file named on the command line)."""
    if path is None or not path.exists():
        if required:
            raise UsageError(
                f"provider file {path}: no such file (docs/statistics.md shows one; valid "
                f"keys: {', '.join(provider_keys())})"
            )
        return {}
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{path} is not valid TOML: {exc}") from None
    except OSError as exc:
        raise UsageError(f"cannot read provider file {path}: {exc.strerror or exc}") from None
    if problems := check_provider(data):
        raise UsageError(
            f"provider file {path}: {'; '.join(problems)}. Valid keys: {', '.join(provider_keys())}"
        )
    return data


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


def _rounded(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def _marked(figures: dict[str, Any], names: tuple[str, ...], **nested: dict[str, Any]) -> dict:
    """`figures` with a `withheld` list: those of `names` that are None (withheld by the
    small-cell rule), and `KEY.NAME` for a None among the nested figures `KEY`."""
    withheld = [n for n in names if figures.get(n) is None]
    for key, values in nested.items():
        withheld += [f"{key}.{k}" for k, v in values.items() if v is None]
    return {**figures, "withheld": withheld}


def size_bin(tokens: float) -> str:
    return next(label for limit, label in TEXT_BINS if tokens < limit)


def top_domains(
    rows: list[dict[str, Any]], sme: bool, hidden: set[str] | frozenset[str] = frozenset()
) -> tuple[list[str], str]:
    """The top domains by content size: 10%, or for an SME 5% or 1,000 (the lower), by bytes.
    Those of `hidden` (whose figures the public statistics withhold) are listed last, by
    name, as the public tables list them: in place, their position would give their rank."""
    named = sorted(
        (r for r in rows if r["domain"] != "(none)"), key=lambda r: (-r["bytes"], r["domain"])
    )
    if sme:
        n, rule = min(math.ceil(0.05 * len(named)), 1000), "top 5% or 1,000 (SME), the lower"
    else:
        n, rule = math.ceil(0.10 * len(named)), "top 10%"
    top = [r["domain"] for r in named[:n]]
    rule = f"{rule} of {len(named):,} domains by bytes of text"
    last = sorted(d for d in top if d in hidden)
    if last:
        rule += "; those with figures withheld by the small-cell rule last, by name"
    return [d for d in top if d not in hidden] + last, rule


def build_summary(cs: CorpusStore, provider: dict[str, Any], threshold: int = 10) -> dict[str, Any]:
    """The summary as a JSON-able dict (sections keyed like the template). It is public, so
    its figures come from the tables as the public sees them (`threshold`: small cells; a
    withheld figure is None and named in its object's `withheld`; 1 shows every figure)."""
    manifest = read_manifest(cs)
    if manifest is None:
        raise NoStatistics(f"no statistics for {cs.name}: run `corpuscope stats` first")
    d = _Declared(provider)

    # The public summary reads the public tables (over the redacted view); 1: the auditor's.
    redacted = threshold > 1

    def public(name: str) -> list[dict[str, Any]]:
        rows = load_table(cs, name, public=redacted).to_pylist()
        return suppress(SPECS[name], rows, threshold).rows

    full_overview = load_table(cs, "overview", public=redacted).to_pylist()[0]
    (overview,) = public("overview")  # a corpus of few documents: every figure withheld
    languages = public("by_language")
    domains = load_table(cs, "by_domain", public=redacted).to_pylist()
    hidden_domains = {r["domain"] for r in public("by_domain") if r["suppressed"]}
    dup, pii, quality = (public(name) for name in ("duplicates_exact", "pii", "quality"))
    dup, quality = dup[0], quality[0]
    # The size bin (< 1 billion tokens …) is too coarse to give a small count away.
    size = size_bin((full_overview["words"] or 0) * TOKENS_PER_WORD)
    words = overview["words"]
    tokens = None if words is None else round(words * TOKENS_PER_WORD)
    declared_sme = provider.get("provider", {}).get("sme")
    if declared_sme is None:
        d.missing.append("provider.sme")  # the larger (non-SME) top-domain list applies
    sme = bool(declared_sme)
    # Languages hidden in the public table (small cells and their complements) are counted.
    named_langs = [
        r
        for r in languages
        if not r["suppressed"] and (r["documents"] or 0) >= LANGUAGE_MIN_DOCUMENTS
    ]
    first, last = overview["first_timestamp"], overview["last_timestamp"]
    withheld_period = overview["suppressed"]
    if withheld_period:
        period, latest = None, None
    else:
        period = f"{first:%Y-%m} to {last:%Y-%m}" if first and last else "unknown (no timestamps)"
        latest = f"{last:%Y-%m}" if last else "unknown"
    if problems := check_provider(provider):
        raise UsageError(f"provider declarations: {'; '.join(problems)}")
    kind = provider.get("corpus", {}).get("kind")
    this_corpus = _marked(
        {
            "name": provider.get("corpus", {}).get("name", cs.name),
            "url": d("corpus.url"),
            "description": d("corpus.description"),
            "documents": overview["documents"],
            "estimated_tokens": tokens,
        },
        ("documents", "estimated_tokens"),
    )
    listed, rule = top_domains(domains, sme, hidden_domains)
    spans = {r["entity_type"]: _rounded(r["spans_per_million_words"], 1) for r in pii}
    code, documents = quality["code_lines"], quality["documents"]
    code_share = None if code is None or documents is None else code / max(1, documents)
    dup_share = dup["redundant_share"]
    if overview["suppressed"]:  # a corpus of few documents: none of its figures either
        spans = dict.fromkeys(spans)
        code_share = dup_share = None
    crawl_period = provider.get("crawling", {}).get("period")
    if not crawl_period:
        crawl_period = (
            d("crawling.period")
            if period is None
            else _undeclared(d, "crawling.period", f"{period} (the documents' timestamps)")
        )

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
                "text": _marked(
                    {
                        "size_bin": size,
                        "estimated_tokens": tokens,
                        "token_estimate": f"{TOKENS_PER_WORD:.3f} tokens per word "
                        "(white-space words)",
                        "documents": overview["documents"],
                        "words": words,
                        "bytes": overview["bytes"],
                        "types_of_content": d("corpus.types_of_content"),
                    },
                    ("estimated_tokens", "documents", "words", "bytes"),
                ),
                "languages": [
                    {
                        "language": r["language"],
                        "share_of_documents": round(r["share_of_documents"], 4),
                    }
                    for r in named_langs
                ],
                "other_languages": len(languages) - len(named_langs),
                "period_of_collection": period,
                "latest_data": latest,
                "other_characteristics": _marked(
                    {
                        "exact_duplicate_share": _rounded(dup_share, 4),
                        "personal_data_spans_per_million_words": spans,
                        "share_with_code_lines": _rounded(code_share, 4),
                    },
                    ("exact_duplicate_share", "share_with_code_lines"),
                    personal_data_spans_per_million_words=spans,
                ),
                "withheld": ["period_of_collection", "latest_data"] if withheld_period else [],
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
                "period_of_collection": crawl_period,
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
        # None: every figure shown (the auditor's summary, not the public one).
        "small_cell_threshold": threshold if threshold > 1 else None,
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
    threshold = summary.get("small_cell_threshold")
    if threshold:
        out += [
            f"Figures marked *{WITHHELD}* are withheld: they count fewer than {threshold} "
            "documents, or would let such a count be worked out (the small-cell rule of the "
            "public statistics).",
            "",
        ]
    else:
        out += ["Every figure is shown (auditor role): this is not the public version.", ""]
    for key, section in summary["sections"].items():
        out += [f"## {TITLES[key]}", ""]
        for sub, body in section.items():
            out += [f"### {TITLES[sub]}", "", *_md(body), ""]
    if summary["missing_declarations"]:
        out += ["## Missing declarations", ""]
        out += [f"- `{m}`" for m in summary["missing_declarations"]] + [""]
    return "\n".join(out)


def _md(value: Any, depth: int = 0, withheld: frozenset[str] = frozenset()) -> list[str]:
    """`withheld`: names of this dict's figures withheld by its parent's `withheld` list."""
    pad = "  " * depth
    if isinstance(value, dict):
        lines = []
        hidden = withheld | set(value.get("withheld", []))
        for k, v in value.items():
            if k == "withheld":
                continue  # its figures say "withheld" where they stand
            label = k.replace("_", " ")
            if isinstance(v, dict | list) and v:
                lines.append(f"{pad}- **{label}**:")
                inner = frozenset(n[len(k) + 1 :] for n in hidden if n.startswith(f"{k}."))
                lines += _md(v, depth + 1, inner)
            elif v is None and k in hidden:
                lines.append(f"{pad}- **{label}**: *{WITHHELD}*")
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
                ", ".join(
                    f"{k.replace('_', ' ')}: "
                    + (WITHHELD if x is None and k in v.get("withheld", []) else _scalar(x))
                    for k, x in v.items()
                    if k != "withheld"
                )
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
    return "none" if v in (None, [], {}) else str(v)
