"""What a reporter reads when something goes wrong: plain words, no status jargon, no traceback."""
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import BadRequest, HTTPException, RequestEntityTooLarge

from dropbox.submission_stream import (FIELD_TOO_LARGE, FIELDS_TOO_LARGE, FILE_TOO_LARGE,
                                       TOO_MANY_FILES, TOO_MANY_PARTS)

PROBLEMS = {
    400: _l("Something in what was sent could not be understood. Please go back and try again."),
    403: _l("This page is not open to you."),
    404: _l("There is no page here."),
    405: _l("This page cannot be used that way."),
    413: _l("What you sent is larger than this drop accepts. Please send fewer or smaller files."),
    429: _l("Too many people have tried to log in just now. Please wait a minute and try again."),
    500: _l("Something went wrong on our side. Nothing you sent was kept. Please try again later."),
    507: _l("Your report could not be saved just now. Nothing was kept. Please try again later."),
}

EXPIRED = _l("This form has expired or did not come from this site. "
             "Please go back, reload the page and send it again.")
# A report or follow-up the disk could not take just now: its form comes back filled in.
NOT_SAVED = _l("What you sent could not be saved just now: the server is short of disk space, so "
               "nothing was sent yet. Everything you wrote is below: please try again later, and "
               "choose your files again.")
# When no one more's session fits (sessions.py): not a login problem, so not the 429 text.
BUSY = _l("This site is busy just now. Please wait a minute and try again.")


class TooLarge(RequestEntityTooLarge):
    """A 413 whose description was written for the reporter (which limit, how large)."""


def message_for(error: HTTPException) -> str:
    if isinstance(error, TooLarge):
        return error.description
    return str(PROBLEMS.get(error.code or 400, PROBLEMS[400]))


# Each limit a reporter can meet in a submission, whichever parser met it (the push parser of
# submission_stream.py or Werkzeug's, formlimits.py), and what they read: the figure it names
# is filled in under the variable given.
LIMIT_MESSAGES = {
    TOO_MANY_FILES: (_l("Please send at most %(limit)s files at a time."), "limit"),
    FILE_TOO_LARGE: (_l("Please send files of at most %(mib)s MiB each."), "mib"),
    FIELD_TOO_LARGE: (_l("Please keep a message under %(limit)s characters, or attach it as a file."),
                      "limit"),
}


def refusal(limit: str, figure: int | None = None) -> HTTPException:
    """The answer to a submission that met `limit` (a submission_stream problem name);
    `figure` is the limit's value as the reporter reads it (files, MiB, characters)."""
    if limit in LIMIT_MESSAGES:
        message, variable = LIMIT_MESSAGES[limit]
        return TooLarge(str(message) % {variable: figure})
    if limit in (FIELDS_TOO_LARGE, TOO_MANY_PARTS):
        return RequestEntityTooLarge()
    return BadRequest()
