"""Cases: deadlines under a frozen clock, and the state machine as a property-based test."""

from __future__ import annotations

import tempfile
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from corpuscope.config import Settings
from corpuscope.dsr import cases
from corpuscope.dsr.cases import CaseConflict
from corpuscope.dsr.search import search_case
from corpuscope.dsr.suppression import entries
from corpuscope.index.searcher import Indexes
from corpuscope.store import Store


def at(y: int, m: int, d: int) -> cases.Clock:
    return lambda: datetime(y, m, d, 12, tzinfo=UTC)


def test_a_month_after_receipt_clamped_to_the_month_end(tmp_path: Path):
    s = Settings(data=tmp_path / "data")
    case = cases.open_case(
        s, "access", "Ada Lovelace", received=date(2025, 1, 31), clock=at(2025, 1, 31)
    )
    assert cases.show(s, case, clock=at(2025, 1, 31))["due"] == "2025-02-28"
    assert cases.add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)
    assert cases.add_months(date(2025, 11, 15), 3) == date(2026, 2, 15)


def test_due_soon_and_overdue_cases_are_listed(tmp_path: Path):
    s = Settings(data=tmp_path / "data", dsr_due_soon_days=7)
    old = cases.open_case(s, "erasure", "A B", received=date(2025, 1, 2), clock=at(2025, 1, 2))
    soon = cases.open_case(s, "access", "C D", received=date(2025, 1, 25), clock=at(2025, 1, 25))
    cases.open_case(s, "objection", "E F", received=date(2025, 2, 10), clock=at(2025, 2, 10))
    due = {c["case_id"]: c["deadline"] for c in cases.list_cases(s, True, clock=at(2025, 2, 20))}
    assert due == {old: "overdue", soon: "due_soon"}
    assert len(cases.list_cases(s, clock=at(2025, 2, 20))) == 3


def test_an_extension_is_told_within_the_first_month_and_once(tmp_path: Path):
    s = Settings(data=tmp_path / "data")
    a = cases.open_case(s, "access", "A B", received=date(2025, 3, 1), clock=at(2025, 3, 1))
    cases.extend(s, a, 2, "many corpora to search", clock=at(2025, 3, 20))
    assert cases.show(s, a, clock=at(2025, 3, 20))["due"] == "2025-06-01"
    with pytest.raises(CaseConflict, match="extended already"):
        cases.extend(s, a, 1, "again", clock=at(2025, 3, 21))
    b = cases.open_case(s, "access", "C D", received=date(2025, 3, 1), clock=at(2025, 3, 1))
    with pytest.raises(CaseConflict, match="within the first month"):
        cases.extend(s, b, 1, "late", clock=at(2025, 4, 2))
    assert cases.list_cases(s, True, clock=at(2025, 4, 2))[0]["case_id"] == b  # overdue


def test_nothing_is_disclosed_before_the_identity_is_verified(tmp_path: Path):
    from corpuscope.dsr.report import build_report

    s = Settings(data=tmp_path / "data")
    case = cases.open_case(s, "access", "Ada Lovelace", {"email": ["ada@example.org"]})
    with pytest.raises(CaseConflict):
        build_report(s, case)
    with pytest.raises(CaseConflict):
        search_case(s, Indexes(Store(s.data)), case)
    with pytest.raises(CaseConflict):
        cases.decide(s, case, "granted")


_TEMPLATE: list[Path] = []


def _people_corpus() -> Path:
    """A data directory with the planted people documents ingested and indexed (made once)."""
    if not _TEMPLATE:
        from corpuscope import jobs
        from tests.conftest import write_people

        root = Path(tempfile.mkdtemp(prefix="dsr-machine-"))
        s = Settings(data=root / "data")
        jobs.ingest(s, "people", [str(write_people(root / "src"))])
        jobs.index(s, "people")
        _TEMPLATE.append(s.data)
    return _TEMPLATE[0]


class CaseMachine(RuleBasedStateMachine):
    """A model of the state machine: every step from every state, allowed or not."""

    def __init__(self):
        import shutil

        super().__init__()
        self.tmp = tempfile.TemporaryDirectory()
        self.s = Settings(data=Path(self.tmp.name) / "data")
        shutil.copytree(_people_corpus(), self.s.data)
        self.indexes = Indexes(Store(self.s.data))
        self.kind = "erasure"
        self.case = cases.open_case(self.s, self.kind, "Ada Lovelace", {"email": ["a@example.org"]})
        self.state = "received"
        self.verified = False
        self.extended = False

    def teardown(self):
        self.tmp.cleanup()

    def _try(self, step: str, fn, *args) -> bool:
        allowed = self.state in cases.STEPS[step][0]
        before = cases.show(self.s, self.case)["events"]
        try:
            fn(self.s, self.case, *args)
        except CaseConflict:
            assert not allowed or step in ("extend", "decide"), (step, self.state)
            assert cases.show(self.s, self.case)["events"] == before  # nothing changed
            return False
        assert allowed, (step, self.state)
        return True

    @rule()
    def verify(self):
        if self._try("verify", cases.verify_identity, "passport"):
            self.state, self.verified = "verified", True

    @rule()
    def request_info(self):
        if self._try("request_info", cases.request_info, "a clearer scan"):
            self.state = "info_requested"

    @rule()
    def search(self):
        allowed = self.state in cases.STEPS["search"][0]
        try:
            search_case(self.s, self.indexes, self.case)
        except CaseConflict:
            assert not allowed
            return
        assert allowed and self.verified
        self.state = "searched"

    @rule(outcome=st.sampled_from(cases.OUTCOMES))
    def decide(self, outcome):
        if self._try("decide", cases.decide, outcome, "reasons given"):
            assert self.verified or outcome == "refused"
            self.state = "decided"

    @rule(months=st.sampled_from([1, 2]))
    def extend(self, months):
        if self._try("extend", cases.extend, months, "complex request"):
            assert not self.extended
            self.extended = True

    @rule()
    def fulfil(self):
        if self._try("fulfil", cases.fulfil, "letter sent"):
            self.state = "fulfilled"

    @precondition(lambda self: self.state == "fulfilled")
    @rule()
    def close(self):
        if self._try("close", cases.close):
            self.state = "closed"

    @invariant()
    def matches_the_model(self):
        shown = cases.show(self.s, self.case)
        assert shown["state"] == self.state
        due = date.fromisoformat(shown["due"])
        received = date.fromisoformat(shown["received"])
        assert cases.add_months(received, 1) <= due <= cases.add_months(received, 3)
        if entries(self.s.data):  # erased only after a verified identity
            assert self.verified


TestCaseMachine = CaseMachine.TestCase
TestCaseMachine.settings = hsettings(max_examples=15, stateful_step_count=12, deadline=None)
