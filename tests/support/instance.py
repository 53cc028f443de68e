"""Changing an instance as its operator would, between two starts of the server."""
from __future__ import annotations

import re
from pathlib import Path


def set_settings(data: Path, **values) -> None:
    """Set top-level settings in the instance's config.toml, written as TOML values, the way an
    operator would (appending settings it does not list)."""
    config = data / "config.toml"
    text = config.read_text()
    for name, value in values.items():
        line = f"{name} = {value}"
        text, found = re.subn(rf"^{name} = .*$", line, text, flags=re.M)
        if not found:
            text += line + "\n"
    config.write_text(text)


def name_community(data: Path, name: str = "Test community") -> None:
    """What the operator of an instance made before `init --community` does before serving it
    (`serve` refuses one still presenting the example community): give it their community's
    name in code-of-practice.toml."""
    practice = data / "code-of-practice.toml"
    practice.write_text(re.sub(r"^community = .*$", f'community = "{name}"', practice.read_text(),
                               count=1, flags=re.M))
