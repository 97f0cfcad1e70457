"""Bank batch files: what fenxiao writes, and what it accepts back from the bank."""

from __future__ import annotations

import csv
import io

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.payouts.bank import BankFileError, export_batch, parse_results
from adapters.payouts.base import FAILED, PENDING, SUCCEEDED, Outcome, Payout

BATCH = {
    "WD-1": Payout("WD-1", 436060, "CNY", "6222020200112233445", "王小明", "commission 2026-11"),
    "WD-2": Payout("WD-2", 10000, "CNY", "6222020200112233446", "Ada Lovelace"),
}


def rows_of(data: bytes) -> list[list[str]]:
    assert data.startswith("\ufeff".encode())  # spreadsheets show the Chinese names
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def result(*rows: str, header: str = "out_no,status,bank_reference,reason") -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode("utf-8")


def test_a_batch_lists_each_payout_with_a_decimal_amount():
    rows = rows_of(export_batch(list(BATCH.values())))
    assert rows == [
        ["out_no", "payee_name", "payee_account", "amount", "currency", "note"],
        ["WD-1", "王小明", "6222020200112233445", "4360.60", "CNY", "commission 2026-11"],
        ["WD-2", "Ada Lovelace", "6222020200112233446", "100.00", "CNY", ""],
    ]


@given(st.lists(st.integers(min_value=1, max_value=10**12), min_size=1, max_size=20))
def test_amounts_survive_the_file_to_the_fen(amounts):
    payouts = [Payout(f"WD-{i}", amount, "CNY", "6222", "王") for i, amount in enumerate(amounts)]
    written = rows_of(export_batch(payouts))[1:]
    back = {row[0]: row[3] for row in written}
    report = result(
        *(f"{out_no},success,B{out_no},,{amount}" for out_no, amount in back.items()),
        header="out_no,status,bank_reference,reason,amount",
    )
    outcomes = parse_results(report, {p.out_no: p for p in payouts})
    assert [o.status for o in outcomes] == [SUCCEEDED] * len(payouts)


@pytest.mark.parametrize(
    ("payout", "field"),
    [
        (Payout("WD-1", 100, "CNY", "6222", "=HYPERLINK(1)"), "payee_name"),
        (Payout("WD-1", 100, "CNY", "6222", "王", "+cmd"), "note"),
        (Payout("WD-1", 0, "CNY", "6222", "王"), "amount"),
    ],
)
def test_a_batch_refuses_cells_a_spreadsheet_would_run_and_empty_payouts(payout, field):
    with pytest.raises(BankFileError) as info:
        export_batch([payout])
    assert (info.value.field, info.value.line) == (field, 2)


def test_a_batch_refuses_the_same_payout_twice():
    with pytest.raises(BankFileError, match="line 3: payout WD-1 is in the batch twice"):
        export_batch([BATCH["WD-1"], BATCH["WD-1"]])


def test_results_are_read_in_english_or_chinese():
    outcomes = parse_results(
        result("WD-1,成功,B0001,", "WD-2,失败,,户名不符"),
        BATCH,
    )
    assert outcomes == [
        Outcome("WD-1", SUCCEEDED, "B0001", None),
        Outcome("WD-2", FAILED, None, "户名不符"),
    ]
    pending = parse_results(
        "\ufeffOUT_NO,Status,Bank_Reference,Reason\r\nWD-2,Processing,,\r\n".encode(), BATCH
    )
    assert pending == [Outcome("WD-2", PENDING, None, None)]


def test_a_failure_always_carries_a_reason():
    (outcome,) = parse_results(result("WD-1,failed,,"), BATCH)
    assert outcome.status == FAILED and outcome.reason


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (result("WD-9,success,B1,"), "line 2: WD-9 is not a payout of this batch"),
        (result("WD-1,success,B1,", "WD-1,failed,,x"), "line 3: WD-1 is reported twice"),
        (result("WD-1,paid,B1,"), "line 2: unknown status 'paid'"),
        (
            result("WD-1,success,B1", header="out_no,status,bank_reference"),
            "line 1: the result file has no reason column",
        ),
        (
            result("WD-1,success,B1,,4360.61", header="out_no,status,bank_reference,reason,amount"),
            "line 2: WD-1 was sent for 4360.60, the bank reports 4360.61",
        ),
        (
            result("WD-1,success,B1,,lots", header="out_no,status,bank_reference,reason,amount"),
            "not an amount",
        ),
        (b"\xff\xfe\x00", "not UTF-8"),
    ],
)
def test_a_result_file_that_does_not_fit_the_batch_is_refused_whole(data, message):
    with pytest.raises(BankFileError, match=message):
        parse_results(data, BATCH)


def test_a_payout_the_bank_does_not_mention_is_left_out():
    assert [o.out_no for o in parse_results(result("WD-2,success,B2,"), BATCH)] == ["WD-2"]
