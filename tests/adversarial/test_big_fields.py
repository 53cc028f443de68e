"""Memory from one request: huge text fields are refused while they are parsed, not after.

Anonymous POSTs (no session, so the CSRF check will refuse them) carry hundreds of text
fields of 150-480 KB each. Four at once must not grow the server's memory by more than
128 MiB, and its memory must come back; each gets a readable 4xx.
"""
from __future__ import annotations

import requests

import pytest

from support.attackers import rss_kib
from support.floods import flood, many_fields

REQUESTS = 4
MiB = 1024


@pytest.mark.slow
def test_four_requests_of_huge_text_fields_do_not_hold_them_in_memory(server):
    requests.get(server.url, timeout=30)
    before = rss_kib(server, "VmHWM")
    for path, field_bytes, fields in (("report", 480_000, 250), ("login", 150_000, 800)):
        body, content_type = many_fields(field_bytes, fields)
        statuses = flood(server.url + path, body, content_type, REQUESTS)
        assert all(400 <= s < 500 for s in statuses), statuses
    grown = rss_kib(server, "VmHWM") - before
    print(f"peak RSS grew by {grown / MiB:.1f} MiB")
    assert grown < 128 * MiB
    assert rss_kib(server) - before < 64 * MiB  # and what was taken came back
    assert requests.get(server.url, timeout=30).status_code == 200
