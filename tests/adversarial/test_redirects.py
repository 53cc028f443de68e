"""No redirect built from a parameter leaves the site or breaks the server.

The language links carry `?next=` (the page to come back to). Whatever an attacker puts
there, the answer is a redirect to a page of this app on this host, never a 5xx.
"""
from __future__ import annotations

from urllib.parse import urljoin, urlsplit

import requests

HOSTILE_NEXT = [
    "/%09/evil.example", "//evil.example", "/\\evil.example", "\\\\evil.example",
    "https://evil.example/", "http:evil.example", "/%0a", "/%0d%0aSet-Cookie:%20x=1",
    "/%2F%2Fevil.example", "/ /evil.example", "%2F%2Fevil.example", "/%00", "/%E2%80%AE",
    "/.%2e/%2e%2e/evil", "///evil.example", "/%5Cevil.example", "javascript:alert(1)",
    "/login?next=//evil.example", "/" + "a" * 5000, "/nowhere", "/static/../../etc/passwd",
]
KNOWN_PAGES = {"/", "/login", "/report", "/codename", "/conversation", "/submitted", "/delete"}


def test_language_redirect_goes_only_to_a_page_of_this_site(server):
    wrong = []
    for hostile in HOSTILE_NEXT:
        response = requests.get(server.url + "language/fr?next=" + hostile, allow_redirects=False,
                                timeout=30)
        if response.status_code not in (302, 303):
            wrong.append((hostile, response.status_code))
            continue
        target = urljoin(server.url + "language/fr", response.headers["Location"])
        if urlsplit(target).netloc != urlsplit(server.url).netloc \
                or urlsplit(target).path not in KNOWN_PAGES:
            wrong.append((hostile, target))
    assert not wrong


def test_a_known_page_is_kept_as_the_way_back(server):
    response = requests.get(server.url + "language/es?next=/login", allow_redirects=False, timeout=30)
    assert urlsplit(response.headers["Location"]).path == "/login"
