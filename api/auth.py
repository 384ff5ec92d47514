"""Who is asking: the role of the request's API key (`public` without one).

A key is sent as `Authorization: Bearer KEY` (or `X-API-Key: KEY`); keys are created with
`corpuscope keys create NAME --role auditor|officer|admin` and stored hashed in
`state.sqlite`. A key that is unknown or revoked is refused with 401, never silently
downgraded to public.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request

from corpuscope.state import ROLES, State


@dataclass(frozen=True)
class Caller:
    name: str  # the key's name ("anonymous" for the public)
    role: str

    def at_least(self, role: str) -> bool:
        return ROLES.index(self.role) >= ROLES.index(role)


def caller(request: Request) -> Caller:
    header = request.headers.get("authorization", "")
    token = header[7:].strip() if header.lower().startswith("bearer ") else None
    token = token or request.headers.get("x-api-key")
    if not token:
        return Caller("anonymous", "public")
    state: State = request.app.state.state
    found = state.authenticate(token)
    if found is None:
        raise HTTPException(401, "unknown or revoked API key")
    return Caller(*found)


CallerDep = Annotated[Caller, Depends(caller)]
