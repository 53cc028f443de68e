"""A QR code as inline SVG, drawn on the server: the desk runs no scripts and loads nothing
from elsewhere (its CSP allows neither), so an authenticator's secret is shown as markup in
the page itself. One path, one horizontal run of dark modules per segment, on a white
square with the four-module quiet zone scanners expect."""
from __future__ import annotations

import qrcode
from markupsafe import Markup, escape

QUIET = 4


def qr_svg(text: str, label: str) -> Markup:
    code = qrcode.QRCode(border=0, error_correction=qrcode.constants.ERROR_CORRECT_M)
    code.add_data(text)
    code.make(fit=True)
    rows = code.get_matrix()
    runs = []
    for y, row in enumerate(rows):
        x = 0
        while x < len(row):
            if row[x]:
                start = x
                while x < len(row) and row[x]:
                    x += 1
                runs.append(f"M{start + QUIET} {y + QUIET}h{x - start}v1h-{x - start}z")
            else:
                x += 1
    size = len(rows) + 2 * QUIET
    return Markup(
        f'<svg class="qr" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {size} {size}" '
        f'role="img" aria-label="{escape(label)}"><rect width="{size}" height="{size}" fill="#fff"/>'
        f'<path d="{"".join(runs)}" fill="#000"/></svg>')


def grouped(secret: str) -> str:
    """A base32 secret in groups of four, to type into an authenticator by hand."""
    return " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))
