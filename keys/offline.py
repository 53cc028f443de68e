"""The air-gapped side's two jobs: open a bundle into folders, and write a reply.

`open_bundle` writes each item a responder may read into
`OUT/<conversation-id>/`, through a temporary name that is renamed only once
the envelope has verified to its last chunk, so nothing half-verified is
ever left behind. `write_reply` seals a message to the conversation's
reporter and to every responder on its recipient list, and wraps it in a
reply bundle for `dropbox import-replies`.
"""
from __future__ import annotations

import datetime
import os
import re
import secrets
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from keys import envelope
from keys.bundle import BundleReader, BundleWriter, check_bundle, ConversationEntry, ItemEntry, Manifest
from keys.errors import FormatError
from keys.items import MAX_REPORT, ItemMeta, Report, split_item
from keys.responder import ResponderKey

ATTACHMENTS = "attachments"
INDEX = "index.txt"
MAX_NAME_BYTES = 200
REPORT = "report.txt"


@dataclass
class OpenReport:
    conversations: list[str] = field(default_factory=list)
    items: int = 0
    excluded: int = 0
    failures: list[str] = field(default_factory=list)

    def summary(self, name: str) -> str:
        text = (f"{name}: opened {self.items} item(s) in {len(self.conversations)} conversation(s); "
                f"excluded from {self.excluded} conversation(s)")
        if self.failures:
            text += f"; {len(self.failures)} item(s) failed to verify and were not written"
        return text


def sanitise_name(name: str) -> str:
    """A file name that stays inside its folder and shows no control characters."""
    name = re.split(r"[/\\]", name)[-1]
    name = "".join(c for c in unicodedata.normalize("NFC", name)
                   if unicodedata.category(c)[0] != "C")
    name = name.strip().lstrip(".").strip()
    stem, dot, ext = name.rpartition(".")
    if not dot or len(ext) > 16:
        stem, dot, ext = name, "", ""
    # File systems count bytes, not characters: keep well under 255 bytes, and the extension.
    while len((stem + dot + ext).encode("utf-8")) > MAX_NAME_BYTES:
        stem = stem[:-1]
    name = (stem + dot + ext).strip()
    return name if name and stem else "attachment" + (dot + ext if dot else "")


def _free_path(folder: Path, name: str) -> Path:
    path = folder / name
    stem, suffix = Path(name).stem, Path(name).suffix
    count = 2
    while path.exists():
        path = folder / f"{stem} ({count}){suffix}"
        count += 1
    return path


def _open_item(view, key: ResponderKey, folder: Path, item_id: str) -> str:
    """Decrypt one envelope into `folder`; returns the index line. Raises FormatError."""
    header = envelope.read_header(view)
    file_key = envelope.unwrap_file_key(header, key.secret_key)
    temp = folder / f".partial-{item_id}"
    try:
        with open(temp, "wb") as out:
            meta, body = split_item(envelope.open_payload(view, header, file_key))
            if meta.kind == "report":
                out.write(render_report(meta.date, Report.decode(_read_at_most(body, MAX_REPORT))))
            for chunk in body:
                out.write(chunk)
        if meta.kind == "report":
            final = _free_path(folder, REPORT)
            line = f"{meta.date}  report   {final.name}"
        elif meta.kind == "file":
            (folder / ATTACHMENTS).mkdir(exist_ok=True)
            final = _free_path(folder / ATTACHMENTS, sanitise_name(meta.name))
            line = f"{meta.date}  file     {ATTACHMENTS}/{final.name}"
        else:
            final = _free_path(folder, f"{meta.date}-{meta.kind}-{item_id[:8]}.txt")
            author = f" (from {sanitise_name(meta.name)})" if meta.kind == "reply" and meta.name else ""
            line = f"{meta.date}  {meta.kind:<8} {final.name}{author}"
        os.replace(temp, final)
        return line
    finally:
        temp.unlink(missing_ok=True)


def _read_at_most(chunks, limit: int) -> bytes:
    """All of `chunks`, verified to the last one, or FormatError past `limit` bytes."""
    data = b""
    for chunk in chunks:
        data += chunk
        if len(data) > limit:
            raise FormatError("report is too large")
    return data


def render_report(date: str, report: Report) -> bytes:
    """The report as a responder reads it: the content warning before anything else."""
    if report.content_warning:
        lines = ["CONTENT WARNING: the reporter says this report may be distressing to read."]
        if report.content_warning_note.strip():
            lines.append(f"Their note: {report.content_warning_note.strip()}")
        lines += ["Take a moment before you read on.", ""]
    else:
        lines = ["No content warning was given.", ""]
    lines += [f"Report sent on {date}", ""]
    for answer in report.answers:
        if isinstance(answer.answer, tuple):
            lines.append(f"{answer.question}:")
            lines += [f"  - {choice}" for choice in answer.answer] or ["  (none)"]
        else:
            text = answer.answer.strip().replace("\n", "\n  ")  # a multi-line answer stays indented
            lines.append(f"{answer.question}: {text or '(no answer)'}")
    lines += ["", "Message", "-------", report.message, ""]
    return "\n".join(lines).encode("utf-8")


def open_bundle(bundle_path: Path, key: ResponderKey, out_dir: Path) -> OpenReport:
    report = OpenReport()
    mine = bytes(key.secret_key.public_key)
    with open(bundle_path, "rb") as stream:
        # Every envelope we write out verifies itself; the rest are none of this key's business.
        reader = BundleReader(stream, whole_checksum=False)
        for conversation in reader.manifest.conversations:
            if any(bytes(r.public_key) == mine for r in conversation.recipients):
                report.conversations.append(conversation.id)
            else:
                report.excluded += 1
        readable = set(report.conversations)
        try:
            for conversation, item, view in reader.envelopes():
                if conversation.id in readable:
                    _open_into(view, key, Path(out_dir) / conversation.id, conversation, item.id, report)
        except FormatError as exc:
            # Items written before the fault verified on their own; say what was opened.
            report.failures.append(f"bundle: {exc}")
    return report


def _open_into(view, key: ResponderKey, folder: Path, conversation, item_id: str,
               report: OpenReport) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    try:
        line = _open_item(view, key, folder, item_id)
    except FormatError as exc:
        report.failures.append(f"{conversation.id}/{item_id}: {exc}")
        return
    with open(folder / INDEX, "a", encoding="utf-8") as index:
        if index.tell() == 0:
            names = ", ".join(r.name for r in conversation.recipients)
            index.write(f"conversation {conversation.id}\nrecipients: {names}\n\n")
        index.write(line + "\n")
    report.items += 1


def write_reply(bundle_path: Path, conversation_id: str, key: ResponderKey,
                message: str, out_path: Path) -> str:
    """Seal `message` as a reply; returns the new item's id."""
    with open(bundle_path, "rb") as stream:
        manifest = check_bundle(stream)
    found = [c for c in manifest.conversations if c.id == conversation_id]
    if not found:
        raise FormatError(f"conversation {conversation_id} is not in this bundle")
    conversation = found[0]
    if conversation.reporter_key is None:
        raise FormatError("this bundle does not carry the reporter's key; export it again")
    if not any(bytes(r.public_key) == bytes(key.secret_key.public_key)
               for r in conversation.recipients):
        raise FormatError(f"{key.name} is not a recipient of conversation {conversation_id}")
    if not message.strip():
        raise FormatError("the reply is empty")
    meta = ItemMeta(kind="reply", date=datetime.date.today().isoformat(), name=key.name)
    sealed = envelope.seal(meta.encode() + message.encode("utf-8"),
                           [conversation.reporter_key, *(r.public_key for r in conversation.recipients)])
    item_id = secrets.token_hex(16)
    manifest = Manifest("reply", meta.date, (ConversationEntry(
        conversation.id, conversation.recipients, (ItemEntry(item_id, len(sealed)),)),))
    temp = Path(out_path).with_name(f".{Path(out_path).name}.partial")
    try:
        with open(temp, "wb") as out:
            writer = BundleWriter(out, manifest)
            writer.write(sealed)
            writer.close()
        os.replace(temp, out_path)
    finally:
        temp.unlink(missing_ok=True)
    return item_id
