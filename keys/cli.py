"""`python -m keys` (and `dropbox keys`): the air-gapped commands.

Standard library and PyNaCl only, so the air-gapped machine carries no web
stack. Every failure a person can meet ends in one line on stderr and a
non-zero exit.
"""
from __future__ import annotations

import argparse
import getpass
import os
import sys
from pathlib import Path

from keys.errors import FormatError
from keys.offline import open_bundle, write_reply
from keys.responder import ResponderKey, check_name


def _passphrase(args: argparse.Namespace, confirm: bool = False) -> str:
    if args.passphrase_file:
        try:
            text = Path(args.passphrase_file).read_text("utf-8")
        except OSError as exc:
            raise FormatError(f"cannot read {args.passphrase_file}: {exc.strerror}") from None
        except UnicodeDecodeError:
            raise FormatError(f"{args.passphrase_file} is not a text file holding a passphrase") from None
        passphrase = text.splitlines()[0] if text.strip() else ""
    else:
        passphrase = getpass.getpass("Passphrase: ")
        if confirm and getpass.getpass("Passphrase again: ") != passphrase:
            raise FormatError("the two passphrases differ")
    if confirm and len(passphrase) < 12:
        raise FormatError("choose a passphrase of at least 12 characters")
    return passphrase


def _write_new(path: Path, data: bytes, mode: int) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "wb") as out:
        out.write(data)


def cmd_new(args: argparse.Namespace) -> int:
    name = check_name(args.name)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    key_path, pub_path = out / f"{name}.key", out / f"{name}.pub"
    for path in (key_path, pub_path):
        if path.exists():
            raise FormatError(f"{path} exists already; refusing to overwrite a key")
    passphrase = _passphrase(args, confirm=True)
    key = ResponderKey.generate(name)
    _write_new(key_path, key.seal(passphrase), 0o600)
    _write_new(pub_path, key.responder.to_pub_text().encode("ascii"), 0o644)
    print(f"wrote {key_path} (keep it on this machine) and {pub_path} (give it to the server)")
    print(f"fingerprint: {key.responder.fingerprint}")
    return 0


def cmd_open(args: argparse.Namespace) -> int:
    key = ResponderKey.load(Path(args.key), _passphrase(args))
    report = open_bundle(Path(args.bundle), key, Path(args.out))
    print(report.summary(key.name))
    for failure in report.failures:
        print(f"error: {failure}", file=sys.stderr)
    if args.scrub:
        from keys import scrub
        try:
            print(scrub.scrub_opened(Path(args.out)).summary())
        except scrub.Mat2Missing as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
    return 1 if report.failures else 0


def cmd_reply(args: argparse.Namespace) -> int:
    key = ResponderKey.load(Path(args.key), _passphrase(args))
    try:
        message = Path(args.message_file).read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise FormatError(f"cannot read the message file {args.message_file}: {exc}") from None
    write_reply(Path(args.bundle), args.conversation, key, message, Path(args.out))
    print(f"wrote reply {args.out} for conversation {args.conversation}")
    return 0


def parser(prog: str) -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog=prog, description="Responder keys and offline reading.")
    commands = top.add_subparsers(dest="command", required=True)

    new = commands.add_parser("new", help="make a responder key pair")
    new.add_argument("name")
    new.add_argument("--out", required=True, help="folder for NAME.key and NAME.pub")
    new.set_defaults(run=cmd_new)

    opener = commands.add_parser("open", help="decrypt what this key may read from a bundle")
    opener.add_argument("bundle")
    opener.add_argument("--key", required=True)
    opener.add_argument("--out", required=True)
    opener.add_argument("--scrub", action="store_true",
                        help="also write a copy of each attachment without its metadata (needs mat2)")
    opener.set_defaults(run=cmd_open)

    reply = commands.add_parser("reply", help="write an encrypted reply to a conversation")
    reply.add_argument("bundle")
    reply.add_argument("conversation")
    reply.add_argument("--key", required=True)
    reply.add_argument("--message-file", required=True)
    reply.add_argument("--out", required=True)
    reply.set_defaults(run=cmd_reply)

    for command in (new, opener, reply):
        command.add_argument("--passphrase-file", help="read the passphrase from this file's first line")
    return top


def main(argv: list[str] | None = None, prog: str = "python -m keys") -> int:
    args = parser(prog).parse_args(argv)
    try:
        return args.run(args)
    except FormatError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"error: {exc.filename or ''}: {exc.strerror}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
