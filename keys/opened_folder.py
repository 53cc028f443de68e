"""The folders `keys open` writes: OUT/<2>/<designation>_<id>/, with index.txt and attachments.

Where each opened item goes, under which name, and the index lines that list it
(docs/FORMAT.md, "Opening"). Conversations are sharded by the first two
characters of their id, and attachments move to attachments-2/, -3/, … after
1,000 files, so no directory grows past a few thousand entries; free names come
from one listing per folder and a counter per name, so opening stays linear in
the number of items. A conversation's `.opened.json` remembers what its folder
was given, so that opening a later bundle into it adds only what is new and the
opener can check the reporter's places against what came before. One
conversation is written at a time; everything is its user's alone (0700, 0600),
and nothing is written through a link already in OUT (`keys.private_files`). A
conversation's folder and its line in OUT/index.txt are written with its first
verified item, so a record whose items all fail leaves nothing behind.
"""
from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from keys import strict
from keys.bundle import ConversationEntry
from keys.envelope import Binding, Origin
from keys.errors import FormatError
from keys.items import ItemMeta
from keys.private_files import append, create, make_folder, make_root, read
from keys.safe_text import sanitise_name

ATTACHMENTS = "attachments"
FILES_PER_FOLDER = 1000  # then attachments-2/, attachments-3/, …: no directory grows past a few thousand
INDEX = "index.txt"
STATE = ".opened.json"
REPORT = "report.txt"
MAX_STATE = 1 << 28  # ids and places of a conversation's items: far more than any real one


@dataclass
class Opened:
    """One conversation this key opened."""
    id: str
    designation: str
    folder: str
    items: int = 0


class _Names:
    """Free names in one folder, found in time linear in the number of files it gets."""

    def __init__(self, folder: Path):
        self.folder = folder
        self._taken = set(os.listdir(folder)) if folder.is_dir() else set()
        self._next: dict[str, int] = {}
        self.made = False  # the folder found real and private (or made) this run

    def __len__(self) -> int:
        return len(self._taken)

    def take(self, name: str) -> Path:
        if name in self._taken:
            stem, suffix = Path(name).stem, Path(name).suffix
            count = self._next.get(name, 2)
            while f"{stem} ({count}){suffix}" in self._taken:
                count += 1
            self._next[name] = count + 1
            name = f"{stem} ({count}){suffix}"
        self._taken.add(name)
        return self.folder / name


@dataclass
class FolderState:
    """What a conversation's folder was given before (`.opened.json`): item ids, the reporter's
    places and the reporter key sealed in its report. Kept as a set and a dict, so each item's
    checks take the same time however many came before."""
    opened: set[str] = field(default_factory=set)
    positions: dict[int, str] = field(default_factory=dict)
    reporter_key: str = ""
    highest: int | None = None
    handlers: tuple[str, ...] = ()  # as the index last said them

    @classmethod
    def load(cls, path: Path) -> FolderState:
        data = read(path, MAX_STATE)
        if data is None:
            return cls()
        try:
            record = strict.load_json(data, str(path), max_depth=2)
            positions = {int(k): strict.text(v, str(path)) for k, v in record["positions"].items()}
            state = cls(set(map(str, record["opened"])), positions, strict.text(record["reporter_key"], str(path)),
                        handlers=tuple(strict.text(h, str(path)) for h in record.get("handlers", [])))
        except (FormatError, KeyError, ValueError, TypeError, AttributeError, OSError):
            raise FormatError(f"{path} is damaged: open the bundle into a new folder") from None
        state.highest = max(positions, default=None)
        return state

    def save(self, path: Path) -> None:
        record = {"opened": sorted(self.opened), "reporter_key": self.reporter_key,
                  "positions": {str(k): v for k, v in sorted(self.positions.items())},
                  "handlers": list(self.handlers)}
        with create(path) as out:
            out.write(json.dumps(record, sort_keys=True).encode("utf-8"))

    def record(self, item_id: str, binding: Binding | None) -> None:
        """`item_id` was written, in the reporter's place its binding gives if it has one."""
        self.opened.add(item_id)
        if binding is not None and binding.origin == "reporter":
            self.positions[binding.position] = item_id
            self.highest = max(binding.position, -1 if self.highest is None else self.highest)


def _attachments_folder(number: int) -> str:
    return ATTACHMENTS if number == 1 else f"{ATTACHMENTS}-{number}"


def _attachments_number(name: str) -> int:
    return 1 if name == ATTACHMENTS else int(name.rpartition("-")[2])


def _attachments(folder: Path) -> _Names:
    """The attachments folder files go to next: the last one opened into, or the first."""
    numbers = [_attachments_number(p.name) for p in folder.glob(f"{ATTACHMENTS}*")
               if re.fullmatch(rf"{ATTACHMENTS}(-[1-9][0-9]*)?", p.name)]
    return _Names(folder / _attachments_folder(max(numbers, default=1)))


def _folder_name(conversation_id: str, designation: str) -> str:
    return f"{designation}_{conversation_id}" if designation else conversation_id


@dataclass
class ConversationFolder:
    """The folder of the conversation being opened (made with its first item), and what it holds."""
    entry: ConversationEntry
    out: Path
    relative: Path
    files: _Names
    attachments: _Names
    state: FolderState
    opened: Opened
    index: TextIO | None = None  # the folder's index.txt, and OUT's in _top, once made
    _top: TextIO | None = None
    made: list[Path] = field(default_factory=list)  # folders this run made, to remove if left empty

    @property
    def folder(self) -> Path:
        return self.out / self.relative

    def _make(self) -> tuple[TextIO, TextIO]:
        """The shard, the conversation's folder and both index files (OUT's and the folder's,
        returned), each made or found real and private before anything is written in them."""
        if self._top is not None and self.index is not None:
            return self._top, self.index
        for level in (self.out / self.relative.parent, self.folder):
            if not level.exists():
                self.made.append(level)
            make_folder(level)
        top = append(self.out / INDEX)
        try:
            self.index = append(self.folder / INDEX)
        except BaseException:
            top.close()
            raise
        self._top = top
        return top, self.index

    def partial(self, item_id: str) -> Path:
        """Where an item is written while it verifies: a dot-name, renamed only once it has."""
        self._make()
        return self.folder / f".partial-{item_id}"

    def place(self, meta: ItemMeta, item_id: str, author: str = "", attached_to: str | None = None,
              origin: Origin = Origin.REPORTER) -> tuple[Path, str]:
        """The free name a verified item takes, and its line in the folder's index: with its
        verified `author` for a reply's file, and the reply it goes with. The person reported's
        messages, and the team's to them, are named apart from the reporter's."""
        if meta.kind == "report":
            final = self.files.take(REPORT)
            return final, f"{meta.date}  report   {final.name}"
        if meta.kind == "file":
            if len(self.attachments) >= FILES_PER_FOLDER:
                self.attachments = _Names(self.folder / _attachments_folder(
                    _attachments_number(self.attachments.folder.name) + 1))
            if not self.attachments.made:
                make_folder(self.attachments.folder)
                self.attachments.made = True
            final = self.attachments.take(sanitise_name(meta.name))
            sent = f" (from {author}, with reply {attached_to[:8]})" if attached_to else ""
            return final, f"{meta.date}  file     {final.parent.name}/{final.name}{sent}"
        kind = {Origin.RESPONDENT: "response", Origin.TO_RESPONDENT: "to-respondent"}.get(origin, meta.kind)
        final = self.files.take(f"{meta.date}-{kind}-{item_id[:8]}.txt")
        shown = "response" if origin == Origin.RESPONDENT else meta.kind
        line = f"{meta.date}  {shown:<8} {final.name}"
        if meta.kind in ("reply", "note") and meta.name:
            line += f" (from {sanitise_name(meta.name)})"
        if meta.answers:
            line += f" (answers {meta.answers[:8]})"
        return final, line

    def add_to_index(self, line: str, notes: list[str]) -> None:
        """An item written: its line, with its notes, in the folder's index."""
        top, index = self._make()
        if not self.opened.items:  # once per conversation, with its first item
            top.write(f"{self.entry.designation or '-'}\t{self.entry.id}\t{self.relative}\n")
            if index.tell() == 0:
                names = ", ".join(r.name for r in self.entry.recipients)
                index.write(f"conversation {self.entry.id}\n"
                            f"designation: {self.entry.designation or '-'}\n"
                            f"recipients: {names}\n\n")
        if self.entry.handlers != self.state.handlers:  # who handles the case, when the desk changed it
            index.write(f"handled by: {', '.join(self.entry.handlers) or '-'}\n")
            self.state.handlers = self.entry.handlers
        index.write(line + "".join(f" [{n}]" for n in notes) + "\n")
        self.opened.items += 1

    def close(self) -> None:
        if self.opened.items:
            self.state.save(self.folder / STATE)
        if self.index is None or self._top is None:
            return
        for index, path in ((self._top, self.out / INDEX), (self.index, self.folder / INDEX)):
            if index.tell() == 0:  # nothing verified: leave no empty file or folder behind
                path.unlink()
            index.close()
        for level in reversed(self.made):
            try:
                level.rmdir()
            except OSError:
                break  # not empty: it holds what was written


class OpenedFolders:
    """OUT, written one conversation at a time; each one started is added to `opened`."""

    def __init__(self, out_dir: Path, opened: list[Opened]):
        self.out, self.opened = Path(out_dir), opened
        self.current: ConversationFolder | None = None
        make_root(self.out)

    def conversation(self, entry: ConversationEntry) -> ConversationFolder:
        """The folder of `entry`'s conversation: the current one, or a new one begun."""
        if self.current is not None and self.current.entry.id == entry.id:
            self.current.entry = entry  # the next slice of a long conversation
            return self.current
        self.close()
        # Shards of at most 36² folders keep every directory to a few thousand entries.
        relative = Path(entry.id[:2]) / _folder_name(entry.id, entry.designation)
        folder = self.out / relative
        opened = Opened(entry.id, entry.designation, str(relative))
        self.opened.append(opened)
        self.current = ConversationFolder(entry, self.out, relative, _Names(folder),
                                          _attachments(folder), FolderState.load(folder / STATE),
                                          opened)
        return self.current

    def close(self) -> None:
        """The current conversation's index closed and its state saved."""
        if self.current is not None:
            self.current.close()
            self.current = None
