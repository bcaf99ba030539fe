"""Who may read, and what a page may do: the access token and the security headers.

Binding loopback needs no token; binding any other address does (``require_token``
decides). With a token every request must carry it: in the ``X-Sessionstore-Token``
header, an ``Authorization: Bearer`` header, or the cookie a visit to any page with
``?token=...`` sets (that visit is redirected to the same URL without the token, so
it does not linger in the address bar or history). Tokens compare in constant time.

Without a token, a request must name a loopback host in its ``Host`` header: a web page
elsewhere cannot then read the viewer through a DNS name rebound to 127.0.0.1.
"""

from __future__ import annotations

import hmac
import ipaddress
import secrets
from http.cookies import SimpleCookie
from urllib.parse import parse_qsl, quote, urlencode

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "COOKIE",
    "CSP",
    "HEADER",
    "SecurityMiddleware",
    "is_loopback",
    "new_token",
    "require_token",
]

COOKIE = "sessionstore_token"
HEADER = "x-sessionstore-token"

#: No inline script or style, nothing from elsewhere; images may be data: URLs (stored images).
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)

_HEADERS = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "cache-control": "no-store",
}


def is_loopback(host: str) -> bool:
    """Whether ``host`` (an address or ``localhost``) is on the loopback interface only."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def require_token(host: str, token: str | None) -> str | None:
    """The token a server on ``host`` enforces: ``token``, or a new one off loopback."""
    if token is None and not is_loopback(host):
        return new_token()
    return token


def new_token() -> str:
    """A fresh random access token (32 bytes, URL-safe)."""
    return secrets.token_urlsafe(32)


def _same(given: str, token: str) -> bool:
    return hmac.compare_digest(given.encode("utf-8", "replace"), token.encode("utf-8"))


def _presented(scope: Scope) -> list[str]:
    """Every token the request carries (header, bearer, cookie)."""
    found: list[str] = []
    for name, value in scope.get("headers", []):
        text = value.decode("latin-1")
        if name == HEADER.encode():
            found.append(text)
        elif name == b"authorization" and text[:7].lower() == "bearer ":
            found.append(text[7:].strip())
        elif name == b"cookie":
            cookie: SimpleCookie = SimpleCookie()
            try:
                cookie.load(text)
            except Exception:  # a malformed cookie header carries no token
                continue
            if COOKIE in cookie:
                found.append(cookie[COOKIE].value)
    return found


def _host_name(scope: Scope) -> str:
    """The host a request names (its ``Host`` header without the port), or ``""``."""
    for name, value in scope.get("headers", []):
        if name == b"host":
            host: str = value.decode("latin-1")
            if host.startswith("["):
                return host[: host.find("]") + 1]
            return host.rpartition(":")[0] if ":" in host else host
    return ""


class SecurityMiddleware:
    """Adds the security headers to every response and, with a token, refuses requests without."""

    def __init__(self, app: ASGIApp, token: str | None) -> None:
        self.app = app
        self.token = token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in _HEADERS.items():
                    headers.setdefault(name, value)
            await send(message)

        if self.token is None:
            if is_loopback(_host_name(scope)):
                await self.app(scope, receive, with_headers)
            else:
                await _refuse(with_headers, 400, b"400: this viewer answers loopback hosts only\n")
            return
        if any(_same(t, self.token) for t in _presented(scope)):
            await self.app(scope, receive, with_headers)
            return
        query = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
        given = [value for key, value in query if key == "token"]
        if given and _same(given[-1], self.token):
            rest = urlencode([(key, value) for key, value in query if key != "token"])
            await _redirect_with_cookie(with_headers, scope["path"], rest, self.token)
        else:
            await _refuse(with_headers, 401, _NO_TOKEN)


_NO_TOKEN = b"401: this viewer needs its access token (open the URL `sessionstore serve` printed)\n"


async def _redirect_with_cookie(send: Send, path: str, query: str, token: str) -> None:
    location = quote(path) + ("?" + query if query else "")
    cookie = f"{COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict"
    await send(
        {
            "type": "http.response.start",
            "status": 303,
            "headers": [
                (b"location", location.encode("utf-8")),
                (b"set-cookie", cookie.encode("latin-1")),
                (b"content-length", b"0"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": b""})


async def _refuse(send: Send, status: int, body: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
