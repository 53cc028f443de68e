"""The unencrypted baseline: a minimal Flask app that saves an uploaded file with Werkzeug's
defaults, served by waitress with its defaults -- what a web developer would write first.

`python -m bench.plain_flask FOLDER` serves on a free loopback port (printed) and saves each
upload into FOLDER. The one setting changed from waitress's defaults is the body limit
(1 GiB by default), so the same file as ours fits. Werkzeug spools the file part to a
temporary file and `save` copies it out: no encryption anywhere.
"""
from __future__ import annotations

import sys
from pathlib import Path

import waitress
from flask import Flask, request


def create(folder: Path) -> Flask:
    app = Flask(__name__)

    @app.post("/report")
    def report():
        for number, upload in enumerate(request.files.getlist("files")):
            upload.save(folder / f"upload-{number}")
        return "", 302, {"Location": "/"}
    return app


def main() -> None:
    folder = Path(sys.argv[1])
    server = waitress.create_server(create(folder), host="127.0.0.1", port=0,
                                    max_request_body_size=1 << 40)
    print(f"serving on http://127.0.0.1:{server.effective_port}/", flush=True)
    server.run()


if __name__ == "__main__":
    main()
