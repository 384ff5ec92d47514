"""Request limits enforced before a handler runs: each client's rate (429), and the body: its
size (413 before buffering) and the time it may take to arrive (408)."""

from __future__ import annotations

import inspect
import ipaddress
import logging
import math
import time
from urllib.parse import urlsplit

import anyio
from limits import RateLimitItem, parse_many
from limits import strategies as sync_strategies
from limits.aio import strategies as async_strategies
from limits.errors import ConfigurationError, StorageError
from limits.storage import storage_from_string
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from corpuscope.api.errors import error_response
from corpuscope.errors import UsageError

log = logging.getLogger("corpuscope.api")

#: Paths no request budget is spent on: the documentation pages, their assets and the schema
#: (static), and the health check (monitors poll it; it reads manifests only).
_UNLIMITED = ("/v1/health",)


def _items(setting: str, value: str) -> list[RateLimitItem]:
    if not value.strip():
        return []  # no limit
    try:
        return parse_many(value)
    except ValueError:
        raise UsageError(
            f"{setting} must be like '60/minute' or '10/second;300/hour' (empty: no limit)"
        ) from None


class RateLimits:
    """Request budgets per client, counted in a moving window by the `limits` library: for
    requests without a key, per client address (`rate_limit`; IPv6 per /64, since a client
    holds a whole one), and per key name for requests with a valid key (`key_rate_limit`).
    The counts live in `rate_limit_storage`: in the process (`memory://`), or in Redis
    (`redis://host:6379`) so that several workers or machines share them."""

    def __init__(self, public: str, keyed: str, storage: str):
        self.public = _items("rate_limit", public)
        self.keyed = _items("key_rate_limit", keyed)
        scheme = urlsplit(storage).scheme
        try:
            if scheme == "memory":  # a dict and a lock: never blocks the event loop
                self.strategy = sync_strategies.MovingWindowRateLimiter(
                    storage_from_string(storage)
                )
            else:  # a network round trip: the asynchronous client
                uri = storage if scheme.startswith("async+") else f"async+{storage}"
                self.strategy = async_strategies.MovingWindowRateLimiter(
                    storage_from_string(uri, wrap_exceptions=True)
                )
        except (ConfigurationError, NotImplementedError) as exc:
            raise UsageError(
                f"rate_limit_storage: {exc} (memory:// or redis://HOST:PORT; Redis needs "
                "`pip install 'limits[async-redis]'`)"
            ) from None

    async def spend(self, who: str, items: list[RateLimitItem]) -> int | None:
        """Spend one request of `who`'s budget: None when it had one, else the seconds until
        it has one again (of several limits, those before the spent one still count it)."""
        try:
            for item in items:
                if not await _maybe(self.strategy.hit(item, who)):
                    stats = await _maybe(self.strategy.get_window_stats(item, who))
                    return max(1, math.ceil(stats.reset_time - time.time()))
        except StorageError as exc:  # the storage is down: serve rather than refuse everyone
            log.warning("rate limit storage failed (%s); request let through", type(exc).__name__)
        return None

    async def refusal(self, who: str, items: list[RateLimitItem]) -> JSONResponse | None:
        """The 429 answer when `who`'s budget is spent, else None (and one request spent)."""
        retry = await self.spend(who, items)
        if retry is None:
            return None
        response = error_response(
            429, f"too many requests from this client; try again in {retry} s"
        )
        response.headers["Retry-After"] = str(retry)
        return response

    async def address_refusal(self, scope: Scope) -> JSONResponse | None:
        """`refusal` on the budget of the client's address (requests without a valid key)."""
        return await self.refusal(client_address(scope), self.public)


async def _maybe(value):
    return await value if inspect.isawaitable(value) else value


def client_address(scope: Scope) -> str:
    """The budget a request without a key spends: its client address (the proxy's forwarded
    one when uvicorn trusts the proxy, `FORWARDED_ALLOW_IPS`), an IPv6 address by its /64."""
    host = (scope.get("client") or ("unknown", 0))[0]
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return f"addr:{host}"
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return f"addr:{ip.ipv4_mapped}"
        return f"addr:{ipaddress.ip_network(f'{ip}/64', strict=False)}"
    return f"addr:{ip}"


def _limited(scope: Scope) -> bool:
    path = scope["path"]
    root = scope.get("root_path") or ""
    if root and path.startswith(root):
        path = path[len(root) :]
    return path.startswith("/v1/") and path not in _UNLIMITED


class RateLimit:
    """429 (with `Retry-After`) once a client has spent its budget on the `/v1` routes; runs
    after `Authenticate`, which says who the caller is."""

    def __init__(self, app: ASGIApp, limits: RateLimits):
        self.app, self.limits = app, limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and _limited(scope):
            caller = (scope.get("state") or {}).get("caller")
            if caller is not None and caller.role != "public":
                refusal = await self.limits.refusal(f"key:{caller.name}", self.limits.keyed)
            else:
                refusal = await self.limits.address_refusal(scope)
            if refusal is not None:
                await refusal(scope, receive, send)
                return
        await self.app(scope, receive, send)


class BodySizeLimit:
    """Refuse bodies over `max_bytes` with 413: by Content-Length before reading any; a body
    without one (chunked) is counted as it arrives. Every body is read here, within
    `read_timeout` seconds from the request's start, then replayed to the application: a
    client that stops sending (or sends a byte now and then) is answered 408 and the
    connection closed, instead of holding a request open."""

    def __init__(self, app: ASGIApp, max_bytes: int, read_timeout: float = 10.0):
        self.app, self.max_bytes, self.read_timeout = app, max_bytes, read_timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_bytes):
            await self._refuse(scope, receive, send)
            return
        messages: list[Message] = []
        seen = 0
        with anyio.move_on_after(self.read_timeout) as timer:
            while seen <= self.max_bytes:
                message = await receive()
                messages.append(message)
                if message["type"] != "http.request":
                    break
                seen += len(message.get("body", b""))
                if not message.get("more_body"):
                    break
        if seen > self.max_bytes:
            await self._refuse(scope, receive, send)
            return
        if timer.cancelled_caught:
            response = error_response(
                408, f"the request body did not arrive within {self.read_timeout:g} s"
            )
            response.headers["Connection"] = "close"  # the rest of the body is not read
            await response(scope, receive, send)
            return

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = error_response(413, f"the request body is larger than {self.max_bytes} bytes")
        await response(scope, receive, send)
