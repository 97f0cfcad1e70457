"""Is the dashboard fast on a shop with a million orders? Each of its queries' plan, and the page.

On a private PostgreSQL (``tests.servers.start_postgres``): one shop, ``--distributors`` (20,000)
distributors, ``--orders`` (1,000,000) orders over the last 365 days written with bulk
``INSERT … SELECT generate_series`` (not webhooks: the pipeline's own speed is ``pipeline.py``'s
business), each with its line, attributions (85 % have a tier-1 distributor, most of those a
tier 2), commissions, one refund in twenty, ledger postings (accrual, settlement, cancellation)
and the month tallies those imply. Then:

1. the figures sweep's first run (every day of the shop) and an incremental run after a late
   refund;
2. each query the dashboard sends for the current month, run again under
   ``EXPLAIN (ANALYZE, BUFFERS)``: its plan's total cost and execution time;
3. the page through the Flask test client, logged in: median of ``--repeats`` (20) views of the
   current month (today computed live) and of last month (stored days only).

    python bench/dashboard.py                     # about 5-8 minutes on 2 cores
    python bench/dashboard.py --orders 100000     # a quick look
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import event, text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import migrations  # noqa: E402
from plugin import runtime  # noqa: E402
from plugin.app import create_app  # noqa: E402
from plugin.config import Config  # noqa: E402
from plugin.db import utcnow  # noqa: E402
from plugin.reports import refresh  # noqa: E402
from plugin.reports.month import current_month, month_dashboard, month_of_day, month_start  # noqa: E402
from plugin.shops import tenants  # noqa: E402
from plugin.shops.models import Shop  # noqa: E402
from plugin.users import accounts  # noqa: E402
from tests import servers  # noqa: E402
from tests.admin.conftest import PASSWORD, login  # noqa: E402

ZONE = "Asia/Shanghai"
# The bulk load, in order; :n orders, :d distributors, :b buyers, :now. Ids are given, so the
# tables' rows line up: order g has line g; commission ids are 2g (tier 1) and 2g+1 (tier 2).
LOAD = [
    "SELECT setseed(0.42)",
    """INSERT INTO member (id, shop_id, display_name, created_at)
       SELECT g, :shop, CASE WHEN g <= :d THEN '分销员' || g END, :now - interval '400 days'
       FROM generate_series(1, :d + :b) g""",
    """INSERT INTO distributor (member_id, shop_id, status, level, invite_code, created_at)
       SELECT g, :shop, 'approved', 'B', 'INV-' || g, :now - (interval '1 day' * (400 - g * 390 / :d))
       FROM generate_series(1, :d) g""",
    """INSERT INTO orders (id, shop_id, platform, external_id, status, currency, channel, campaign_tags,
                          buyer_member_id, paid_total, refunded_total, placed_at, paid_at, completed_at,
                          source_updated_at, created_at)
       SELECT g, :shop, 'shopify', g::text, 'completed', 'CNY', '', '[]', :d + 1 + (g * 7) % :b,
              1000 + (g * 7919) % 49000, CASE WHEN g % 20 = 7 THEN (1000 + (g * 7919) % 49000) / 2 ELSE 0 END,
              t, t, t + interval '3 days', t, t
       FROM (SELECT g, :now - interval '365 days' * (1 - g::float8 / :n) - interval '2 minutes' AS t
             FROM generate_series(1::bigint, :n) g) s""",
    """INSERT INTO order_line (id, shop_id, order_id, external_id, product_id, quantity, unit_price, discount,
                              paid_amount, refunded_amount)
       SELECT id, shop_id, id, 'L' || id, 'P' || (id % 100), 1, paid_total, 0, paid_total, refunded_total
       FROM orders""",
    # tier 1: 85 % of orders, a distributor picked by the buyer; tier 2: that distributor's inviter
    """CREATE TEMP TABLE earned AS
       SELECT o.id AS order_id, o.paid_at, o.paid_total, o.refunded_total, 1 AS tier,
              1 + (o.buyer_member_id * 31) % :d AS beneficiary_id
       FROM orders o WHERE o.id % 20 >= 3""",
    """INSERT INTO earned SELECT order_id, paid_at, paid_total, refunded_total, 2, beneficiary_id / 8
       FROM earned WHERE beneficiary_id >= 8""",
    """INSERT INTO attribution (id, shop_id, order_id, tier, beneficiary_id, month, level, region,
                               sales_before, commission_before, rule_version, created_at)
       SELECT 2 * order_id + tier - 1, :shop, order_id, tier, beneficiary_id,
              to_char(paid_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM'), 'B', '', 0, 0, 1,
              paid_at + interval '1 minute'
       FROM earned""",
    """INSERT INTO commission (id, shop_id, order_id, order_line_id, beneficiary_id, tier, currency, amount,
                              reversed, status, rule_version, explanation, settle_after, created_at)
       SELECT 2 * order_id + tier - 1, :shop, order_id, order_id, beneficiary_id, tier, 'CNY',
              paid_total * (CASE tier WHEN 1 THEN 10 ELSE 5 END) / 100,
              paid_total * (CASE tier WHEN 1 THEN 10 ELSE 5 END) / 100 * refunded_total / paid_total,
              CASE WHEN paid_at < :now - interval '10 days' THEN 'available' ELSE 'pending' END, 1, '[]',
              paid_at + interval '10 days', paid_at + interval '1 minute'
       FROM earned""",
    """INSERT INTO refund (id, shop_id, order_id, external_id, total, order_amount, refunded_at, created_at)
       SELECT id, :shop, id, 'R' || id, refunded_total, refunded_total, paid_at + interval '1 day',
              LEAST(paid_at + interval '1 day', :now)
       FROM orders WHERE refunded_total > 0""",
    """INSERT INTO month_tally (shop_id, member_id, month, sales, commission)
       SELECT :shop, beneficiary_id, to_char(paid_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM'),
              sum(CASE WHEN tier = 1 THEN paid_total - refunded_total ELSE 0 END),
              sum(paid_total * (CASE tier WHEN 1 THEN 10 ELSE 5 END) / 100
                  - paid_total * (CASE tier WHEN 1 THEN 10 ELSE 5 END) / 100 * refunded_total / paid_total)
       FROM earned GROUP BY 2, 3""",
    # accounts: pending d, available d + :d, the shop's expense 2 :d + 1
    """INSERT INTO account (id, shop_id, member_id, kind, currency)
       SELECT g, :shop, g, 'pending', 'CNY' FROM generate_series(1, :d) g
       UNION ALL SELECT :d + g, :shop, g, 'available', 'CNY' FROM generate_series(1, :d) g
       UNION ALL SELECT 2 * :d + 1, :shop, 0, 'commission_expense', 'CNY'""",
    # accrual (id c), cancellation of the refunded part (id 3M + c), settlement (id 6M + c)
    """INSERT INTO ledger_transaction (id, shop_id, key, kind, memo, posted_at)
       SELECT id, :shop, 'accrue:' || id, 'accrue', '', created_at FROM commission
       UNION ALL SELECT 3 * :n + id, :shop, 'reverse:' || id, 'cancel', '',
                        LEAST(created_at + interval '1 day', :now)
       FROM commission WHERE reversed > 0
       UNION ALL SELECT 6 * :n + id, :shop, 'settle:' || id, 'settle', '', settle_after
       FROM commission WHERE status = 'available'""",
    """INSERT INTO ledger_entry (shop_id, transaction_id, account_id, amount, currency)
       SELECT :shop, id, 2 * :d + 1, amount, 'CNY' FROM commission
       UNION ALL SELECT :shop, id, beneficiary_id, -amount, 'CNY' FROM commission
       UNION ALL SELECT :shop, 3 * :n + id, beneficiary_id, reversed, 'CNY' FROM commission WHERE reversed > 0
       UNION ALL SELECT :shop, 3 * :n + id, 2 * :d + 1, -reversed, 'CNY' FROM commission WHERE reversed > 0
       UNION ALL SELECT :shop, 6 * :n + id, beneficiary_id, amount - reversed, 'CNY'
       FROM commission WHERE status = 'available'
       UNION ALL SELECT :shop, 6 * :n + id, :d + beneficiary_id, reversed - amount, 'CNY'
       FROM commission WHERE status = 'available'""",
]
SEQUENCES = ("member", "orders", "order_line", "attribution", "commission", "refund", "account")
SEQUENCES += ("ledger_transaction", "month_tally")


def label(statement: str) -> str:
    """What a dashboard query is for, from its SQL."""
    sql = " ".join(statement.split()).lower()
    for needle, name in (
        ("from figures_mark", "sweep mark (figures_mark by key)"),
        ("sum(day_figures.payable_change)", "payable and joined before the two months (day_figures)"),
        ("from day_figures", "the two months' stored days (day_figures)"),
        ("group by commission.order_id", "today live: commission per tier, orders with commission"),
        ("exists", "today live: GMV (orders, tier-1 attribution exists)"),
        ("from distributor", "today live: new distributors"),
        ("from ledger_transaction", "today live: ledger changes (transactions ⋈ entries ⋈ accounts)"),
        ("join member", "top 10 by GMV (month_tally ⋈ member)"),
        ("from month_tally", "active distributors, two months (month_tally)"),
    ):
        if needle in sql:
            return name
    return sql[:60]


BULK_TABLES = ["member", "distributor", "orders", "order_line", "attribution", "commission", "refund"]
BULK_TABLES += ["month_tally", "account", "ledger_transaction", "ledger_entry"]


def drop_secondary_indexes(conn) -> list:
    """Drop the bulk tables' indexes and unique constraints but their primary keys (rebuilt once
    after the load, from sorted data, instead of maintained row by row); what to restore."""
    dropped = conn.execute(
        text(
            "SELECT t.relname, i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid), c.conname, "
            "pg_get_constraintdef(c.oid) FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid "
            "LEFT JOIN pg_constraint c ON c.conindid = i.indexrelid AND c.contype = 'u' "
            "WHERE t.relname = ANY(:tables) AND NOT i.indisprimary"
        ),
        {"tables": BULK_TABLES},
    ).all()
    for table, index, _definition, constraint, _constraint_definition in dropped:
        conn.execute(
            text(f"ALTER TABLE {table} DROP CONSTRAINT {constraint}" if constraint else f"DROP INDEX {index}")
        )
    return dropped


def restore_indexes(conn, dropped: list) -> None:
    for table, _index, definition, constraint, constraint_definition in dropped:
        conn.execute(
            text(
                f"ALTER TABLE {table} ADD CONSTRAINT {constraint} {constraint_definition}"
                if constraint
                else definition
            )
        )


def load(database, shop_id: int, orders: int, distributors: int) -> float:
    started = time.perf_counter()
    params = {"shop": shop_id, "n": orders, "d": distributors, "b": max(orders // 5, 1000), "now": utcnow()}
    with database.engine.begin() as conn:
        conn.execute(text("SET session_replication_role = replica"))  # no FK or ledger triggers: bulk load
        conn.execute(text("SET maintenance_work_mem = '256MB'"))
        dropped = drop_secondary_indexes(conn)
        for statement in LOAD:
            step = time.perf_counter()
            conn.execute(text(statement), {k: v for k, v in params.items() if f":{k}" in statement})
            print(f"  {time.perf_counter() - step:6.1f} s  {' '.join(statement.split())[:70]}", flush=True)
        step = time.perf_counter()
        restore_indexes(conn, dropped)
        print(
            f"  {time.perf_counter() - step:6.1f} s  {len(dropped)} indexes and unique constraints rebuilt",
            flush=True,
        )
        for table in SEQUENCES:
            conn.execute(
                text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
            )
    with database.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
    return time.perf_counter() - started


def captured_queries(database, shop: Shop, month: str) -> list[tuple[str, dict]]:
    seen: list[tuple[str, dict]] = []

    def keep(conn, cursor, statement, parameters, context, executemany):
        seen.append((statement, parameters))

    event.listen(database.engine, "before_cursor_execute", keep)
    try:
        with database.read() as session:
            month_dashboard(session, shop, month, utcnow())
    finally:
        event.remove(database.engine, "before_cursor_execute", keep)
    return seen


def explain(database, statement: str, parameters) -> dict:
    raw = database.engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + statement, parameters)
        (plan,) = cursor.fetchone()[0]
        raw.rollback()
    finally:
        raw.close()
    top = plan["Plan"]
    return {
        "cost": top["Total Cost"],
        "ms": plan["Execution Time"],
        "hit": top.get("Shared Hit Blocks", 0),
        "read": top.get("Shared Read Blocks", 0),
        "node": top["Node Type"],
    }


def page_times(app, email: str, paths: list[str], repeats: int) -> dict[str, float]:
    client = app.test_client()
    assert login(client, email).status_code == 302
    medians = {}
    for path in paths:
        assert client.get(path).status_code == 200  # warm: templates, catalogs, compiled statements
        times = []
        for _ in range(repeats):
            started = time.perf_counter()
            reply = client.get(path)
            times.append((time.perf_counter() - started) * 1000)
            assert reply.status_code == 200
        medians[path] = statistics.median(times)
    return medians


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--distributors", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    started = servers.start_postgres(dbname="fenxiao_dashboard_bench")
    if started is None:
        raise SystemExit("PostgreSQL binaries not found (bash .ci/install-services.sh)")
    url, stop = started
    try:
        run(url, args)
    finally:
        stop()


def run(url: str, args) -> None:
    migrations.upgrade(url)
    app = create_app(Config(database_url=url, jobs="inline", testing=True))
    database = app.extensions[runtime.EXTENSION].database
    with database.transaction() as session:
        shop_id = tenants.create_shop(session, name="bench", platform="shopify", timezone=ZONE).shop.id
        accounts.add_user(
            session, email="bench@example.com", password=PASSWORD, role="viewer", shop_id=shop_id
        )
    print(f"loading {args.orders:,} orders, {args.distributors:,} distributors ...", flush=True)
    print(f"loaded in {load(database, shop_id, args.orders, args.distributors):.1f} s", flush=True)
    with database.engine.connect() as conn:
        counts = {
            table: conn.execute(text(f"SELECT count(*) FROM {table}")).scalar()  # noqa: S608 - our names
            for table in ("orders", "commission", "ledger_entry", "month_tally")
        }
    print("rows: " + ", ".join(f"{table} {n:,}" for table, n in counts.items()))

    step = time.perf_counter()
    days = refresh.refresh_shop(database, shop_id)
    full = time.perf_counter() - step
    with database.engine.begin() as conn:  # a late refund of an order paid 200 days ago
        conn.execute(
            text("UPDATE orders SET refunded_total = paid_total WHERE id = :id"), {"id": args.orders // 2}
        )
        conn.execute(
            text(
                "INSERT INTO refund (shop_id, order_id, external_id, total, order_amount, refunded_at, "
                "created_at) VALUES (:shop, :id, 'late', 1, 1, now(), now())"
            ),
            {"shop": shop_id, "id": args.orders // 2},
        )
    step = time.perf_counter()
    touched = refresh.refresh_shop(database, shop_id)
    incremental = time.perf_counter() - step

    with database.read() as session:
        shop = session.get(Shop, shop_id)
        session.expunge(shop)
    month = current_month(shop, utcnow())
    queries = captured_queries(database, shop, month)
    rows = [(label(statement), explain(database, statement, parameters)) for statement, parameters in queries]
    previous = month_of_day(month_start(month) - timedelta(days=1))
    pages = page_times(app, "bench@example.com", ["/admin/", f"/admin/?month={previous}"], args.repeats)

    print(f"\n{args.orders:,} orders, {args.distributors:,} distributors; {datetime.now(UTC):%Y-%m-%d}\n")
    print(
        f"figures sweep: first run {days} days in {full:.1f} s; after a late refund {touched} day(s) "
        f"in {incremental * 1000:.0f} ms\n"
    )
    print("| dashboard query (current month) | plan | total cost | time (ms) | buffers hit / read |")
    print("|---|---|---:|---:|---:|")
    for name, plan in rows:
        print(
            f"| {name} | {plan['node']} | {plan['cost']:,.1f} | {plan['ms']:.2f} "
            f"| {plan['hit']:,} / {plan['read']:,} |"
        )
    print(
        f"| **all {len(rows)} queries** | | {sum(p['cost'] for _, p in rows):,.1f} | "
        f"{sum(p['ms'] for _, p in rows):.2f} | |"
    )
    print(f"\n| page (Flask test client, median of {args.repeats}) | ms |\n|---|---:|")
    for path, ms in pages.items():
        print(f"| `GET {path}` | {ms:.1f} |")


if __name__ == "__main__":
    main()
