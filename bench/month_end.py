"""Month-end: N approved withdrawals paid out by RQ workers through a loopback Alipay, then the
month reconciled against the gateway's statement.

    python bench/month_end.py                          # starts its own PostgreSQL and Redis
    python bench/month_end.py --withdrawals 100000 --workers 2
    python bench/month_end.py --postgres URL --redis URL   # scratch ones on loopback

What it does:
1. Migrates a fresh database, adds a shop paying through Alipay (labour-remuneration tax on),
   and stores the loopback Alipay's credentials (``plugin/cli/fake_payouts.py``, real RSA2 signatures
   both ways) sealed, as ``fenxiao withdrawals gateway`` would.
2. Seeds N distributors, each with ¥5,000.00 settled, a verified payee and a withdrawal of it
   already approved (credit and hold posted: 4 ledger entries each), in batches.
3. Queues one ``advance_withdrawal`` job per withdrawal on the ``payouts`` queue, starts
   ``--workers`` ``fenxiao worker`` processes, and times them until every withdrawal is paid
   (tax computed, sent, answered, the net posted to ``paid``: 6 more entries each).
4. Seeds the month's completed orders with their settled commissions (``bench/month_orders.py``,
   4 entries each) until the ledger holds ``--entries`` entries (default 1,000,000: the goal's size).
5. Writes the gateway's statement and times ``fenxiao reconcile --month`` on it, printing the
   number of ledger entries it checked. Goal: 1,000,000 entries in under 60 s.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cryptography.fernet import Fernet
from sqlalchemy import func, insert, select

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from month_orders import ENTRIES_PER_ORDER, seed_orders  # noqa: E402
from webhook_ack import FENXIAO, Server, fenxiao  # noqa: E402

from plugin.cli.fake_payouts import FakeAlipay  # noqa: E402
from plugin.db import Database, utcnow  # noqa: E402
from plugin.ledger import journal  # noqa: E402
from plugin.ledger.models import AccountKind, LedgerEntry  # noqa: E402
from plugin.reports.month import current_month  # noqa: E402
from plugin.shops import tenants  # noqa: E402
from plugin.withdrawals import connectors, identity, settings  # noqa: E402
from plugin.withdrawals.keyring import Keyring  # noqa: E402
from plugin.withdrawals.models import Payee, Withdrawal  # noqa: E402

AMOUNT = 500_000  # ¥5,000.00 each: taxed at 20 % of 80 %


def parse_args():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--withdrawals", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--entries", type=int, default=1_000_000, help="ledger entries to reconcile")
    parser.add_argument("--batch", type=int, default=5_000, help="seeded per transaction")
    parser.add_argument("--postgres", metavar="URL")
    parser.add_argument("--redis", metavar="URL")
    return parser.parse_args()


def seed(database: Database, shop_id: int, keys: Keyring, count: int, batch: int) -> None:
    sealed = identity.seal(keys, "王小明", "11010519491231002X", pepper=keys.pepper)
    account = keys.seal("ann@example.com")
    now = utcnow()
    for start in range(1, count + 1, batch):
        members = list(range(start, min(start + batch, count + 1)))
        with database.transaction() as session:
            for kind in (AccountKind.AVAILABLE, AccountKind.WITHDRAWING):
                journal.open_accounts(session, shop_id, members, kind, "CNY")
            expense = journal.shop_account(session, shop_id, AccountKind.COMMISSION_EXPENSE, "CNY")
            payees = session.scalars(
                insert(Payee).returning(Payee.id, sort_by_parameter_order=True),
                [
                    dict(
                        shop_id=shop_id,
                        member_id=m,
                        real_name_sealed=sealed.real_name_sealed,
                        id_number_sealed=sealed.id_number_sealed,
                        id_number_hash=f"{m:064x}",  # one person each: every month starts at zero
                        masked_name=sealed.masked_name,
                        masked_id=sealed.masked_id,
                        channel="alipay",
                        account_sealed=account,
                        masked_account="a***@example.com",
                        status="verified",
                        provider="none",
                        verified_at=now,
                        updated_at=now,
                    )
                    for m in members
                ],
            ).all()
            withdrawals = session.scalars(
                insert(Withdrawal).returning(Withdrawal.id, sort_by_parameter_order=True),
                [
                    dict(
                        shop_id=shop_id,
                        member_id=m,
                        currency="CNY",
                        amount=AMOUNT,
                        fee=0,
                        tax=0,
                        channel="alipay",
                        status="approved",
                        payee_id=payee_id,
                        masked_account="a***@example.com",
                        id_number_hash=f"{m:064x}",
                        requested_by=f"member:{m}",
                        approvals_needed=1,
                        requested_at=now,
                        verified_at=now,
                        approved_at=now,
                    )
                    for m, payee_id in zip(members, payees, strict=True)
                ],
            ).all()
            for m, withdrawal_id in zip(members, withdrawals, strict=True):
                available = journal.account(session, shop_id, m, AccountKind.AVAILABLE, "CNY")
                withdrawing = journal.account(session, shop_id, m, AccountKind.WITHDRAWING, "CNY")
                legs = [journal.debit(expense, AMOUNT), journal.credit(available, AMOUNT)]
                journal.post(session, shop_id, f"bench:settled:{m}", "settle", legs, new_key=True)
                legs = [journal.debit(available, AMOUNT), journal.credit(withdrawing, AMOUNT)]
                journal.post(
                    session, shop_id, f"withdrawal:{withdrawal_id}:hold", "withdrawal", legs, new_key=True
                )
        print(f"  seeded {members[-1]:,} of {count:,}", flush=True)


def enqueue(redis_url: str, database: Database) -> int:
    from redis import Redis
    from rq import Queue

    from plugin.jobs import tasks

    queue = Queue("payouts", connection=Redis.from_url(redis_url))
    with database.read() as session:
        ids = list(session.scalars(select(Withdrawal.id).order_by(Withdrawal.id)))
    for start in range(0, len(ids), 1000):
        queue.enqueue_many(
            [
                Queue.prepare_data(
                    tasks.advance_withdrawal, (i,), job_id=f"withdrawal-{i}-approved", result_ttl=0
                )
                for i in ids[start : start + 1000]
            ]
        )
    return len(ids)


def paid(database: Database) -> int:
    with database.read() as session:
        return session.scalar(select(func.count()).select_from(Withdrawal).where(Withdrawal.status == "paid"))


def main() -> None:
    args = parse_args()
    stops = []
    if not (args.postgres and args.redis):
        from tests import servers

        pg_url, stop_pg = servers.start_postgres()
        redis_url, stop_redis = servers.start_redis()
        stops += [stop_pg, stop_redis]
    else:
        pg_url, redis_url = args.postgres, args.redis
    workdir = Path(tempfile.mkdtemp(prefix="fenxiao-month-end-"))
    keys_env = {"FENXIAO_IDENTITY_KEYS": Fernet.generate_key().decode(), "FENXIAO_IDENTITY_PEPPER": "bench"}
    env = {**os.environ, "DATABASE_URL": pg_url, "REDIS_URL": redis_url, **keys_env}
    env["FENXIAO_SECRET_KEY"] = "bench-secret"
    alipay, workers = FakeAlipay(), []
    try:
        fenxiao("db", "upgrade", env=env, workdir=workdir)
        database, keys = Database(pg_url), Keyring([keys_env["FENXIAO_IDENTITY_KEYS"]], "bench")
        with database.transaction() as session:
            shop = tenants.create_shop(session, name="Month-end", platform="generic").shop
            settings.update(session, shop, "bench", channels=["alipay"])
            connectors.configure(session, shop, keys, "alipay", alipay.credentials(), "bench")
            shop_id, month = shop.id, current_month(shop, utcnow())
        print(f"seeding {args.withdrawals:,} approved withdrawals of ¥{AMOUNT / 100:,.2f}")
        t0 = time.monotonic()
        seed(database, shop_id, keys, args.withdrawals, args.batch)
        seeding = time.monotonic() - t0
        queued = enqueue(redis_url, database)
        started = time.monotonic()
        for number in range(args.workers):
            workers.append(Server(f"worker-{number + 1}", [FENXIAO, "worker", "--no-cron"], env, workdir))
        done = 0
        while done < queued:
            time.sleep(1)
            for worker in workers:
                if worker.proc.poll() is not None:
                    raise SystemExit(f"{worker.name} exited:\n{worker.log.read_text()[-3000:]}")
            done = paid(database)
            if int(time.monotonic() - started) % 15 == 0:
                print(f"  paid {done:,} of {queued:,} after {time.monotonic() - started:.0f} s", flush=True)
        paying = time.monotonic() - started
        for worker in workers:
            worker.stop()
        with database.read() as session:
            entries = session.scalar(select(func.count()).select_from(LedgerEntry))
        orders = max(0, -(-(args.entries - entries) // ENTRIES_PER_ORDER))
        print(f"seeding {orders:,} completed orders with their commissions")
        t0 = time.monotonic()
        seed_orders(database, shop_id, orders, args.batch)
        seeding_orders = time.monotonic() - t0
        statement = workdir / "alipay-statement.csv"
        statement.write_text(alipay.statement())
        with database.read() as session:
            entries = session.scalar(select(func.count()).select_from(LedgerEntry))
            tax = session.scalar(select(func.sum(Withdrawal.tax)))
        t0 = time.monotonic()
        result = subprocess.run(
            [FENXIAO, "reconcile", "--shop", str(shop_id), "--month", month, "--statement", str(statement)],
            env=env,
            cwd=workdir,
            capture_output=True,
            text=True,
        )
        reconciling = time.monotonic() - t0
        print(result.stdout[-3000:])
        rows = [
            ("seed approved withdrawals", f"{queued:,}", seeding, queued / seeding),
            (f"pay out ({args.workers} RQ workers, loopback Alipay)", f"{queued:,}", paying, queued / paying),
            ("seed completed orders", f"{orders:,}", seeding_orders, orders / max(seeding_orders, 1e-9)),
            (
                f"reconcile the month (exit {result.returncode})",
                f"{entries:,} entries",
                reconciling,
                entries / reconciling,
            ),
        ]
        print("\n| step | count | seconds | per second |\n|---|---:|---:|---:|")
        for step, count, seconds, rate in rows:
            print(f"| {step} | {count} | {seconds:.1f} | {rate:,.0f} |")
        print(f"\ntax withheld: ¥{tax / 100:,.2f}; gateway transfers: {len(alipay.orders):,}")
        print("reconcile goal: 1,000,000 ledger entries in under 60 s")
    finally:
        for worker in workers:
            worker.stop()
        alipay.stop()
        for stop in stops:
            stop()


if __name__ == "__main__":
    main()
