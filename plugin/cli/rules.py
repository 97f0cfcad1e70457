"""``fenxiao rules``: validate drafts, publish versions, list them, roll back."""

from __future__ import annotations

import json
from pathlib import Path

import click

from plugin.cli.support import ISO_TIME, database
from plugin.shops import rulesets
from plugin.shops.tenants import get_shop


def _document(path: Path):
    try:
        return json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise click.UsageError(f"{path}: not JSON ({err})") from None


shop_option = click.option("--shop", "shop_id", type=int, required=True, help="the shop's id")
file_argument = click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))


@click.group("rules")
def rules_group():
    """Commission rule sets."""


@rules_group.command("validate")
@file_argument
@shop_option
def validate(path, shop_id):
    """Check a draft against every guard, for this shop's tier depth."""
    with database().transaction() as session:
        rulesets.check_draft(get_shop(session, shop_id), _document(path))
    click.echo(f"{path}: valid")


@rules_group.command("publish")
@file_argument
@shop_option
@click.option("--by", "actor", required=True, help="who publishes (audit log)")
@click.option("--note", default="", help="why (audit log)")
def publish(path, shop_id, actor, note):
    """Publish a draft as the shop's next, active version."""
    with database().transaction() as session:
        number = rulesets.publish(session, shop_id, _document(path), actor=actor, note=note).version
    click.echo(f"published version {number}")


@rules_group.command("rollback")
@click.argument("version", type=int)
@shop_option
@click.option("--by", "actor", required=True)
@click.option("--note", default="")
def rollback(version, shop_id, actor, note):
    """Publish an earlier version's document again, as a new version."""
    with database().transaction() as session:
        number = rulesets.rollback(session, shop_id, version, actor=actor, note=note).version
    click.echo(f"published version {number} (the rules of version {version})")


@rules_group.command("list")
@shop_option
def list_versions(shop_id):
    """Every version with who published it, when and why; * marks the active one."""
    with database().transaction() as session:
        shop = get_shop(session, shop_id)
        for row in rulesets.versions(session, shop_id):
            mark = "*" if row.version == shop.active_rule_version else " "
            click.echo(
                f"{mark} v{row.version}  {row.published_at:%Y-%m-%d %H:%M}  {row.published_by}  {row.note}"
            )


@rules_group.command("simulate")
@file_argument
@shop_option
@click.option(
    "--from",
    "start",
    type=ISO_TIME,
    required=True,
    help="first paid time included (ISO date or time; UTC if bare)",
)
@click.option("--to", "end", type=ISO_TIME, required=True, help="first paid time excluded")
@click.option("--json", "as_json", is_flag=True, help="print the report as JSON")
def simulate(path, shop_id, start, end, as_json):
    """Re-price the shop's paid orders in [FROM, TO) under a draft; print the differences. Writes nothing."""
    from tqdm import tqdm

    from plugin.commissions.simulation import simulate_draft

    if start >= end:
        raise click.UsageError(f"--from ({start.isoformat()}) must be before --to ({end.isoformat()})")
    draft = _document(path)
    with tqdm(unit="line", desc="replaying", disable=None) as bar:

        def progress(done: int) -> None:
            bar.update(done - bar.n)

        report = simulate_draft(database(), shop_id, draft, start, end, progress)
    click.echo(json.dumps(report.to_dict(), indent=2) if as_json else report.format_table())
