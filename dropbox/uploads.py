"""The upload sink: every byte a reporter sends is encrypted before it is stored.

Werkzeug's form parser asks the request for a file-like object for each file
part (`_get_file_stream`); ours is an `UploadSink` that encrypts each chunk as
it arrives into tmp/, under a fresh file key held only in memory. Recipients
are chosen in the same form, so the envelope header is sealed afterwards, when
the route claims the sink: `claim(recipients, Binding(conversation, "reporter",
position))` pads the payload to its Padmé size and binds the item to its place
(docs/FORMAT.md, "Envelope"). Sinks nobody claimed (a rejected or failed request)
are deleted when the request ends (stored ones have been moved away by then), so nothing is left behind.

Messages typed in the form go through the same sink, so there is one path
from plaintext to ciphertext.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

from flask import Request, current_app
from flask_babel import gettext as _
from nacl.public import PublicKey
from werkzeug.exceptions import BadRequest

from keys.envelope import Binding, PayloadSealer
from keys.items import ItemMeta
from dropbox.problems import TooLarge
from dropbox.storage import StagedItem, new_id, today


class UploadSink:
    """A write-only file that stores only ciphertext."""

    def __init__(self, tmp_dir: Path, meta: ItemMeta, max_bytes: int):
        self.id = new_id()
        self.path = tmp_dir / f"{self.id}.part"
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        self._file = os.fdopen(fd, "wb")
        self._sealer = PayloadSealer(self._file)
        self._sealer.write(meta.encode())
        self._prefix = self._sealer.plaintext_size
        self.meta = meta
        self._max = max_bytes

    @property
    def size(self) -> int:
        """Plaintext bytes of the body received so far."""
        return self._sealer.plaintext_size - self._prefix

    def write(self, data: bytes) -> int:
        if self.size + len(data) > self._max:
            raise TooLarge(_("Please send files of at most %(mib)s MiB each.",
                             mib=self._max // (1024 * 1024)))
        return self._sealer.write(data)

    def seek(self, *args) -> int:
        # Werkzeug rewinds each file part once it is complete; there is nothing to rewind to.
        return 0

    def claim(self, recipients: Sequence[PublicKey], binding: Binding) -> StagedItem:
        """Finish the payload (padded) and seal its header to `recipients`, bound to its place:
        the conversation and the reporter's position (docs/FORMAT.md, "Envelope")."""
        self._sealer.finish()
        self._file.close()
        return StagedItem(self.id, self._sealer.header(recipients, binding), self.path,
                          self._sealer.ciphertext_size)

    def discard(self) -> None:
        if not self._file.closed:
            try:
                self._file.close()
            except OSError:
                pass  # a full disk refuses the buffered rest; the file goes anyway
        self.path.unlink(missing_ok=True)


class EncryptingRequest(Request):
    """A request whose uploaded files never exist in plaintext outside memory."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.sinks: list[UploadSink] = []

    def new_sink(self, meta: ItemMeta) -> UploadSink:
        config = current_app.extensions["dropbox"].config
        sink = UploadSink(config.tmp_dir, meta, config.settings.max_file_mib * 1024 * 1024)
        self.sinks.append(sink)
        return sink

    def _get_file_stream(self, total_content_length, content_type, filename=None,
                         content_length=None):
        return self.new_sink(ItemMeta(kind="file", date=today(), name=filename or ""))

    def _load_form_data(self) -> None:
        super()._load_form_data()
        if None in self.form or None in self.files:
            # A part without a name: no browser sends one, and Flask-WTF's token lookup
            # would fail on it with an AttributeError (a 500) instead of a clear 400.
            raise BadRequest()

    def seal_message(self, text: str) -> UploadSink:
        sink = self.new_sink(ItemMeta(kind="message", date=today()))
        sink.write(text.encode("utf-8"))
        return sink

    def discard_leftovers(self) -> None:
        """At the end of every request: a stored sink has moved away, anything else goes."""
        for sink in self.sinks:
            sink.discard()
