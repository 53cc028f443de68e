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
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

from keys.errors import FormatError
from keys.first_opening import FirstOpenings
from keys.ids import check_id
from keys.opening import open_bundle
from keys.pinning import trusted_keys
from keys.replying import write_note, write_reply
from keys.responder import PURPOSES, Responder, ResponderKey, check_name
from keys.safe_text import visible


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


def _new_key_paths(folder: str, name: str) -> tuple[Path, Path]:
    """NAME.key and NAME.pub in `folder`, neither there yet: a key is never overwritten."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    key_path, pub_path = out / f"{name}.key", out / f"{name}.pub"
    for path in (key_path, pub_path):
        if path.exists():
            raise FormatError(f"{path} exists already; refusing to overwrite a key")
    return key_path, pub_path


def _write_pair(paths: tuple[Path, Path], key: ResponderKey, passphrase: str,
                purpose: str = "responder") -> None:
    _write_new(paths[0], key.seal(passphrase), 0o600)
    public = replace(key.responder, purpose=purpose)
    _write_new(paths[1], public.to_pub_text().encode("ascii"), 0o644)


def cmd_new(args: argparse.Namespace) -> int:
    name = check_name(args.name)
    key_path, pub_path = _new_key_paths(args.out, name)
    passphrase = _passphrase(args, confirm=True)
    key = ResponderKey.generate(name)
    _write_pair((key_path, pub_path), key, passphrase, args.purpose)
    use = "`dropbox backup --to`" if args.purpose == "backup" else "`dropbox team add`"
    print(f"wrote {key_path} (keep it on this machine) and {pub_path} (give it to the server, "
          f"for {use})")
    print(f"fingerprint: {key.responder.fingerprint}")
    return 0


def _bundle_for(path: Path, name: str) -> Path:
    """A team export is a folder with one bundle per responder: this key's is NAME.odbx."""
    return path / f"{name}.odbx" if path.is_dir() else path


def _read_ahead(path: Path) -> None:
    """Ask the kernel to start reading `path` into memory now, without waiting (advice only:
    a bundle on a USB stick is then read while the key is unlocked, not after)."""
    if hasattr(os, "posix_fadvise"):
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError:
            return  # not there, or not readable: opening it says so in its own words
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_WILLNEED)
        except OSError:
            pass
        finally:
            os.close(fd)


def cmd_open(args: argparse.Namespace) -> int:
    passphrase = _passphrase(args)
    trusted = _trusted_folder(args)
    # Unlocking the key (argon2id, about a second by design, in libsodium without the GIL)
    # runs beside what does not need it: the pinned keys and the kernel's reading of the
    # bundle. A team export holds NAME.odbx for each responder; the key file's own name
    # (NAME.key, as `keys new` writes it) is the guess read ahead, the inner name decides.
    with ThreadPoolExecutor(1) as unlocking:
        unlocked = unlocking.submit(ResponderKey.load, Path(args.key), passphrase)
        _read_ahead(_bundle_for(Path(args.bundle), Path(args.key).stem))
        pinned = trusted_keys(trusted)
        key = unlocked.result()
    report = open_bundle(_bundle_for(Path(args.bundle), key.name), key, Path(args.out),
                         pinned, FirstOpenings.beside(trusted))
    for opened in report.conversations:
        print(f"{opened.designation or '-':<24} {opened.id}  {opened.items:>4} item(s)  "
              f"{Path(args.out) / opened.folder}")
    print(report.summary(key.name))
    for warning in report.warnings:
        print(f"note: {visible(warning, False)}")
    for failure in report.failures:
        print(f"error: {visible(failure, False)}", file=sys.stderr)
    if args.scrub:
        from keys import scrub
        try:
            print(scrub.scrub_opened(Path(args.out)).summary())
        except scrub.Mat2Missing as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
    return 1 if report.failures else 0


def _year(text: str) -> int:
    """A year figures are counted for, refused in one line (argparse's `choices` would list
    every year allowed)."""
    if len(text) != 4 or not text.isascii() or not text.isdigit() or not 2000 <= int(text) <= 9999:
        raise argparse.ArgumentTypeError(f"{text[:20]!r} is not a year from 2000 to 9999")
    return int(text)


def cmd_figures(args: argparse.Namespace) -> int:
    from keys import figures
    server = figures.read_server_csv(Path(args.server), args.year) if args.server else None
    rows, behaviours = figures.offline_figures(Path(args.out), args.year, server)
    columns = [*figures.COLUMNS, *behaviours]
    print(figures.as_csv(rows, columns) if args.csv else figures.as_table(rows, columns), end="")
    return 0


def _trusted_folder(args: argparse.Namespace) -> Path:
    return Path(args.trusted) if args.trusted else Path(args.key).parent / "trusted"


def cmd_trust(args: argparse.Namespace) -> int:
    folder = Path(args.trusted)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    pinned = trusted_keys(folder)
    for path in args.pubfiles:
        responder = Responder.load(Path(path))
        old = pinned.get(responder.name)
        if old is not None and old != responder and not args.replace:
            raise FormatError(f"{responder.name} is pinned with another key (fingerprint "
                              f"{old.fingerprint}); add --replace if the team replaced it")
        target = folder / f"{responder.name}.pub"
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as out:
            out.write(responder.to_pub_text())
        print(f"pinned {responder.name}: fingerprint {responder.fingerprint} "
              "(compare it with theirs, read aloud)")
    return 0


def cmd_upgrade_key(args: argparse.Namespace) -> int:
    passphrase = _passphrase(args)
    key = ResponderKey.load(Path(args.key), passphrase)
    if key.signing_key is not None:
        raise FormatError(f"{args.key} has a signing key already")
    key_path, pub_path = _new_key_paths(args.out, key.name)
    upgraded = key.with_signing_key()
    _write_pair((key_path, pub_path), upgraded, passphrase)
    print(f"wrote {key_path}: the same key for reading, and a new signing key for replies")
    print(f"give {pub_path} to the server (`dropbox team replace {key.name} {pub_path.name}`); "
          f"new fingerprint: {upgraded.responder.fingerprint}")
    return 0


def _message(args: argparse.Namespace) -> str:
    try:
        return Path(args.message_file).read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise FormatError(f"cannot read the message file {args.message_file}: {exc}") from None


def cmd_reply(args: argparse.Namespace) -> int:
    key = ResponderKey.load(Path(args.key), _passphrase(args))
    files = [Path(f) for f in args.file or ()]
    invitation = args.to_respondent and check_id(args.to_respondent, "--to-respondent")
    write_reply(_bundle_for(Path(args.bundle), key.name), args.conversation, key, _message(args),
                Path(args.out), _trusted_folder(args), files, invitation)
    sent = f" with {len(files)} file(s)" if files else ""
    to = f" to the person reported (invitation {invitation})" if invitation else ""
    print(f"wrote reply {args.out}{sent} for conversation {args.conversation}{to}")
    return 0


def cmd_note(args: argparse.Namespace) -> int:
    key = ResponderKey.load(Path(args.key), _passphrase(args))
    write_note(_bundle_for(Path(args.bundle), key.name), args.conversation, key, _message(args),
               Path(args.out), _trusted_folder(args), args.answers or "")
    print(f"wrote note {args.out} for conversation {args.conversation} (sealed to its responders "
          "only; the server imports it like a reply)")
    return 0


def parser(prog: str) -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog=prog, description="Responder keys and offline reading.")
    commands = top.add_subparsers(dest="command", required=True)

    new = commands.add_parser("new", help="make a responder key pair")
    new.add_argument("name")
    new.add_argument("--out", required=True, help="folder for NAME.key and NAME.pub")
    new.add_argument("--purpose", choices=PURPOSES, default="responder",
                     help="a responder's key (default), or a backup key for `dropbox backup --to`")
    new.set_defaults(run=cmd_new)

    opener = commands.add_parser("open", help="decrypt what this key may read from a bundle")
    opener.add_argument("bundle")
    opener.add_argument("--key", required=True)
    opener.add_argument("--out", required=True)
    opener.add_argument("--trusted", help="pinned team keys, to check reply signatures with, and "
                                          "what the first opening of each conversation learned "
                                          "[default: trusted/ beside --key]")
    opener.add_argument("--scrub", action="store_true",
                        help="also write a copy of each attachment without its metadata (needs mat2)")
    opener.set_defaults(run=cmd_open)

    reply = commands.add_parser("reply", help="write an encrypted reply to a conversation")
    reply.add_argument("bundle")
    reply.add_argument("conversation", help="its id or its designation, as `keys open` printed them")
    reply.add_argument("--key", required=True)
    reply.add_argument("--message-file", required=True)
    reply.add_argument("--out", required=True)
    reply.add_argument("--trusted", help="folder of pinned team keys and first openings "
                                         "[default: trusted/ beside --key]")
    reply.add_argument("--to-respondent", metavar="INVITATION",
                       help="write to the person reported of this invitation (its id, as `keys open` "
                            "names it) instead of to the reporter")
    reply.add_argument("--file", action="append", metavar="PATH",
                       help="send this file with the reply (repeat for several)")
    reply.set_defaults(run=cmd_reply)

    note = commands.add_parser("note", help="write a note to a conversation's responders only "
                                            "(never its reporter)")
    note.add_argument("bundle")
    note.add_argument("conversation")
    note.add_argument("--key", required=True)
    note.add_argument("--message-file", required=True)
    note.add_argument("--answers", metavar="NOTE_ID", help="the note this one answers: its id, or the 8 "
                                                            "characters its file name shows")
    note.add_argument("--out", required=True)
    note.add_argument("--trusted", help="folder of pinned team keys and first openings "
                                        "[default: trusted/ beside --key]")
    note.set_defaults(run=cmd_note)

    trust = commands.add_parser("trust", help="pin team members' public keys for replies")
    trust.add_argument("pubfiles", nargs="+")
    trust.add_argument("--trusted", required=True, help="the folder of pinned keys")
    trust.add_argument("--replace", action="store_true", help="replace a pinned key of that name")
    trust.set_defaults(run=cmd_trust)

    upgrade = commands.add_parser("upgrade-key", help="give a v0.1.0 key file a signing key")
    upgrade.add_argument("--key", required=True)
    upgrade.add_argument("--out", required=True, help="folder for the new NAME.key and NAME.pub")
    upgrade.set_defaults(run=cmd_upgrade_key)

    counting = commands.add_parser("figures", help="a year's figures for a transparency report, "
                                                   "with the behaviours reported, from opened folders")
    counting.add_argument("out", help="the folder `keys open --out` wrote")
    counting.add_argument("--year", type=_year, required=True, metavar="YEAR")
    counting.add_argument("--server", help="the server's figures for the year (dropbox figures --csv), "
                                           "to fill the columns only the server knows")
    counting.add_argument("--csv", action="store_true", help="comma-separated values instead of a table")
    counting.set_defaults(run=cmd_figures)

    for command in (new, opener, reply, note, upgrade):
        command.add_argument("--passphrase-file", help="read the passphrase from this file's first line")
    return top


def main(argv: list[str] | None = None, prog: str = "python -m keys") -> int:
    args = parser(prog).parse_args(argv)
    run: Callable[[argparse.Namespace], int] = args.run  # each command's set_defaults
    try:
        return run(args)
    except FormatError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"error: {exc.filename or ''}: {exc.strerror}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
