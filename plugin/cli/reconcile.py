"""``fenxiao reconcile``: the month-end reconciliation of a shop, as a table and its discrepancies.

Exit codes: 0 when every check is OK, 1 when any found a discrepancy, 2 for bad arguments (an
unknown shop, a month not written YYYY-MM, a statement that cannot be read). The checks are
defined in ``plugin.reports.reconcile``.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from plugin.cli.support import database
from plugin.reports import reconcile
from plugin.reports.month import month_days
from plugin.reports.payout_checks import StatementError, parse_statement
from plugin.shops.models import Shop

SHOWN = 50  # discrepancies printed per check; --json gives them all


@click.command("reconcile")
@click.option("--shop", "shop_id", type=int, required=True, help="the shop's id")
@click.option("--month", required=True, metavar="YYYY-MM", help="the month, in the shop's time zone")
@click.option(
    "--statement",
    "statement_files",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    metavar="FILE",
    help="a gateway's statement (CSV: out_no,status,amount[,reference]); repeat for each gateway",
)
@click.option("--json", "as_json", is_flag=True, help="print the report as JSON")
def reconcile_command(shop_id, month, statement_files, as_json):
    """Reconcile a shop's month: the ledger's integrity, the payouts against the ledger and the
    gateways' statements, and the commission ceiling. Exits 1 if anything disagrees."""
    try:
        month_days(month)
    except ValueError:
        raise click.BadParameter(f"{month!r} is not a month written YYYY-MM", param_hint="--month") from None
    db = database()
    with db.read() as session:
        shop = session.get(Shop, shop_id)
        currency = shop.currency if shop is not None else None
    if currency is None:
        raise click.BadParameter(f"no shop {shop_id}", param_hint="--shop")
    statements = None
    if statement_files:
        statements = []
        for path in statement_files:
            try:
                statements += parse_statement(path.read_bytes(), currency, path.name)
            except StatementError as err:
                raise click.BadParameter(str(err), param_hint="--statement") from None
    report = reconcile.reconcile(db, shop_id, month, statements)
    if as_json:
        click.echo(json.dumps(report.as_dict(), indent=2, ensure_ascii=False))
    else:
        for line in describe(report):
            click.echo(line)
    if not report.ok:
        raise SystemExit(1)


def describe(report: reconcile.Report) -> list[str]:
    """The readable lines: a summary table (check, result, detail), then the discrepancies."""
    out = [
        f"shop {report.shop_id} ({report.shop_name}), {report.month} in {report.timezone},"
        f" amounts in {report.currency}"
    ]
    results = [
        (check.name, "OK" if check.ok else f"{len(check.discrepancies)} discrepancies", check.detail)
        for check in report.checks
    ]
    width = max(len(name) for name, _, _ in [*results, ("check", "", "")])
    result_width = max(len(result) for _, result, _ in [*results, ("", "result", "")])
    out.append(f"{'check':<{width}}  {'result':<{result_width}}  detail")
    out += [f"{name:<{width}}  {result:<{result_width}}  {detail}" for name, result, detail in results]
    if report.ok:
        return out
    out += ["", f"discrepancies: {report.discrepancies}"]
    for check in report.checks:
        if check.ok:
            continue
        out.append(f"{check.name}: {check.title}")
        for found in check.discrepancies[:SHOWN]:
            out.append(f"  {found.kind}: {found.message}")
            out += [f"    {line}" for line in found.lines]
        if len(check.discrepancies) > SHOWN:
            out.append(f"  ... and {len(check.discrepancies) - SHOWN} more (--json lists them all)")
    return out
