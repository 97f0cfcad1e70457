"""Does every workbench page answer in under 200 ms on the demo data?

Builds what ``fenxiao up`` builds on a fresh SQLite file (the demo shop, its invite chain, its
60 days of orders through the real intake, the figures sweep), logs in as the demo admin through
the real form, then fetches each page ``--repeats`` times through the Flask test client (the
whole request: routing, session, queries, templates; no network) and prints the median and the
slowest view per page. ``--database URL`` runs it on PostgreSQL instead.

    python bench/workbench_pages.py
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import migrations  # noqa: E402
from plugin import runtime  # noqa: E402
from plugin.app import create_app  # noqa: E402
from plugin.cli.demo import demo_admin, seed_chain  # noqa: E402
from plugin.cli.demo_data import seed  # noqa: E402
from plugin.config import Config  # noqa: E402
from plugin.reports import refresh  # noqa: E402
from plugin.shops import tenants  # noqa: E402

GOAL_MS = 200
TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def build(url: str):
    migrations.upgrade(url)
    app = create_app(Config(database_url=url, jobs="inline", testing=True))
    database = app.extensions[runtime.EXTENSION].database
    with database.transaction() as session:
        new = tenants.create_shop(session, name="Demo shop", platform="shopify", actor="bench")
        seed_chain(session, new.shop.id)
    seeded = seed(url, new.shop.id, new.webhook_secret, new.shop.timezone)
    refresh.sweep(database)
    login = demo_admin(database, new.shop.id, "http://localhost")
    return app, login, seeded


def log_in(app, login: dict):
    client = app.test_client()
    token = TOKEN.search(client.get("/admin/login").get_data(as_text=True)).group(1)
    reply = client.post(
        "/admin/login", data={"csrf_token": token, "email": login["email"], "password": login["password"]}
    )
    assert reply.status_code == 302, reply.status_code
    return client


def first_link(client, page: str, pattern: str) -> str:
    found = re.search(pattern, client.get(page).get_data(as_text=True))
    assert found, f"no link {pattern} on {page}"
    return found.group(0).strip('"')


def pages(client) -> list[tuple[str, str]]:
    distributor = first_link(client, "/admin/distributors/", r'"/admin/distributors/\d+"')
    order = first_link(client, "/admin/orders/", r'"/admin/orders/\d+"')
    member = distributor.rsplit("/", 1)[1]
    return [
        ("dashboard", "/admin/"),
        ("distributors", "/admin/distributors/"),
        ("distributors, sorted by GMV", "/admin/distributors/?sort=gmv"),
        ("a distributor", distributor),
        ("commission rules", "/admin/rules/"),
        ("a rule version", "/admin/rules/versions/1"),
        ("a draft", "/admin/rules/draft"),
        ("orders", "/admin/orders/"),
        ("an order", order),
        ("team structure", f"/admin/team/?member={member}"),
        ("audit log", "/admin/audit/"),
        ("shop settings", "/admin/settings/"),
        ("webhook deliveries", "/admin/settings/deliveries"),
        ("API keys", "/admin/settings/keys"),
        ("users", "/admin/settings/users"),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default=None, help="default: a new SQLite file")
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    url = args.database or f"sqlite:///{tempfile.mkdtemp(prefix='fenxiao-pages-')}/bench.sqlite3"
    app, login, seeded = build(url)
    client = log_in(app, login)
    print(f"demo data: {seeded.orders} orders, {seeded.refunds} refunds; {args.repeats} views per page\n")
    print(f"| page | path | median ms | slowest ms | under {GOAL_MS} ms |")
    print("|---|---|---:|---:|---|")
    for name, path in pages(client):
        times = []
        for _ in range(args.repeats):
            started = time.perf_counter()
            reply = client.get(path)
            times.append((time.perf_counter() - started) * 1000)
            assert reply.status_code == 200, (path, reply.status_code)
        median, slowest = statistics.median(times), max(times)
        print(
            f"| {name} | `{path}` | {median:.1f} | {slowest:.1f} | {'yes' if slowest < GOAL_MS else 'NO'} |"
        )


if __name__ == "__main__":
    main()
