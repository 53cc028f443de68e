"""What a reporter can confirm of what they sent: a receipt sealed to their own key.

Each item a reporter sends is encrypted to the responders only, so the server cannot show it
again. When it arrives, while the server holds its plaintext anyway, a receipt of it (its
kind, its file name, its size; never its words) is sealed to the reporter's public key and
stored beside it. Only a session holding the key derived from the codename opens it, so the
conversation page can say "screenshot.png, 182.3 KiB" where it said "something". Every
receipt is the same length, however long its name: the database tells no one how long a file
name was. docs/FORMAT.md, "Receipt", says exactly what is sealed; docs/THREAT-MODEL.md what
it reveals to whom.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

from nacl.exceptions import CryptoError
from nacl.public import PrivateKey, PublicKey, SealedBox

from keys import strict
from keys.errors import FormatError
from keys.safe_text import visible

VERSION = b"\x01"
# The sealed JSON is padded with spaces to this many bytes; a name that would not fit is cut.
SIZE = 512
KINDS = frozenset({"report", "message", "file"})


@dataclass(frozen=True)
class Receipt:
    kind: str
    name: str  # a file's name as the reporter's browser sent it; "" for a report or message
    size: int  # bytes the reporter sent

    @property
    def shown_name(self) -> str:
        """The name with controls and bidi marks shown, never obeyed (keys/safe_text.py)."""
        return visible(self.name, keep_newlines=False)

    def seal_to(self, reporter_key: PublicKey) -> bytes:
        return VERSION + SealedBox(reporter_key).encrypt(self._padded())

    def _padded(self) -> bytes:
        name = self.name
        while True:
            record = json.dumps({"kind": self.kind, "name": name, "size": self.size},
                                sort_keys=True, ensure_ascii=False).encode("utf-8")
            if len(record) <= SIZE:
                return record.ljust(SIZE, b" ")
            name = name[:-max(1, (len(record) - SIZE) // 4)]  # a UTF-8 character is at most 4 bytes

    @classmethod
    def open(cls, sealed: bytes | None, secret: PrivateKey) -> Receipt | None:
        """The receipt, or None where there is none (items sent before receipts) or it cannot
        be read: the page then says what it always said."""
        if not sealed or sealed[:1] != VERSION:
            return None
        try:
            plain = SealedBox(secret).decrypt(sealed[1:])
            record = strict.fields(strict.load_json(plain, "a receipt", max_depth=1), "a receipt",
                                   {"kind", "name", "size"})
            kind = strict.text(record["kind"], "a receipt", 16)
            if kind not in KINDS:
                return None
            return cls(kind, strict.text(record["name"], "a receipt", SIZE),
                       strict.size(record["size"], "a receipt"))
        except (CryptoError, FormatError):
            return None
