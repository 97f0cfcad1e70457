"""The gateway statements ``fenxiao reconcile --statement`` reads: their format and how lines
for one payout in several statements combine (``plugin.reports.payout_checks``)."""

from __future__ import annotations

import pytest

from plugin.reports.payout_checks import StatementError, StatementLine, merge, parse_statement


def test_statements_are_read_with_or_without_a_bom_in_any_column_order():
    data = "\ufeffAmount, status ,out_no,channel\n12.3,成功,FX1,wechat\n\n0.05,处理中,FX2,\n".encode()
    assert parse_statement(data, "CNY", "s.csv") == [
        StatementLine("s.csv:2", "FX1", "succeeded", 1230),
        StatementLine("s.csv:4", "FX2", "pending", 5),
    ]
    assert parse_statement(b"out_no,status,amount\nFX1,Failed,1\n", "CNY", "t.csv")[0].status == "failed"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"out_no,status\nFX1,success\n", "s.csv:1: the header lacks amount"),
        (b"out_no,status,amount\nFX1,success,1.234\n", "s.csv:2: amount '1.234': '1.234' has more decimal"),
        (b"out_no,status,amount\nFX1,success,-1\n", "s.csv:2: negative amount '-1'"),
        (b"out_no,status,amount\n,success,1\n", "s.csv:2: no out_no"),
        (b"out_no,status,amount\nFX1,success\n", "s.csv:2: no amount"),
        ("out_no,status,amount\nFX1,成功,1\n".encode("gb18030"), "s.csv: not UTF-8 text"),
        (b"", "s.csv: empty"),
    ],
)
def test_an_unreadable_statement_names_its_line(data, message):
    with pytest.raises(StatementError) as refused:
        parse_statement(data, "CNY", "s.csv")
    assert str(refused.value).startswith(message)


def test_a_final_line_settles_a_processing_one_and_disagreeing_lines_conflict():
    lines = [
        StatementLine("a:2", "FX1", "pending", 100),
        StatementLine("b:2", "FX1", "succeeded", 100),
        StatementLine("a:3", "FX2", "succeeded", 100),
        StatementLine("b:3", "FX2", "failed", 100),
        StatementLine("a:4", "FX3", "pending", 100),
        StatementLine("b:4", "FX3", "succeeded", 101),
    ]
    merged, conflicts = merge(lines)
    assert merged == {"FX1": lines[1], "FX2": None, "FX3": None}
    assert [(c.kind, c.data["lines"]) for c in conflicts] == [
        ("statement_conflict", ["a:3", "b:3"]),
        ("statement_conflict", ["a:4", "b:4"]),
    ]
