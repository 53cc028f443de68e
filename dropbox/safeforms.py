"""The base of every form of the site and the desk: each field gets only the kind of data
it is made for, whatever the request holds.

Flask-WTF hands a form the request's text parts and file parts mixed (and a JSON body, if
one was sent), so a text field sent as a file part arrives as a file object, and a text
field left out arrives as None: a route that reads `.strip()` would fail with a 500 on
either. Here file fields see only file parts, text fields only text parts, JSON is never
form data, and a text field left out reads as empty.
"""
from __future__ import annotations

from flask import request
from flask_wtf import FlaskForm
from flask_wtf.file import FileField as FlaskFileField
from werkzeug.datastructures import CombinedMultiDict, MultiDict
from wtforms import FileField, StringField


class SafeForm(FlaskForm):
    class Meta(FlaskForm.Meta):
        def wrap_formdata(self, form, formdata):
            wrapped = super().wrap_formdata(form, formdata)
            if wrapped is None or wrapped is formdata:
                return wrapped  # not submitted, or data the caller chose: as Flask-WTF has it
            # Flask-WTF built it from the request (files, text parts, JSON): ours instead.
            file_fields = {name for name, field in form._fields.items()
                           if isinstance(field, (FileField, FlaskFileField))}
            files = MultiDict([(name, value) for name, value in request.files.items(multi=True)
                               if name in file_fields])
            return CombinedMultiDict((files, request.form))

    def process(self, *args, **kwargs) -> None:
        super().process(*args, **kwargs)
        for field in self:
            if isinstance(field, StringField) and field.data is None:
                field.data = ""

