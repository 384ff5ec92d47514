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
