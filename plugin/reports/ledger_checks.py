"""Check 1 of the month-end reconciliation: the ledger's integrity up to the month's end, and the
stored day figures against the ledger.

Over every transaction of the shop posted before the month's end (``ix_ledger_transaction_
shop_posted``), joined to its entries (``ledger_entry.transaction_id``) and their accounts:

- **unbalanced_transaction**: a transaction whose entries in one currency do not sum to zero
  (``journal.unbalanced_transactions``' definition, bounded by the month's end, per currency);
- **mixed_currencies**: a transaction with entries in several currencies (``journal.post``
  refuses them);
- **foreign_entry**: an account with entries in another currency than its own, or entries or
  an account of another shop under this shop's transactions;
- **shop_total_not_zero**: the shop's entries in a currency do not sum to zero;
- **wrong_sign**: a distributor account (member ≠ 0) whose balance at the month's end is of
  the impossible sign: ``pending``, ``available``, ``withdrawing`` and ``paid`` are
  credit-normal and never owe the shop (entries' sum ≤ 0); ``arrears`` is debit-normal and
  never negative (sum ≥ 0). Balances are checked at the month's end, not at every posting.
- **day_figures_differ**: a stored ``DayFigures`` row whose ledger figures (``payable_change``,
  ``paid_change``) differ from the ledger's now, as ``figures.day_figures(..., ledger=True)``
  defines them (``ledger_days``: the same query for the whole month at once; a test holds the
  two equal). A day without a row counts as zeros. Only days the sweep has covered are compared (the day ended
  before the shop's ``FiguresMark.covered_until``, cut in the shop's current time zone); later
  days are counted as not swept yet, not as discrepancies. The order figures of the stored
  days are not compared: they are not the ledger's.

Cost: two aggregate passes over the entries (one grouped per transaction, one per
account; the per-account pass is a CTE read twice, which PostgreSQL computes once), then one
over the month's postings (``ix_ledger_transaction_shop_posted``) grouped per day.
Nothing loops over entries in Python: only over the rows a ``HAVING`` or ``WHERE`` let through.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import and_, case, func, literal, null, or_, select, union_all
from sqlalchemy.orm import Session

from plugin.ledger.models import SHOP_OWNER, Account, AccountKind, LedgerEntry, LedgerTransaction
from plugin.reports.figures import day_start, zone_of
from plugin.reports.findings import Check, Discrepancy, money
from plugin.reports.models import DayFigures, FiguresMark
from plugin.shops.models import Shop

CREDIT_NORMAL = (AccountKind.PENDING, AccountKind.AVAILABLE, AccountKind.WITHDRAWING, AccountKind.PAID)
LEDGER_FIGURES = ("payable_change", "paid_change")


def ledger_check(session: Session, shop: Shop, first: date, last: date) -> Check:
    """Check 1 for the month ``first``..``last`` (shop-local days): see the module docstring."""
    zone = zone_of(shop)
    end = day_start(zone, last + timedelta(days=1))
    found = [*_unbalanced(session, shop.id, end)]
    accounts, totals = _per_account(session, shop.id, end)
    found += accounts
    entries = sum(count for _, _, count in totals)
    for currency, total, _ in totals:
        if total:
            found.append(
                Discrepancy(
                    "shop_total_not_zero",
                    f"the shop's {currency} entries sum to {money(total, currency)}, not zero",
                    {"currency": currency, "total": total},
                )
            )
    compared, not_swept, days = _day_figures(session, shop, first, last)
    found += days
    detail = f"{entries} entries up to {last.isoformat()} checked"
    detail += f"; {compared} days of stored figures compared"
    if not_swept:
        detail += f", {not_swept} not swept yet"
    return Check("ledger", "Ledger integrity", detail, tuple(found))


def _posted_before(shop_id: int, end: datetime):
    return (LedgerTransaction.shop_id == shop_id, LedgerTransaction.posted_at < end)


def _unbalanced(session: Session, shop_id: int, end: datetime) -> list[Discrepancy]:
    """The transactions that do not balance or mix currencies: one pass grouped per transaction
    alone, then their sums per currency for the few it found."""
    flagged = list(
        session.scalars(
            select(LedgerEntry.transaction_id)
            .join(LedgerTransaction, LedgerTransaction.id == LedgerEntry.transaction_id)
            .where(*_posted_before(shop_id, end))
            .group_by(LedgerEntry.transaction_id)
            .having(
                or_(
                    func.sum(LedgerEntry.amount) != 0,
                    func.min(LedgerEntry.currency) != func.max(LedgerEntry.currency),
                )
            )
        )
    )
    sums: dict[tuple[int, str], list[tuple[str, int]]] = {}
    for offset in range(0, len(flagged), 500):
        for txn_id, key, currency, total in session.execute(
            select(LedgerTransaction.id, LedgerTransaction.key, LedgerEntry.currency)
            .add_columns(func.sum(LedgerEntry.amount))
            .join(LedgerEntry, LedgerEntry.transaction_id == LedgerTransaction.id)
            .where(LedgerTransaction.id.in_(flagged[offset : offset + 500]))
            .group_by(LedgerTransaction.id, LedgerTransaction.key, LedgerEntry.currency)
        ):
            sums.setdefault((txn_id, key), []).append((currency, int(total)))
    found = []
    for (txn_id, key), totals in sorted(sums.items()):
        totals.sort()
        data = {"transaction_id": txn_id, "key": key, "sums": dict(totals)}
        subject = f"transaction {txn_id} ({key})"
        for currency, total in totals:
            if total:
                found.append(
                    Discrepancy(
                        "unbalanced_transaction",
                        f"{subject} does not balance: its {currency} entries sum to {money(total, currency)}",
                        {**data, "currency": currency, "sum": total},
                    )
                )
        if len(totals) > 1:
            currencies = " and ".join(currency for currency, _ in totals)
            found.append(Discrepancy("mixed_currencies", f"{subject} mixes {currencies}", data))
    return found


def _per_account(session: Session, shop_id: int, end: datetime) -> tuple[list[Discrepancy], list[tuple]]:
    """(the accounts of the wrong sign or with foreign entries, [(currency, sum, entries)])."""
    # entries summed per account (and their own currency and shop) first: a narrow hash
    # aggregate over the entries, then the accounts joined to its few rows
    legs = (
        select(
            LedgerEntry.account_id.label("account_id"),
            LedgerEntry.currency.label("currency"),
            LedgerEntry.shop_id.label("shop_id"),
            func.sum(LedgerEntry.amount).label("total"),
            func.count().label("entries"),
        )
        .join(LedgerTransaction, LedgerTransaction.id == LedgerEntry.transaction_id)
        .where(*_posted_before(shop_id, end))
        .group_by(LedgerEntry.account_id, LedgerEntry.currency, LedgerEntry.shop_id)
        .subquery()
    )
    foreign = or_(legs.c.currency != Account.currency, legs.c.shop_id != shop_id, Account.shop_id != shop_id)
    per_account = (
        select(
            Account.id.label("id"),
            Account.member_id.label("member_id"),
            Account.kind.label("kind"),
            Account.currency.label("currency"),
            func.sum(legs.c.total).label("total"),
            func.sum(case((foreign, legs.c.entries), else_=0)).label("foreign"),
            func.sum(legs.c.entries).label("entries"),
        )
        .join(Account, Account.id == legs.c.account_id)
        .group_by(Account.id, Account.member_id, Account.kind, Account.currency)
        .cte("per_account")
    )
    c = per_account.c
    distributor = c.member_id != SHOP_OWNER
    wrong_sign = or_(
        and_(distributor, c.kind.in_([kind.value for kind in CREDIT_NORMAL]), c.total > 0),
        and_(distributor, c.kind == AccountKind.ARREARS.value, c.total < 0),
    )
    accounts = select(
        literal("account").label("row"),
        c.id,
        c.member_id,
        c.kind,
        c.currency,
        c.total,
        c.foreign,
        case((wrong_sign, 1), else_=0),
    ).where(or_(wrong_sign, c.foreign > 0))
    totals_row = (literal("currency"), null(), null(), null(), c.currency, func.sum(c.total), null())
    currencies = select(*totals_row, func.sum(c.entries)).group_by(c.currency)
    found, totals = [], []
    rows = session.execute(union_all(accounts, currencies)).all()
    for row, account_id, member_id, kind, currency, total, foreign_entries, flag in sorted(
        rows, key=lambda r: (r[0], r[4], r[1] or 0)
    ):
        if row == "currency":  # flag holds the currency's entry count
            totals.append((currency, int(total), int(flag)))
            continue
        subject = f"account {account_id} (member {member_id} {kind} {currency})"
        if foreign_entries:
            found.append(
                Discrepancy(
                    "foreign_entry",
                    f"{subject} has {foreign_entries} entries in another currency or of another shop",
                    {"account_id": account_id, "member_id": member_id, "entries": int(foreign_entries)},
                )
            )
        if flag:
            balance = int(total) if kind == AccountKind.ARREARS else -int(total)
            found.append(
                Discrepancy(
                    "wrong_sign",
                    f"{subject} has a balance of {money(balance, currency)} at the month's end"
                    " (it can never be below zero)",
                    {"account_id": account_id, "member_id": member_id, "account_kind": kind}
                    | {"balance": balance},
                )
            )
    return found, totals


def _day_figures(session: Session, shop: Shop, first: date, last: date) -> tuple[int, int, list]:
    """(days compared, days not swept yet, the days whose stored ledger figures differ)."""
    zone = zone_of(shop)
    mark = session.get(FiguresMark, shop.id)
    covered = mark.covered_until if mark is not None and mark.timezone == shop.timezone else None
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    swept = [d for d in days if covered is not None and day_start(zone, d + timedelta(days=1)) <= covered]
    ledger = ledger_days(session, shop, swept)
    stored = {
        row.day: {name: getattr(row, name) for name in LEDGER_FIGURES}
        for row in session.scalars(
            select(DayFigures).where(
                DayFigures.shop_id == shop.id, DayFigures.day >= first, DayFigures.day <= last
            )
        )
    }
    found = []
    for day in swept:
        kept, now = stored.get(day, dict.fromkeys(LEDGER_FIGURES, 0)), ledger[day]
        if kept != now:
            differences = ", ".join(
                f"{name} stored {money(kept[name], shop.currency)}, ledger {money(now[name], shop.currency)}"
                for name in LEDGER_FIGURES
                if kept[name] != now[name]
            )
            found.append(
                Discrepancy(
                    "day_figures_differ",
                    f"{day.isoformat()}: {differences}",
                    {"day": day.isoformat(), "stored": kept, "ledger": now},
                )
            )
    return len(swept), len(days) - len(swept), found


def ledger_days(session: Session, shop: Shop, days: list[date]) -> dict[date, dict[str, int]]:
    """``payable_change`` and ``paid_change`` of each of ``days`` (consecutive), as
    ``figures.day_figures(..., ledger=True)`` defines them, in one pass over their postings:
    each posting falls in its shop-local day by a ``CASE`` over the days' ends. (``day_figures``
    per day would cost a pass per day: PostgreSQL joins a day's few thousand postings to the
    entries by a scan of ``ledger_entry``.)"""
    result = {day: dict.fromkeys(LEDGER_FIGURES, 0) for day in days}
    if not days:
        return result
    zone = zone_of(shop)
    ends = [day_start(zone, day + timedelta(days=1)) for day in days]
    bucket = case(*[(LedgerTransaction.posted_at < end, index) for index, end in enumerate(ends)])
    legs = (
        select(bucket.label("day"), Account.kind.label("kind"), LedgerEntry.amount.label("amount"))
        .select_from(LedgerTransaction)
        .join(LedgerEntry, LedgerEntry.transaction_id == LedgerTransaction.id)
        .join(Account, Account.id == LedgerEntry.account_id)
        .where(
            LedgerTransaction.shop_id == shop.id,
            LedgerTransaction.posted_at >= day_start(zone, days[0]),
            LedgerTransaction.posted_at < ends[-1],
            Account.member_id != SHOP_OWNER,
            Account.currency == shop.currency,
            Account.kind.in_([AccountKind.PENDING, AccountKind.AVAILABLE, AccountKind.PAID]),
        )
        .subquery()
    )
    for index, kind, total in session.execute(
        select(legs.c.day, legs.c.kind, func.sum(legs.c.amount)).group_by(legs.c.day, legs.c.kind)
    ):
        figure = "paid_change" if kind == AccountKind.PAID else "payable_change"
        result[days[index]][figure] -= int(total)  # credit-normal: what is owed is minus the sum
    return result
