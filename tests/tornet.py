"""A private Tor network on loopback, for tests that go through real onion services.

Three directory authorities and two relays (four relay-capable nodes is tor's minimum for
a working network) vote every ten seconds with TestingTorNetwork; every relay is an HSDir
and a guard. It runs inside a network namespace of its own that holds only `lo`: the test
process's main thread enters it (unshare), so every process the test starts, and every
socket the test opens, can reach nothing but this network. Each process is tracked by PID
and stopped on teardown, whatever happened. The Tor Project's chutney builds such networks
in general; this is the one shape our tests need.
"""
from __future__ import annotations

import base64
import ctypes
import os
import re
import signal
import socket
import subprocess
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import requests
import stem.control

CLONE_NEWNET = 0x40000000
AUTHORITIES = 3
RELAYS = 2


def wait_for(what: str, check, timeout: float, every: float = 2.0):
    """Poll `check` until it returns something true; generous timeouts, a loaded CI box is slow."""
    deadline = time.monotonic() + timeout
    last_error = None
    while time.monotonic() < deadline:
        try:
            result = check()
            if result:
                return result
        except (OSError, stem.ControllerError) as exc:  # not there yet; say the last reason on timeout
            last_error = exc
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}; last error: {last_error!r}")


@contextmanager
def own_network_namespace():
    """Move this thread (and every process it starts) into a new network namespace with only
    `lo`, and back out afterwards. Yields False when the kernel refuses (no privilege):
    the network then runs on the host's loopback, where it also talks only to itself."""
    libc = ctypes.CDLL(None, use_errno=True)
    original = os.open("/proc/self/ns/net", os.O_RDONLY)
    try:
        if libc.unshare(CLONE_NEWNET) != 0:
            yield False
            return
        try:
            subprocess.run(["ip", "link", "set", "lo", "up"], check=True, capture_output=True)
            yield True
        finally:
            if libc.setns(original, CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), "cannot leave the test network namespace")
    finally:
        os.close(original)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Node:
    name: str
    folder: Path
    or_port: int
    dir_port: int
    authority: bool
    fingerprint: str = ""
    v3ident: str = ""


@dataclass
class TorNetwork:
    folder: Path
    nodes: list[Node] = field(default_factory=list)
    processes: list[subprocess.Popen] = field(default_factory=list)

    # --- building -------------------------------------------------------------------------
    def build(self) -> TorNetwork:
        for index in range(AUTHORITIES + RELAYS):
            authority = index < AUTHORITIES
            name = f"{'auth' if authority else 'relay'}{index}"
            node = Node(name, self.folder / name, free_port(), free_port(), authority)
            node.folder.mkdir(mode=0o700, parents=True)
            if authority:
                keys = node.folder / "keys"
                keys.mkdir(mode=0o700)
                subprocess.run(["tor-gencert", "--create-identity-key", "-m", "12",
                                "-a", f"127.0.0.1:{node.dir_port}",
                                "-i", keys / "authority_identity_key",
                                "-s", keys / "authority_signing_key",
                                "-c", keys / "authority_certificate", "--passphrase-fd", "0"],
                               input=b"\n", check=True, capture_output=True, timeout=120)
                cert = (keys / "authority_certificate").read_text()
                ident = re.search(r"^fingerprint (\w+)$", cert, re.M)
                assert ident is not None, cert[:200]
                node.v3ident = ident.group(1)
            listed = subprocess.run(
                ["tor", "--list-fingerprint", "--quiet", "--DataDirectory", str(node.folder),
                 "--ORPort", str(node.or_port), "--Nickname", name],
                check=True, capture_output=True, text=True, timeout=120)
            node.fingerprint = listed.stdout.split(None, 1)[1].replace(" ", "").strip()
            self.nodes.append(node)
        return self

    def client_config(self) -> list[str]:
        """What any tor on this network needs: the authorities and testing mode."""
        lines = ["TestingTorNetwork 1", "UseDefaultFallbackDirs 0",
                 "TestingV3AuthInitialVotingInterval 10", "TestingV3AuthInitialVoteDelay 2",
                 "TestingV3AuthInitialDistDelay 2", "V3AuthVotingInterval 10",
                 "V3AuthVoteDelay 2", "V3AuthDistDelay 2", "ConnLimit 60", "SafeLogging 0"]
        lines += [f"DirAuthority {n.name} orport={n.or_port} no-v2 v3ident={n.v3ident} "
                  f"127.0.0.1:{n.dir_port} {n.fingerprint}" for n in self.nodes if n.authority]
        return lines

    def torrc(self, node: Node) -> str:
        lines = self.client_config() + [
            f"DataDirectory {node.folder}", f"Nickname {node.name}", "Address 127.0.0.1",
            f"ORPort 127.0.0.1:{node.or_port}", f"DirPort 127.0.0.1:{node.dir_port}",
            "SocksPort 0", "AssumeReachable 1", "ExitRelay 0", "ContactInfo tests@localhost",
            f"Log notice file {node.folder / 'notice.log'}", "TestingDirAuthVoteHSDir *",
            "TestingDirAuthVoteGuard *"]
        if node.authority:
            lines += ["AuthoritativeDirectory 1", "V3AuthoritativeDirectory 1"]
        return "\n".join(lines) + "\n"

    # --- running --------------------------------------------------------------------------
    def start(self, args: list[str | Path], log: Path, **popen) -> subprocess.Popen:
        """Start a process that teardown will stop by its PID."""
        out = open(log, "ab")
        process = subprocess.Popen([str(a) for a in args], stdout=out, stderr=subprocess.STDOUT,
                                   **popen)
        out.close()
        self.processes.append(process)
        return process

    def start_relays(self) -> None:
        for node in self.nodes:
            torrc = node.folder / "torrc"
            torrc.write_text(self.torrc(node))
            self.start(["tor", "-f", torrc], node.folder / "stdout.log")

    def wait_for_consensus(self, timeout: float = 180) -> None:
        """Until an authority serves a consensus listing every relay as an HSDir."""
        url = f"http://127.0.0.1:{self.nodes[0].dir_port}/tor/status-vote/current/consensus"

        def listed():
            text = requests.get(url, timeout=10, proxies={"http": None}).text
            return text.count("\ns ") >= len(self.nodes) and text.count("HSDir") >= len(self.nodes)
        wait_for("a consensus listing every relay", listed, timeout)

    def start_client(self) -> Client:
        folder = self.folder / "client"
        folder.mkdir(mode=0o700)
        client = Client(folder, free_port(), free_port())
        torrc = folder / "torrc"
        torrc.write_text("\n".join(self.client_config() + [
            f"DataDirectory {folder}", f"SocksPort 127.0.0.1:{client.socks_port} ExtendedErrors",
            f"ControlPort 127.0.0.1:{client.control_port}", "CookieAuthentication 1",
            f"Log notice file {folder / 'notice.log'}"]) + "\n")
        self.start(["tor", "-f", torrc], folder / "stdout.log")
        return client

    def stop(self) -> None:
        """Stop every process we started, and whatever they started (the launched tor)."""
        for process in reversed(self.processes):
            children = _children(process.pid)
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
            for pid in children:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass

    def logs(self) -> str:
        """The tail of every tor's log, for a failure message."""
        parts = []
        for log in sorted(self.folder.rglob("notice.log")):
            parts.append(f"--- {log.relative_to(self.folder)}\n" +
                         "".join(log.read_text(errors="replace").splitlines(True)[-15:]))
        return "\n".join(parts)


@dataclass
class Client:
    """The tor a reporter or a responder would run, as Tor Browser does."""
    folder: Path
    socks_port: int
    control_port: int

    @property
    def proxy(self) -> str:
        return f"socks5h://127.0.0.1:{self.socks_port}"

    def controller(self) -> stem.control.Controller:
        controller = stem.control.Controller.from_port(port=self.control_port)
        controller.authenticate()
        return controller

    def wait_until_bootstrapped(self, timeout: float = 180) -> None:
        def done():
            with self.controller() as controller:
                return "PROGRESS=100" in controller.get_info("status/bootstrap-phase")
        wait_for("the client tor to bootstrap", done, timeout)

    def add_onion_auth(self, line: str) -> None:
        """What Tor Browser does with the key a person pastes: `<addr>:descriptor:x25519:<key>`.
        The line has the key in base32, as ClientOnionAuthDir files do; the control port takes base64."""
        service_id, _, _, key = line.strip().split(":")
        key = base64.b64encode(base64.b32decode(key + "=" * (-len(key) % 8))).decode()
        with self.controller() as controller:
            answer = controller.msg(f"ONION_CLIENT_AUTH_ADD {service_id} x25519:{key}")
            # 251 replaced a key, 252 "Registered client and decrypted desc" (fetched already)
            assert answer.content()[0][0] in ("250", "251", "252"), str(answer)

    def forget_onion_services(self) -> None:
        """Tor Browser's New Identity: tor forgets the onion service descriptors and
        introduction points it fetched, so the next visit fetches the address's current ones."""
        with self.controller() as controller:
            controller.signal(stem.Signal.NEWNYM)

    def get(self, url: str, timeout: float = 120) -> requests.Response:
        return requests.get(url, proxies={"http": self.proxy}, timeout=timeout)


def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []
