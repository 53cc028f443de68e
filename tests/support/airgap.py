"""The responders' air-gapped side: their key files, and what `keys open` wrote."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from support.commands import Run, dropbox

TEAM = ("alexandra", "bahaa", "mario")
PASSPHRASE = "correct horse battery staple"


@dataclass(frozen=True)
class Airgap:
    """The responders' air-gapped machine: key files and the passphrase file."""
    folder: Path
    passphrase_file: Path

    def key(self, name: str) -> Path:
        return self.folder / f"{name}.key"

    def pub(self, name: str) -> Path:
        return self.folder / f"{name}.pub"

    def open(self, bundle: Path, name: str, out: Path, check: bool = True) -> Run:
        return dropbox("keys", "open", bundle, "--key", self.key(name), "--out", out,
                       "--passphrase-file", self.passphrase_file, check=check)

    def reply(self, bundle: Path, conversation: str, name: str, message: str, out: Path,
              check: bool = True, files: tuple[Path, ...] = ()) -> Run:
        message_file = out.with_suffix(".txt")
        message_file.write_text(message, "utf-8")
        sent = [arg for path in files for arg in ("--file", path)]
        return dropbox("keys", "reply", bundle, conversation, "--key", self.key(name),
                       "--message-file", message_file, "--out", out, *sent,
                       "--passphrase-file", self.passphrase_file, check=check)

    def note(self, bundle: Path, conversation: str, name: str, text: str, out: Path,
             answers: str = "", check: bool = True) -> Run:
        message_file = out.with_suffix(".txt")
        message_file.write_text(text, "utf-8")
        answering = ("--answers", answers) if answers else ()
        return dropbox("keys", "note", bundle, conversation, "--key", self.key(name),
                       "--message-file", message_file, "--out", out, *answering,
                       "--passphrase-file", self.passphrase_file, check=check)


def opened_conversations(out: Path) -> dict[str, Path]:
    """The folder `keys open` wrote for each conversation id, from OUT/index.txt."""
    index = out / "index.txt"
    lines = index.read_text("utf-8").splitlines() if index.exists() else []
    return {cid: out / folder for _, cid, folder in (line.split("\t") for line in lines)}
