"""Withdrawal Approval, writing: approving (two finance users above the shop's four-eyes
threshold, never the requester or the same user twice, the domain refusing a forged POST too),
the payout that follows the last approval (the app's jobs run inline, the gateway is a fake),
rejecting with a reason, and the bank batch file's round trip through the page."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import select

from plugin.audit.models import AuditEvent
from plugin.shops.models import Shop
from plugin.withdrawals import flow, requests
from tests.admin.conftest import post
from tests.admin.withdrawal_kit import CARD, fake_gateway, text_of, waiting
from tests.plugin.withdrawals import kit


@pytest.fixture
def gateway(monkeypatch):
    return fake_gateway(monkeypatch)


def events(database, action: str) -> list[AuditEvent]:
    with database.transaction() as session:
        return list(
            session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id))
        )


def approve(client, withdrawal_id: int):
    page = f"/admin/withdrawals/{withdrawal_id}"
    return post(client, f"{page}/approve", token_from=page)


def test_above_the_threshold_two_finance_users_approve_then_it_is_paid(as_role, database, shop, gateway):
    kit.configure(database, shop.id, second_approval_above=100_000)
    member, withdrawal = waiting(database, shop.id, "ann", 300_000)
    first, second = as_role("finance"), as_role("finance")

    reply = approve(first, withdrawal)
    assert reply.status_code == 302 and reply.headers["Location"] == f"/admin/withdrawals/{withdrawal}"
    page = first.get(f"/admin/withdrawals/{withdrawal}")
    html, text = page.get_data(as_text=True), text_of(page)
    assert "Your approval is recorded (1 of 2): a second finance user must approve it too." in text
    assert '<button type="button" disabled aria-describedby="approve-blocked">Approve</button>' in html
    assert "You approved this already: a second finance user must approve it." in text
    assert f'action="/admin/withdrawals/{withdrawal}/approve"' not in html
    assert kit.withdrawal(database, withdrawal).status == "verified" and gateway.submitted == []

    forged = approve(first, withdrawal)  # the button is disabled; the domain refuses a forged POST
    assert forged.status_code == 403
    assert 'role="alert">You approved this already: a second finance user must approve it.' in (
        forged.get_data(as_text=True)
    )
    assert len(events(database, "withdrawal.approved")) == 1
    assert kit.withdrawal(database, withdrawal).status == "verified"

    assert f'action="/admin/withdrawals/{withdrawal}/approve"' in second.get(
        f"/admin/withdrawals/{withdrawal}"
    ).get_data(as_text=True)
    assert approve(second, withdrawal).status_code == 302
    done = kit.withdrawal(database, withdrawal)
    assert done.status == "paid" and done.net == 300_000 - done.tax and done.tax > 0
    assert [(p.out_no.startswith(f"FX{shop.id}W{withdrawal}R"), p.amount) for p in gateway.submitted] == [
        (True, done.net)
    ]
    assert kit.balances(database, shop.id, member) == {
        "pending": 0,
        "available": 700_000,
        "withdrawing": 0,
        "paid": done.net,
        "arrears": 0,
    }
    approvals = events(database, "withdrawal.approved")
    assert [(e.actor, e.data["approval"], e.data["of"]) for e in approvals] == [
        (first.email, 1, 2),
        (second.email, 2, 2),
    ]
    text = text_of(second.get(f"/admin/withdrawals/{withdrawal}"))
    assert f"Withdrawal {withdrawal} is approved: its payout is on its way." in text
    assert "Approvals: 2 of 2." in text and first.email in text and second.email in text
    assert "succeeded" in text and f"ref-{gateway.submitted[0].out_no}" in text
    assert "the payout succeeded" in text


def test_the_requester_may_not_approve_their_own_withdrawal(as_role, database, shop, gateway):
    member = kit.distributor(database, shop.id, "ann")
    kit.credit(database, shop.id, member, 1_000_000)
    kit.enter_payee(database, shop.id, member)
    asker, other = as_role("finance"), as_role("admin")
    with database.transaction() as session:
        shop_row = session.get(Shop, shop.id)
        withdrawal = requests.request(session, shop_row, member, 20_000, actor=asker.email, now=kit.NOW).id
    assert flow.advance(database, kit.outside(), withdrawal, kit.NOW) == "verified"
    page = asker.get(f"/admin/withdrawals/{withdrawal}")
    assert "You asked for this withdrawal: someone else must approve it." in text_of(page)
    assert "disabled" in page.get_data(as_text=True)
    forged = approve(asker, withdrawal)
    assert forged.status_code == 403 and "You asked for this withdrawal" in text_of(forged)
    assert events(database, "withdrawal.approved") == [] and gateway.submitted == []
    assert approve(other, withdrawal).status_code == 302
    assert kit.withdrawal(database, withdrawal).status == "paid"


def test_a_withdrawal_not_waiting_for_approval_is_refused_with_a_409(as_role, database, shop, gateway):
    _, withdrawal = waiting(database, shop.id, "ann", 20_000)
    client = as_role("finance")
    assert approve(client, withdrawal).status_code == 302  # paid at once
    again = approve(as_role("admin"), withdrawal)
    assert again.status_code == 409
    assert "This withdrawal cannot be approved now. Its status: paid to the payee." in text_of(again)
    assert len(events(database, "withdrawal.approved")) == 1 and len(gateway.submitted) == 1


def test_the_refusal_reads_in_chinese(as_role, database, shop, gateway):
    kit.configure(database, shop.id, second_approval_above=100_000)
    _, withdrawal = waiting(database, shop.id, "ann", 300_000)
    client = as_role("finance", locale="zh_CN")
    assert approve(client, withdrawal).status_code == 302
    assert "已记录您的审核通过（1 / 2）" in text_of(client.get(f"/admin/withdrawals/{withdrawal}"))
    assert "您已审核通过过这笔提现" in text_of(approve(client, withdrawal))


def test_an_approval_without_the_csrf_token_is_refused(as_role, database, shop, gateway):
    _, withdrawal = waiting(database, shop.id, "ann", 20_000)
    reply = as_role("finance").post(f"/admin/withdrawals/{withdrawal}/approve", data={})
    assert reply.status_code == 400 and "The form expired" in reply.get_data(as_text=True)
    assert kit.withdrawal(database, withdrawal).status == "verified" and gateway.submitted == []


# Rejecting


def test_a_rejection_needs_a_reason_and_gives_the_amount_back(as_role, database, shop, gateway):
    member, withdrawal = waiting(database, shop.id, "ann", 20_000)
    client = as_role("finance")
    page = f"/admin/withdrawals/{withdrawal}"
    for reason in ("", "   "):
        refused = post(client, f"{page}/reject", {"reason": reason}, token_from=page)
        html = refused.get_data(as_text=True)
        assert refused.status_code == 400
        assert 'id="reason-errors"' in html and "Say why: the distributor sees the reason." in html
    assert kit.withdrawal(database, withdrawal).status == "verified"
    assert kit.balances(database, shop.id, member)["withdrawing"] == 20_000

    reply = post(client, f"{page}/reject", {"reason": "账户名与实名不符"}, token_from=page)
    assert reply.status_code == 302 and reply.headers["Location"] == page
    rejected = kit.withdrawal(database, withdrawal)
    assert (rejected.status, rejected.reason) == ("rejected", "账户名与实名不符")
    balances = kit.balances(database, shop.id, member)
    assert (balances["available"], balances["withdrawing"]) == (1_000_000, 0)
    assert [(e.actor, e.data["reason"]) for e in events(database, "withdrawal.rejected")] == [
        (client.email, "账户名与实名不符")
    ]
    after = client.get(page)
    assert "is rejected: the amount is back in the distributor's balance." in text_of(after)
    assert "/approve" not in after.get_data(as_text=True) and "/reject" not in after.get_data(as_text=True)
    late = approve(as_role("admin"), withdrawal)
    assert late.status_code == 409 and "Its status: rejected by review." in text_of(late)
    assert gateway.submitted == []


# The bank batch file


def rows(data: bytes) -> list[dict]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))


def upload(client, content: bytes | None):
    data = {} if content is None else {"file": (io.BytesIO(content), "result.csv")}
    return post(
        client,
        "/admin/withdrawals/bank-results",
        data,
        token_from="/admin/withdrawals/",
        content_type="multipart/form-data",
    )


def test_a_bank_batch_round_trip_through_the_page(as_role, database, shop, gateway):
    kit.configure(database, shop.id, channels=["wechat", "alipay", "bank"])
    member, withdrawal = waiting(database, shop.id, "ann", 300_000, channel="bank")
    client = as_role("finance")
    assert approve(client, withdrawal).status_code == 302
    assert kit.withdrawal(database, withdrawal).status == "paying" and gateway.submitted == []
    assert "Bank payouts waiting for a batch file: 1." in text_of(client.get("/admin/withdrawals/"))
    # the same person through another account: approved, it waits for the bank's answer (tax)
    _, later = waiting(database, shop.id, "ann-2", 100_000, channel="bank", account="6222020200112233447")
    assert approve(client, later).status_code == 302
    assert kit.withdrawal(database, later).status == "approved"
    page = text_of(client.get(f"/admin/withdrawals/{later}"))
    assert f"Approved, waiting for the payout of the same person's withdrawal #{withdrawal} ." in page
    assert "It is sent once that one is answered: its tax depends on whether that one was paid." in page

    batch = post(client, "/admin/withdrawals/bank-batch", token_from="/admin/withdrawals/")
    assert batch.status_code == 200
    assert batch.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert batch.headers["Content-Disposition"].startswith(f'attachment; filename="bank-batch-{shop.id}-')
    assert batch.headers["Cache-Control"] == "no-store"
    (line,) = rows(batch.data)
    net = kit.withdrawal(database, withdrawal).net
    assert (line["payee_name"], line["payee_account"], line["amount"]) == ("王小明", CARD, f"{net / 100:.2f}")
    assert [e.actor for e in events(database, "payout.bank_batch_exported")] == [client.email]

    empty = post(client, "/admin/withdrawals/bank-batch", token_from="/admin/withdrawals/")
    assert empty.status_code == 302
    assert "No bank payout is waiting for a batch file." in text_of(client.get("/admin/withdrawals/"))
    assert len(events(database, "payout.bank_batch_exported")) == 1  # an empty batch changes nothing
    again = post(client, "/admin/withdrawals/bank-batch", {"again": "y"}, token_from="/admin/withdrawals/")
    assert [r["out_no"] for r in rows(again.data)] == [line["out_no"]]

    bad = f"out_no,status,bank_reference,reason\n{line['out_no']},成功,B-1,\nFX999W1Rdeadbeef,成功,B-2,\n"
    refused = upload(client, bad.encode())
    assert refused.status_code == 400
    assert (
        "The file was refused and nothing was applied. line 3: FX999W1Rdeadbeef is not a payout"
        in text_of(refused)
    )
    assert kit.withdrawal(database, withdrawal).status == "paying"
    assert events(database, "payout.bank_results_imported") == []
    missing = upload(client, None)
    assert missing.status_code == 400 and "Choose the bank's result file." in text_of(missing)

    good = f"out_no,status,bank_reference,reason\n{line['out_no']},成功,B-1,\n"
    assert upload(client, good.encode()).status_code == 302
    assert "The bank's results are applied: 1 paid, 0 failed, 0 still waiting." in text_of(
        client.get("/admin/withdrawals/")
    )
    assert kit.withdrawal(database, withdrawal).status == "paid"
    assert kit.balances(database, shop.id, member)["paid"] == net
    assert "Reference B-1" in text_of(client.get(f"/admin/withdrawals/{withdrawal}"))
    flow.sweep(database, kit.outside(), kit.NOW)  # answered: the next sweep makes the waiting payout
    assert kit.withdrawal(database, later).status == "paying"
    assert "waiting for the payout" not in text_of(client.get(f"/admin/withdrawals/{later}"))


@pytest.mark.parametrize("role", ("viewer", "operator"))
def test_only_finance_and_admin_touch_the_bank_files(as_role, database, shop, role):
    client = as_role(role)
    assert post(client, "/admin/withdrawals/bank-batch", token_from="/admin/").status_code == 403
    reply = post(
        client,
        "/admin/withdrawals/bank-results",
        {"file": (io.BytesIO(b"out_no,status,bank_reference,reason\n"), "r.csv")},
        token_from="/admin/",
        content_type="multipart/form-data",
    )
    assert reply.status_code == 403
    assert events(database, "payout.bank_batch_exported") == []
    assert events(database, "payout.bank_results_imported") == []
