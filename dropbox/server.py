"""Running the apps under waitress, the production WSGI server."""
from __future__ import annotations

import logging
import threading

import waitress

from dropbox.app import create_app
from dropbox.channel import DropboxChannel
from dropbox.config import Config
from dropbox.desk.app import create_desk_app
from dropbox.desk.housekeeping import Housekeeping

DESK_HOST = "127.0.0.1"  # the desk is never exposed directly; its onion points here

# Responses are never spooled to disk either: waitress starts a new output buffer at
# outbuf_high_watermark (16 MiB) and makes writers wait below it, so an overflow
# threshold well above that keeps every response page in memory.
OUTBUF_OVERFLOW = 64 * 1024 * 1024

# Browsers keep several idle connections per site and tor opens one local connection per
# stream; with waitress's default of 100, a hundred reporters (bench/RESULTS.md) held every
# slot for channel_timeout and the next reporter waited minutes. select() allows ~1000 fds.
CONNECTION_LIMIT = 500


def start_desk(config: Config, port: int) -> None:
    """The responder desk on its own loopback port, plus the server's chores, in threads."""
    app = create_desk_app(config)
    desk = _waitress(app, config, DESK_HOST, port)
    print(f"serving the responder desk on http://{DESK_HOST}:{desk.effective_port}/", flush=True)
    threading.Thread(target=desk.run, name="desk", daemon=True).start()
    Housekeeping(config, app.extensions["dropbox"].store).start()


def serve(config: Config, host: str, port: int, desk_port: int | None = None) -> None:
    app = create_app(config)
    # waitress logs nothing about requests by default; keep it that way (no IPs, no times).
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    server = _waitress(app, config, host, port)
    print(f"serving the reporter site on http://{host}:{server.effective_port}/", flush=True)
    if desk_port is not None:
        start_desk(config, desk_port)
    server.run()


def _waitress(app, config: Config, host: str, port: int):
    server = waitress.create_server(
        app, host=host, port=port,
        ident="",  # no Server header naming the software and version
        max_request_body_size=config.max_request_bytes,
        clear_untrusted_proxy_headers=True,
        channel_timeout=600,  # slow tor circuits
        outbuf_overflow=OUTBUF_OVERFLOW,
        # waitress reads 8 KiB per loop turn by default; a large upload then spends more
        # time turning the loop than encrypting (bench/RESULTS.md): read 256 KiB at once.
        recv_bytes=256 * 1024,
        connection_limit=CONNECTION_LIMIT,
    )
    server.channel_class = DropboxChannel  # encrypted body spool, strict error pages
    return server
