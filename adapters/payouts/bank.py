"""Bank payouts by batch file: fenxiao writes the batch the operator uploads to the bank's
corporate banking, and reads the result file the bank gives back.

Banks differ in their own formats, so fenxiao's is a plain, documented CSV (UTF-8 with a BOM,
so spreadsheet programs show Chinese names; comma-separated; one header row) that a bank's
import template is mapped onto:

- batch: ``out_no, payee_name, payee_account, amount, currency, note`` — ``amount`` a decimal
  string in major units ("4360.60"), ``out_no`` the payout's idempotency key;
- result: ``out_no, status, bank_reference, reason`` and optionally ``amount``; ``status`` is
  ``success``/``成功``, ``failed``/``失败`` or ``processing``/``处理中`` (case-insensitive).

Reading a result refuses, naming the line: a missing column, an ``out_no`` that is not in the
batch, one named twice, an unknown status, or an amount that differs from the batch's. Nothing
is taken from a file that fails: the caller applies all of its outcomes or none. A payout the
file does not mention stays pending. A text cell may not begin with ``=``, ``+``, ``-`` or ``@``
(a spreadsheet would run it as a formula), so such names or notes are refused on export.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation

from ..errors import AdapterError
from ..money import Money
from .base import FAILED, PENDING, SUCCEEDED, Outcome, Payout

BATCH_COLUMNS = ("out_no", "payee_name", "payee_account", "amount", "currency", "note")
RESULT_COLUMNS = ("out_no", "status", "bank_reference", "reason")
STATUSES = {
    "success": SUCCEEDED,
    "succeeded": SUCCEEDED,
    "成功": SUCCEEDED,
    "failed": FAILED,
    "failure": FAILED,
    "失败": FAILED,
    "processing": PENDING,
    "处理中": PENDING,
}
FORMULA_STARTS = ("=", "+", "-", "@")


class BankFileError(AdapterError):
    """A batch or result file fenxiao will not write or read (``line``: 1 is the header)."""

    code = "bad_bank_file"

    def __init__(self, message: str, line: int | None = None, field: str | None = None):
        super().__init__(message if line is None else f"line {line}: {message}", field)
        self.line = line


def export_batch(payouts: Sequence[Payout]) -> bytes:
    """The batch file of ``payouts`` (each ``out_no`` once)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(BATCH_COLUMNS)
    seen: set[str] = set()
    for number, payout in enumerate(payouts, start=2):
        if payout.out_no in seen:
            raise BankFileError(f"payout {payout.out_no} is in the batch twice", number, "out_no")
        seen.add(payout.out_no)
        for name in ("out_no", "payee_name", "payee_account", "note"):
            value = getattr(payout, name)
            if value.startswith(FORMULA_STARTS):
                raise BankFileError(f"{name} may not begin with {value[0]!r}", number, name)
        if payout.amount <= 0:
            raise BankFileError("a payout's amount must be positive", number, "amount")
        amount = str(Money(payout.amount, payout.currency).to_decimal())
        writer.writerow(
            (payout.out_no, payout.payee_name, payout.payee_account, amount, payout.currency, payout.note)
        )
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def parse_results(data: bytes, batch: Mapping[str, Payout]) -> list[Outcome]:
    """The outcomes a bank's result file reports for the payouts of ``batch`` (by ``out_no``)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise BankFileError("the result file is not UTF-8 text", None, "file") from None
    rows = csv.DictReader(io.StringIO(text))
    header = [name.strip().lower() for name in rows.fieldnames or ()]
    missing = [name for name in RESULT_COLUMNS if name not in header]
    if missing:
        raise BankFileError(f"the result file has no {', '.join(missing)} column", 1, missing[0])
    rows.fieldnames = header
    outcomes: dict[str, Outcome] = {}
    for number, row in enumerate(rows, start=2):
        out_no = (row.get("out_no") or "").strip()
        if out_no not in batch:
            raise BankFileError(
                f"{out_no or 'an empty out_no'} is not a payout of this batch", number, "out_no"
            )
        if out_no in outcomes:
            raise BankFileError(f"{out_no} is reported twice", number, "out_no")
        status = STATUSES.get((row.get("status") or "").strip().lower())
        if status is None:
            raise BankFileError(f"unknown status {row.get('status')!r}", number, "status")
        _check_amount(row.get("amount"), batch[out_no], number)
        reason = (row.get("reason") or "").strip() or None
        reference = (row.get("bank_reference") or "").strip() or None
        if status == FAILED and reason is None:
            reason = "the bank reported a failure without a reason"
        outcomes[out_no] = Outcome(out_no, status, reference, reason)
    return list(outcomes.values())


def _check_amount(text: str | None, payout: Payout, number: int) -> None:
    if text is None or not text.strip():
        return
    try:
        reported = Money.parse(text.strip(), payout.currency)
    except (InvalidOperation, ValueError, TypeError):
        raise BankFileError(f"amount {text!r} is not an amount", number, "amount") from None
    if reported.minor != payout.amount:
        expected = Money(payout.amount, payout.currency).to_decimal()
        raise BankFileError(
            f"{payout.out_no} was sent for {expected}, the bank reports {Decimal(text.strip())}",
            number,
            "amount",
        )
