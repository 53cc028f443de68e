"""Capacity: connections that sit idle do not lock other reporters out.

A browser keeps several keep-alive connections to a site and tor opens one
local connection per stream, so a busy drop holds many idle connections.
"""
from __future__ import annotations

import socket
from urllib.parse import urlsplit

import requests

IDLE_CONNECTIONS = 300


def test_a_reporter_is_served_while_hundreds_of_connections_sit_idle(server):
    address = urlsplit(server.url)
    idle = [socket.create_connection((address.hostname, address.port), timeout=10)
            for _ in range(IDLE_CONNECTIONS)]
    try:
        response = requests.get(server.url, timeout=20)
        assert response.status_code == 200
        assert "Start a new report" in response.text
    finally:
        for connection in idle:
            connection.close()
