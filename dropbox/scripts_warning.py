"""The site's one script: it shows a reporter whose browser runs scripts that it should not.

Tor Browser at its Safest level runs no JavaScript, and nothing on the site needs any. A
browser at a lower level is more exposed to an attack through a page, so every reporter page
carries a warning hidden by default and this script, which only unhides it: where scripts do
not run, nothing is shown and nothing is missed. The Content-Security-Policy allows this exact
script by its SHA-256 (headers.py) and no other, inline or from any address, so nothing else
can run even where scripts are on.
"""
from __future__ import annotations

import base64
import hashlib

from markupsafe import Markup

WARNING_ID = "scripts-on"
SCRIPT = f"document.getElementById('{WARNING_ID}').hidden=false;"
# What the policy's script-src names: this script and nothing else.
CSP_SOURCE = f"'sha256-{base64.b64encode(hashlib.sha256(SCRIPT.encode()).digest()).decode()}'"


def script() -> Markup:
    """The script as the page holds it: as is, since a browser reads a script's text
    unescaped and the policy's hash is of these exact bytes."""
    return Markup(SCRIPT)
