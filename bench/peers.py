"""The peers our upload path is compared with, each encrypting the same file to four keys.

- the raw floor: PyNaCl's secretstream, file to file in one pass, the same
  64 KiB chunks our envelopes use: nothing can be faster in Python;
- SecureDrop's path: `gzip -9 | gpg --encrypt` to curve25519 keys (GnuPG's
  defaults otherwise, as SecureDrop called it), in a throwaway GNUPGHOME;
- `age -r`, Debian's age;
- OnionShare 2.7's receive mode: the same file POSTed to `onionshare-cli --receive
  --local-only` on loopback (no tor), from its own venv (`make bench` installs it from
  requirements/bench.lock): the tool a team would use instead of us;
- the encrypt-and-fsync floor: the raw floor reading the file from the page cache and ending
  with an fsync, as our server does before it answers: what an encrypting upload must cost;
- plain Flask: the same file POSTed over HTTP to a minimal Flask app under waitress, both
  with their defaults, saving it unencrypted (bench/plain_flask.py): what our encrypting
  server costs over the web stack it is built on.
A missing tool is reported as missing, not a crash.
"""
from __future__ import annotations

import os
import pty
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

from nacl import bindings as sodium

from keys.envelope import CHUNK_SIZE, SEALED_CHUNK_SIZE

RECIPIENTS = 4
_PUSH = sodium.crypto_secretstream_xchacha20poly1305_push
_PULL = sodium.crypto_secretstream_xchacha20poly1305_pull
_TAG_MESSAGE = sodium.crypto_secretstream_xchacha20poly1305_TAG_MESSAGE
_TAG_FINAL = sodium.crypto_secretstream_xchacha20poly1305_TAG_FINAL


class Missing(Exception):
    """A peer's tool is not installed; the message says which and how to get it."""


def _timed(action) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def raw_encrypt(source: Path, target: Path, fsync: bool = False) -> tuple[float, bytes]:
    """Seconds to encrypt `source` into `target` (and, with `fsync`, to make it durable), and
    the key."""
    key = sodium.crypto_secretstream_xchacha20poly1305_keygen()

    def encrypt():
        state = sodium.crypto_secretstream_xchacha20poly1305_state()
        with open(source, "rb") as src, open(target, "wb") as dst:
            dst.write(sodium.crypto_secretstream_xchacha20poly1305_init_push(state, key))
            while chunk := src.read(CHUNK_SIZE):
                dst.write(_PUSH(state, chunk, None, _TAG_MESSAGE))
            dst.write(_PUSH(state, b"", None, _TAG_FINAL))
            if fsync:
                dst.flush()
                os.fsync(dst.fileno())
    return _timed(encrypt), key


def raw_decrypt(source: Path, target: Path, key: bytes) -> float:
    def decrypt():
        state = sodium.crypto_secretstream_xchacha20poly1305_state()
        with open(source, "rb") as src, open(target, "wb") as dst:
            header = src.read(sodium.crypto_secretstream_xchacha20poly1305_HEADERBYTES)
            sodium.crypto_secretstream_xchacha20poly1305_init_pull(state, header, key)
            while sealed := src.read(SEALED_CHUNK_SIZE):
                chunk, _tag = _PULL(state, sealed, None)
                dst.write(chunk)
    return _timed(decrypt)


def _tool(name: str, package: str) -> str:
    path = shutil.which(name)
    if not path:
        raise Missing(f"{name} is not installed (apt-get install {package})")
    return path


def gpg_encrypt(source: Path, target: Path, home: Path) -> float:
    gpg = _tool("gpg", "gnupg")
    home.mkdir(mode=0o700)
    base = [gpg, "--batch", "--quiet", "--homedir", str(home)]
    for number in range(RECIPIENTS):
        uid = f"responder{number} <responder{number}@localhost>"
        subprocess.run([*base, "--passphrase", "", "--quick-gen-key", uid, "ed25519", "sign", "never"],
                       check=True, capture_output=True)
        listing = subprocess.run([*base, "--with-colons", "--list-keys", uid],
                                 check=True, capture_output=True, text=True).stdout
        fingerprint = next(line.split(":")[9] for line in listing.splitlines() if line.startswith("fpr"))
        subprocess.run([*base, "--passphrase", "", "--quick-add-key", fingerprint, "cv25519", "encr", "never"],
                       check=True, capture_output=True)
    recipients = [arg for n in range(RECIPIENTS) for arg in ("-r", f"responder{n}@localhost")]
    with open(source, "rb") as src, open(target, "wb") as dst:
        def encrypt():
            gzip = subprocess.Popen(["gzip", "-9"], stdin=src, stdout=subprocess.PIPE)
            subprocess.run([*base, "--trust-model", "always", "--encrypt", *recipients],
                           stdin=gzip.stdout, stdout=dst, check=True)
            gzip.stdout.close()
            if gzip.wait() != 0:
                raise RuntimeError("gzip failed")
        return _timed(encrypt)


def age_encrypt(source: Path, target: Path, keys: Path) -> float:
    age, keygen = _tool("age", "age"), _tool("age-keygen", "age")
    keys.mkdir()
    recipients = []
    for number in range(RECIPIENTS):
        identity = keys / f"responder{number}.txt"
        subprocess.run([keygen, "-o", str(identity)], check=True, capture_output=True)
        public = next(line.split(": ")[1] for line in identity.read_text().splitlines()
                      if line.startswith("# public key: "))
        recipients += ["-r", public]
    return _timed(lambda: subprocess.run([age, *recipients, "-o", str(target), str(source)], check=True))


def age_decrypt(sealed: Path, keys: Path, target: Path, passphrase: str | None = None) -> float:
    """Seconds `age -d` takes to open `sealed` (made by `age_encrypt` into `keys`) into `target`;
    with `passphrase`, through the identity file `age_protect_identity` sealed with it."""
    age = _tool("age", "age")
    identity = keys / ("responder0.age" if passphrase else "responder0.txt")
    command = [age, "-d", "-i", str(identity), "-o", str(target), str(sealed)]
    if passphrase is None:
        return _timed(lambda: subprocess.run(command, check=True))
    return _timed(lambda: _with_passphrase(command, passphrase))


def age_protect_identity(keys: Path, passphrase: str) -> None:
    """The first identity of `keys` sealed with `passphrase` (`age -p`: scrypt, age's own way of
    keeping an identity file), as responder0.age: what `keys open`'s key file is to ours."""
    age = _tool("age", "age")
    _with_passphrase([age, "-p", "-o", str(keys / "responder0.age"), str(keys / "responder0.txt")], passphrase)


def _with_passphrase(command: list[str], passphrase: str) -> None:
    """Run `command` on a terminal of its own, answering each prompt (a line ending in a colon)
    with `passphrase`: age reads passphrases from its terminal only, never from a pipe."""
    pid, terminal = pty.fork()
    if pid == 0:
        try:
            os.execv(command[0], command)
        finally:
            os._exit(127)
    said = b""
    try:
        while True:
            try:
                data = os.read(terminal, 1024)
            except OSError:  # the command has ended and closed its side
                break
            if not data:
                break
            said += data
            if said.rstrip().endswith(b":"):
                os.write(terminal, passphrase.encode() + b"\n")
                said = b""
    finally:
        os.close(terminal)
        _, status = os.waitpid(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{Path(command[0]).name} {command[1]} failed: {said.decode(errors='replace')[-200:]}")


def versions() -> dict[str, str]:
    """The peers' versions, for the machine description."""
    found = {}
    for name, args in (("gpg", ["--version"]), ("age", ["--version"]), ("gzip", ["--version"])):
        path = shutil.which(name)
        found[name] = subprocess.run([path, *args], capture_output=True, text=True, check=False).stdout.splitlines()[0] \
            if path else "missing"
    return found


def plain_flask_upload(source: Path, folder: Path) -> float:
    """Seconds to POST `source` as a multipart form to the plain Flask app, streamed as our
    own upload is (the tests' client), until it is saved."""
    from uploads import multipart, send  # the tests' streaming client, as for our server
    folder.mkdir()
    server = subprocess.Popen([sys.executable, "-m", "bench.plain_flask", str(folder)],
                              stdout=subprocess.PIPE, text=True, env={**os.environ, "TMPDIR": str(folder)})
    try:
        url = re.search(r"http://\S+/", server.stdout.readline()).group(0)
        size = source.stat().st_size
        fd = os.open(source, os.O_RDONLY)
        content_type, total, pieces = multipart([("message", "benchmark upload")], source.name, size,
                                                lambda start, end: os.pread(fd, end - start, start))
        started = time.perf_counter()
        status = send(url, "/report", "", content_type, total, pieces)
        seconds = time.perf_counter() - started
        os.close(fd)
        if status != 302 or (folder / "upload-0").stat().st_size != size:
            raise RuntimeError(f"the plain Flask upload was answered {status}")
        return seconds
    finally:
        server.terminate()
        server.wait(10)


ONIONSHARE = Path(__file__).resolve().parent.parent / ".venv-onionshare" / "bin" / "onionshare-cli"


def onionshare_upload(source: Path, folder: Path) -> float:
    """Seconds to POST `source` to OnionShare's receive mode (--local-only: loopback, no tor), as
    its upload form sends it, until it answers; raises unless the whole file was saved."""
    from uploads import multipart, send
    if not ONIONSHARE.exists():
        raise Missing("OnionShare is not installed (make .venv-onionshare/.installed)")
    folder.mkdir()
    received, said = folder / "received", folder / "onionshare.log"
    # Its output goes to a file: it prints as it receives, and a pipe nobody reads stalls it.
    with open(said, "w") as log:
        server = subprocess.Popen([str(ONIONSHARE), "--local-only", "--receive", "--data-dir", str(received)],
                                  stdout=log, stderr=subprocess.STDOUT,
                                  env={**os.environ, "HOME": str(folder), "TMPDIR": str(folder)})
    try:
        url = _address(said, server)
        size = source.stat().st_size
        fd = os.open(source, os.O_RDONLY)
        content_type, total, pieces = multipart([("text", "")], source.name, size,
                                                lambda start, end: os.pread(fd, end - start, start),
                                                file_field="file[]")
        started = time.perf_counter()
        status = send(url, "/upload", "", content_type, total, pieces)
        seconds = time.perf_counter() - started
        os.close(fd)
        saved = [p for p in received.rglob("*") if p.is_file() and p.name == source.name]
        if status not in (200, 302) or not saved or saved[0].stat().st_size != size:
            raise RuntimeError(f"the OnionShare upload was answered {status}; it said: "
                               f"{said.read_text(errors='replace')[-800:]}")
        return seconds
    finally:
        server.terminate()
        server.wait(10)


def _address(said: Path, server: subprocess.Popen) -> str:
    """The loopback address OnionShare prints once it listens."""
    for _ in range(600):
        if found := re.search(r"http://127\.0\.0\.1:\d+", said.read_text(errors="replace")):
            return found.group(0) + "/"
        if server.poll() is not None:
            raise RuntimeError(f"OnionShare stopped: {said.read_text(errors='replace')[-500:]}")
        time.sleep(0.1)
    raise RuntimeError("OnionShare did not start listening within a minute")
