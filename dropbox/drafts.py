"""A reporter's words, carried through an ended session instead of thrown away.

When a report or follow-up arrives after its session ended (the idle limit,
a restart) or with a stale token, there is no codename to file it under, so
it cannot be accepted. Its text is still in hand, though: the next page
(a new codename for a report, the login for a follow-up) carries it back to
the browser as hidden fields of its own form, and once the reporter has
written the new codename down or logged in, the form comes back filled in.
The server keeps nothing of it in between: no draft in memory that a flood
could multiply, nothing on disk. Files cannot travel that way; their names
do, so the page can say which to attach again.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask import Request
from werkzeug.datastructures import MultiDict
from wtforms.fields.core import UnboundField

from dropbox.forms import FollowUpForm, ReportForm
from dropbox.uploads import upload_request

MARK = "draft"  # which form the carried text belongs to: "report" or "follow-up"
FILES = "draft_files"
REPORT, FOLLOW_UP = "report", "follow-up"
_NOT_CARRIED = {"csrf_token", "files", MARK, FILES}


@dataclass(frozen=True)
class Draft:
    form: str
    fields: tuple[tuple[str, str], ...]
    files: tuple[str, ...]

    @classmethod
    def from_submission(cls, form: str, request: Request) -> Draft:
        """What a refused submission held: its text fields, and the names of its files."""
        fields = tuple((name, value) for name, value in request.form.items(multi=True)
                       if name not in _NOT_CARRIED)
        names = [f.filename for f in request.files.getlist("files") if f.filename]
        return cls(form, fields, tuple(names + upload_request().unkept_files))

    @classmethod
    def carried(cls, request: Request, form: str) -> Draft | None:
        """The draft a page's form carried back, if it carried one for `form`."""
        if request.method != "POST" or request.form.get(MARK) != form:
            return None
        fields = tuple((name, value) for name, value in request.form.items(multi=True)
                       if name not in _NOT_CARRIED and name in _allowed(form))
        return cls(form, fields, tuple(request.form.getlist(FILES)))

    def hidden(self) -> list[tuple[str, str]]:
        """The hidden fields that carry this draft in another page's form."""
        return [(MARK, self.form), *self.fields, *((FILES, name) for name in self.files)]

    def formdata(self) -> MultiDict:
        return MultiDict(self.fields)


def _allowed(form: str) -> set[str]:
    """Only the fields of the form the draft belongs to come back (never the page's own)."""
    cls = ReportForm if form == REPORT else FollowUpForm
    return {name for name, value in vars(cls).items() if isinstance(value, UnboundField)}
