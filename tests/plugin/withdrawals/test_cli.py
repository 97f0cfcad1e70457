"""``fenxiao withdrawals``: settings, credentials, the sweep, and rotating the identity key."""

from __future__ import annotations

import json

import pytest
from cryptography.fernet import Fernet

from plugin.withdrawals.keyring import TESTING_KEY, Keyring
from plugin.withdrawals.models import Payee
from tests.plugin.withdrawals import kit
from tests.plugin.withdrawals.kit import NOW, ask, credit, distributor, enter_payee, withdrawal


@pytest.fixture(autouse=True)
def test_keys(monkeypatch):
    """Commands read the keyring from the environment: the one the test data is sealed with."""
    monkeypatch.setenv("FENXIAO_IDENTITY_KEYS", TESTING_KEY)
    monkeypatch.setenv("FENXIAO_IDENTITY_PEPPER", kit.KEYS.pepper)


def test_settings_are_shown_and_changed_with_validation(runner, shop):
    shown = runner(
        "withdrawals", "settings", "--shop", str(shop.id), "--set", "daily=500000", "--set", "tax_policy=off"
    )
    assert shown.exit_code == 0, shown.output
    values = json.loads(shown.output)
    assert (values["daily"], values["tax_policy"], values["channels"]) == (
        500000,
        "off",
        ["wechat", "alipay"],
    )
    refused = runner("withdrawals", "settings", "--shop", str(shop.id), "--set", 'channels=["paypal"]')
    assert refused.exit_code == 1 and "channels must be some of wechat, alipay, bank" in refused.output


def test_unreadable_credentials_are_refused(runner, shop, tmp_path):
    path = tmp_path / "alipay.json"
    path.write_text(json.dumps({"app_id": "1", "app_private_key": "x", "alipay_public_key": "y"}))
    result = runner("withdrawals", "gateway", "--shop", str(shop.id), "alipay", str(path))
    assert result.exit_code == 1 and "alipay credentials are refused" in result.output


def test_the_sweep_verifies_what_waits(runner, database, shop):
    member = distributor(database, shop.id, "ann")
    credit(database, shop.id, member, 10_000)
    enter_payee(database, shop.id, member)
    withdrawal_id = ask(database, shop.id, member, 5_000, now=NOW)
    result = runner("withdrawals", "sweep")
    assert result.exit_code == 0 and "moved on 1" in result.output
    assert withdrawal(database, withdrawal_id).status == "verified"


def test_a_new_key_then_reseal_keeps_identities_readable_under_it(runner, database, shop, monkeypatch):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    monkeypatch.setenv("FENXIAO_IDENTITY_PEPPER", "pepper")
    monkeypatch.setenv("FENXIAO_IDENTITY_KEYS", old)
    monkeypatch.setattr(kit, "KEYS", Keyring([old], "pepper"))
    member = distributor(database, shop.id, "ann")
    enter_payee(database, shop.id, member)
    printed = runner("withdrawals", "new-key")
    assert printed.exit_code == 0 and len(printed.output.strip()) == 44
    monkeypatch.setenv("FENXIAO_IDENTITY_KEYS", f"{new},{old}")
    assert "sealed 1 payee(s)" in runner("withdrawals", "reseal").output
    with database.transaction() as session:
        payee = session.query(Payee).one()
        assert Keyring([new], "pepper").open(payee.id_number_sealed) == kit.ID_A
        assert Keyring([old], "pepper").open(payee.id_number_sealed) is None
