"""The rough edges a newcomer hit (issue 13): demo's port, provider files, inputs that give
nothing, deleting a corpus, and output that is whole and machine-readable."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import threading
from pathlib import Path

import pytest
from typer.testing import CliRunner

from corpuscope import jobs
from corpuscope.cli import app
from corpuscope.config import Settings
from corpuscope.errors import NotFound
from corpuscope.store import Store
from tests.conftest import SAMPLES, corpuscope_cmd, write_people

C4_SMALL = SAMPLES / "c4" / "c4-validation.00000-of-00008.dummy.json.gz"
#: A Python repr of a dict or list (`{'score': 1.0}`, `['a']`): never in the CLI's output.
PYTHON_REPR = re.compile(r"[{\[]'|': |\bNone\b|\bTrue\b|\bFalse\b")


def _flat(text: str) -> str:
    return " ".join(text.split())


# -- demo ---------------------------------------------------------------------------------------
def test_demo_checks_its_port_before_any_work(data_dir):
    """A busy port is refused at once (exit 2, naming the port), before anything is ingested."""
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        r = CliRunner().invoke(
            app, ["demo", "--port", str(port), "--quiet", "--data-dir", str(data_dir)]
        )
    assert r.exit_code == 2, r.output
    assert f"127.0.0.1:{port}" in r.output and "--port" in r.output
    assert Store(data_dir).corpora() == []  # nothing was ingested
    bad_host = CliRunner().invoke(
        app, ["demo", "--host", "no-such-host.invalid", "--quiet", "--data-dir", str(data_dir)]
    )
    assert bad_host.exit_code == 2 and "no-such-host.invalid" in bad_host.output
    assert Store(data_dir).corpora() == []
    # the same check guards `serve`, and the options show in the help
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        r = CliRunner().invoke(app, ["serve", "--port", str(port), "--data-dir", str(data_dir)])
    assert r.exit_code == 2 and f"127.0.0.1:{port}" in r.output
    helptext = CliRunner().invoke(app, ["demo", "--help"], terminal_width=200).stdout
    assert "--port" in helptext and "--host" in helptext


def test_a_second_demo_reports_the_corpora_as_they_stand(data_dir):
    """A rerun skips every done shard; its table still gives each corpus's size (as its
    JSON does, under `corpora`)."""
    args = ["demo", "--no-serve", "--quiet", "--data-dir", str(data_dir)]
    first = CliRunner().invoke(app, [*args, "--json"])
    assert first.exit_code == 0, first.output
    listed = {r["corpus"]: r for r in jobs.corpora(Settings(data=data_dir))}
    for c in json.loads(first.stdout)["corpora"]:
        assert c["documents"] == listed[c["corpus"]]["documents"] > 0
        assert c["text_bytes"] == listed[c["corpus"]]["text_bytes"] > 0
    again = CliRunner().invoke(app, args)
    assert again.exit_code == 0, again.output
    rows = {
        cells[0]: cells
        for line in again.stdout.splitlines()
        if line.startswith("│ ")
        for cells in [[c.strip() for c in line.strip("│").split("│")]]
    }
    assert set(rows) == set(listed)
    for name, row in listed.items():
        assert rows[name][1] == f"{row['documents']:,}" != "0"
        assert rows[name][4] == f"{row['text_bytes'] / 1e6:.2f}"
    assert "commoncrawl: quarantined" in again.stdout  # the corpus's, not this run's (none)


# -- summary --provider-file --------------------------------------------------------------------
@pytest.fixture
def with_stats(cli, tmp_path):
    cli("ingest", write_people(tmp_path / "src"), "--corpus", "p", "--quiet")
    cli("stats", "--corpus", "p")
    return cli


def test_provider_file_errors_name_the_valid_keys(with_stats, tmp_path):
    cli = with_stats
    missing = cli("summary", "--corpus", "p", "--provider-file", tmp_path / "nope.toml", expect=2)
    assert "no such file" in _flat(missing.output) and "provider.name" in missing.output
    typo = tmp_path / "typo.toml"
    typo.write_text('[provider]\nnmae = "Example AI"\n[modle]\nname = "m"\n')
    r = cli("summary", "--corpus", "p", "--provider-file", typo, expect=2)
    out = _flat(r.output)
    assert "unknown key provider.nmae (did you mean provider.name?)" in out
    assert "unknown section [modle] (did you mean [model]?)" in out
    assert "Valid keys:" in out and "processing.tdm_opt_out" in out
    wrong = tmp_path / "wrong.toml"
    wrong.write_text('[provider]\nsme = "yes"\n[corpus]\nkind = "web"\n[model]\nversions = 3\n')
    out = _flat(cli("summary", "--corpus", "p", "--provider-file", wrong, expect=2).output)
    assert "provider.sme must be true or false, not a string" in out
    assert "corpus.kind must be one of public, licensed" in out
    assert "model.versions must be a string or a list of strings, not an integer" in out
    good = tmp_path / "good.toml"
    good.write_text(
        '[provider]\nname = "Example AI"\nsme = false\n[corpus]\nkind = "crawled"\n'
        '[model]\nversions = ["1.0"]\nplaced_on_market = 2026-03-01\n'
    )
    summary = json.loads(
        cli("summary", "--corpus", "p", "--provider-file", good, "--format", "json").stdout
    )
    assert summary["sections"]["1_general_information"]["1.1_provider"]["name"] == "Example AI"
    assert "provider.name" not in summary["missing_declarations"]
    # no provider file at all is no error: every declaration is listed as missing
    bare = json.loads(cli("summary", "--corpus", "p", "--format", "json").stdout)
    assert "provider.name" in bare["missing_declarations"]


# -- inputs that give nothing -------------------------------------------------------------------
def test_a_gz_that_is_not_gzip_says_so(cli, tmp_path, data_dir):
    src = tmp_path / "src"
    src.mkdir()
    (src / "page.jsonl.gz").write_text("<!DOCTYPE html><html><body>Not Found</body></html>\n")
    shutil.copy(C4_SMALL, src / "fine.json.gz")
    r = cli("ingest", src, "--corpus", "g", "--json", expect=1)
    (failure,) = json.loads(r.stdout)["failures"]
    assert failure["source"] == "src/page.jsonl.gz"
    assert "page.jsonl.gz: named .gz but not gzip" in failure["error"]
    assert "plain text" in failure["error"]
    zstd = tmp_path / "renamed.jsonl.gz"
    shutil.copy(SAMPLES / "pile" / "pile-00-excerpt.jsonl.zst", zstd)
    r = cli("ingest", zstd, "--corpus", "g2", expect=1)
    assert "renamed.jsonl.gz: named .gz but not gzip: the file is zstd data" in _flat(r.stdout)
    assert Store(data_dir).corpus("g2").manifest().done() == []


def test_a_source_with_every_record_quarantined_fails_with_the_fix(cli, tmp_path, data_dir):
    path = tmp_path / "posts.jsonl"
    rows = [
        {"content": f"Post number {i} about looms.", "title": f"t{i}", "n": i} for i in range(3)
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    r = cli("ingest", path, "--corpus", "q", "--json", expect=1)
    summary = json.loads(r.stdout)
    assert not summary["ok"] and summary["documents_written"] == 0
    assert summary["records_read"] == summary["quarantined"] == 3
    assert summary["quarantine_reasons"] == {"missing text field 'text'": 3}
    (failure,) = summary["failures"]
    assert "all 3 records were quarantined" in failure["error"]
    assert "--text-field" in failure["error"]
    assert "fields content, title, n (holding strings: content, title)" in failure["error"]
    (row,) = json.loads(cli("corpora", "--json").stdout)
    assert row["failed"] == 1 and row["documents"] == 0
    cs = Store(data_dir).corpus("q")
    assert len(cs.quarantine_paths()) == 1  # the records stay to be looked at
    assert list(cs.shards_dir.glob("*.parquet")) == []
    human = cli("ingest", path, "--corpus", "q", expect=1)
    assert "FAILED" in human.stdout and "--text-field" in human.stdout
    # the fix works, and the failed attempt is dropped
    fixed = json.loads(
        cli("ingest", path, "--corpus", "q", "--text-field", "content", "--json").stdout
    )
    assert fixed["ok"] and fixed["documents_written"] == 3
    (row,) = json.loads(cli("corpora", "--json").stdout)
    assert row["failed"] == 0 and row["documents"] == 3
    # a source with some good records is no failure
    mixed = tmp_path / "mixed.jsonl"
    mixed.write_text('{"text": "A good record."}\n{"content": "no text field"}\n')
    ok = json.loads(cli("ingest", mixed, "--corpus", "m", "--json").stdout)
    assert ok["ok"] and ok["documents_written"] == 1 and ok["quarantined"] == 1


def test_hf_builder_without_data_files_refuses(cli, tmp_path, data_dir, monkeypatch):
    """`--hf json` alone would read the current folder: refused, and nothing is read."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "stray.jsonl").write_text('{"text": "a file in the current folder"}\n')
    r = cli("ingest", "--hf", "json", "--corpus", "h", expect=2)
    assert "--hf-data-files" in _flat(r.output)
    r = cli("ingest", "--hf", "json", "--hf-data-files", "absent.jsonl", "--corpus", "h", expect=2)
    assert "absent.jsonl: no such file" in _flat(r.output)
    assert Store(data_dir).corpora() == []


# -- corpora delete -----------------------------------------------------------------------------
@pytest.fixture
def two_corpora(cli, tmp_path, data_dir):
    """`gone` ingested, scanned, indexed and with statistics; `kept` ingested and indexed."""
    cli("ingest", write_people(tmp_path / "src"), "--corpus", "gone", "--quiet")
    cli("scan", "--corpus", "gone", "--quiet")
    cli("index", "--corpus", "gone", "--quiet")
    cli("stats", "--corpus", "gone")
    (tmp_path / "src" / "provider.toml").write_text('[provider]\nname = "x"\n')
    shutil.copy(tmp_path / "src" / "provider.toml", data_dir / "corpora" / "gone")
    cli("ingest", C4_SMALL, "--corpus", "kept", "--quiet")
    cli("index", "--corpus", "kept", "--quiet")
    return cli


def test_delete_asks_then_removes_everything_derived(two_corpora, data_dir):
    cli = two_corpora
    root = data_dir / "corpora" / "gone"
    for part in ("shards", "pii", "index", "stats", "manifest.json", "provider.toml"):
        assert (root / part).exists(), part
    no = CliRunner().invoke(
        app, ["corpora", "delete", "gone", "--data-dir", str(data_dir)], input="n\n"
    )
    assert no.exit_code == 1 and "8 documents in 1 shards" in no.output
    assert root.is_dir() and "gone" in Store(data_dir).corpora()
    yes = CliRunner().invoke(
        app, ["corpora", "delete", "gone", "--data-dir", str(data_dir)], input="y\n"
    )
    assert yes.exit_code == 0, yes.output
    assert "deleted corpus gone: 8 documents in 1 shards" in yes.stdout
    assert not root.exists()
    assert os.listdir(data_dir / "corpora") == ["kept"]
    assert [r["corpus"] for r in json.loads(cli("corpora", "--json").stdout)] == ["kept"]
    assert cli("verify").exit_code == 0
    assert "gone" not in cli("search", "dummy", "--json").stdout
    r = cli("corpora", "delete", "gone", "--yes", expect=2)
    assert "no corpus" in r.output
    removed = json.loads(cli("corpora", "delete", "kept", "--yes", "--json").stdout)
    assert removed["corpus"] == "kept" and removed["documents"] > 0
    assert Store(data_dir).corpora() == []
    assert "corpora delete" in cli("corpora", "--help").stdout


def test_delete_is_refused_while_a_writer_runs(two_corpora, data_dir):
    cli = two_corpora
    cs = Store(data_dir).corpus("gone")
    with cs.write_lock():
        r = cli("corpora", "delete", "gone", "--yes", expect=2)
    assert "being written by another process" in _flat(r.output)
    import fcntl

    with open(cs.index_dir / ".lock", "a+") as lock:  # an index build holds its own lock
        fcntl.flock(lock, fcntl.LOCK_EX)
        r = cli("corpora", "delete", "gone", "--yes", expect=2)
    assert "an index build of 'gone' is running" in _flat(r.output)
    assert "gone" in Store(data_dir).corpora() and cli("verify", "--corpus", "gone")


def test_a_writer_waiting_during_a_delete_does_not_write_into_it(two_corpora, data_dir):
    """A writer that waited for the lock while the corpus was deleted is refused (NotFound)
    or ran before the deletion; either way the corpus is gone afterwards."""
    cs = Store(data_dir).corpus("gone")
    outcome: dict[str, object] = {}

    def writer() -> None:
        try:
            with Store(data_dir).corpus("gone").write_lock(timeout=30):
                outcome["writer"] = "wrote"
        except NotFound as exc:
            outcome["writer"] = exc

    def deleter() -> None:
        outcome["deleted"] = jobs.delete_corpus(Settings(data=data_dir, lock_timeout=30), "gone")

    with cs.write_lock():
        threads = [threading.Thread(target=writer), threading.Thread(target=deleter)]
        for t in threads:
            t.start()
        threading.Event().wait(0.5)  # both are waiting for the lock now
    for t in threads:
        t.join(60)
    assert outcome["deleted"]["documents"] == 8
    assert outcome["writer"] == "wrote" or "was deleted while" in str(outcome["writer"])
    assert Store(data_dir).corpora() == ["kept"]


def test_a_delete_killed_midway_leaves_the_data_directory_openable(
    two_corpora, data_dir, monkeypatch
):
    """Killed after the corpus folder was renamed away, before it was removed: no listing
    shows it, `verify` passes, and the next deletion (or `verify --repair`) removes it."""
    import corpuscope.store as store_module

    def killed(path: Path) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(store_module, "_remove_tree", killed)
    with pytest.raises(KeyboardInterrupt):
        jobs.delete_corpus(Settings(data=data_dir), "gone")
    monkeypatch.undo()
    left = [p.name for p in (data_dir / "corpora").iterdir() if p.name != "kept"]
    assert len(left) == 1 and left[0].startswith(".deleted-gone-")
    cli = two_corpora
    assert [r["corpus"] for r in json.loads(cli("corpora", "--json").stdout)] == ["kept"]
    assert cli("verify").exit_code == 0
    cli("verify", "--repair")
    assert os.listdir(data_dir / "corpora") == ["kept"]


# -- output -------------------------------------------------------------------------------------
def test_output_into_a_pipe_is_never_cut(tmp_path):
    """Into a pipe, tables and messages are whole whatever COLUMNS says (Rich would cut them
    to the terminal's width, or 80)."""
    data = tmp_path / "data"
    name = "a-corpus-name-far-wider-than-the-forty-columns-of-this-terminal"
    env = {**os.environ, "COLUMNS": "40", "CORPUSCOPE_DATA": str(data)}
    run = subprocess.run(
        corpuscope_cmd("ingest", C4_SMALL, "--corpus", name, "--quiet"),
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert f"ingest summary: corpus {name}" in run.stdout
    listing = subprocess.run(
        corpuscope_cmd("corpora"), capture_output=True, text=True, env=env, timeout=120
    )
    assert listing.returncode == 0, listing.stderr
    assert f"│ {name} " in listing.stdout and "…" not in listing.stdout
    assert max(map(len, listing.stdout.splitlines())) > 40
    bad = tmp_path / "a-long-file-name-that-does-not-fit-forty-columns.jsonl.gz"
    bad.write_text("plain text\n")
    run = subprocess.run(
        corpuscope_cmd("ingest", bad, "--corpus", "b"),
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert run.returncode == 1
    failed = next(line for line in run.stdout.splitlines() if "FAILED" in line)
    assert str(bad) in failed and "fetch it again, or rename it to what it is" in failed


@pytest.mark.parametrize("mode", ["bm25", "exact", "membership", "person"])
def test_search_prints_no_python_reprs(indexed, mode):
    query = {
        "bm25": "Lovelace engine",
        "exact": "the analytical engine",
        "membership": "Ada Lovelace wrote the first program.",
        "person": "Ada Lovelace",
    }[mode]
    r = CliRunner().invoke(
        app, ["search", query, "--mode", mode, "--data-dir", str(indexed), "--k", "3"]
    )
    assert r.exit_code == 0, r.output
    head = r.stdout.splitlines()[0]
    assert not PYTHON_REPR.search(head), head
    for line in r.stdout.splitlines():
        if line and not line.startswith("  "):  # headlines and evidence lines, not snippets
            assert not PYTHON_REPR.search(line), line
    if mode == "bm25":
        assert re.search(r"score \d", r.stdout)


def test_human_output_of_jobs_prints_no_python_reprs(cli, tmp_path):
    src = write_people(tmp_path / "src")
    outputs = [
        cli("ingest", src, "--corpus", "people", "--quiet").stdout,
        cli("scan", "--corpus", "people", "--quiet").stdout,
        cli("index", "--corpus", "people", "--quiet").stdout,
        cli("stats", "--corpus", "people").stdout,
        cli("corpora").stdout,
        cli("verify").stdout,
    ]
    for text in outputs:
        for line in text.splitlines():
            assert not PYTHON_REPR.search(line), line
    assert "ingest summary: corpus people" in outputs[0]
