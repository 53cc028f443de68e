"""Strict headers on every response, set by the app itself.

A reverse proxy is never assumed: the app alone must be safe to expose.
No script may run but the one that warns of scripts running (scripts_warning.py, allowed by
its hash), nothing may be framed, nothing is cached or referred.
"""
from flask import Response

from dropbox.scripts_warning import CSP_SOURCE

CONTENT_SECURITY_POLICY = (
    f"default-src 'none'; script-src {CSP_SOURCE}; style-src 'self'; img-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)

HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Cross-Origin-Embedder-Policy": "require-corp",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), interest-cohort=()",
}


def add_strict_headers(response: Response) -> Response:
    response.headers.update(HEADERS)
    return response
