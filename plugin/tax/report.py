"""The monthly withholding report of a shop: per person (ID-number hash), the month's income
(payouts less fees), the tax withheld and the payouts, for the shop's tax filing (个税扣缴申报).

The page shows names and ID numbers masked. The CSV carries them whole, because the filing needs
them: only the finance and admin roles may download it, and each download is audited. Payouts
still ``paying`` count (their tax is posted), so the report of a month still paying out is
provisional; a failed payout leaves it with its tax, and no other payout was topped up on it
(one payout per person is in flight at a time: ``plugin.tax.months``).
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from adapters.money import Money
from plugin.errors import InvalidSetting
from plugin.shops.models import Shop
from plugin.tax.months import COUNTED
from plugin.withdrawals import identity
from plugin.withdrawals.keyring import Keyring
from plugin.withdrawals.models import Payee, Withdrawal

MONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2])")
COLUMNS = ("month", "real_name", "id_number", "income", "tax", "net", "payouts", "distributors", "currency")


@dataclass(frozen=True)
class PersonMonth:
    person: str  # the ID-number hash
    masked_name: str
    masked_id: str
    income: int
    tax: int
    payouts: int
    distributors: tuple[int, ...]
    payee_id: int

    @property
    def net(self) -> int:
        return self.income - self.tax


def check_month(month: str) -> str:
    if not isinstance(month, str) or not MONTH.fullmatch(month):
        raise InvalidSetting(f"the month must be YYYY-MM, not {month!r}", "month")
    return month


def month_rows(session: Session, shop: Shop, month: str) -> list[PersonMonth]:
    """Each person paid in ``month``, the highest tax first."""
    check_month(month)
    rows = session.execute(
        select(
            Withdrawal.id_number_hash,
            func.sum(Withdrawal.amount - Withdrawal.fee),
            func.sum(Withdrawal.tax),
            func.count(),
            func.max(Withdrawal.payee_id),
        )
        .where(Withdrawal.shop_id == shop.id, Withdrawal.tax_month == month, Withdrawal.status.in_(COUNTED))
        .group_by(Withdrawal.id_number_hash)
    ).all()
    members: dict[str, set[int]] = {}
    for person, member in session.execute(
        select(Withdrawal.id_number_hash, Withdrawal.member_id)
        .where(Withdrawal.shop_id == shop.id, Withdrawal.tax_month == month, Withdrawal.status.in_(COUNTED))
        .distinct()
    ):
        members.setdefault(person, set()).add(member)
    payees = {p.id: p for p in session.scalars(select(Payee).where(Payee.id.in_([r[4] for r in rows])))}
    found = [
        PersonMonth(
            person=person,
            masked_name=payees[payee_id].masked_name,
            masked_id=payees[payee_id].masked_id,
            income=int(income),
            tax=int(tax),
            payouts=int(count),
            distributors=tuple(sorted(members[person])),
            payee_id=payee_id,
        )
        for person, income, tax, count, payee_id in rows
    ]
    return sorted(found, key=lambda row: (-row.tax, row.masked_name))


def month_csv(session: Session, shop: Shop, month: str, keys: Keyring) -> bytes:
    """The month's report as CSV (UTF-8 with a BOM), names and ID numbers in full."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)

    def money(fen: int) -> str:
        return str(Money(fen, shop.currency).to_decimal())

    for row in month_rows(session, shop, month):
        name, number = identity.unseal(keys, session.get(Payee, row.payee_id))
        distributors = " ".join(str(member) for member in row.distributors)
        writer.writerow(
            (
                month,
                name,
                number,
                money(row.income),
                money(row.tax),
                money(row.net),
                row.payouts,
                distributors,
                shop.currency,
            )
        )
    return ("\ufeff" + out.getvalue()).encode("utf-8")
