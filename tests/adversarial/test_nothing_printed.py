"""Nothing a visitor does prints anything, and no Host header can make the server fail.

docs/OPERATING.md promises that nothing a reporter does prints anything (the journal stamps
each line with the time). waitress warned "Task queue depth is N" whenever a few pages were
asked for at once, and a Host with an empty label (`a..b`) gave a 500 and a 60-line
traceback on the site and the desk, each time.
"""
from __future__ import annotations

import http.client
import threading
from urllib.parse import urlsplit

import requests

from conftest import start_server
from deskclient import desk_url

AT_ONCE = 24  # visitors loading a page at the same moment: six times waitress's workers
HOSTS = ("a..b", "..", ".onion", "a..b:80", "a" * 64 + ".onion")


def _get(url: str, host: str) -> tuple[http.client.HTTPResponse, bytes]:
    """The answer to GET / with this Host header, and its body (read before the connection closes)."""
    address = urlsplit(url)
    assert address.hostname is not None, url
    conn = http.client.HTTPConnection(address.hostname, address.port, timeout=30)
    conn.request("GET", "/", headers={"Host": host})
    response = conn.getresponse()
    body = response.read()
    conn.close()
    return response, body


def test_visitors_at_once_and_unreadable_hosts_print_nothing(instance):
    server = start_server(instance, args=("--tor", "off", "--desk-port", "0"))
    try:
        desk = desk_url(server)
        printed = len(server.log)
        for _ in range(3):
            visitors = [threading.Thread(target=requests.get, args=(server.url,), kwargs={"timeout": 30})
                        for _ in range(AT_ONCE)]
            for visitor in visitors:
                visitor.start()
            for visitor in visitors:
                visitor.join()
        for url in (server.url, desk):
            for host in HOSTS:
                answer, body = _get(url, host)
                assert answer.status == 400, (url, host, answer.status)
                assert answer.getheader("Content-Security-Policy"), (url, host)
                assert b"Traceback" not in body, (url, host, body[:200])
        assert requests.get(server.url, timeout=30).status_code == 200
        assert server.log[printed:] == []
    finally:
        server.stop()
