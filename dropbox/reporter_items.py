"""What the reporter's pages seal and open: the report made from its form, each submission's
items sealed to the responders the reporter chose, and a reply opened in memory.

The routes (reporter.py) decide what happens when; everything here is about what goes into an
envelope and what comes out of one, so a change to either is made in one place.
"""
from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from flask import abort, request
from flask_babel import force_locale
from nacl.public import PrivateKey, PublicKey

from keys.envelope import Binding, Origin, open_envelope
from keys.errors import FormatError
from keys.items import Answer, ItemMeta, Report, split_item
from keys.responder import Responder
from keys.safe_text import sanitise_name, visible
from dropbox.exports import signed_author
from dropbox.forms import ReportForm
from dropbox.languages import LANGUAGES
from dropbox.practice import Practice
from dropbox.problems import refusal
from dropbox.storage import EnvelopeStream, Item, StagedItem, Store, today
from dropbox.submission_stream import TOO_MANY_FILES
from dropbox.uploads import upload_request


@dataclass(frozen=True)
class Reply:
    date: str
    author: str
    text: str  # as `keys open` shows it: controls and bidi marks escaped (keys/safe_text.py)


@dataclass(frozen=True)
class ReplyFile:
    """A file the team sent with a reply, as the reporter's page lists it."""
    item_id: str
    name: str  # sanitised as `keys open` names an attachment
    size: int  # the envelope's bytes: what the server knows, a little more than the file


class _Body:
    """The decrypted body of an item as a file object for `send_file`: each chunk authenticates
    as it is read, so a damaged envelope ends the download there."""

    def __init__(self, chunks: Iterator[bytes], payload: BinaryIO):
        self._chunks, self._buffer, self._payload = chunks, b"", payload

    def read(self, size: int = -1) -> bytes:
        while size < 0 or len(self._buffer) < size:
            chunk = next(self._chunks, None)
            if chunk is None:
                break
            self._buffer += chunk
        cut = len(self._buffer) if size < 0 else size
        data, self._buffer = self._buffer[:cut], self._buffer[cut:]
        return data

    def close(self) -> None:
        self._chunks = iter(())
        self._payload.close()


def typed(text: str) -> str:
    """Text from a form or a reply file with its CRLF line ends (what browsers send, as HTML
    says; what editors on Windows write) made plain newlines. A lone CR is no line end: it is
    left, for `visible` to show as \\u000d (on a terminal it would overwrite its line)."""
    return text.replace("\r\n", "\n")


def report_from(form: ReportForm, practice: Practice) -> Report:
    """The form's answers, in English for the responders, in the order the form asks them."""
    def chosen(field) -> str:
        return str(dict(field.choices).get(field.data, ""))

    def all_chosen(field) -> tuple[str, ...]:
        labels = dict(field.choices)
        return tuple(str(labels[value]) for value in field.data or ())

    with force_locale("en"):
        # The form accepts only the practice's behaviour ids.
        behaviours = tuple(text.english for b in form.behaviours.data or ()
                           if (text := practice.behaviour(b)) is not None)
        if form.behaviour_other.data.strip():
            behaviours += (f"Other: {typed(form.behaviour_other.data.strip())}",)
        answers = (
            Answer("reporting_for", str(form.reporting_for.label.text), chosen(form.reporting_for)),
            Answer("behaviours", str(form.behaviours.label.text), behaviours),
            Answer("places", str(form.places.label.text), all_chosen(form.places)),
            Answer("when", str(form.when.label.text), typed(form.when.data.strip())),
            Answer("involved", str(form.involved.label.text), typed(form.involved.data.strip())),
            Answer("team_involved", str(form.team_involved.label.text), chosen(form.team_involved)),
            Answer("recipients", str(form.recipients.label.text), tuple(form.recipients.data)),
            Answer("contact_reported", str(form.contact_reported.label.text), chosen(form.contact_reported)),
            Answer("name_me", str(form.name_me.label.text), chosen(form.name_me)),
            Answer("outcome", str(form.outcome.label.text), typed(form.outcome.data.strip())),
            Answer("reply_language", str(form.reply_language.label.text),
                   f"{LANGUAGES[form.reply_language.data]} ({form.reply_language.data})"),
        )
    return Report(form.content_warning.data, typed(form.content_warning_note.data.strip()), answers,
                  typed(form.message.data))


def seal_report(report: Report, reporter_key: PublicKey):
    """The report in an upload sink of this request (uploads.py), not yet bound to anyone."""
    # The reporter's key travels inside the report, where the server cannot change it later.
    sink = upload_request().new_sink(ItemMeta(kind="report", date=today(),
                                            reporter_key=base64.b64encode(bytes(reporter_key)).decode()))
    sink.write(report.encode())
    return sink


def stage_submission(first, recipients: tuple[Responder, ...], conversation_id: str,
                     position: int, max_files: int, reporter_key: PublicKey,
                     origin: Origin = Origin.REPORTER) -> list[StagedItem]:
    """Seal `first` (the report or a typed message, if any) and every uploaded file to
    `recipients`, each bound to the conversation and its place after `origin`'s (the reporter's,
    or the person reported's) `position` earlier items, with its receipt sealed to `reporter_key`
    (the sender's: the reporter's, or the invitation's)."""
    keys = [r.public_key for r in recipients]
    uploads = [f for f in request.files.getlist("files") if f.filename]
    if len(uploads) > max_files:
        raise refusal(TOO_MANY_FILES, max_files)
    if not keys:
        abort(507)  # every responder the reporter chose has left the team: nobody could read it
    sinks = ([first] if first else []) + [f.stream for f in uploads]
    return [sink.claim(keys, Binding(conversation_id, origin, position + n), reporter_key)
            for n, sink in enumerate(sinks)]


def reply_file(store: Store, item: Item, secret: PrivateKey) -> ReplyFile | None:
    """A file sent with a reply, its sealed name read in memory; None if it cannot be read."""
    try:
        with store.conversations.envelope(item) as stream:
            meta, _ = split_item(open_envelope(stream, secret))
    except (FormatError, OSError):
        return None
    if meta.kind != "file":
        return None
    return ReplyFile(item.id, sanitise_name(meta.name), item.envelope_size)


def reply_file_body(store: Store, item: Item, secret: PrivateKey) -> tuple[str, _Body]:
    """The sanitised name and the decrypted body of a file sent with a reply (FormatError if it
    is not one), read from its envelope as the download goes; closing the body closes it."""
    payload = open(store.conversations.payload_path(item), "rb")
    try:
        meta, body = split_item(open_envelope(EnvelopeStream(item.header, payload), secret))
        if meta.kind != "file":
            raise FormatError("not a file")
    except BaseException:
        payload.close()
        raise
    return sanitise_name(meta.name), _Body(body, payload)


def decrypt_reply(store: Store, item, secret: PrivateKey) -> Reply | None:
    """Decrypt a reply in memory for this response only; None if it cannot be read. Its text
    is shown as `keys open` shows text (keys/safe_text.py), escaped again as HTML by the page.

    The author named is the one whose signature `import_replies` verified, and only if the
    sealed reply claims the same name; an unsigned (v0.1.0) reply is from "the team"."""
    try:
        with store.conversations.envelope(item) as stream:
            meta, body = split_item(open_envelope(stream, secret))
            text = b"".join(body).decode("utf-8", errors="replace")
    except (FormatError, OSError):
        return None
    verified = signed_author(item)
    return Reply(meta.date, meta.name if verified and verified == meta.name else "",
                 visible(typed(text)))
