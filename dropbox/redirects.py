"""Where a redirect built from a request parameter may go: a page of this app, nothing else.

Checking the text of `?next=` for what looks like another site fails on the next trick
(`/%09/evil`, `/\\evil`, control characters that browsers strip). So it is not checked
for what it must not be, but looked up for what it must be: a path that this app's own
URL map answers with a page for GET, rebuilt by `url_for` from the matched endpoint.
"""
from __future__ import annotations

from flask import current_app, url_for
from werkzeug.exceptions import HTTPException
from werkzeug.routing import RequestRedirect


def page_of_this_app(path: str, fallback: str) -> str:
    """`path` rebuilt as one of this app's pages, or `fallback` (an endpoint) if it is none."""
    if path.startswith("/") and path.isprintable() and len(path) <= 2000:
        try:
            endpoint, values = current_app.url_map.bind("localhost").match(path, method="GET")
        except (HTTPException, RequestRedirect):
            endpoint = None
        if endpoint and endpoint != "static" and not endpoint.endswith(".choose_language"):
            return url_for(endpoint, **values)
    return url_for(fallback)
