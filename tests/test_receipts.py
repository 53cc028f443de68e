"""A reporter who logs in again can confirm what arrived: each item's kind, date, size and, for
a file, its name, from a receipt sealed to their own key. No name is readable on disk."""
from __future__ import annotations

import sqlite3

from nacl.public import PrivateKey

from formclient import open_report_form

SCREENSHOT = "screenshot-of-the-chat-7f3a.png"
MINUTES = "minutes-of-the-meeting-9c2e.odt"
LATER = "\u0635\u0648\u0631\u0629-later-4b1d.jpg"  # a name partly in Arabic


def _items(instance) -> list[sqlite3.Row]:
    with sqlite3.connect(instance / "dropbox.sqlite3") as db:
        db.row_factory = sqlite3.Row
        return db.execute("SELECT * FROM items ORDER BY seq").fetchall()


def test_a_reporter_who_logs_in_again_sees_each_items_kind_size_and_file_name(reporter, instance):
    codename, form = open_report_form(reporter)
    done = reporter.submit(form, "Send the report", fill={"message": "what happened"},
                           files=[("files", SCREENSHOT, b"x" * 3000), ("files", MINUTES, b"y" * 100)])
    assert done.status == 200
    page = reporter.get("/conversation")
    sent = reporter.submit(page, "Send", fill={"message": "and one more"},
                           files=[("files", LATER, b"z" * 2048)])
    assert sent.status == 200
    reporter.submit(sent, "Log out")

    again = reporter.submit(reporter.get("/login"), "Log in", fill={"codename": codename})
    lines = [n.text() for n in again.by_class("sent")]
    assert len(lines) == 5, lines
    report, screenshot, minutes, message, later = lines
    assert "Your report" in report
    assert "A file" in screenshot and SCREENSHOT in screenshot and "2.9 KiB" in screenshot
    assert MINUTES in minutes and "0.1 KiB" in minutes
    assert "A message" in message and "what happened" not in again.text and "one more" not in again.text
    assert LATER in later and "2.0 KiB" in later
    names = [n for n in again.root.walk() if n.has_class("file-name")]
    assert names and all(n.attrs.get("dir") == "auto" for n in names)


def test_no_file_name_is_readable_anywhere_in_the_data_directory_and_receipts_are_one_size(reporter, instance):
    _, form = open_report_form(reporter)
    assert reporter.submit(form, "Send the report", fill={"message": "m"},
                           files=[("files", SCREENSHOT, b"x"), ("files", "a" * 300 + ".png", b"y")]).status == 200
    for path in instance.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert SCREENSHOT.encode() not in data and b"aaaaaaaaaa.png" not in data, path
    receipts = [row["receipt"] for row in _items(instance)]
    assert len(receipts) == 3 and all(receipts) and len({len(r) for r in receipts}) == 1


def test_items_without_a_receipt_show_as_before(reporter, instance):
    codename, form = open_report_form(reporter)
    assert reporter.submit(form, "Send the report", fill={"message": "m"}).status == 200
    with sqlite3.connect(instance / "dropbox.sqlite3") as db:
        db.execute("UPDATE items SET receipt = NULL")
    page = reporter.get("/conversation")
    [line] = [n.text() for n in page.by_class("sent")]
    assert "You sent something on" in line and "not shown again" in line


def test_a_receipt_opens_only_with_the_reporters_key_and_a_long_name_is_cut_to_fit():
    from dropbox.receipts import SIZE, Receipt
    mine, theirs = PrivateKey.generate(), PrivateKey.generate()
    receipt = Receipt("file", "\u0635" * 1000 + ".png", 12)
    sealed = receipt.seal_to(mine.public_key)
    opened = Receipt.open(sealed, mine)
    assert opened is not None and opened.size == 12 and receipt.name.startswith(opened.name)
    assert len(sealed) == len(Receipt("message", "", 1).seal_to(mine.public_key)) == 1 + 48 + SIZE
    assert Receipt.open(sealed, theirs) is None
    for damaged in (b"", b"\x02" + sealed[1:], sealed[:-1], sealed[:60] + bytes([sealed[60] ^ 1]) + sealed[61:]):
        assert Receipt.open(damaged, mine) is None
