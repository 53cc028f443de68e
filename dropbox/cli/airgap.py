"""`dropbox airgap-kit`: what a responder's offline machine needs, on a USB stick."""
from __future__ import annotations

from pathlib import Path

import click

from dropbox.airgap import PYTHONS, KitError, build_kit


@click.command("airgap-kit")
@click.option("--out", "out", required=True, type=click.Path(path_type=Path, file_okay=False),
              help="the folder to write the kit to (absent or empty)")
@click.option("--python", "pythons", multiple=True, default=PYTHONS, show_default=True,
              help="a Python version the offline machines run; repeat for more")
def airgap_kit(out: Path, pythons: tuple[str, ...]) -> None:
    """Write the offline tools, PyNaCl's wheels, an install script and a guide to OUT."""
    try:
        digest = build_kit(out, pythons)
    except KitError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"wrote the air-gap kit to {out} (for Python {', '.join(pythons)}).")
    click.echo(f"SHA-256 of {out / 'SHA256SUMS'}: {digest}")
    click.echo("Read this figure to the responders over a second channel; they check it "
               "before installing (GUIDE.md, step 1).")
