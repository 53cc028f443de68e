"""A small interface to one tor, through stem: launch a private one or attach to a running
one, publish ephemeral onion services in front of local ports, and take them down again.

Services are ephemeral (ADD_ONION with our own key, DiscardPK): nothing of ours is left in
tor's state, and a launched tor exits with its controller (take_ownership). ADD_ONION is
sent raw rather than through stem's create_ephemeral_hidden_service because that takes one
client key and no proof-of-work options; stem still parses the answer. Capabilities are
detected by trying them, as OnionShare does.
"""
from __future__ import annotations

import os
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import stem
import stem.control
import stem.process
import stem.response

from onion.service_key import ServiceKey

CONTROL_PORT_FILE = "control-port"


class TorError(Exception):
    """tor could not be started, reached or asked; the message says what to do."""


@dataclass(frozen=True)
class Service:
    """One onion service: `key`'s address, port 80, forwarded to 127.0.0.1:`target_port`."""
    label: str
    key: ServiceKey
    target_port: int
    clients: tuple[str, ...] = ()  # x25519 public keys (base32); none: open to anyone
    # Streams open at once on one rendezvous circuit; a circuit asking for more is closed
    # (MaxStreamsCloseCircuit), so one circuit cannot hold every connection. 0: no limit.
    max_streams: int = 0


def read_torrc(path: Path) -> dict[str, list[str]]:
    """Extra `Option value` lines for a launched tor (e.g. a private test network)."""
    options: dict[str, list[str]] = {}
    try:
        lines = Path(path).read_text("utf-8").splitlines()
    except OSError as exc:
        raise TorError(f"cannot read {path}: {exc.strerror}") from None
    for line in lines:
        line = line.strip()
        if line and not line.startswith("#"):
            option, _, value = line.partition(" ")
            options.setdefault(option, []).append(value.strip())
    return options


class Tor:
    def __init__(self, controller: stem.control.Controller, process: subprocess.Popen | None):
        self.controller = controller
        self.process = process
        self.pow_defences: bool | None = None  # unknown until the first ADD_ONION
        self.published: dict[str, Service] = {}  # service id -> what it serves
        self._lock = threading.Lock()

    @classmethod
    def launch(cls, data_dir: Path, extra: dict[str, list[str]] | None = None,
               tor_cmd: str = "tor") -> Tor:
        """A private tor with its state in `data_dir`, controlled over a cookie-protected port.
        Returns as soon as tor listens: publishing needs no network (tor publishes when it can)."""
        data_dir = Path(data_dir)
        data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(data_dir, 0o700)  # tor refuses a DataDirectory others can read
        port_file = data_dir / CONTROL_PORT_FILE
        port_file.unlink(missing_ok=True)
        config = {"SocksPort": "0", **(extra or {}),
                  "DataDirectory": str(data_dir), "ControlPort": "auto",
                  "ControlPortWriteToFile": str(port_file), "CookieAuthentication": "1"}
        in_main_thread = threading.current_thread() is threading.main_thread()
        try:
            # completion_percent=0: offline, a full bootstrap never comes; the timeout needs SIGALRM.
            process = stem.process.launch_tor_with_config(
                config, tor_cmd=tor_cmd, completion_percent=0, take_ownership=True,
                timeout=120 if in_main_thread else None)
        except OSError as exc:
            raise TorError(f"tor did not start: {exc}") from None
        try:
            port = _wait_for_port(port_file, process)
            controller = stem.control.Controller.from_port(address="127.0.0.1", port=port)
            controller.authenticate()
        except (TorError, stem.SocketError, stem.connection.AuthenticationFailure) as exc:
            process.kill()
            process.wait()
            raise TorError(f"tor started but cannot be controlled: {exc}") from None
        return cls(controller, process)

    @classmethod
    def attach(cls, port: int, password: str | None = None, socket: Path | None = None) -> Tor:
        """A running tor's control socket (if given) or port; cookie authentication, or the
        password if given. Every failure says what to change on the system's side."""
        try:
            if socket is not None:
                controller = stem.control.Controller.from_socket_file(str(socket))
            else:
                controller = stem.control.Controller.from_port(address="127.0.0.1", port=port)
        except stem.SocketError as exc:
            where = f"socket {socket}" if socket else f"port 127.0.0.1:{port}"
            raise TorError(f"no tor control {where} ({exc}): is tor running? Its torrc needs "
                           + (f"`ControlSocket {socket} GroupWritable RelaxDirModeCheck`, and "
                              "this user in tor's group (debian-tor on Debian)" if socket else
                              f"`ControlPort {port}`")) from None
        try:
            controller.authenticate(password=password)
        except stem.connection.IncorrectCookieSize as exc:
            controller.close()
            raise TorError(f"tor's control cookie is damaged: {exc}") from None
        except stem.connection.UnreadableCookieFile as exc:
            controller.close()
            raise TorError(f"cannot read tor's control cookie {exc.cookie_path}: add this user "
                           "to tor's group (`adduser USER debian-tor` on Debian) and make sure "
                           "torrc has `CookieAuthFileGroupReadable 1`") from None
        except stem.connection.AuthenticationFailure as exc:
            controller.close()
            raise TorError(f"tor's control port refused us: {exc} (cookie authentication "
                           "needs `CookieAuthentication 1` in torrc; a password needs "
                           "--control-password-file)") from None
        return cls(controller, None)

    @staticmethod
    def control_port_answers(port: int) -> bool:
        """Whether something listens on tor's control port (for `--tor auto`)."""
        try:
            stem.control.Controller.from_port(address="127.0.0.1", port=port).close()
            return True
        except stem.SocketError:
            return False

    @staticmethod
    def launched_control_port(data_dir: Path) -> int | None:
        """The control port a tor launched by `launch(data_dir)` wrote, if it still runs there."""
        try:
            text = (Path(data_dir) / CONTROL_PORT_FILE).read_text().strip()
        except OSError:
            return None
        return int(text.rsplit(":", 1)[1]) if text.startswith("PORT=") else None

    def has_descriptor(self, key: ServiceKey) -> bool:
        """Whether this tor holds a descriptor for `key`'s service: it is published (tor builds
        one once it has a consensus, and uploads it); not while tor has no network."""
        try:
            return bool(self.controller.get_info(f"hs/service/desc/id/{key.service_id}"))
        except stem.ControllerError:
            return False

    @property
    def version(self) -> str:
        return str(self.controller.get_version())

    def alive(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            return False
        return self.controller.is_alive()

    def publish(self, service: Service) -> str:
        """Publish `service` and return its address; it must be the one its key stands for."""
        with self._lock:
            if self.pow_defences is False:
                response = self.controller.msg(_add_onion(service, pow_defences=False))
            else:
                response = self.controller.msg(_add_onion(service, pow_defences=True))
                if self.pow_defences is None and not response.is_ok():
                    # Unknown keyword to a tor without PoW: the same request without it decides.
                    response = self.controller.msg(_add_onion(service, pow_defences=False))
                    self.pow_defences = False if response.is_ok() else None
                elif response.is_ok():
                    self.pow_defences = True
            try:
                stem.response.convert("ADD_ONION", response)
            except stem.ControllerError:
                raise TorError(f"tor refused to publish the {service.label}: {response}") from None
            if response.service_id != service.key.service_id:
                self.controller.msg(f"DEL_ONION {response.service_id}")
                raise TorError(f"tor published {response.service_id}.onion for the {service.label}, "
                               f"not {service.key.address}")
            self.published[response.service_id] = service
            return service.key.address

    def unpublish(self, service: Service) -> None:
        with self._lock:
            if self.published.pop(service.key.service_id, None) is not None:
                try:
                    self.controller.remove_ephemeral_hidden_service(service.key.service_id)
                except stem.ControllerError:
                    pass  # tor is gone, and the service with it

    def republish(self, service: Service) -> str:
        """Publish again with new settings (e.g. client keys); the address stays."""
        self.unpublish(service)
        return self.publish(service)

    def close(self) -> None:
        """Take every service down and stop tor if we launched it."""
        for service in list(self.published.values()):
            self.unpublish(service)
        self.controller.close()  # an owned tor exits when its controller goes
        if self.process is not None:
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _add_onion(service: Service, pow_defences: bool) -> str:
    flags = "DiscardPK" + (",V3Auth" if service.clients else "") + \
        (",MaxStreamsCloseCircuit" if service.max_streams else "")
    parts = ["ADD_ONION", service.key.add_onion_blob, f"Flags={flags}",
             f"Port=80,127.0.0.1:{service.target_port}"]
    if service.max_streams:
        parts.append(f"MaxStreams={service.max_streams}")
    if pow_defences:
        parts.append("PoWDefensesEnabled=1")
    parts += [f"ClientAuthV3={key}" for key in service.clients]
    return " ".join(parts)


def _wait_for_port(port_file: Path, process: subprocess.Popen) -> int:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise TorError(f"tor exited with status {process.returncode}")
        try:
            text = port_file.read_text().strip()
        except FileNotFoundError:
            text = ""
        if text.startswith("PORT="):
            return int(text.rsplit(":", 1)[1])
        time.sleep(0.1)
    raise TorError(f"tor did not write {port_file}")
