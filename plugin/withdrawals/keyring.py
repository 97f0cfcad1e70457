"""The key that seals distributors' identities and payout accounts, kept apart from the app's
secret key and able to rotate.

Identities cannot be fetched again the way platform tokens can, so they are not sealed under the
app's secret key (which an operator may change to log everyone out). They use a keyring:

- ``FENXIAO_IDENTITY_KEYS``: Fernet keys separated by commas, the newest first. New seals use the
  first; any of them opens (``MultiFernet``), so rotating is: put a new key first, run
  ``fenxiao identity reseal`` (every stored identity sealed again under it), then drop the old.
- ``FENXIAO_IDENTITY_PEPPER``: the HMAC key of the ID-number hashes that find one person's
  payouts for the monthly tax. It never rotates: a new pepper would split a person's month.
- Neither set (the embedded default): both live in ``fenxiao-identity.keys`` beside the SQLite
  file (mode 0600, made on first use); ``fenxiao identity new-key`` adds a key there. Back the
  file up with the database: without it the identities are unreadable.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets

from cryptography.fernet import Fernet, MultiFernet

from plugin.config import Config
from plugin.errors import InvalidConfig
from plugin.platforms.vault import Vault

KEYS_FILE = "fenxiao-identity.keys"
TESTING_KEY = "ZmVueGlhby10ZXN0aW5nLWlkZW50aXR5LWtleS0wMDA="  # 32 bytes, testing only


class Keyring(Vault):
    """Seal and open identity fields (``Vault``'s ``seal``/``open`` under a ``MultiFernet``);
    ``pepper`` keys the ID-number hashes."""

    def __init__(self, keys: list[str], pepper: str):
        if not keys or not pepper:
            raise InvalidConfig("the identity keyring needs at least one key and a pepper")
        try:
            self._fernet = MultiFernet([Fernet(key.encode("ascii")) for key in keys])
        except (ValueError, UnicodeEncodeError):
            raise InvalidConfig("FENXIAO_IDENTITY_KEYS holds a key that is not a Fernet key") from None
        self.pepper = pepper

    def reseal(self, sealed: str) -> str:
        """``sealed`` sealed again under the newest key (``InvalidToken`` if no key opens it)."""
        return self._fernet.rotate(sealed.encode("ascii")).decode("ascii")


def keyring(config: Config) -> Keyring:
    """The deployment's keyring: from the environment, or the embedded default's key file."""
    keys = os.environ.get("FENXIAO_IDENTITY_KEYS")
    pepper = os.environ.get("FENXIAO_IDENTITY_PEPPER")
    if keys or pepper:
        if not (keys and pepper):
            raise InvalidConfig("set both FENXIAO_IDENTITY_KEYS and FENXIAO_IDENTITY_PEPPER, or neither")
        return Keyring([key.strip() for key in keys.split(",") if key.strip()], pepper)
    if config.testing:
        return Keyring([TESTING_KEY], "testing-only-pepper")
    stored = _read_or_make_file()
    return Keyring(stored["keys"], stored["pepper"])


def add_key() -> str:
    """Put a new key first in the key file (the embedded default); returns it."""
    stored = _read_or_make_file()
    key = Fernet.generate_key().decode("ascii")
    stored["keys"].insert(0, key)
    _write(stored, replace=True)
    return key


def _read_or_make_file() -> dict:
    with contextlib.suppress(FileExistsError):
        _write({"keys": [Fernet.generate_key().decode("ascii")], "pepper": secrets.token_urlsafe(32)})
    with open(KEYS_FILE) as existing:
        return json.load(existing)


def _write(stored: dict, *, replace: bool = False) -> None:
    if replace:
        temporary = f"{KEYS_FILE}.new"
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as new:
            json.dump(stored, new)
        os.replace(temporary, KEYS_FILE)
        return
    fd = os.open(KEYS_FILE, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as new:
        json.dump(stored, new)
