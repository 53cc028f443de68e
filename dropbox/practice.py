"""The code of practice as instance configuration: what the reporter's pages show.

The landing page and the report form are built from `code-of-practice.toml`
in the data directory (a copy of `examples/code-of-practice.toml` made by
`dropbox init`), so each community states its own behaviours, process and
team organisations without touching code. Every text carries one string per
language the site speaks; a missing language falls back to English.

The case states (`[[case_states]]`) are what a reporter reads about where their case stands,
so each needs every language: a reporter is never shown a state in a language they did not
choose. A file without the section (made before it existed) gets the example's states.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from dropbox.edited_file import EditedFileError, read_toml
from dropbox.languages import LANGUAGES
from dropbox.layout import PRACTICE_FILE

EXAMPLE = Path(__file__).parent / "examples" / PRACTICE_FILE
RESPONDENT_PART = "for_the_person_reported"


class PracticeError(ValueError):
    """The code-of-practice file cannot be used; the message says where."""


@dataclass(frozen=True)
class Text:
    """One item of the code (a behaviour, a step of the process) in every language."""
    id: str
    translations: tuple[tuple[str, str], ...]

    def __call__(self, language: str) -> str:
        found = dict(self.translations)
        return found.get(language) or found["en"]

    @property
    def english(self) -> str:
        return self("en")


@dataclass(frozen=True)
class Practice:
    community: str
    organisations: tuple[tuple[str, str], ...]
    behaviours: tuple[Text, ...]
    not_acted_on: tuple[Text, ...]
    process: tuple[Text, ...]
    case_states: tuple[Text, ...]
    demo: bool = False  # `dropbox init --demo`: every page says it is a demonstration
    # What the person reported reads when invited to respond (respondent.py); an instance's copy
    # made before this section existed shows the example's.
    for_the_person_reported: tuple[Text, ...] = ()

    def presents_the_example(self) -> bool:
        """Whether this is still the example's community and team, which a real instance must
        replace before it serves: its reporters would be told to write to another community."""
        example = Practice.load(EXAMPLE)
        return (self.community, self.organisations) == (example.community, example.organisations)

    def organisation(self, responder: str) -> str:
        return dict(self.organisations).get(responder, "")

    def behaviour(self, behaviour_id: str) -> Text | None:
        return next((b for b in self.behaviours if b.id == behaviour_id), None)

    def case_state(self, state_id: str | None) -> Text | None:
        return next((s for s in self.case_states if s.id == state_id), None)

    @classmethod
    def load(cls, path: Path) -> Practice:
        try:
            record = read_toml(Path(path))
        except EditedFileError as exc:
            raise PracticeError(str(exc)) from None
        organisations = record.get("organisations", {})
        if not isinstance(record.get("community"), str) or not isinstance(organisations, dict) \
                or not all(isinstance(v, str) for v in organisations.values()):
            raise PracticeError(f"{PRACTICE_FILE}: `community` is a name and `organisations` "
                                "maps responder names to organisations")
        if not isinstance(record.get("demo", False), bool):
            raise PracticeError(f"{PRACTICE_FILE}: `demo` is true or false")
        if RESPONDENT_PART not in record and Path(path) != EXAMPLE:
            record[RESPONDENT_PART] = read_toml(EXAMPLE)[RESPONDENT_PART]
        states = record if "case_states" in record else read_toml(EXAMPLE)
        return cls(record["community"], tuple(organisations.items()), _texts(record, "behaviours"),
                   _texts(record, "not_acted_on"), _texts(record, "process"),
                   _texts(states, "case_states", every_language=True), demo=record.get("demo", False),
                   for_the_person_reported=_texts(record, RESPONDENT_PART))


def practice_for(community: str | None, organisations: dict[str, str], demo: bool = False) -> str:
    """The example's text with this community's name and its responders' organisations in place
    of the example's (None keeps the example's community), and `demo = true` for a demo."""
    text = EXAMPLE.read_text("utf-8")

    def head(found: re.Match) -> str:
        line = f"community = {_string(community)}\n" if community is not None else found.group(0)
        return line + ("demo = true\n" if demo else "")
    text = re.sub(r"^community = .*\n", head, text, count=1, flags=re.M)
    if community is not None:
        table = "".join(f"{_string(name)} = {_string(org)}\n" for name, org in organisations.items())
        text = re.sub(r"^\[organisations\]\n(?:[^\n\[#]+ = .*\n)*", lambda _: "[organisations]\n" + table,
                      text, count=1, flags=re.M)
    return text


def _string(text: str) -> str:
    """A TOML basic string (JSON's escapes are TOML's for these characters)."""
    return json.dumps(text, ensure_ascii=False)


def _texts(record: dict, part: str, every_language: bool = False) -> tuple[Text, ...]:
    entries = record.get(part)
    if not isinstance(entries, list) or not entries:
        raise PracticeError(f"{PRACTICE_FILE}: [[{part}]] needs at least one entry")
    texts = []
    for number, entry in enumerate(entries, 1):
        if not isinstance(entry, dict) or not isinstance(entry.get("id"), str) \
                or not all(isinstance(entry.get(k, ""), str) for k in LANGUAGES) or not entry.get("en"):
            raise PracticeError(f"{PRACTICE_FILE}: [[{part}]] number {number} needs an id and an `en` text")
        missing = [k for k in LANGUAGES if not entry.get(k)] if every_language else []
        if missing:
            raise PracticeError(f"{PRACTICE_FILE}: [[{part}]] {entry['id']!r} needs a text in every "
                                f"language; it has none in: {', '.join(missing)}")
        unknown = set(entry) - {"id", *LANGUAGES}
        if unknown:
            raise PracticeError(f"{PRACTICE_FILE}: [[{part}]] {entry['id']!r} has unknown keys: "
                                f"{', '.join(sorted(unknown))}")
        texts.append(Text(entry["id"], tuple((k, entry[k]) for k in LANGUAGES if k in entry)))
    if len({t.id for t in texts}) != len(texts):
        raise PracticeError(f"{PRACTICE_FILE}: two [[{part}]] entries share an id")
    return tuple(texts)
