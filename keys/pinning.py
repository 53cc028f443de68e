"""The team keys a responder pinned on this machine (`keys trust`), the ones to believe.

A bundle's list of recipients and their keys is written by the server, which
must not be able to slip in a key of its own. So a reply is sealed only to
keys pinned here, and a reply's signature is checked with the author's pinned
key where there is one. A pinned key is `NAME.pub` in the trusted folder
(`--trusted`, by default `trusted/` beside the key file), and a file's name must
be the name inside it, so no second file can quietly stand in for a pin.
"""
from __future__ import annotations

from pathlib import Path

from keys.errors import FormatError
from keys.responder import Responder


def trusted_keys(folder: Path) -> dict[str, Responder]:
    """The team keys a responder pinned on this machine (`keys trust`), by name."""
    pinned: dict[str, Responder] = {}
    if folder.is_dir():
        for path in sorted(folder.glob("*.pub")):
            responder = Responder.load(path)
            if path.name != f"{responder.name}.pub":
                raise FormatError(f"{path} holds the key of {responder.name}: a pinned key is "
                                  f"NAME.pub for the NAME inside it (`keys trust` writes it so)")
            pinned[responder.name] = responder
    return pinned
