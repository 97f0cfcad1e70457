"""Field encryption for the platform tokens stored in the database.

A ``Vault`` is Fernet (AES-128-CBC + HMAC-SHA256, from ``cryptography``) under a key derived
with HKDF from the app's secret key (``plugin.config.secret_key``), so the embedded default
needs no second key file and every process of one deployment derives the same key. Changing
the secret key makes stored tokens unreadable: ``open`` then returns None and the shop is
asked to connect again (tokens can always be re-obtained). Identities cannot be re-obtained, so
they are sealed under a key of their own that can rotate (``plugin.withdrawals.keyring``).
"""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


class Vault:
    def __init__(self, secret_key: str):
        derived = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=b"fenxiao-field-encryption", info=b"platform-tokens-v1"
        ).derive(secret_key.encode("utf-8"))
        self._fernet = Fernet(base64.urlsafe_b64encode(derived))

    def seal(self, plaintext: str | None) -> str | None:
        if plaintext is None:
            return None
        return self._fernet.encrypt(plaintext.encode("utf-8")).decode("ascii")

    def open(self, sealed: str | None) -> str | None:
        """The plaintext, or None if there is none or it was sealed under another key."""
        if sealed is None:
            return None
        try:
            return self._fernet.decrypt(sealed.encode("ascii")).decode("utf-8")
        except InvalidToken:
            return None
