"""Text from a bundle, made safe to show: escaped controls, harmless file names, the report.

Everything in a bundle came through the server and from a reporter nobody knows.
Its free text may hold control, bidi and separator characters that make a
terminal or an editor show something other than what is there (a file name that
reads backwards, a line that hides the one after it), and an attachment's name
may try to leave its folder or hide as a dot-file. `visible` shows each such
character as \\uXXXX, `sanitise_name` makes a name that stays where it is put,
and `render_report` lays a report out as a responder reads it.
"""
from __future__ import annotations

import re
import unicodedata

from keys.items import Report

MAX_NAME_BYTES = 200
# Characters that change how text around them is shown: line and paragraph separators, and
# the bidi marks, embeddings, overrides and isolates (Unicode category Cf holds most of them).
_SHOWN_ESCAPED = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}


# What may need escaping: anything but printable ASCII, newline and tab. Most text has none,
# so the regular expression walks it in C and only these characters are looked up.
_MAYBE_ESCAPED = re.compile(r"[^\x20-\x7e\n\t]")


def _escaped(found: re.Match[str]) -> str:
    char = found.group()
    if unicodedata.category(char) not in _SHOWN_ESCAPED:
        return char
    return f"\\u{ord(char):04x}" if ord(char) < 0x10000 else f"\\U{ord(char):08x}"


def visible(text: str, keep_newlines: bool = True) -> str:
    """`text` with every control, format (bidi) and separator character shown as \\uXXXX."""
    shown = _MAYBE_ESCAPED.sub(_escaped, text)
    return shown if keep_newlines else shown.replace("\n", "\\u000a")


def sanitise_name(name: str) -> str:
    """A file name that stays inside its folder, is not a dot-file and shows no control characters."""
    name = re.split(r"[/\\]", name)[-1]
    name = "".join(c for c in unicodedata.normalize("NFC", name)
                   if unicodedata.category(c) not in _SHOWN_ESCAPED)
    name = re.sub(r"^[\s.]+", "", name).strip()  # ". .hidden" must not become ".hidden"
    stem, dot, ext = name.rpartition(".")
    if not dot or len(ext) > 16:
        stem, dot, ext = name, "", ""
    # File systems count bytes, not characters: keep well under 255 bytes, and the extension.
    while len((stem + dot + ext).encode("utf-8")) > MAX_NAME_BYTES:
        stem = stem[:-1]
    name = (stem + dot + ext).strip()
    return name if name and stem.strip() else "attachment" + (dot + ext if dot else "")


def render_report(date: str, report: Report) -> bytes:
    """The report as a responder reads it: the content warning before anything else."""
    if report.content_warning:
        lines = ["CONTENT WARNING: the reporter says this report may be distressing to read."]
        if report.content_warning_note.strip():
            lines.append(f"Their note: {visible(report.content_warning_note.strip(), False)}")
        lines += ["Take a moment before you read on.", ""]
    else:
        lines = ["No content warning was given.", ""]
    lines += [f"Report sent on {date}", ""]
    for answer in report.answers:
        question = visible(answer.question, False)
        if isinstance(answer.answer, tuple):
            lines.append(f"{question}:")
            lines += [f"  - {visible(choice, False)}" for choice in answer.answer] or ["  (none)"]
        else:
            text = visible(answer.answer.strip()).replace("\n", "\n  ")  # stays indented
            lines.append(f"{question}: {text or '(no answer)'}")
    lines += ["", "Message", "-------", visible(report.message), ""]
    return "\n".join(lines).encode("utf-8")
