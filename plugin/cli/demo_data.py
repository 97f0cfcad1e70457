"""Two months of a small shop's life for the demo shop of ``fenxiao up``, through the real pipeline.

Ten distributors (a tree under 王芳), sixty buyers and about 250 orders over the last 60 days
(one to three lines, ¥29 to ¥899), each posted as a signed Shopify webhook through the app:
``orders/paid``, then ``orders/fulfilled`` three days later for the orders old enough, and a
refund for about one order in twelve. Then the figures sweep, so the dashboard shows at once.

Only the distributors are seeded directly (members and bindings: there is no webhook for them),
with the day they joined set back so the months compare. Everything is drawn from a fixed seed
and the moment of the seeding, so two demo shops look alike.
"""

from __future__ import annotations

import copy
import json
import random
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib import resources
from zoneinfo import ZoneInfo

from sqlalchemy import update

from adapters.signing import shopify_headers
from plugin import runtime
from plugin.config import Config
from plugin.db import Database
from plugin.inbox import mailbox
from plugin.members import bindings, directory
from plugin.members.models import Distributor
from plugin.reports import refresh

DAYS = 60
ORDER_BASE = 7_100_000_000  # the demo orders' ids: far from the sample order's
CUSTOMER_BASE = 8_800_000
SEED = 11
DRAIN_BATCH = 200  # events per transaction: nothing else writes while the demo is seeded
# (name, invited by): the distributors, a tree under 王芳; a phone number is stored masked
DISTRIBUTORS = (
    ("王芳", None),
    ("李伟", "王芳"),
    ("张敏", "王芳"),
    ("刘洋", "李伟"),
    ("陈静", "李伟"),
    ("杨磊", "张敏"),
    ("赵丽", "张敏"),
    ("黄强", "刘洋"),
    ("周杰", "陈静"),
    ("138****5678", "杨磊"),
)
FAMILY = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
GIVEN = [
    "芳",
    "伟",
    "娜",
    "秀英",
    "敏",
    "静",
    "丽",
    "强",
    "磊",
    "军",
    "洋",
    "勇",
    "艳",
    "杰",
    "娟",
    "涛",
    "明",
    "超",
]
PRODUCTS = (
    ("TEE-WHITE", "服饰", 9900),
    ("DRESS-SILK", "服饰", 59900),
    ("TEA-LONGJING", "食品", 26800),
    ("HONEY-500G", "食品", 8900),
    ("CREAM-NIGHT", "美妆", 32900),
    ("MASK-10", "美妆", 12900),
    ("KETTLE-1L", "家居", 19900),
    ("PILLOW-LATEX", "家居", 39900),
    ("SOCKS-5", "服饰", 2900),
    ("HEADSET-BT", "数码", 89900),
)


@dataclass(frozen=True)
class Seeded:
    orders: int
    refunds: int
    days: int  # day figures computed


def sample(name: str) -> dict:
    return json.loads(resources.files("plugin").joinpath("samples", "shopify", f"{name}.json").read_bytes())


def fen(amount: int) -> str:
    return f"{amount // 100}.{amount % 100:02d}"


def order_payload(order_id: int, paid_at: datetime, lines: list[tuple[str, str, int]], customer: dict, ref):
    """A paid Shopify order: one line per (sku, product type, amount), quantity 1."""
    payload = sample("orders_paid")
    template = payload["line_items"][0]
    total = fen(sum(amount for _, _, amount in lines))
    payload.update(
        id=order_id,
        name=f"#{order_id % 100000}",
        created_at=paid_at.isoformat(),
        processed_at=paid_at.isoformat(),
        updated_at=paid_at.isoformat(),
        total_price=total,
        subtotal_price=total,
        current_total_price=total,
        landing_site="/",
        note_attributes=[{"name": "ref", "value": ref}] if ref else [],
        customer=customer,
        line_items=[
            {
                **copy.deepcopy(template),
                "id": order_id * 10 + index,
                "product_id": 9000 + PRODUCTS.index(next(p for p in PRODUCTS if p[0] == sku)),
                "sku": sku,
                "title": sku,
                "quantity": 1,
                "price": fen(amount),
                "total_discount": "0.00",
                "discount_allocations": [],
                "product_type": product_type,
            }
            for index, (sku, product_type, amount) in enumerate(lines)
        ],
    )
    return payload


def fulfilled_payload(paid: dict, at: datetime) -> dict:
    payload = copy.deepcopy(paid)
    payload.update(fulfillment_status="fulfilled", updated_at=at.isoformat())
    payload["fulfillments"] = [
        {"id": paid["id"] * 3, "order_id": paid["id"], "status": "success", "created_at": at.isoformat()}
    ]
    return payload


def refund_payload(paid: dict, refund_id: int, index: int, amount: int, at: datetime) -> dict:
    """A refund of ``amount`` on line ``index`` of ``paid``, the money returned as one transaction."""
    payload = sample("refunds_create")
    template = payload["refund_line_items"][0]
    line = paid["line_items"][index]
    payload.update(id=refund_id, order_id=paid["id"], created_at=at.isoformat(), processed_at=at.isoformat())
    payload["refund_line_items"] = [
        {
            # Shopify's float ``subtotal`` is left out: the adapter reads ``subtotal_set`` only.
            **{key: value for key, value in copy.deepcopy(template).items() if key != "subtotal"},
            "id": refund_id * 10,
            "line_item_id": line["id"],
            "subtotal_set": {"shop_money": {"amount": fen(amount), "currency_code": "CNY"}},
            "line_item": {"id": line["id"], "sku": line["sku"], "price": line["price"]},
        }
    ]
    payload["transactions"][0].update(id=refund_id * 7, order_id=paid["id"], amount=fen(amount))
    return payload


def seed_distributors(database: Database, shop_id: int, now: datetime) -> list[str]:
    """The distributors and their bindings, joined 70 to 90 days ago; their invite codes."""
    codes: dict[str, str] = {}
    with database.transaction() as session:
        for index, (name, inviter) in enumerate(DISTRIBUTORS):
            member = directory.member_for_identity(
                session, shop_id, "shopify", str(CUSTOMER_BASE - 1 - index)
            )
            member.display_name = name
            codes[name] = f"INV-DEMO{index:02d}"
            directory.make_distributor(
                session, shop_id, member.id, invite_code=codes[name], actor="quickstart"
            )
            if inviter:
                bindings.bind(session, shop_id, member.id, codes[inviter], actor="quickstart")
            joined = now - timedelta(days=90 - 2 * index)
            session.execute(
                update(Distributor).where(Distributor.member_id == member.id).values(created_at=joined)
            )
    return list(codes.values())


def buyers(rng: random.Random, count: int) -> list[dict]:
    """Shopify customers: most with a name, some with only a phone number (the platform's data)."""
    people = []
    for index in range(count):
        customer = {"id": CUSTOMER_BASE + index, "email": f"buyer{index}@example.com"}
        if index % 5 == 4:
            customer["phone"] = f"+86139{rng.randrange(10**8):08d}"
        else:
            customer.update(last_name=rng.choice(FAMILY), first_name=rng.choice(GIVEN))
        people.append(customer)
    return people


class StoreOnly:
    """A job queue that runs nothing: intake stores each delivery, and ``seed`` drains them all
    afterwards in batches, the way a worker drains a burst (one event per transaction would take
    the demo's first start from seconds to a minute)."""

    kind = "store-only"
    runtime = None

    def enqueue(self, func, *args, job_id: str, queue_name: str = "") -> bool:
        return True

    def wake(self, func, *, queue_name: str = "") -> bool:
        return True

    def woken(self, queue_name: str = "") -> None:
        """Nothing is ever queued."""

    def ping(self) -> bool:
        return True

    def close(self) -> None:
        """Nothing runs."""


def seed(database_url: str, shop_id: int, secret: str, timezone: str, now: datetime | None = None) -> Seeded:
    """Post two months of orders, fulfilments and refunds to the demo shop as signed webhooks
    through an app of its own (``StoreOnly`` jobs), drain them through the inbox, then refresh
    the figures. Commissions past their after-sales window are left to the settlement sweep
    (the embedded app runs it within 30 s of starting; ``settle_due`` here would take seconds)."""
    from plugin.app import create_app

    app = create_app(Config(database_url=database_url, jobs="inline", testing=True))
    rt = app.extensions[runtime.EXTENSION]
    rt.queue = StoreOnly()
    database, client = rt.database, app.test_client()
    now = now or datetime.now(UTC)
    rng = random.Random(SEED)
    codes = seed_distributors(database, shop_id, now)
    people = buyers(rng, 60)
    inviter = {c["id"]: (rng.choice(codes) if i % 6 else None) for i, c in enumerate(people)}
    zone = ZoneInfo(timezone)
    deliveries: list[tuple[datetime, str, dict]] = []
    orders = refunds = 0
    for day in range(DAYS, -1, -1):
        local = (now - timedelta(days=day)).astimezone(zone)
        for _ in range(rng.randint(2, 6) if day else 2):
            hour = rng.randint(9, 22) if day else max(0, local.hour - 1)
            paid_at = local.replace(hour=hour, minute=rng.randrange(60), second=0, microsecond=0)
            if paid_at > now:
                continue
            customer = rng.choice(people)
            lines = [rng.choice(PRODUCTS) for _ in range(rng.choice((1, 1, 1, 2, 2, 3)))]
            paid = order_payload(ORDER_BASE + orders, paid_at, lines, customer, inviter[customer["id"]])
            orders += 1
            deliveries.append((paid_at, "orders/paid", paid))
            done = paid_at + timedelta(days=3)
            if done < now:
                deliveries.append((done, "orders/fulfilled", fulfilled_payload(paid, done)))
            if rng.random() < 0.08:
                refunded_at = paid_at + timedelta(days=rng.randint(1, 12))
                if refunded_at < now:
                    index = rng.randrange(len(lines))
                    amount = lines[index][2] if rng.random() < 0.5 else lines[index][2] // 2
                    refunds += 1
                    deliveries.append(
                        (
                            refunded_at,
                            "refunds/create",
                            refund_payload(paid, ORDER_BASE + 50_000 + refunds, index, amount, refunded_at),
                        )
                    )
    deliveries.sort(key=lambda delivery: delivery[0])
    for _at, topic, payload in deliveries:
        body = json.dumps(payload).encode()
        reply = client.post(
            f"/webhooks/shopify/{shop_id}",
            data=body,
            headers=shopify_headers(topic, body, secret, str(uuid.uuid4())),
        )
        if reply.status_code != 200:
            raise RuntimeError(
                f"the demo {topic} was refused: {reply.status_code} {reply.get_data(as_text=True)}"
            )
    while mailbox.drain(database, limit=DRAIN_BATCH):
        pass
    try:
        return Seeded(orders=orders, refunds=refunds, days=refresh.sweep(database))
    finally:
        database.dispose()
