"""A submission whose text fields come after its files (no browser sends that order; a script
can): everything is stored right, or the form comes back with the reporter's words and the
names of the files to attach again. Never accepted with a file silently dropped.

The body is parsed by the channel's own push parser (an `Arrival`, as waitress's channel
builds it, asking the app's judge before the first file), and the app answers through Flask's
test client: the live server is not what is tested here.
"""
from __future__ import annotations

import pytest
from werkzeug.test import EnvironBuilder

from dropbox.app import create_app, submission_judge
from dropbox.config import Config
from dropbox.submission_stream import ARRIVAL, Arrival, Limits
from dropbox.uploads import UploadSink
from formclient import Form, _TreeBuilder
from keys.items import ItemMeta

BOUNDARY = "odbxFieldOrder0123456789"
WORDS = "What happened at the meetup, in my words."


class Reporter:
    """A reporter with a codename and the report form open, through Flask's test client."""

    def __init__(self, app):
        self.app = app
        self.client = app.test_client()
        start = self._form("/", "Start a new report")
        self.client.post("/start", data=dict(start.defaults()))
        confirm = self._form("/codename", "Continue")
        self.client.post("/codename", data={**dict(confirm.defaults()), "written_down": "y"})
        self.defaults = self._form("/report", "Send the report").defaults()

    def _form(self, path: str, button: str) -> Form:
        builder = _TreeBuilder()
        builder.feed(self.client.get(path).text)
        for node in builder.root.walk():
            if node.tag == "form" and any(n.tag == "button" and button in n.text() for n in node.walk()):
                return Form(node, "http://localhost" + path)
        raise AssertionError(f"no {button!r} form on {path}")

    def send(self, parts: list[tuple[str, str | None, bytes]], path: str = "/report"):
        """POST these parts in this order, parsed as the channel parses them."""
        body = b""
        for name, filename, content in parts:
            body += f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"'.encode()
            if filename is not None:
                body += f'; filename="{filename}"\r\nContent-Type: text/plain'.encode()
            body += b"\r\n\r\n" + content + b"\r\n"
        body += f"--{BOUNDARY}--\r\n".encode()
        content_type = f"multipart/form-data; boundary={BOUNDARY}"
        cookie = self.client.get_cookie("session").value
        environ = EnvironBuilder(path=path, method="POST", content_type=content_type,
                                 headers=[("Cookie", f"session={cookie}")]).get_environ()
        config = self.app.extensions["dropbox"].config
        settings = config.settings
        limits = Limits(field_bytes=settings.max_text_field_bytes, fields_bytes=settings.max_form_text_bytes,
                        files=settings.max_files_per_submission,
                        file_bytes=settings.max_file_mib * 1024 * 1024, parts=settings.max_form_parts)
        judge = submission_judge(self.app)
        arrival = Arrival(BOUNDARY.encode(), limits, len(body),
                          lambda name: UploadSink(config.tmp_dir, ItemMeta(kind="file", date="2026-12-03",
                                                                           name=name), limits.file_bytes),
                          lambda fields: judge(environ, fields))
        for start in range(0, len(body), 1000):
            arrival.append(body[start:start + 1000])
        arrival.finish()
        return self.client.post(path, data=b"", content_type=content_type,
                                environ_overrides={ARRIVAL: arrival})


@pytest.fixture
def app(instance):
    return create_app(Config.load(instance))


def _stored(instance) -> list:
    return [p for p in (instance / "store").rglob("*") if p.is_file()]


@pytest.mark.parametrize("late", ["csrf_token", "recipients", "message"])
def test_a_field_the_judge_needs_after_a_small_file_brings_the_form_back_with_the_words(app, instance, late):
    """The judge, asked at the first file, refused the form without that field, so the file
    was not kept; the page then saw the whole form valid and accepted the report without it."""
    reporter = Reporter(app)
    fields = [(n, v) for n, v in reporter.defaults if n != "message"] + [("message", WORDS)]
    before = [(n, None, v.encode()) for n, v in fields if n != late]
    after = [(n, None, v.encode()) for n, v in fields if n == late]
    answer = reporter.send(before + [("files", "evidence.txt", b"e" * 1000)] + after)
    assert answer.status_code == 400, late
    page = answer.get_data(as_text=True)
    assert "evidence.txt" in page and "was not kept" in page
    if late != "message":
        assert WORDS in page
    assert not _stored(instance)
    assert not list((instance / "tmp").iterdir())


def test_a_text_field_after_a_file_is_stored_as_a_field_and_the_file_as_sent(app, instance):
    reporter = Reporter(app)
    fields = [(n, None, v.encode()) for n, v in reporter.defaults if n != "message"]
    answer = reporter.send([*fields, ("message", None, WORDS.encode()),
                            ("files", "evidence.txt", b"e" * 1000), ("involved", None, b"i" * 4484)])
    assert answer.status_code == 302
    stored = _stored(instance)
    assert len(stored) == 2  # the report and the one file
    assert not list((instance / "tmp").iterdir())


def test_a_follow_up_whose_token_comes_after_its_file_comes_back_with_the_words(app, instance):
    reporter = Reporter(app)
    fields = [(n, None, v.encode()) for n, v in reporter.defaults if n != "message"]
    assert reporter.send([*fields, ("message", None, b"first")]).status_code == 302
    follow_up = reporter._form("/conversation", "Send").defaults()
    token = next(v for n, v in follow_up if n == "csrf_token")
    answer = reporter.send([("message", None, WORDS.encode()), ("files", "more.txt", b"m" * 1000),
                            ("csrf_token", None, token.encode())], "/conversation")
    assert answer.status_code == 400
    page = answer.get_data(as_text=True)
    assert "more.txt" in page and "was not kept" in page and WORDS in page
    assert len(_stored(instance)) == 1  # the report alone
