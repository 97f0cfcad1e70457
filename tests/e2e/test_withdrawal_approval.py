"""The withdrawal workflow end to end, in the browser: a distributor of the demo shop asks through
the storefront API for ¥1,000.00 (above the shop's four-eyes threshold), the job thread verifies
the payee, two finance users approve it in the Withdrawal Approval tab (the first may not approve
twice), the payout goes to a loopback Alipay (``FakeAlipay``, real RSA2 signatures both ways) and
the withdrawal's page shows it paid, with the tax withheld, the net and the member's balances
agreeing with the API's wallet and with what the gateway received.

The shop is set up as its operator would, with ``fenxiao`` commands in the workbench's working
directory: the withdrawal settings, the Alipay credentials and the two finance users.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from decimal import Decimal

import pytest
import requests
from playwright.sync_api import expect

from plugin.cli.demo_data import CUSTOMER_BASE, DISTRIBUTORS
from plugin.cli.fake_payouts import TRANSFER, FakeAlipay
from tests.e2e.conftest import CLEAN_ENV, screenshot
from tests.integration.stack import FENXIAO

pytestmark = pytest.mark.browser

AMOUNT = "1000.00"  # labour remuneration: (1000 − 800) × 20 % = 40.00 withheld
TAX, NET = "40.00", "960.00"
FOUR_EYES_ABOVE = 50_000  # fen: every withdrawal above ¥500.00 needs two approvals
FINANCE = [
    ("finance-one@example.com", "first-finance-pw-1"),
    ("finance-two@example.com", "second-finance-pw-2"),
]
PAYEE = {
    "real_name": "王小明",
    "id_number": "11010519491231002X",
    "channel": "alipay",
    "account": "ann@example.com",
}
WAIT_SECONDS = 30


def fenxiao(workbench, *args: str, stdin: str = "") -> str:
    """Run one ``fenxiao`` command as the workbench's operator (its directory and environment)."""
    env = {name: value for name, value in os.environ.items() if name not in CLEAN_ENV}
    env.update({name: value for name, value in CLEAN_ENV.items() if value is not None})
    result = subprocess.run(
        [FENXIAO, *args],
        input=stdin,
        env=env,
        cwd=workbench["workdir"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, f"fenxiao {' '.join(args)} exited {result.returncode}:\n{result.stderr}"
    return result.stdout


class Storefront:
    """The shop's storefront: the JSON API with the demo shop's key."""

    def __init__(self, workbench):
        demo = workbench["demo"]
        self.base = f"{workbench['base_url']}/api/v1/shops/{demo['shop_id']}"
        self.headers = {"X-Api-Key": demo["api_key"]}

    def call(self, method: str, path: str, **kwargs) -> requests.Response:
        return requests.request(method, self.base + path, headers=self.headers, timeout=10, **kwargs)

    def wallet(self, member_id: int) -> dict:
        reply = self.call("GET", f"/members/{member_id}/wallet")
        assert reply.status_code == 200, reply.text
        return reply.json()

    def withdrawal(self, withdrawal_id: int) -> dict:
        reply = self.call("GET", f"/withdrawals/{withdrawal_id}")
        assert reply.status_code == 200, reply.text
        return reply.json()


def richest_distributor(store: Storefront) -> int:
    """The demo distributor with the most to withdraw, once one has ``AMOUNT`` (the settlement
    sweep makes the demo's old commissions available within seconds of the start)."""
    members = []
    for index in range(len(DISTRIBUTORS)):
        identity = {"platform": "shopify", "external_id": str(CUSTOMER_BASE - 1 - index)}
        reply = store.call("POST", "/members", json=identity)
        assert reply.status_code == 201, reply.text
        members.append(reply.json()["member_id"])
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        best = max(members, key=lambda member: Decimal(store.wallet(member)["withdrawable"]))
        if Decimal(store.wallet(best)["withdrawable"]) >= Decimal(AMOUNT):
            return best
        if time.monotonic() > deadline:
            raise AssertionError(f"no demo distributor has ¥{AMOUNT} to withdraw after {WAIT_SECONDS} s")
        time.sleep(0.5)


def wait_for_status(store: Storefront, withdrawal_id: int, status: str) -> dict:
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        found = store.withdrawal(withdrawal_id)
        if found["status"] == status:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(
                f"withdrawal {withdrawal_id} is {found['status']!r}, not {status!r}, after {WAIT_SECONDS} s"
            )
        time.sleep(0.2)


def log_in_as(page, base: str, email: str, password: str) -> None:
    """Log in from the Withdrawal Approval tab's address (the login comes back to it)."""
    page.goto(base + "/admin/withdrawals/")
    assert page.url.startswith(base + "/admin/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(base + "/admin/withdrawals/")


def log_out(page) -> None:
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url("**/admin/login")


def cards(page, selector: str) -> dict[str, str]:
    """The label → value of each card in the first ``.cards`` matched by ``selector``."""
    found = page.locator(selector).first.locator(".card")
    return {
        found.nth(i).locator(".label").inner_text(): found.nth(i).locator(".value").inner_text()
        for i in range(found.count())
    }


def facts(page, heading: str) -> dict[str, str]:
    """The row heading → cell of the facts table labelled by the ``heading``."""
    rows = page.locator(f'table[aria-labelledby="{heading}"] tr')
    return {
        rows.nth(i).locator("th").inner_text(): rows.nth(i).locator("td").inner_text()
        for i in range(rows.count())
    }


def yuan(amount: str) -> str:
    """An API amount as the workbench shows it in English."""
    return f"¥{Decimal(amount):,.2f}"


@pytest.fixture
def alipay():
    fake = FakeAlipay()
    yield fake
    fake.stop()


def set_up_the_shop(workbench, alipay: FakeAlipay) -> None:
    """What the shop's operator runs: Alipay only, four-eyes above ¥500.00, no auto-approval,
    no fee, the labour-remuneration withholding; the loopback Alipay's credentials; two finance
    users."""
    shop = str(workbench["demo"]["shop_id"])
    changes = {
        "channels": ["alipay"],
        "second_approval_above": FOUR_EYES_ABOVE,
        "auto_approve_up_to": None,
        "fee_fixed": 0,
        "fee_percent": "0",
        "tax_policy": "labour_remuneration",
    }
    options = [part for name, value in changes.items() for part in ("--set", f"{name}={json.dumps(value)}")]
    shown = json.loads(fenxiao(workbench, "withdrawals", "settings", "--shop", shop, *options))
    assert {name: shown[name] for name in changes} == changes
    credentials = json.dumps(alipay.credentials())
    stored = fenxiao(workbench, "withdrawals", "gateway", "--shop", shop, "alipay", "-", stdin=credentials)
    assert stored == f"alipay credentials stored for shop {shop}\n"
    for email, password in FINANCE:
        add = ("user", "add", "--shop", shop, "--email", email, "--role", "finance", "--password-stdin")
        added = fenxiao(workbench, *add, stdin=password + "\n")
        assert added.endswith(f"{email}: shop {shop} as finance; log in at /admin/login\n")


def test_two_finance_users_approve_and_the_payout_reaches_the_gateway(page, workbench, alipay):
    base = workbench["base_url"]
    set_up_the_shop(workbench, alipay)

    # The storefront: the distributor enters the payee and asks to withdraw.
    store = Storefront(workbench)
    member = richest_distributor(store)
    before = store.wallet(member)["balances"]
    payee = store.call("PUT", f"/members/{member}/payee", json=PAYEE)
    assert payee.status_code == 200, payee.text
    assert (payee.json()["masked_account"], payee.json()["status"]) == ("a***@example.com", "pending")
    asked = store.call(
        "POST", f"/members/{member}/withdrawals", json={"amount": AMOUNT, "request_id": "e2e-1"}
    )
    assert asked.status_code == 201, asked.text
    withdrawal_id = asked.json()["id"]
    verified = wait_for_status(store, withdrawal_id, "verified")
    assert verified["approvals"] == {"needed": 2, "given": 0}
    assert [step["step"] for step in verified["progress"] if step["done"]] == ["requested", "verified"]

    # Finance user 1 finds it in the queue (waiting for approval) and approves it.
    log_in_as(page, base, *FINANCE[0])
    row = page.locator("tbody tr", has=page.get_by_role("link", name=f"#{withdrawal_id}", exact=True))
    assert row.locator("td").nth(2).inner_text() == yuan(AMOUNT)
    assert row.locator("td").nth(9).inner_text() == "0 of 2"
    screenshot(page, "en-withdrawals-queue")
    row.get_by_role("link", name=f"#{withdrawal_id}", exact=True).click()
    page.wait_for_url(f"{base}/admin/withdrawals/{withdrawal_id}")
    page.get_by_role("button", name="Approve").click()
    recorded = "Your approval is recorded (1 of 2): a second finance user must approve it too."
    expect(page.get_by_role("main").get_by_text(recorded)).to_be_visible()
    expect(page.get_by_text("Approvals: 1 of 2.")).to_be_visible()
    screenshot(page, "en-withdrawal-first-approval")

    # The same person may not approve twice: the button is disabled, and a forged POST is refused.
    expect(page.get_by_role("button", name="Approve")).to_be_disabled()
    assert page.locator("#approve-blocked").inner_text() == (
        "You approved this already: a second finance user must approve it."
    )
    token = page.locator('input[name="csrf_token"]').first.get_attribute("value")
    forged = page.request.post(
        f"{base}/admin/withdrawals/{withdrawal_id}/approve", form={"csrf_token": token}
    )
    assert forged.status == 403
    assert "You approved this already: a second finance user must approve it." in forged.text()
    still = store.withdrawal(withdrawal_id)
    assert (still["status"], still["approvals"]) == ("verified", {"needed": 2, "given": 1})
    assert alipay.received == []
    log_out(page)

    # Finance user 2 gives the second approval: the payout goes to the gateway.
    log_in_as(page, base, *FINANCE[1])
    page.goto(f"{base}/admin/withdrawals/{withdrawal_id}")
    page.get_by_role("button", name="Approve").click()
    approved = f"Withdrawal {withdrawal_id} is approved: its payout is on its way."
    expect(page.get_by_role("main").get_by_text(approved)).to_be_visible()
    paid = wait_for_status(store, withdrawal_id, "paid")
    deadline = time.monotonic() + WAIT_SECONDS
    while page.locator("h1 .badge").inner_text() != "paid to the payee":
        if time.monotonic() > deadline:
            raise AssertionError(
                f"the page of withdrawal {withdrawal_id} still shows "
                f"{page.locator('h1 .badge').inner_text()!r} after {WAIT_SECONDS} s"
            )
        time.sleep(0.3)
        page.reload()
    screenshot(page, "en-withdrawal-paid")

    # What the page shows agrees with the API, the ledger and the gateway.
    assert (paid["amount"], paid["fee"], paid["tax"], paid["net"]) == (AMOUNT, "0.00", TAX, NET)
    assert paid["approvals"] == {"needed": 2, "given": 2}
    assert cards(page, "h1 ~ div.cards") == {
        "Amount": yuan(AMOUNT),
        "Fee": yuan("0.00"),
        "Tax withheld": yuan(paid["tax"]),
        "Net to the payee": yuan(paid["net"]),
    }
    approvers = page.locator('table[aria-labelledby="approvals-heading"] tbody tr td:first-child')
    assert approvers.all_inner_texts() == [email for email, _ in FINANCE]
    payout = facts(page, "payout-heading")
    assert (payout["Status"], payout["Amount"], payout["Attempts"]) == ("succeeded", yuan(NET), "1")
    transfers = [biz for method, biz in alipay.received if method == TRANSFER]
    assert [(biz["out_biz_no"], biz["trans_amount"], biz["payee_info"]) for biz in transfers] == [
        (
            payout["Payout number"],
            NET,
            {"identity": PAYEE["account"], "identity_type": "ALIPAY_LOGON_ID", "name": PAYEE["real_name"]},
        )
    ]
    assert len(alipay.received) == 1  # paid on the first answer: no query was needed
    assert payout["Reference"] == alipay.orders[payout["Payout number"]][0]

    after = store.wallet(member)["balances"]
    shown = cards(page, 'h2:text-is("The member\'s balances") + div.cards')
    assert shown == {
        "Pending": yuan(after["pending"]),
        "Available": yuan(after["available"]),
        "Withdrawing": yuan(after["withdrawing"]),
        "Paid out": yuan(after["paid"]),
        "Arrears": yuan(after["arrears"]),
    }
    # The settlement sweep may move commission from pending to available meanwhile: their sum
    # is what the withdrawal took the whole amount from.
    settled = Decimal(after["available"]) + Decimal(after["pending"])
    assert settled == Decimal(before["available"]) + Decimal(before["pending"]) - Decimal(AMOUNT)
    assert (after["withdrawing"], after["arrears"]) == (before["withdrawing"], before["arrears"])
    assert Decimal(after["paid"]) == Decimal(before["paid"]) + Decimal(NET)
