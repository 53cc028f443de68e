"""The desk's forms; Flask-WTF gives each a CSRF token. Labels and messages are lazy
strings, rendered in the responder's language."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from dropbox.safeforms import SafeForm
from wtforms import MultipleFileField, PasswordField, StringField
from wtforms.validators import DataRequired


class DeskLoginForm(SafeForm):
    username = StringField(_l("Name"), validators=[DataRequired(_l("Please type your name."))])
    password = PasswordField(_l("Password"), validators=[DataRequired(_l("Please type your password."))])
    otp = StringField(_l("Code from your authenticator"), validators=[
        DataRequired(_l("Please type the six-digit code from your authenticator."))])


class RepliesForm(SafeForm):
    replies = MultipleFileField(_l("Reply files written offline (.odbx)"))


class ConfirmForm(SafeForm):
    """A button that does one thing to one conversation: star, close, reopen, delete, log out."""
