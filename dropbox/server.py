"""Running the app under waitress, the production WSGI server."""
from __future__ import annotations

import logging

import waitress

from dropbox.app import create_app
from dropbox.config import Config
from dropbox.channel import DropboxChannel

# Responses are never spooled to disk either: waitress starts a new output buffer at
# outbuf_high_watermark (16 MiB) and makes writers wait below it, so an overflow
# threshold well above that keeps every response page in memory.
OUTBUF_OVERFLOW = 64 * 1024 * 1024


def serve(config: Config, host: str, port: int) -> None:
    app = create_app(config)
    # waitress logs nothing about requests by default; keep it that way (no IPs, no times).
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    server = waitress.create_server(
        app, host=host, port=port,
        ident="",  # no Server header naming the software and version
        max_request_body_size=config.max_request_bytes,
        clear_untrusted_proxy_headers=True,
        channel_timeout=600,  # slow tor circuits
        outbuf_overflow=OUTBUF_OVERFLOW,
    )
    server.channel_class = DropboxChannel  # encrypted body spool, strict error pages
    print(f"serving the reporter site on http://{host}:{server.effective_port}/", flush=True)
    server.run()
