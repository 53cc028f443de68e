"""The desk's forms; Flask-WTF gives each a CSRF token. Labels and messages are lazy
strings, rendered in the responder's language."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from dropbox.safeforms import SafeForm
from wtforms import MultipleFileField, PasswordField, RadioField, SelectField, StringField
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


class CaseStateForm(SafeForm):
    """Where a case stands, for its reporter: one of the code of practice's states."""
    state = RadioField("Where the case stands, as the reporter will read it",
                       validators=[DataRequired("Choose a state.")])


class HandForm(SafeForm):
    """Hand a case to another of the conversation's readers."""
    to = SelectField("Hand it to", validators=[DataRequired("Choose a reader.")])
