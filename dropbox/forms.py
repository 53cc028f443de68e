"""The reporter's forms. Flask-WTF gives every one of them a CSRF token.

Labels and messages are lazy strings, so each request renders them in the
reporter's language; the report's structured answers are read back in
English for the responders (see reporter.py).
"""
from __future__ import annotations

from flask import current_app
from flask_babel import lazy_gettext as _l
from dropbox.safeforms import SafeForm
from wtforms import (BooleanField, MultipleFileField, RadioField, SelectField, SelectMultipleField,
                     StringField, TextAreaField)
from wtforms.validators import DataRequired, InputRequired, Length, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from dropbox.languages import LANGUAGES

SHORT = 500
LONG = 5000


def _settings():
    return current_app.extensions["dropbox"].config.settings


def _check_length(form, field) -> None:
    if field.data and ("\x00" in field.data or "\ufffd" in field.data):
        # Browsers send valid UTF-8; these mean the text was damaged on its way.
        raise ValidationError(_l("Part of your message arrived damaged. Please check it and send it again."))
    limit = _settings().max_message_chars
    if field.data and len(field.data) > limit:
        raise ValidationError(_l("Please keep a message under %(limit)s characters, or attach it as a file.",
                                 limit=limit))


def _at_most(limit: int) -> Length:
    return Length(max=limit, message=_l("Please keep this under %(max)d characters.", max=limit))


class OptionalRadioField(RadioField):
    """A group of radio buttons the reporter may leave unanswered."""

    def pre_validate(self, form) -> None:
        if self.data is not None:
            super().pre_validate(form)


class CheckboxesField(SelectMultipleField):
    """Several choices as a list of checkboxes, each with its own label."""
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class StartForm(SafeForm):
    """The landing page's button, and the codename page's "a fresh one": both make a codename."""


class ConfirmCodenameForm(SafeForm):
    written_down = BooleanField(_l("I have written my codename down"), validators=[
        InputRequired(_l("Please write your codename down and check this box. "
                         "Without it you cannot come back to your report."))])


REPORTING_FOR = [("myself", _l("Myself")), ("someone-else", _l("Someone else")),
                 ("concern", _l("Something else that concerns me"))]
PLACES = [("online", _l("An online space")), ("event", _l("An event or gathering")),
          ("outside", _l("Outside the community's spaces"))]
TEAM_INVOLVED = [("no", _l("No")), ("yes", _l("Yes")), ("unsure", _l("I am not sure"))]
# The code of practice says the team will contact the person reported, to explain the process
# and let them respond; it does not let a reporter forbid that, so the form asks what the
# reporter needs before it happens instead of offering a "No" the team could not keep.
CONTACT = [("tell-me-first", _l("Tell me before you contact them")),
           ("not-safe", _l("It is not safe for me if you contact them: talk with me first")),
           ("go-ahead", _l("Nothing in particular: go ahead when you are ready"))]
NAME_ME = [("no", _l("No")), ("yes", _l("Yes"))]


class ReportForm(SafeForm):
    """The code of practice as a form. Only the message is required: a reporter may skip the rest."""
    reporting_for = OptionalRadioField(_l("Who are you reporting for?"), choices=REPORTING_FOR)
    behaviours = CheckboxesField(_l("What happened? Check all that apply."))
    behaviour_other = StringField(_l("Something else happened (a few words)"), validators=[_at_most(SHORT)])
    places = CheckboxesField(_l("Where did it happen?"), choices=PLACES)
    when = StringField(_l("When did it happen?"), validators=[_at_most(SHORT)],
                       description=_l("Any point in time counts, however long ago. A rough answer is fine."))
    involved = TextAreaField(_l("Who was involved? (optional)"), validators=[_at_most(LONG)])
    team_involved = OptionalRadioField(_l("Is someone on the response team involved?"), choices=TEAM_INVOLVED)
    recipients = CheckboxesField(_l("Who may read this report"))
    contact_reported = RadioField(
        _l("The team will contact the person you report, to explain the process and let them "
           "respond. What do you need from us before that?"), choices=CONTACT, default="tell-me-first")
    name_me = RadioField(_l("May the team name you to anyone?"), choices=NAME_ME, default="no")
    outcome = TextAreaField(_l("What would you like to happen? (optional)"), validators=[_at_most(LONG)])
    content_warning = BooleanField(_l("My report describes things that may be distressing to read"))
    content_warning_note = StringField(_l("A note for the responders about it (optional)"),
                                       validators=[_at_most(SHORT)])
    reply_language = SelectField(_l("Language for replies"), choices=list(LANGUAGES.items()))
    message = TextAreaField(_l("Your report"), validators=[
        DataRequired(_l("Please write a few words about what happened.")), _check_length])
    files = MultipleFileField(_l("Files (optional)"))

    def validate_recipients(self, field) -> None:
        if not field.data:
            raise ValidationError(_l("Leave at least one responder checked, or nobody can read your report."))
        everyone = {value for value, _label in field.choices}
        # With a team of one there is nobody else to leave the report to: no contradiction to point out.
        if self.team_involved.data == "yes" and len(everyone) > 1 and everyone <= set(field.data):
            # Recusal that adds up: "someone is involved" with everyone still reading is a contradiction.
            raise ValidationError(_l("You said someone on the response team is involved, but everyone "
                                     "can still read your report. Uncheck the people involved, or "
                                     "change your answer to that question."))


class FollowUpForm(SafeForm):
    message = TextAreaField(_l("Your message"), validators=[_check_length])
    files = MultipleFileField(_l("Files (optional)"))


class LoginForm(SafeForm):
    codename = StringField(_l("Your codename"), validators=[DataRequired(_l("Please type your codename."))])


class LogoutForm(SafeForm):
    """Logging out is a POST, so another site cannot log a reporter out."""


class DeleteForm(SafeForm):
    """The reporter's confirmation that their whole conversation is to be deleted."""
