"""Running the app under waitress, the production WSGI server."""
from __future__ import annotations

import logging

import waitress

from dropbox.app import create_app
from dropbox.config import Config


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
    )
    print(f"serving the reporter site on http://{host}:{server.effective_port}/", flush=True)
    server.run()
