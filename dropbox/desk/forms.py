"""The desk's forms; Flask-WTF gives each a CSRF token. Labels and messages are lazy
strings, rendered in the responder's language."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from dropbox.safeforms import SafeForm
from wtforms import MultipleFileField, PasswordField, RadioField, SelectField, StringField
from wtforms.validators import DataRequired


class DeskLoginForm(SafeForm):
    username = StringField(_l("Name"), validators=[DataRequired(_l("Please type your name."))])
    password = PasswordField(_l("Passphrase"), validators=[DataRequired(_l("Please type your passphrase."))])
    otp = StringField(_l("Code from your authenticator"), validators=[
        DataRequired(_l("Please type the six-digit code from your authenticator."))])


class RepliesForm(SafeForm):
    replies = MultipleFileField(_l("Reply files written offline (.odbx)"))


class ConfirmForm(SafeForm):
    """A button that does one thing to one conversation: star, close, reopen, delete, log out."""


def _otp(label):
    return StringField(label, validators=[
        DataRequired(_l("Please type the six-digit code from your authenticator."))])


def _new_passphrase():
    return (PasswordField(_l("Choose a passphrase"), validators=[
                DataRequired(_l("Please choose a passphrase."))]),
            PasswordField(_l("The same passphrase again"), validators=[
                DataRequired(_l("Please type the passphrase again."))]))


class EnrolmentCodeForm(SafeForm):
    code = StringField(_l("Enrolment code"), validators=[
        DataRequired(_l("Please type the enrolment code the operator gave you."))])


class EnrolForm(SafeForm):
    """The responder's own login: a passphrase and the TOTP secret shown beside the form."""
    passphrase, again = _new_passphrase()
    otp = _otp(_l("Code shown by your authenticator now"))


class _Reauthenticate(SafeForm):
    """Changing a login starts by proving it once more, as a login does."""
    current = PasswordField(_l("Your passphrase now"), validators=[
        DataRequired(_l("Please type your passphrase."))])
    otp = _otp(_l("Code from your authenticator"))


class ChangePassphraseForm(_Reauthenticate):
    passphrase, again = _new_passphrase()


class ChangeAuthenticatorForm(_Reauthenticate):
    new_otp = _otp(_l("Code shown by the new authenticator entry"))
class CaseStateForm(SafeForm):
    """Where a case stands, for its reporter: one of the code of practice's states."""
    state = RadioField(_l("Where the case stands, as the reporter will read it"),
                       validators=[DataRequired(_l("Choose a state."))])


class HandForm(SafeForm):
    """Hand a case to another of the conversation's readers."""
    to = SelectField(_l("Hand it to"), validators=[DataRequired(_l("Choose a reader."))])
