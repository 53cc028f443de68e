"""Desk accounts: a diceware password and a TOTP secret per responder, and the login check.

Passwords are stored as argon2id hashes (PyNaCl's `pwhash.argon2id.str`).
The TOTP secret must be readable by the server, so it is sealed with a key
derived from the instance's secrets: the database alone does not give it away.
A code is accepted once (the last used time step is remembered), and repeated
wrong codes after a right password lock the codes for a while (see `authenticate`).
"""
from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass
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
MAX_FAILURES = 5
LOCK_SECONDS = 15 * 60
# An online login: libsodium's interactive cost, the same as a reporter's codename.
OPSLIMIT = argon2id.OPSLIMIT_INTERACTIVE
MEMLIMIT = argon2id.MEMLIMIT_INTERACTIVE

REFUSED = _l("The name, password or code is wrong, or this code has been used already. "
             "Please try again with the next code.")
LOCKED = _l("This account is locked for a while after too many failed logins. "
            "Please try again later, or ask the operator.")


class LoginRefused(Exception):
    """A login that did not succeed; the message is what the person reads."""


@dataclass(frozen=True)
class Credentials:
    """What a responder is given once, on paper or a password manager and an authenticator."""
    name: str
    password: str
    totp_uri: str


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


def _new_credentials(config: Config, name: str) -> tuple[Credentials, bytes, bytes]:
    password, totp_secret = diceware.new_codename(), pyotp.random_base32()
    uri = pyotp.TOTP(totp_secret).provisioning_uri(name=name, issuer_name=ISSUER)
    sealed = bytes(secret.SecretBox(config.desk_key).encrypt(totp_secret.encode("ascii")))
    return Credentials(name, password, uri), _hash(password), sealed


def add_account(config: Config, store: Store, name: str, email: str = "") -> Credentials:
    credentials, password_hash, sealed = _new_credentials(config, name)
    store.desk.add_account(name, password_hash, sealed, email)
    return credentials


def reset_account(config: Config, store: Store, name: str) -> Credentials:
    """New password and TOTP secret; the old ones stop working and any lock is lifted."""
    credentials, password_hash, sealed = _new_credentials(config, name)
    store.desk.reset_account(name, password_hash, sealed)
    return credentials


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
    one guess worth limiting (a password of seven diceware words is not guessed online);
    it is counted before it is checked, atomically, and five lock the codes for a while."""
    now = time.time() if now is None else now
    account = store.desk.account(name) if name in {r.name for r in store.team.members()} else None
    right = _verify(account.password_hash if account else _decoy_hash(), password)
    if account is None or not right:
        raise LoginRefused(REFUSED)
    if not store.desk.reserve_code_guess(name, int(now), MAX_FAILURES, LOCK_SECONDS):
        raise LoginRefused(LOCKED)
    totp_secret = secret.SecretBox(config.desk_key).decrypt(account.sealed_totp).decode("ascii")
    step = _otp_step(pyotp.TOTP(totp_secret), code, now)
    if step is not None and store.desk.claim_otp_step(name, step):
        store.desk.update_account(name, failures=0, locked_until=0)
        return
    raise LoginRefused(REFUSED)
