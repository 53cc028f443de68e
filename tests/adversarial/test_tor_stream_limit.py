"""Tor's own limit: each onion service is published with MaxStreams and
MaxStreamsCloseCircuit, and a real tor (kept offline) accepts them."""
from __future__ import annotations

import requests

from support.attackers import set_settings
from conftest import require_tool, start_server
from test_onion_serve import ONION_URL
from tornet import wait_for


def test_onion_services_are_published_with_a_stream_limit_per_circuit(instance, tmp_path):
    require_tool("tor")
    torrc = tmp_path / "offline-torrc"
    torrc.write_text("DisableNetwork 1\n")
    set_settings(instance, max_streams_per_circuit=20)
    server = start_server(instance, args=("--tor", "launch", "--tor-config", str(torrc)))
    try:
        wait_for("the onion address", lambda: ONION_URL.search("".join(server.log)), 60, 0.2)
        line = wait_for("the stream limit", lambda: next(
            (line for line in server.log if "streams per circuit" in line), None), 30, 0.2)
        assert "at most 20 streams per circuit" in line
        assert requests.get(server.url, timeout=30).status_code == 200
    finally:
        server.stop()
