"""Desk accounts: a passphrase and a TOTP secret per responder, chosen by the responder, and
the login check.

The operator never learns either: `dropbox desk add-user` (and `reset-user`) issues a
one-time enrolment code, and on first visit the responder enters it, chooses a passphrase
and scans a TOTP secret made for them there (`enrol`). The code is stored only as a hash
keyed with the desk key, works once (`Desk.enrol` uses it up in the statement that saves
the new login) and expires after ENROLMENT_HOURS; wrong codes spend the failed-login
budget as reporters' wrong codenames do. Accounts made with a printed password before
enrolment existed keep theirs until they change it or are reset.

Passphrases are stored as argon2id hashes (PyNaCl's `pwhash.argon2id.str`).
The TOTP secret must be readable by the server, so it is sealed with a key
derived from the instance's secrets: the database alone does not give it away.
A code is accepted once (the last used time step is remembered), and repeated
wrong codes after a right password lock the codes for a while (see `authenticate`).
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from typing import NoReturn
from functools import lru_cache

import pyotp
from flask_babel import lazy_gettext as _l
from nacl import secret
from nacl.exceptions import InvalidkeyError
from nacl.pwhash import argon2id

from keys import codename as diceware
from dropbox.config import Config
from dropbox.storage import Account, Store

ISSUER = "onion-dropbox desk"
# Long enough to hand a code over in person and for its responder to reach Tor Browser;
# short enough that a code on a forgotten note soon stops working.
ENROLMENT_HOURS = 72
ENROLMENT_WORDS = 5  # of the EFF list: about 64 bits, guessed online through the budget only
# A passphrase chosen by a person: long enough that guessing it online is hopeless.
MIN_PASSPHRASE = 12
MAX_FAILURES = 5
LOCK_SECONDS = 15 * 60
# An online login: libsodium's interactive cost, the same as a reporter's codename.
OPSLIMIT = argon2id.OPSLIMIT_INTERACTIVE
MEMLIMIT = argon2id.MEMLIMIT_INTERACTIVE

REFUSED = _l("The name, passphrase or code is wrong, or this code has been used already. "
             "Please try again with the next code.")
LOCKED = _l("This account is locked for a while after too many failed logins. "
            "Please try again later, or ask the operator.")


# What the audit says (in English in the database; the audit page shows them translated).
ISSUED = "was issued an enrolment code"
RESET = "was reset and issued an enrolment code"
ENROLLED = "enrolled"
CHANGED_PASSPHRASE = "changed their passphrase"
CHANGED_AUTHENTICATOR = "changed their authenticator"
FAILED_LOGIN = "failed login"

CODE_REFUSED = _l("This enrolment code is not known, has been used already or has expired. "
                  "Please check it, or ask the operator for a new one.")
TOO_SHORT = _l("Please choose a passphrase of at least %(count)d characters.")
NOT_THE_SAME = _l("The two passphrases are not the same. Please type it again.")
OTP_REFUSED = _l("That code does not match the new authenticator secret. Please check that you "
                 "added it, and type the code it shows now.")


class LoginRefused(Exception):
    """A login that did not succeed; the message is what the person reads."""


class EnrolmentRefused(Exception):
    """An enrolment or change of login that did not succeed; the message is what the person reads."""


@dataclass(frozen=True)
class Enrolment:
    """What the operator hands a responder: a code that works once, until `expires`."""
    name: str
    code: str
    expires: int  # unix seconds


def _hash(password: str) -> bytes:
    return argon2id.str(_normal(password).encode("utf-8"), opslimit=OPSLIMIT, memlimit=MEMLIMIT)


def _normal(password: str) -> str:
    # Diceware passwords are typed by hand: forgive case and spacing, as for codenames.
    return diceware.normalize(password) or password


@lru_cache(maxsize=1)
def _decoy_hash() -> bytes:
    return _hash(diceware.new_codename())


def _verify(password_hash: bytes, password: str) -> bool:
    try:
        return argon2id.verify(password_hash, _normal(password).encode("utf-8"))
    except InvalidkeyError:
        return False


def _code_hash(config: Config, code: str) -> bytes:
    # Keyed: a copy of the database alone does not let anyone test guesses offline.
    words = code.replace("-", " ").split()
    return hashlib.blake2b(" ".join(words).lower().encode("utf-8"), key=config.desk_key,
                           digest_size=32, person=b"odbx-enrol-code").digest()


def _new_enrolment(config: Config, name: str, now: float | None) -> tuple[Enrolment, bytes]:
    words = diceware.eff_wordlist()
    code = "-".join(secrets.choice(words) for _ in range(ENROLMENT_WORDS))
    expires = int(time.time() if now is None else now) + ENROLMENT_HOURS * 3600
    return Enrolment(name, code, expires), _code_hash(config, code)


def add_account(config: Config, store: Store, name: str, email: str = "",
                now: float | None = None) -> Enrolment:
    enrolment, code_hash = _new_enrolment(config, name, now)
    store.desk.add_account(name, code_hash, enrolment.expires, email)
    store.desk.audit(name, ISSUED)
    return enrolment


def reset_account(config: Config, store: Store, name: str, now: float | None = None) -> Enrolment:
    """A new enrolment code; the old passphrase and TOTP secret stop working (and with them
    every login of the account), and any lock is lifted."""
    enrolment, code_hash = _new_enrolment(config, name, now)
    store.desk.reset_account(name, code_hash, enrolment.expires)
    store.desk.audit(name, RESET)
    return enrolment


def new_totp_secret() -> str:
    return pyotp.random_base32()


def totp_uri(name: str, totp_secret: str) -> str:
    """What an authenticator app reads, from the QR code or typed in."""
    return pyotp.TOTP(totp_secret).provisioning_uri(name=name, issuer_name=ISSUER)


def enrolling(config: Config, store: Store, code: str, now: float | None = None) -> str | None:
    """Whose enrolment code `code` is, while it works."""
    return store.desk.enrolling(_code_hash(config, code), int(time.time() if now is None else now))


def check_passphrase(passphrase: str, again: str) -> None:
    """EnrolmentRefused unless `passphrase` will do as a new one (asked before anything is spent)."""
    if len(passphrase.strip()) < MIN_PASSPHRASE:
        raise EnrolmentRefused(str(TOO_SHORT) % {"count": MIN_PASSPHRASE})
    if passphrase != again:
        raise EnrolmentRefused(str(NOT_THE_SAME))


def _confirmed_step(totp_secret: str, code: str, now: float) -> int:
    """The time step of a code from the new authenticator: proof it was added correctly."""
    step = _otp_step(pyotp.TOTP(totp_secret), code, now)
    if step is None:
        raise EnrolmentRefused(str(OTP_REFUSED))
    return step


def _seal(config: Config, totp_secret: str) -> bytes:
    return bytes(secret.SecretBox(config.desk_key).encrypt(totp_secret.encode("ascii")))


def enrol(config: Config, store: Store, code: str, passphrase: str, again: str,
          totp_secret: str, otp: str, now: float | None = None) -> str:
    """Use enrolment `code`: the responder's own passphrase and TOTP secret (confirmed by a
    code from it) become their login. Returns their name; EnrolmentRefused otherwise."""
    now = time.time() if now is None else now
    name = enrolling(config, store, code, now)
    if name is None:
        raise EnrolmentRefused(str(CODE_REFUSED))
    check_passphrase(passphrase, again)
    step = _confirmed_step(totp_secret, otp, now)
    if not store.desk.enrol(name, _code_hash(config, code), int(now), _hash(passphrase),
                            _seal(config, totp_secret), step):
        raise EnrolmentRefused(str(CODE_REFUSED))  # used meanwhile, in another tab
    store.desk.audit(name, ENROLLED)
    return name


def change_passphrase(store: Store, name: str, passphrase: str, again: str) -> None:
    """A new passphrase for a responder who has just authenticated again (`authenticate`)."""
    check_passphrase(passphrase, again)
    store.desk.set_credentials(name, password_hash=_hash(passphrase))
    store.desk.audit(name, CHANGED_PASSPHRASE)


def change_authenticator(config: Config, store: Store, name: str, totp_secret: str, otp: str,
                         now: float | None = None) -> None:
    """A new TOTP secret, confirmed by a code from it, for a responder who has just
    authenticated again (`authenticate`)."""
    now = time.time() if now is None else now
    step = _confirmed_step(totp_secret, otp, now)
    store.desk.set_credentials(name, sealed_totp=_seal(config, totp_secret))
    store.desk.claim_otp_step(name, step)
    store.desk.audit(name, CHANGED_AUTHENTICATOR)


def credentials_stamp(account: Account) -> str:
    """Names the account's current password and TOTP secret (a reset changes it), and
    reveals neither."""
    digest = hashlib.blake2b(bytes(account.password_hash) + bytes(account.sealed_totp),
                             digest_size=16, person=b"odbx-desk-login")
    return digest.hexdigest()


def _otp_step(totp: pyotp.TOTP, code: str, now: float) -> int | None:
    """The time step `code` belongs to, within one step either side of now."""
    code = "".join(code.split())
    for offset in (0, -1, 1):
        moment = now + offset * totp.interval
        if hmac.compare_digest(totp.at(moment), code):
            return int(moment // totp.interval)
    return None


def authenticate(config: Config, store: Store, name: str, password: str, code: str,
                 now: float | None = None) -> None:
    """Return if the login is good; otherwise raise LoginRefused.

    Lock guesses, not people. Every attempt costs one argon2id run, for a made-up name too
    (against a decoy hash), and a wrong password is only ever "refused": the answer, its
    time and any lock are the same for every name, and whoever can reach the desk cannot
    lock a colleague out. What is counted is a wrong code after the right password, the
    one guess worth limiting (a passphrase is not guessed online at one argon2id run a try);
    it is counted before it is checked, atomically, and five lock the codes for a while.

    Every refusal is in the audit, under the account's name if the name typed is one (the
    team's names are on the reporter site already), else under none: never what was typed."""
    now = time.time() if now is None else now
    account = store.desk.account(name) if name in {r.name for r in store.team.members()} else None
    # An account waiting for enrolment has no passphrase yet: it costs a run too.
    right = _verify(account.password_hash if account and account.enrolled else _decoy_hash(), password)
    if account is None or not account.enrolled or not right:
        _refuse(store, account, REFUSED)
    assert account is not None
    if not store.desk.reserve_code_guess(name, int(now), MAX_FAILURES, LOCK_SECONDS):
        _refuse(store, account, LOCKED)
    totp_secret = secret.SecretBox(config.desk_key).decrypt(account.sealed_totp).decode("ascii")
    step = _otp_step(pyotp.TOTP(totp_secret), code, now)
    if step is not None and store.desk.claim_otp_step(name, step):
        store.desk.update_account(name, failures=0, locked_until=0)
        return
    _refuse(store, account, REFUSED)


def _refuse(store: Store, account: Account | None, message) -> NoReturn:
    store.desk.audit(account.name if account else "", FAILED_LOGIN)
    raise LoginRefused(message)
