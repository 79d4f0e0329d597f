"""What every answer carries, and where a new link points.

The Content-Security-Policy allows the page's own style and its one script by their sha256 and nothing inline
besides; behind TLS (`https`) the cookie is Secure and `__Host-` bound to this origin, and answers carry HSTS. A link
made on the board never takes the request's Host: it is the configured base URL, else the address served on."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from . import pages

HSTS = "max-age=31536000"


def hash_source(text: str) -> str:
    """A CSP source allowing exactly this inline text."""
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


CSP = (f"default-src 'none'; style-src {hash_source(pages.STYLE)}; script-src {hash_source(pages.SCRIPT)}; "
       "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")


def cookie_config(https: bool) -> dict[str, Any]:
    return {"SESSION_COOKIE_HTTPONLY": True, "SESSION_COOKIE_SAMESITE": "Lax", "SESSION_COOKIE_SECURE": https,
            "SESSION_COOKIE_NAME": "__Host-xlkit" if https else "xlkit"}


def secure(response: Any, https: bool) -> Any:
    headers = response.headers
    headers["X-Content-Type-Options"] = "nosniff"
    headers["X-Frame-Options"] = "DENY"
    headers["Referrer-Policy"] = "no-referrer"  # a unit's link is its key: never sent on
    headers["Cache-Control"] = "no-store"
    headers["Content-Security-Policy"] = CSP
    if https:
        headers["Strict-Transport-Security"] = HSTS
    return response


def link_base(base_url: str, listen: str, environ: dict[str, Any], https: bool) -> str:
    """The configured base URL, else the address this server listens on (as given, else as the WSGI server names
    itself): never the Host header, which any client sets."""
    if base_url or listen:
        return base_url or listen
    host, port = str(environ.get("SERVER_NAME", "localhost")), str(environ.get("SERVER_PORT", ""))
    host = f"[{host}]" if ":" in host else host
    return f"{'https' if https else 'http'}://{host}{':' + port if port else ''}"
