"""Check 2 of the month-end reconciliation: the month's payouts against the ledger and against the
gateways' statements.

The month's payouts are the shop's ``Payout`` rows resolved (``resolved_at``, succeeded or
failed) within the month's shop-local bounds (``ix_payout_shop_status`` narrows them to the
shop's settled ones). Against the ledger (``plugin.withdrawals.postings``), found by their keys
through the unique ``(shop_id, key)`` index:

- a succeeded payout has its ``withdrawal:<id>:paid`` transaction, crediting the distributor's
  ``paid`` account with the payout's amount (its net), and no ``:return``
  (**paid_posting_missing**, **paid_posting_amount**, **posting_contradicts**);
- a failed payout has its ``withdrawal:<id>:return`` transaction, debiting ``payout_clearing``
  with the payout's amount, and no ``:paid`` (**return_missing**, **return_amount**,
  **posting_contradicts**);
- every ``withdrawal:<id>:paid`` transaction posted in the month belongs to a succeeded payout
  of its withdrawal, whenever that payout was resolved (**paid_posting_orphan**).

Statements (``--statement``, CSV: ``out_no,status,amount[,reference]``, a header naming the
columns in any order, extra columns ignored, UTF-8 with or without a BOM; status ``success`` /
``failed`` / ``processing`` or ``成功`` / ``失败`` / ``处理中``; amount a decimal string with at
most the currency's places) are read together, as one statement:

- a line whose ``out_no`` is no payout of the shop: **statement_unknown**;
- a payout succeeded in the month that no statement lists: **statement_missing** (so pass the
  statements of every gateway the shop paid through: a channel without one shows up here);
- a listed payout whose status differs (fenxiao's ``sending``/``pending`` is ``processing``) or
  whose amount differs from the payout's net: **status_differs**, **amount_differs**. Listed
  payouts are compared whatever month fenxiao resolved them in, or if it has not yet.
- One out_no on several lines: identical lines count once and a final status (success, failed)
  replaces ``processing`` at the same amount, since a later statement may settle what an
  earlier one showed in progress; lines that still disagree are a **statement_conflict**.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import String, cast, exists, func, literal, select
from sqlalchemy.orm import Session

from adapters.money import Money
from plugin.ledger.models import Account, AccountKind, LedgerEntry, LedgerTransaction
from plugin.reports.findings import Check, Discrepancy, money
from plugin.shops.models import Shop
from plugin.withdrawals.models import Payout, PayoutStatus

P = PayoutStatus
STATUSES = {
    "success": P.SUCCEEDED,
    "成功": P.SUCCEEDED,
    "failed": P.FAILED,
    "失败": P.FAILED,
    "processing": P.PENDING,
    "处理中": P.PENDING,
}
WORDS = {P.SUCCEEDED: "success", P.FAILED: "failed", P.PENDING: "processing"}
REQUIRED = ("out_no", "status", "amount")
CHUNK = 500  # out_nos per IN (...) lookup
NAME, TITLE = "payouts", "Payouts vs ledger and gateways"


class StatementError(ValueError):
    """A statement that cannot be read: the message names the file and line."""


@dataclass(frozen=True)
class StatementLine:
    source: str  # "file.csv:3"
    out_no: str
    status: str  # a PayoutStatus: succeeded, failed or pending
    amount: int  # minor units
    reference: str | None = None


def parse_statement(data: bytes, currency: str, name: str) -> list[StatementLine]:
    """The lines of one statement file.

    Raises:
        StatementError: not UTF-8, a missing column, an unknown status or a bad amount.
    """
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise StatementError(f"{name}: not UTF-8 text") from None
    rows = [(n, row) for n, row in enumerate(csv.reader(io.StringIO(text, newline="")), 1) if any(row)]
    if not rows:
        raise StatementError(f"{name}: empty (a statement starts with the header out_no,status,amount)")
    header_line, header = rows[0]
    columns = {title.strip().lower(): index for index, title in enumerate(header)}
    if missing := [column for column in REQUIRED if column not in columns]:
        raise StatementError(f"{name}:{header_line}: the header lacks {', '.join(missing)}")
    lines = []
    for number, row in rows[1:]:
        where = f"{name}:{number}"

        def cell(column: str, row=row, where=where) -> str:
            index = columns.get(column)
            if index is None or index >= len(row):
                if column == "reference":
                    return ""
                raise StatementError(f"{where}: no {column}")
            return row[index].strip()

        out_no, status, figure = cell("out_no"), cell("status"), cell("amount")
        if not out_no:
            raise StatementError(f"{where}: no out_no")
        if (mapped := STATUSES.get(status.lower())) is None:
            raise StatementError(f"{where}: unknown status {status!r} (success, failed or processing)")
        try:
            minor = Money.parse(figure, currency).minor
        except (ValueError, TypeError) as err:
            raise StatementError(f"{where}: amount {figure!r}: {err}") from None
        if minor < 0:
            raise StatementError(f"{where}: negative amount {figure!r}")
        lines.append(StatementLine(where, out_no, mapped, minor, cell("reference") or None))
    return lines


def merge(lines: list[StatementLine]) -> tuple[dict[str, StatementLine], list[Discrepancy]]:
    """One line per out_no (see the module docstring), and the out_nos whose lines disagree."""
    groups: dict[str, list[StatementLine]] = {}
    for line in lines:
        groups.setdefault(line.out_no, []).append(line)
    merged, conflicts = {}, []
    for out_no, group in groups.items():
        finals = {(line.status, line.amount) for line in group if line.status != P.PENDING}
        pending = {line.amount for line in group if line.status == P.PENDING}
        if len(finals) == 1 and pending <= {next(iter(finals))[1]}:
            merged[out_no] = next(line for line in group if line.status != P.PENDING)
        elif not finals and len(pending) == 1:
            merged[out_no] = group[0]
        else:
            merged[out_no] = None
            conflicts.append(
                Discrepancy(
                    "statement_conflict",
                    f"{out_no}: the statements disagree ({', '.join(line.source for line in group)})",
                    {"out_no": out_no, "lines": [line.source for line in group]},
                )
            )
    return merged, conflicts


def _key(withdrawal_id, step: str):
    return literal("withdrawal:") + cast(withdrawal_id, String) + literal(f":{step}")


def _posting(step: str):
    """The id of the payout's ``withdrawal:<id>:<step>`` transaction: one lookup in the unique
    ``(shop_id, key)`` index per payout (a join on the computed key would hash every posting)."""
    return (
        select(LedgerTransaction.id)
        .where(
            LedgerTransaction.shop_id == Payout.shop_id,
            LedgerTransaction.key == _key(Payout.withdrawal_id, step),
        )
        .correlate(Payout)
        .scalar_subquery()
    )


def _leg(transaction_id, kind: AccountKind, sign: int):
    """What the transaction moved on the accounts of ``kind`` (``sign`` -1: credits read positive)."""
    return (
        select(func.coalesce(func.sum(LedgerEntry.amount), 0) * sign)
        .join(Account, Account.id == LedgerEntry.account_id)
        .where(LedgerEntry.transaction_id == transaction_id, Account.kind == kind)
        .scalar_subquery()
    )


def payouts_check(
    session: Session, shop: Shop, start: datetime, end: datetime, statements: list[StatementLine] | None
) -> Check:
    """Check 2 over payouts resolved in ``[start, end)``: see the module docstring."""
    resolved = (
        select(
            Payout.id,
            Payout.out_no,
            Payout.withdrawal_id,
            Payout.status,
            Payout.amount,
            Payout.channel,
            _posting("paid").label("paid_id"),
            _posting("return").label("back_id"),
        )
        .where(
            Payout.shop_id == shop.id,
            Payout.status.in_([P.SUCCEEDED, P.FAILED]),
            Payout.resolved_at >= start,
            Payout.resolved_at < end,
        )
        .subquery()
    )
    c = resolved.c
    rows = session.execute(
        select(
            c.out_no,
            c.withdrawal_id,
            c.status,
            c.amount,
            c.channel,
            c.paid_id,
            _leg(c.paid_id, AccountKind.PAID, -1),
            c.back_id,
            _leg(c.back_id, AccountKind.PAYOUT_CLEARING, 1),
        ).order_by(c.id)
    ).all()
    found = []
    for out_no, withdrawal_id, status, net, _channel, paid_id, paid_amount, back_id, back_amount in rows:
        found += _against_ledger(
            shop.currency, out_no, withdrawal_id, status, net, paid_id, paid_amount, back_id, back_amount
        )
    found += _orphans(session, shop, start, end)
    succeeded = sum(1 for row in rows if row[2] == P.SUCCEEDED)
    detail = f"{len(rows)} payouts resolved ({succeeded} succeeded, {len(rows) - succeeded} failed)"
    if statements is None:
        return Check(NAME, TITLE, detail + "; statements were not given", tuple(found))
    merged, conflicts = merge(statements)
    found += conflicts
    month = {out_no: (status, net, channel) for out_no, _, status, net, channel, *_ in rows}
    found += _against_statements(session, shop, month, merged)
    detail += f"; {len(statements)} statement lines ({len(merged)} payouts) compared"
    return Check(NAME, TITLE, detail, tuple(found))


def _against_ledger(currency, out_no, withdrawal_id, status, net, paid_id, paid_amount, back_id, back_amount):
    found, data = [], {"out_no": out_no, "withdrawal_id": withdrawal_id, "status": status, "amount": net}
    expected, other = ("paid", "return") if status == P.SUCCEEDED else ("return", "paid")
    posted, moved = (paid_id, paid_amount) if status == P.SUCCEEDED else (back_id, back_amount)
    key = f"withdrawal:{withdrawal_id}:{expected}"
    if posted is None:
        kind = "paid_posting_missing" if status == P.SUCCEEDED else "return_missing"
        found.append(Discrepancy(kind, f"payout {out_no} {status}: no {key} transaction", data))
    elif moved != net:
        kind = "paid_posting_amount" if status == P.SUCCEEDED else "return_amount"
        found.append(
            Discrepancy(
                kind,
                f"payout {out_no} {status} for {money(net, currency)}: {key} moved {money(moved, currency)}",
                {**data, "posted": int(moved)},
            )
        )
    if (back_id if status == P.SUCCEEDED else paid_id) is not None:
        found.append(
            Discrepancy(
                "posting_contradicts",
                f"payout {out_no} {status} also has a withdrawal:{withdrawal_id}:{other} transaction",
                data,
            )
        )
    return found


def _orphans(session: Session, shop: Shop, start: datetime, end: datetime) -> list[Discrepancy]:
    succeeded = (
        select(Payout.id)
        .where(
            Payout.shop_id == shop.id,
            Payout.status == P.SUCCEEDED,
            _key(Payout.withdrawal_id, "paid") == LedgerTransaction.key,
        )
        .correlate(LedgerTransaction)
    )
    rows = session.execute(
        select(LedgerTransaction.id, LedgerTransaction.key).where(
            LedgerTransaction.shop_id == shop.id,
            LedgerTransaction.posted_at >= start,
            LedgerTransaction.posted_at < end,
            LedgerTransaction.key.like("withdrawal:%:paid"),
            ~exists(succeeded),
        )
    )
    return [
        Discrepancy(
            "paid_posting_orphan",
            f"transaction {txn_id} ({key}) paid a withdrawal that has no succeeded payout",
            {"transaction_id": txn_id, "key": key},
        )
        for txn_id, key in rows
    ]


def _against_statements(session, shop: Shop, month: dict, merged: dict) -> list[Discrepancy]:
    known = dict(month)
    others = [out_no for out_no in merged if out_no not in known]
    for offset in range(0, len(others), CHUNK):
        for out_no, status, net, channel in session.execute(
            select(Payout.out_no, Payout.status, Payout.amount, Payout.channel).where(
                Payout.shop_id == shop.id, Payout.out_no.in_(others[offset : offset + CHUNK])
            )
        ):
            known[out_no] = (status, net, channel)
    found = []
    for out_no, line in merged.items():
        if line is None:  # a statement_conflict
            continue
        data = {"out_no": out_no, "line": line.source}
        if out_no not in known:
            found.append(
                Discrepancy(
                    "statement_unknown",
                    f"{line.source}: {out_no} ({WORDS[line.status]}, {money(line.amount, shop.currency)})"
                    f" is no payout of shop {shop.id}",
                    {**data, "statement_status": WORDS[line.status], "statement_amount": line.amount},
                )
            )
            continue
        status, net, _channel = known[out_no]
        ours = P.PENDING if status == P.SENDING else P(status)
        if ours != line.status:
            found.append(
                Discrepancy(
                    "status_differs",
                    f"{line.source}: {out_no} is {WORDS[line.status]} in the statement, {status} in fenxiao",
                    {**data, "statement_status": WORDS[line.status], "status": status},
                )
            )
        if net != line.amount:
            found.append(
                Discrepancy(
                    "amount_differs",
                    f"{line.source}: {out_no} is {money(line.amount, shop.currency)} in the statement,"
                    f" {money(net, shop.currency)} in fenxiao",
                    {**data, "statement_amount": line.amount, "amount": net},
                )
            )
    for out_no, (status, net, channel) in month.items():
        if status == P.SUCCEEDED and out_no not in merged:
            found.append(
                Discrepancy(
                    "statement_missing",
                    f"{out_no} ({channel}, {money(net, shop.currency)}) succeeded in fenxiao"
                    " but is in no statement",
                    {"out_no": out_no, "channel": channel, "amount": net},
                )
            )
    return found
