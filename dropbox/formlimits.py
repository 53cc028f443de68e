"""How much of a request's form may be held in memory: bounded while it is parsed.

Werkzeug bounds each text part of a multipart body (`MAX_FORM_MEMORY_SIZE`) and the
number of parts (`MAX_FORM_PARTS`), but not their sum, and an urlencoded body is read
whole up to `MAX_CONTENT_LENGTH` (2 GiB here, for files). So a thousand text fields of
half a megabyte each were held in memory before the CSRF check could refuse them. Here:
- every text part is at most `Settings.max_text_field_bytes`;
- all text parts of one body together at most `Settings.max_form_text_bytes`, counted
  as they arrive (the parser below is Werkzeug's sans-IO decoder, driven by our loop);
- a body that cannot carry files (urlencoded, or to a page without a file field) is
  refused before it is read if it is larger than that total.
The push parser for the submission endpoints applies the same Settings.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, Request, current_app, request
from werkzeug.datastructures import FileStorage
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.formparser import FormDataParser, MultiPartParser
from werkzeug.sansio.multipart import Data, Epilogue, Field, File, NeedData

from dropbox.config import Settings
from dropbox.submission_stream import Limits
from dropbox.multipart import MultipartDecoder


class BoundedMultiPartParser(MultiPartParser):
    """Werkzeug's multipart parser with one more limit: the sum of all text parts."""

    def __init__(self, *args, max_form_text: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.max_form_text = max_form_text

    def parse(self, stream, boundary: bytes, content_length: int | None):
        decoder = MultipartDecoder(boundary, self.max_form_memory_size, max_parts=self.max_form_parts)
        fields: list[tuple[str, str]] = []
        files: list[tuple[str, FileStorage]] = []
        state: dict[str, Any] = {"text": 0, "part": None, "sink": None}

        def drain() -> None:
            event = decoder.next_event()
            while not isinstance(event, (Epilogue, NeedData)):
                if isinstance(event, Field):
                    state.update(part=event, sink=[])
                elif isinstance(event, File):
                    state.update(part=event, sink=self.start_file_streaming(event, content_length))
                elif isinstance(event, Data):
                    self._take(event, state, fields, files)
                event = decoder.next_event()

        while data := stream.read(self.buffer_size):
            decoder.receive_data(data)
            drain()
        decoder.receive_data(None)
        drain()
        return self.cls(fields), self.cls(files)

    def _take(self, event: Data, state: dict[str, Any], fields: list[tuple[str, str]],
              files: list[tuple[str, FileStorage]]) -> None:
        part, sink = state["part"], state["sink"]
        if isinstance(part, Field):
            state["text"] += len(event.data)
            memory = self.max_form_memory_size  # None: werkzeug's own default is no limit
            if state["text"] > self.max_form_text or (
                    memory is not None and sum(map(len, sink)) + len(event.data) > memory):
                raise RequestEntityTooLarge()
            sink.append(event.data)
            if not event.more_data:
                fields.append((part.name, b"".join(sink).decode(
                    self.get_part_charset(part.headers), "replace")))
            return
        sink.write(event.data)
        if not event.more_data:
            sink.seek(0)
            files.append((part.name, FileStorage(sink, part.filename, part.name,
                                                 headers=part.headers)))


class BoundedFormDataParser(FormDataParser):
    def __init__(self, *args, max_form_text: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.max_form_text = max_form_text

    def _parse_multipart(self, stream, mimetype, content_length, options):
        boundary = options.get("boundary", "").encode("ascii")
        if not boundary:
            raise ValueError("Missing boundary")
        parser = BoundedMultiPartParser(
            stream_factory=self.stream_factory, max_form_memory_size=self.max_form_memory_size,
            max_form_parts=self.max_form_parts, cls=self.cls, max_form_text=self.max_form_text)
        form, files = parser.parse(stream, boundary, content_length)
        return stream, form, files


class BoundedFormRequest(Request):
    """Mixed into an app's request class: its forms are parsed with the bounded parser."""

    def make_form_data_parser(self) -> FormDataParser:
        return BoundedFormDataParser(
            stream_factory=self._get_file_stream, max_form_memory_size=self.max_form_memory_size,
            max_content_length=self.max_content_length, max_form_parts=self.max_form_parts,
            cls=self.parameter_storage_class,
            max_form_text=current_app.config["DROPBOX_MAX_FORM_TEXT"])


View = TypeVar("View", bound=Callable[..., Any])
_TAKES_FILES = "dropbox_takes_files"


def takes_files(view: View) -> View:
    """Declares, beside a view, that its form may carry files: its body may be large and is
    parsed and sealed as it arrives (the channel streams its path: server.py), under the
    limits of Settings. Every other body is at most a form's text."""
    setattr(view, _TAKES_FILES, True)
    return view


def file_endpoints(app: Flask) -> frozenset[str]:
    """The endpoints of `app` whose views were declared with `takes_files`."""
    return frozenset(endpoint for endpoint, view in app.view_functions.items()
                     if getattr(view, _TAKES_FILES, False))


def bound_forms(app: Flask, settings: Settings) -> None:
    """Apply the limits to `app`, whose views declared with `takes_files` take files: the same
    Limits as the push parser's (submission_stream.Limits.from_settings)."""
    limits = Limits.from_settings(settings)
    app.config.update(MAX_FORM_MEMORY_SIZE=limits.field_bytes,
                      MAX_FORM_PARTS=limits.parts,
                      DROPBOX_MAX_FORM_TEXT=limits.fields_bytes)

    def refuse_large_bodies_without_files() -> None:
        view = app.view_functions.get(request.endpoint or "")
        if request.mimetype != "multipart/form-data" or not getattr(view, _TAKES_FILES, False):
            request.max_content_length = limits.fields_bytes
    # First of all before-request functions: the CSRF check reads the form.
    app.before_request_funcs.setdefault(None, []).insert(0, refuse_large_bodies_without_files)
