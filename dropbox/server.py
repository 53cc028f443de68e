"""Running the apps under waitress, the production WSGI server, published as onion services.

The reporter site and the responder desk each get their own waitress server
(the desk always on loopback) with our channel: submissions are parsed and sealed as they
arrive, other request bodies spool encrypted, both within one disk budget, and waitress's own
error pages carry the strict headers.

The life cycle is the point here: the site is published only once it listens; on SIGTERM or
SIGINT the services are removed and a tor we launched is stopped; a tor that dies is said
out loud and ends `serve` with a non-zero status, rather than a site that no one can reach
going on silently. The desk's client keys are watched, and the desk is published again
when a responder is added or removed.
"""
from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from dataclasses import dataclass, field, replace
from pathlib import Path

import waitress

from dropbox.app import create_app, submission_judge
from dropbox.channel import DropboxChannel, Intake
from dropbox.config import Config
from dropbox.deadlines import Deadlines, with_deadlines
from dropbox.disk_budget import DiskBudget
from dropbox.formlimits import file_endpoints
from dropbox.hosts import refuse_unreadable_hosts
from dropbox.submission_stream import Limits
from dropbox.desk.app import create_desk_app
from dropbox.desk.housekeeping import Housekeeping
from dropbox.storage import Store
from onion.client_auth import AccessError
from onion.service_key import ServiceKey
from onion.tor import Service, Tor, TorError

WATCH_SECONDS = 2
DESK_HOST = "127.0.0.1"  # the desk is never exposed directly; its onion points here

# Responses are never spooled to disk either: waitress starts a new output buffer at
# outbuf_high_watermark (16 MiB) and makes writers wait below it, so an overflow
# threshold well above that keeps every response page in memory.
OUTBUF_OVERFLOW = 64 * 1024 * 1024

# waitress copies and searches an unfinished request head whole on every read: a bound far
# below its default (256 KiB) keeps the cost of each byte small. A browser's head is under
# 2 KiB; a longer one gets 431 at once.
MAX_REQUEST_HEAD = 16 * 1024

# waitress's own connection limit is only a backstop: deadlines.py keeps the count at
# Settings.max_connections by closing the slowest connection when a new one arrives.
SPARE_CONNECTIONS = 64


@dataclass(frozen=True)
class TorChoice:
    """How to reach tor: launch our own, or attach to a running one's control port."""
    mode: str  # "launch" or "system"
    control_port: int = 9051
    password: str | None = None
    extra_config: dict[str, list[str]] = field(default_factory=dict)
    control_socket: Path | None = None  # system: the control socket, rather than the port


class Stop(SystemExit):
    """Raised in the main thread by a signal to leave waitress's loop; `code` is the exit
    status. A SystemExit because that is what waitress lets through a socket handler (a plain
    Exception would be logged as a handler error and the server go on); its run() then ends
    quietly, so the status is also kept in a StopRequest."""


@dataclass
class StopRequest:
    code: int = 0


def serve(config: Config, host: str, port: int, tor: TorChoice | None = None,
          desk_port: int | None = None) -> int:
    """Serve until stopped; returns the exit status. `desk_port` 0 is any free port."""
    store = Store(config.database, config.store_dir, config.tmp_dir)
    store.prepare()
    store.recover()  # what a crash left half-written; never under a running server
    app = create_app(config)
    # waitress logs nothing about requests by default; keep it that way (no IPs, no times).
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("stem").setLevel(logging.WARNING)  # stem logs every control command
    # waitress warns "Task queue depth" whenever a few pages are asked for at once: a line
    # stamped with the time for what reporters do, which nothing may print (OPERATING.md).
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    disk = _disk_budget(config)
    limits = Limits.from_settings(config.settings)
    # tor first: a tor that cannot be reached fails `serve` before it says it serves anything.
    controller = _connect(tor, config) if tor else None
    try:
        server = _waitress(app, config, host, port,
                           _intake(app, config, disk, limits, submission_judge(app)))
        site_port = server.effective_port
        print(f"serving the reporter site on http://{host}:{site_port}/", flush=True)
        if desk_port is not None:
            desk_port = start_desk(config, desk_port, disk)
        # The chores (retention purge among them) run wherever the instance is served, desk or not.
        Housekeeping(config, store).start()
        request = _stop_on_signals()
        if controller:
            _publish(controller, config, site_port, desk_port)
        server.run()
        return request.code
    except Stop:  # its code is the request's
        return request.code
    finally:
        if controller:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a second signal stops us at once
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            controller.close()
            launched = tor is not None and tor.mode == "launch"
            print("onion services removed" + (", tor stopped" if launched else ""),
                  flush=True)


def start_desk(config: Config, port: int, disk: DiskBudget | None = None) -> int:
    """The responder desk on its own loopback port, in a thread."""
    app = create_desk_app(config)
    desk = _waitress(app, config, DESK_HOST, port, _intake(app, config, disk or _disk_budget(config)))
    print(f"serving the responder desk on http://{DESK_HOST}:{desk.effective_port}/", flush=True)
    threading.Thread(target=desk.run, name="desk", daemon=True).start()
    return desk.effective_port


def _intake(app, config: Config, disk: DiskBudget, *submissions) -> Intake:
    """What `app`'s channels need: its pages that take files (each view declares it:
    `formlimits.takes_files`) may get large bodies; any other body is at most a form's text."""
    endpoints = file_endpoints(app)
    paths = frozenset(rule.rule for rule in app.url_map.iter_rules() if rule.endpoint in endpoints)
    return Intake(disk, paths, config.settings.max_form_text_bytes, config.tmp_dir, *submissions)


def _disk_budget(config: Config) -> DiskBudget:
    """One for the site and the desk: their bodies land on the same disk."""
    mib = 1024 * 1024
    return DiskBudget(config.data_dir, config.settings.disk_reserve_mib * mib,
                      config.settings.max_bytes_in_flight_mib * mib)


def _waitress(app, config: Config, host: str, port: int, intake: Intake):
    deadlines = Deadlines.from_settings(config.settings)  # also raises the open-file limit
    server = waitress.create_server(
        refuse_unreadable_hosts(app), host=host, port=port,
        ident="",  # no Server header naming the software and version
        max_request_body_size=config.max_request_bytes,
        max_request_header_size=MAX_REQUEST_HEAD,
        clear_untrusted_proxy_headers=True,
        channel_timeout=600,  # slow tor circuits
        outbuf_overflow=OUTBUF_OVERFLOW,
        # waitress reads 8 KiB per loop turn by default; a large upload then spends more
        # time turning the loop than encrypting (bench/RESULTS.md). 1 MiB at once measured
        # faster than 256 KiB (and than 2 MiB); one read is in memory at a time.
        recv_bytes=1024 * 1024,
        connection_limit=deadlines.max_connections + SPARE_CONNECTIONS,
        asyncore_use_poll=True,  # select() cannot watch more than 1024 sockets
    )
    # Submissions sealed as they arrive, other bodies in the encrypted spool, strict error
    # pages (channel.py), behind the deadlines.
    server.channel_class = with_deadlines(DropboxChannel.serving(intake), deadlines)
    return server


def _publish(controller: Tor, config: Config, site_port: int, desk_port: int | None) -> None:
    streams = config.settings.max_streams_per_circuit
    site = Service("reporter site", ServiceKey.load(config.onion_key_file("site")), site_port,
                   max_streams=streams)
    print(f"onion service for the reporter site: http://{controller.publish(site)}/", flush=True)
    desk = None
    if desk_port is not None:
        desk = Service("desk", ServiceKey.load(config.onion_key_file("desk")), desk_port,
                       max_streams=streams)
        _publish_desk(controller, config, desk)
    print("proof-of-work defences: " + ("on" if controller.pow_defences else
                                        "not supported by this tor"), flush=True)
    print(f"at most {streams} streams per circuit; a circuit asking for more is closed", flush=True)
    threading.Thread(target=_watch, args=(controller, config, desk), daemon=True).start()


def _connect(choice: TorChoice, config: Config) -> Tor:
    if choice.mode == "system":
        controller = Tor.attach(choice.control_port, choice.password, choice.control_socket)
        where = (f"control socket {choice.control_socket}" if choice.control_socket
                 else f"control port {choice.control_port}")
        print(f"attached to tor {controller.version} on {where}", flush=True)
    else:
        controller = Tor.launch(config.tor_dir, choice.extra_config)
        pid = controller.process.pid if controller.process else "unknown"
        print(f"launched tor {controller.version} (pid {pid})", flush=True)
    return controller


def _publish_desk(controller: Tor, config: Config, desk: Service) -> None:
    """(Re)publish the desk for exactly the responders with access now; with none, or with a
    damaged access list, the desk is taken down: a revoked key must never keep working."""
    try:
        clients = tuple(grant.public_key for grant in config.desk_access.grants())
    except AccessError as exc:
        controller.unpublish(desk)
        print(f"ERROR: the desk is not published: {exc}", file=sys.stderr, flush=True)
        return
    if not clients:
        controller.unpublish(desk)
        print("the desk is not published: no responder has access "
              "(`dropbox onion desk-access add NAME`)", flush=True)
        return
    address = controller.republish(replace(desk, clients=clients))
    print(f"onion service for the desk (client authorization, {len(clients)} responder(s)): "
          f"http://{address}/", flush=True)


def _stop_on_signals() -> StopRequest:
    """SIGTERM and SIGINT stop us cleanly (status 0); SIGUSR1 is the watcher saying tor died."""
    request = StopRequest()

    def stop(signum, _frame):
        request.code = 1 if signum == signal.SIGUSR1 else 0
        raise Stop(request.code)
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGUSR1):
        signal.signal(signum, stop)
    return request


def _watch(controller: Tor, config: Config, desk: Service | None) -> None:
    """Ends `serve` (via SIGUSR1) when tor dies; publishes the desk again when access changes."""
    access = config.desk_access
    seen = access.version()
    while True:
        threading.Event().wait(WATCH_SECONDS)
        if not controller.alive():
            print("ERROR: tor has stopped: the onion services are gone and no one can reach "
                  "this site. Stopping.", file=sys.stderr, flush=True)
            os.kill(os.getpid(), signal.SIGUSR1)
            return
        if desk is None or access.version() == seen:
            continue
        seen = access.version()
        try:
            _publish_desk(controller, config, desk)
        except TorError as exc:
            print(f"ERROR: the desk was not published again: {exc}", file=sys.stderr, flush=True)
