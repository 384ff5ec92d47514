"""The command line a newcomer meets, and docs that stay true to the code."""

from __future__ import annotations

import json
import re

from corpuscope.config import Settings, settings_help
from tests.conftest import ROOT, SAMPLES


def test_every_setting_is_documented():
    ops = (ROOT / "docs" / "operations.md").read_text()
    for name, help_line in settings_help().items():
        assert f"`CORPUSCOPE_{name.upper()}`" in ops, (
            f"setting {name} missing from docs/operations.md"
        )
        assert help_line, f"setting {name} has no help line"


def test_every_cli_command_is_in_the_readme():
    from typer.testing import CliRunner

    from corpuscope.cli import app

    readme = (ROOT / "README.md").read_text()
    out = CliRunner().invoke(app, ["--help"], terminal_width=100).stdout
    commands = re.findall(r"^│ (\w+)\s", out, flags=re.M)
    assert {"ingest", "corpora", "demo"} <= set(commands)
    for command in commands:
        assert f"corpuscope {command}" in readme, f"`corpuscope {command}` missing from README.md"


def test_ingest_help_is_followable(cli):
    out = cli("ingest", "--help").stdout
    for option in (
        "--corpus",
        "--format",
        "--text-field",
        "--hf",
        "--shard-docs",
        "--workers",
        "--executor",
        "--ray-address",
        "--force",
        "--quiet",
        "--json",
    ):
        assert option in out


def test_corpora_lists_counts(cli):
    assert "no corpora" in cli("corpora").stdout
    cli("ingest", SAMPLES / "c4", "--corpus", "c4", "--quiet")
    (row,) = json.loads(cli("corpora", "--json").stdout)
    assert row["corpus"] == "c4" and row["documents"] == 452 and row["shards"] == 2
    assert "c4" in cli("corpora").stdout


def test_usage_errors_are_clear(cli, tmp_path):
    r = cli("ingest", tmp_path / "missing.jsonl", "--corpus", "x", expect=2)
    assert "no such file" in _flat(r.output)  # rich wraps long lines at the console width
    r = cli("ingest", SAMPLES / "c4", "--corpus", "bad name!", expect=2)
    assert "invalid corpus name" in _flat(r.output)
    r = cli(
        "ingest",
        SAMPLES / "commoncrawl" / "cc-main-2024-22-one-page.warc.wat.gz",
        "--corpus",
        "x",
        expect=2,
    )
    assert "WAT" in r.output


def _flat(text: str) -> str:
    return " ".join(text.split())


def test_settings_from_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("CORPUSCOPE_SHARD_DOCS", "123")
    monkeypatch.setenv("CORPUSCOPE_DATA", str(tmp_path))
    s = Settings()
    assert s.shard_docs == 123 and s.data == tmp_path


PACKAGE_FOLDERS = ("corpuscope", "ingest", "privacy", "index", "stats", "dsr", "api", "ui")


def test_architecture_doc_matches_the_tree():
    """Every module is described in docs/architecture.md, and every package folder is
    mapped into the package by pyproject.toml."""
    doc = (ROOT / "docs" / "architecture.md").read_text()
    pyproject = (ROOT / "pyproject.toml").read_text()
    for folder in PACKAGE_FOLDERS:
        assert f"`{folder}/`" in doc or folder == "corpuscope", folder
        for path in (ROOT / folder).rglob("*.py"):
            if path.stem.startswith("__"):
                continue
            assert re.search(rf"\b{path.stem}(\.py)?\b", doc), (
                f"{path} missing from architecture.md"
            )
        for pkg in {p.parent for p in (ROOT / folder).rglob("__init__.py")}:
            rel = pkg.relative_to(ROOT).as_posix()
            name = "corpuscope" if rel == "corpuscope" else "corpuscope." + rel.replace("/", ".")
            name = name.replace("corpuscope.corpuscope.", "corpuscope.")
            assert f'"{name}"' in pyproject, f"{name} not packaged in pyproject.toml"


def test_docs_point_at_files_that_exist():
    """A path a doc names (`folder/file.py`, `docs/x.md`) is a file of the repository."""
    for doc in [ROOT / "README.md", *(ROOT / "docs").glob("*.md")]:
        for path in re.findall(r"`((?:[\w.-]+/)+[\w.-]+\.(?:py|md|toml|txt))`", doc.read_text()):
            if path.startswith("corpora/"):  # a path inside the data directory
                continue
            assert (ROOT / path).exists() or any(
                (ROOT / folder / path).exists() for folder in PACKAGE_FOLDERS
            ), f"{doc.name} names {path}, which the repository lacks"


def test_no_stale_docstrings():
    for folder in PACKAGE_FOLDERS:
        for path in (ROOT / folder).rglob("*.py"):
            text = path.read_text()
            assert "later issue" not in text, f"{path} says it is built in a later issue"


def test_ruff_treats_corpuscope_as_first_party():
    assert 'known-first-party = ["corpuscope"]' in (ROOT / "pyproject.toml").read_text()


def test_a_bug_is_a_traceback_not_a_usage_error(monkeypatch, tmp_path):
    """Only corpuscope's own errors become a message and their exit code; anything else is a
    bug: exit 1 with the exception kept."""
    from typer.testing import CliRunner

    from corpuscope import jobs
    from corpuscope.cli import app

    def broken(settings):
        raise KeyError("a bug")

    monkeypatch.setattr(jobs, "corpora", broken)
    result = CliRunner().invoke(app, ["corpora", "--data-dir", str(tmp_path)])
    assert result.exit_code == 1 and isinstance(result.exception, KeyError)
    missing = CliRunner().invoke(app, ["stats", "--corpus", "nope", "--data-dir", str(tmp_path)])
    assert missing.exit_code == 2 and "no corpus" in missing.output
