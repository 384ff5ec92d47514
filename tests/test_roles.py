"""Roles and keys: every route of the app, walked with no key and with each role's key."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from corpuscope.api.app import create_app
from corpuscope.api.auth import required_role
from corpuscope.config import Settings
from corpuscope.errors import UsageError
from corpuscope.state import ROLES, State


def _routers():
    from corpuscope.api.routes import corpora, dsr, questions, stats

    return [questions.router, corpora.router, stats.router, dsr.router]


def _roles_by_operation() -> dict[tuple[str, str], str]:
    out = {}
    for router in _routers():
        for route in router.routes:
            if isinstance(route, APIRoute):
                for method in route.methods:
                    out[("/v1" + route.path_format, method.lower())] = required_role(
                        route.dependant.dependencies
                    )
    return out


@pytest.fixture
def setup(tmp_path: Path):
    settings = Settings(data=tmp_path / "data", rate_limit="", key_rate_limit="")
    keys = {role: State(settings.data).create_key(role, role) for role in ROLES[1:]}
    return TestClient(create_app(settings)), keys


def _url(path: str) -> str:
    fills = {"case_id": "case-0123456789abcdef", "doc_id": "0" * 32, "corpus": "nosuch"}
    return re.sub(r"\{(\w+)(:[^}]*)?\}", lambda m: fills.get(m.group(1), "x"), path)


def test_every_route_answers_401_without_a_key_and_403_below_its_role(setup):
    client, keys = setup
    roles = _roles_by_operation()
    operations = [
        (path, method)
        for path, item in client.app.openapi()["paths"].items()
        for method in item
        if path.startswith("/v1")
    ]
    assert operations and set(operations) <= set(roles), set(operations) - set(roles)
    protected = [op for op in operations if roles[op] != "public"]
    assert len(protected) >= 15  # the data-subject routes, at least
    for path, method in operations:
        need = roles[(path, method)]
        url = _url(path)

        def call(key: str | None, method=method, url=url):
            headers = {"Authorization": f"Bearer {key}"} if key else {}
            return client.request(method, url, headers=headers, json={})

        anonymous = call(None).status_code
        if need == "public":
            assert anonymous not in (401, 403), (path, method, anonymous)
            continue
        assert anonymous == 401, (path, method, anonymous)
        for role in ROLES[1:]:
            status = call(keys[role]).status_code
            if ROLES.index(role) < ROLES.index(need):
                assert status == 403, (path, method, role, status)
            else:
                assert status not in (401, 403), (path, method, role, status)


def test_cases_are_for_officers_and_admins_only(setup):
    client, keys = setup
    body = {"kind": "access", "name": "Ada Lovelace"}
    assert client.post("/v1/dsr/cases", json=body).status_code == 401
    auditor = {"Authorization": f"Bearer {keys['auditor']}"}
    assert client.post("/v1/dsr/cases", json=body, headers=auditor).status_code == 403
    assert client.get("/v1/dsr/cases", headers=auditor).status_code == 403
    officer = {"Authorization": f"Bearer {keys['officer']}"}
    made = client.post("/v1/dsr/cases", json=body, headers=officer)
    assert made.status_code == 201
    assert (
        client.get("/v1/dsr/cases", headers=officer).json()[0]["case_id"] == made.json()["case_id"]
    )
    assert client.post("/v1/dsr/apply", headers=officer).status_code == 403  # admin only


def test_outside_development_the_server_refuses_default_secrets(tmp_path: Path, cli, monkeypatch):
    settings = Settings(data=tmp_path / "data", mode="production")
    with pytest.raises(UsageError, match="case_key"):
        create_app(settings)
    create_app(
        Settings(data=tmp_path / "data", mode="production", case_key="our-own-random-secret")
    )
    create_app(Settings(data=tmp_path / "data"))  # development: starts with the default
    monkeypatch.setenv("CORPUSCOPE_MODE", "production")
    result = cli("serve", "--port", "1", expect=2)  # refused before it listens
    assert "case_key" in result.output
