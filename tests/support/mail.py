"""A real SMTP server on loopback (aiosmtpd), keeping what it receives.

STARTTLS is off there: a test certificate authority is not worth its weight here, and
smtplib's STARTTLS is not ours to test.
"""
from __future__ import annotations

import socket


class Mailbox:
    """Keeps every message the SMTP server receives."""

    def __init__(self):
        self.mails: list[tuple[list[str], str]] = []

    async def handle_DATA(self, server, session, envelope):
        self.mails.append((list(envelope.rcpt_tos), envelope.content.decode("utf-8", "replace")))
        return "250 OK"

    def to(self, address: str) -> list[str]:
        return [text for rcpts, text in self.mails if address in rcpts]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
