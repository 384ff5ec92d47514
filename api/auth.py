"""Who is asking: the role of the request's API key (`public` without one).

A key is sent as `Authorization: Bearer KEY` (or `X-API-Key: KEY`); keys are created with
`corpuscope keys create NAME --role auditor|officer|admin` and stored hashed in
`state.sqlite`. Every request is checked by `Authenticate` (a middleware) before anything else
runs, on every route, public ones included: a key that is unknown or revoked, an
`Authorization` header of another scheme (`Basic …`, `Token …`), an empty key or two keys are
refused with 401 and `WWW-Authenticate: Bearer`, never silently downgraded to public. A
refused request spends its client address's request budget like a request without a key.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import anyio.to_thread
from fastapi import Depends, HTTPException, Request
from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from corpuscope.api.errors import error_response
from corpuscope.api.limits import RateLimits
from corpuscope.state import ROLES, State

_USE_BEARER = "use 'Authorization: Bearer KEY' (or 'X-API-Key: KEY')"


@dataclass(frozen=True)
class Caller:
    name: str  # the key's name ("anonymous" for the public)
    role: str

    def at_least(self, role: str) -> bool:
        return ROLES.index(self.role) >= ROLES.index(role)


ANONYMOUS = Caller("anonymous", "public")


class Refused(Exception):
    """The request's credentials are refused (401). The message never quotes them."""

    def __init__(self, message: str, challenge: str = 'Bearer realm="corpuscope"'):
        super().__init__(message)
        self.challenge = challenge  # the WWW-Authenticate header (RFC 6750)


def sent_key(headers: Headers) -> str | None:
    """The API key the request sends (None: it sends none); `Refused` for anything else."""
    authorization = headers.getlist("authorization")
    api_key = headers.getlist("x-api-key")
    if not authorization and not api_key:
        return None
    if len(authorization) + len(api_key) > 1:
        raise Refused(f"send one API key, in one header: {_USE_BEARER}")
    if authorization:
        scheme, _, token = authorization[0].strip().partition(" ")
        if scheme.lower() != "bearer":
            raise Refused(f"unsupported authorization scheme; {_USE_BEARER}")
    else:
        token = api_key[0]
    token = token.strip()
    if not token:
        raise Refused(f"the API key is empty; {_USE_BEARER}")
    return token


def identify(headers: Headers, state: State) -> Caller:
    """The caller a request's headers name (blocking: a key is looked up in `state.sqlite`,
    by its SHA-256)."""
    token = sent_key(headers)
    if token is None:
        return ANONYMOUS
    found = state.authenticate(token)
    if found is None:
        raise Refused(
            "unknown or revoked API key", 'Bearer realm="corpuscope", error="invalid_token"'
        )
    return Caller(*found)


def refused_response(exc: Refused) -> JSONResponse:
    response = error_response(401, str(exc))
    response.headers["WWW-Authenticate"] = exc.challenge
    return response


class Authenticate:
    """Says who is asking before any route runs: the caller is put in the request's state
    (`caller`); credentials that are refused are answered 401 here (or 429 when the client's
    address has spent its budget, see `RateLimits`)."""

    def __init__(self, app: ASGIApp, state: State, rate_limits: RateLimits | None = None):
        self.app, self.state, self.rate_limits = app, state, rate_limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        try:
            if sent_key(headers) is None:
                who = ANONYMOUS  # no look-up, no thread
            else:
                who = await anyio.to_thread.run_sync(identify, headers, self.state)
        except Refused as exc:
            refusal = None
            if self.rate_limits is not None:  # guessing keys spends the address's budget
                refusal = await self.rate_limits.address_refusal(scope)
            await (refusal or refused_response(exc))(scope, receive, send)
            return
        scope.setdefault("state", {})["caller"] = who
        await self.app(scope, receive, send)


def caller(request: Request) -> Caller:
    """The caller `Authenticate` found (looked up here when the middleware is not installed)."""
    found = request.scope.get("state", {}).get("caller")
    if isinstance(found, Caller):
        return found
    try:
        return identify(request.headers, request.app.state.state)
    except Refused as exc:
        raise HTTPException(401, str(exc), headers={"WWW-Authenticate": exc.challenge}) from None


CallerDep = Annotated[Caller, Depends(caller)]


class Require:
    """A route's required role: 401 without a key, 403 with a key of a lower role. The test
    of every route reads `role` from the route's dependencies (`tests/test_roles.py`)."""

    def __init__(self, role: str):
        if role not in ROLES[1:]:
            raise ValueError(f"unknown role {role!r}")
        self.role = role

    def __call__(self, request: Request) -> Caller:
        who = caller(request)
        if who.role == "public":
            raise HTTPException(
                401,
                f"this needs an API key of the {self.role} role; {_USE_BEARER}",
                headers={"WWW-Authenticate": 'Bearer realm="corpuscope"'},
            )
        if not who.at_least(self.role):
            raise HTTPException(403, f"this needs the {self.role} role (the key is {who.role})")
        return who


def required_role(dependencies) -> str:
    """The role a route's dependencies require (`public` when none does)."""
    found = [d.call.role for d in dependencies if isinstance(d.call, Require)]
    return max(found, key=ROLES.index) if found else "public"


def refuse_default_secrets(settings) -> None:
    """Outside development mode, refuse to start while a secret has its development default."""
    from corpuscope.config import secrets_at_default
    from corpuscope.errors import UsageError

    if settings.mode != "development" and (names := secrets_at_default(settings)):
        raise UsageError(
            f"refusing to start in {settings.mode} mode: {', '.join(names)} still has its "
            "development default; set CORPUSCOPE_CASE_KEY to a long random secret "
            "(e.g. python -c 'import secrets; print(secrets.token_urlsafe(32))')"
        )
