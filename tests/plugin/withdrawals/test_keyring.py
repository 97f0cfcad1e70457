"""The identity keyring: its own keys, rotation without losing what was sealed, a file by default."""

from __future__ import annotations

import json
import os

import pytest
from cryptography.fernet import Fernet

from plugin.config import Config
from plugin.errors import InvalidConfig
from plugin.withdrawals import keyring


def test_a_new_key_seals_and_the_old_one_still_opens(tmp_path, monkeypatch):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    sealed = keyring.Keyring([old], "pepper").seal("110105194912310021")
    ring = keyring.Keyring([new, old], "pepper")
    assert ring.open(sealed) == "110105194912310021"
    resealed = ring.reseal(sealed)
    assert keyring.Keyring([new], "pepper").open(resealed) == "110105194912310021"
    assert keyring.Keyring([old], "pepper").open(resealed) is None


def test_the_environment_must_give_keys_and_pepper_together(monkeypatch):
    monkeypatch.setenv("FENXIAO_IDENTITY_KEYS", Fernet.generate_key().decode())
    monkeypatch.delenv("FENXIAO_IDENTITY_PEPPER", raising=False)
    with pytest.raises(InvalidConfig, match="both"):
        keyring.keyring(Config())
    monkeypatch.setenv("FENXIAO_IDENTITY_KEYS", "not-a-key")
    monkeypatch.setenv("FENXIAO_IDENTITY_PEPPER", "p")
    with pytest.raises(InvalidConfig, match="not a Fernet key"):
        keyring.keyring(Config())


def test_the_embedded_default_keeps_its_keys_in_a_private_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FENXIAO_IDENTITY_KEYS", raising=False)
    monkeypatch.delenv("FENXIAO_IDENTITY_PEPPER", raising=False)
    sealed = keyring.keyring(Config()).seal("王小明")
    assert os.stat(keyring.KEYS_FILE).st_mode & 0o777 == 0o600
    added = keyring.add_key()
    stored = json.loads((tmp_path / keyring.KEYS_FILE).read_text())
    assert stored["keys"][0] == added and len(stored["keys"]) == 2
    again = keyring.keyring(Config())
    assert again.open(sealed) == "王小明"
    assert again.pepper == stored["pepper"]
