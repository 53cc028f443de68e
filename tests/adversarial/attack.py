"""What the adversarial tests share: an instance with settings of the test's choosing, a
raw socket to the real server, the server's memory, and a reporter who is half-way through
a report. Every attack here is bounded in count and time and aims at loopback only.
"""
from __future__ import annotations

import re
import socket
from pathlib import Path
from urllib.parse import urlsplit

from conftest import Server, start_server
from formclient import FormClient, open_report_form


def set_settings(data: Path, **values) -> None:
    """Change config.toml the way an operator would (appending settings it does not list)."""
    config = data / "config.toml"
    text = config.read_text()
    for name, value in values.items():
        line = f"{name} = {value}"
        text, found = re.subn(rf"^{name} = .*$", line, text, flags=re.M)
        if not found:
            text += line + "\n"
    config.write_text(text)


def serve_with(data: Path, **settings) -> Server:
    set_settings(data, **settings)
    return start_server(data)


def connect(server: Server, timeout: float = 10) -> socket.socket:
    address = urlsplit(server.url)
    return socket.create_connection((address.hostname, address.port), timeout=timeout)


def rss_kib(server: Server, field: str = "VmRSS") -> int:
    for line in Path(f"/proc/{server.process.pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(f"no {field}")


def writing_reporter(server: Server) -> tuple[FormClient, str, object]:
    """A reporter with a codename who has the report form open: (client, codename, form page)."""
    client = FormClient(server.url)
    codename, form_page = open_report_form(client)
    return client, codename, form_page
