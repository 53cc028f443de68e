"""The web apps in this process, for tests of what a route answers rather than of the server.

`in_process(app)` gives a requests Session whose every request is answered by the Flask app
through werkzeug's test client: no port, no waitress, no subprocess. FormClient and the
helpers built on it take that session, so a route check reads the same as over HTTP. What
only the real server shows (waitress, the channel and its push parser for uploads, timing,
tor) stays with `start_server`.
"""
from __future__ import annotations

import http.client
from types import SimpleNamespace
from urllib.parse import urlsplit

import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

URL = "http://127.0.0.1/"


class _AppAdapter(BaseAdapter):
    """A requests transport that hands each request to a WSGI app's test client."""

    def __init__(self, app):
        super().__init__()
        self.client = app.test_client(use_cookies=False)  # the Session keeps the cookies

    def send(self, request, **kwargs):
        url = urlsplit(request.url)
        answer = self.client.open(url.path, query_string=url.query, method=request.method,
                                  headers=dict(request.headers), data=request.body or b"",
                                  base_url=f"{url.scheme}://{url.netloc}")
        message = http.client.HTTPMessage()
        for name, value in answer.headers.items():
            message[name] = value
        response = requests.Response()
        response.status_code = answer.status_code
        response.reason = answer.status.partition(" ")[2]
        response.headers = CaseInsensitiveDict(answer.headers)
        response.raw = SimpleNamespace(_original_response=SimpleNamespace(msg=message),
                                       close=lambda: None)
        response._content, response._content_consumed = answer.get_data(), True
        response.url, response.request, response.encoding = request.url, request, "utf-8"
        response.cookies = requests.cookies.cookiejar_from_dict({})
        requests.cookies.extract_cookies_to_jar(response.cookies, request, response.raw)
        answer.close()
        return response

    def close(self):
        pass


def in_process(app) -> requests.Session:
    """A Session whose requests to URL are answered by `app` in this process."""
    session = requests.Session()
    session.mount(URL, _AppAdapter(app))
    return session
