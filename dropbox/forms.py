"""The reporter's forms. Flask-WTF gives every one of them a CSRF token."""
from __future__ import annotations

from flask import current_app
from flask_wtf import FlaskForm
from wtforms import MultipleFileField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import DataRequired, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget


def _settings():
    return current_app.extensions["dropbox"].config.settings


def _check_length(form, field) -> None:
    if field.data and ("\x00" in field.data or "\ufffd" in field.data):
        # Browsers send valid UTF-8; these mean the text was damaged on its way.
        raise ValidationError("Part of your message arrived damaged. Please check it and send it again.")
    limit = _settings().max_message_chars
    if field.data and len(field.data) > limit:
        raise ValidationError(f"Please keep a message under {limit} characters, or attach it as a file.")


class StartForm(FlaskForm):
    """The landing page's button: starting a report makes a codename."""


class ReportForm(FlaskForm):
    recipients = SelectMultipleField(
        "Who may read this report", widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput())
    message = TextAreaField("Your report", validators=[
        DataRequired("Please write a few words about what happened."), _check_length])
    files = MultipleFileField("Files (optional)")

    def validate_recipients(self, field) -> None:
        if not field.data:
            raise ValidationError("Leave at least one responder checked, or nobody can read your report.")


class FollowUpForm(FlaskForm):
    message = TextAreaField("Your message", validators=[_check_length])
    files = MultipleFileField("Files (optional)")


class LoginForm(FlaskForm):
    codename = StringField("Your codename", validators=[DataRequired("Please type your codename.")])


class LogoutForm(FlaskForm):
    """Logging out is a POST, so another site cannot log a reporter out."""


class DeleteForm(FlaskForm):
    """The reporter's confirmation that their whole conversation is to be deleted."""
