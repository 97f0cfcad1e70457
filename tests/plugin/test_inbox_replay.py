"""``fenxiao inbox replay --shop --since`` and ``fenxiao inbox show``: a replay re-applies the
shop's stored deliveries without changing anything already applied, puts failed and dead ones
back through the worker, reports what fails and goes on; ``show`` says what a delivery became."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from adapters.registry import get_adapter
from plugin.audit.models import AuditEvent
from plugin.cli.demo import seed_chain
from plugin.commissions import settlement
from plugin.commissions.models import Attribution, Commission, MonthTally
from plugin.db import utcnow
from plugin.errors import InvalidSetting, NotFound
from plugin.inbox import fetching, mailbox, replay, show
from plugin.inbox.models import InboxEvent
from plugin.ledger import journal
from plugin.ledger.models import Account, LedgerEntry, LedgerTransaction
from plugin.orders import lifecycle
from plugin.orders.models import Order, OrderLine, Refund, RefundLine
from tests.conftest import fixture_bytes, fixture_json, shopify_headers
from tests.plugin import shopify_orders

PAST = datetime(2000, 1, 1, tzinfo=UTC)
SECOND_ORDER = 7_200_000_001
TABLES = (
    LedgerTransaction,
    LedgerEntry,
    Account,
    Commission,
    Attribution,
    MonthTally,
    Order,
    OrderLine,
    Refund,
    RefundLine,
    InboxEvent,
)


def rows(session, model, shop_id) -> list[dict]:
    columns = model.__table__.columns
    found = session.scalars(select(model).where(model.shop_id == shop_id).order_by(model.id))
    return [{c.key: getattr(row, c.key) for c in columns} for row in found]


def snapshot(database, shop_id) -> dict:
    """Everything a delivery can write, row by row, and every member's balances."""
    with database.read() as session:
        state = {model.__tablename__: rows(session, model, shop_id) for model in TABLES}
        members = {account["member_id"] for account in state["account"]}
        state["balances"] = {m: journal.member_balances(session, shop_id, m, "CNY") for m in sorted(members)}
        assert journal.unbalanced_transactions(session, shop_id) == []
    return state


def audit_actions(database, shop_id) -> Counter:
    with database.read() as session:
        return Counter(session.scalars(select(AuditEvent.action).where(AuditEvent.shop_id == shop_id)))


def statuses(database, shop_id) -> dict[int, str]:
    with database.read() as session:
        found = session.execute(select(InboxEvent.id, InboxEvent.status).where(InboxEvent.shop_id == shop_id))
        return dict(found.all())


def store(database, shop, topic: str, payload) -> int:
    """Store a delivery as intake would, without processing it."""
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    headers = shopify_headers(topic, body, shop.secret)
    with database.transaction() as session:
        delivery = get_adapter("shopify").describe(headers, body)
        return mailbox.store(session, shop.id, "shopify", delivery, headers, body)


def received_on(database, event_ids, moment: datetime) -> None:
    with database.transaction() as session:
        session.execute(update(InboxEvent).where(InboxEvent.id.in_(event_ids)).values(received_at=moment))


def second_order(paid_at=datetime(2026, 11, 12, 9, 0, tzinfo=UTC)) -> dict:
    return shopify_orders.order(SECOND_ORDER, paid_at, [20_000, 5_000], customer=6001, ref="INV-B7K2")


@pytest.fixture
def history(database, shop, send):
    """A shop whose ledger has every kind of posting: an order paid, fulfilled, settled and then
    partly refunded (clawback), a second one paid and partly refunded while pending (cancel)."""
    with database.transaction() as session:
        seed_chain(session, shop.id)
    assert send(shop, "orders/paid", fixture_json("shopify", "orders_paid")).status_code == 200
    assert send(shop, "orders/fulfilled", fixture_json("shopify", "orders_fulfilled")).status_code == 200
    assert settlement.settle_due(database, utcnow() + timedelta(days=60)) > 0
    assert send(shop, "refunds/create", fixture_json("shopify", "refunds_create")).status_code == 200
    assert send(shop, "orders/paid", second_order()).status_code == 200
    refund = shopify_orders.refund(SECOND_ORDER, 9_100, {0: 4_000}, datetime(2026, 11, 13, tzinfo=UTC))
    assert send(shop, "refunds/create", refund).status_code == 200
    assert set(statuses(database, shop.id).values()) == {"processed"}
    return shop


def test_a_replay_of_processed_events_changes_nothing(database, history):
    before, audit_before = snapshot(database, history.id), audit_actions(database, history.id)
    kinds = {t["kind"] for t in before["ledger_transaction"]}
    assert kinds == {"accrue", "settle", "clawback", "cancel"}  # every posting a delivery can cause

    report = replay.replay_since(database, history.id, PAST)

    assert dict(report.counts) == {"reapplied": 5}
    assert report.failures == []
    assert snapshot(database, history.id) == before  # inbox rows included: still processed, same attempts
    assert audit_actions(database, history.id) == audit_before + Counter({"inbox.replayed": 1})
    assert replay.replay_since(database, history.id, PAST).counts == report.counts  # and again
    assert snapshot(database, history.id) == before


def test_a_replay_is_audited_once_with_its_window_and_counts(database, history):
    until = utcnow() + timedelta(minutes=1)
    replay.replay_since(database, history.id, PAST, until=until, actor="ops@example.com")
    with database.read() as session:
        [audit] = session.scalars(select(AuditEvent).where(AuditEvent.action == "inbox.replayed")).all()
    assert (audit.shop_id, audit.actor, audit.subject_type, audit.subject_id) == (
        history.id,
        "ops@example.com",
        "shop",
        str(history.id),
    )
    assert audit.data == {
        "since": "2000-01-01T00:00:00+00:00",
        "until": until.isoformat(),
        "reapplied": 5,
        "replayed": 0,
        "skipped": 0,
        "ignored": 0,
        "received": 0,
        "failed": 0,
        "failed_events": [],
    }


@pytest.fixture
def broken(monkeypatch):
    """Applying an order snapshot fails (an outage); call it to mend it."""

    def fail(*args, **kwargs):
        raise RuntimeError("database on fire")

    working = lifecycle.apply_snapshot
    monkeypatch.setattr(lifecycle, "apply_snapshot", fail)
    return lambda: monkeypatch.setattr(lifecycle, "apply_snapshot", working)


def make_dead(database, shop, topic="orders/paid", payload=None) -> int:
    event_id = store(database, shop, topic, payload or fixture_json("shopify", "orders_paid"))
    for _ in range(mailbox.MAX_ATTEMPTS):
        mailbox.process(database, event_id)
    return event_id


def test_a_dead_event_is_processed_by_the_replay(database, shop, broken):
    with database.transaction() as session:
        seed_chain(session, shop.id)
    dead = make_dead(database, shop)
    assert statuses(database, shop.id) == {dead: "dead"}
    broken()  # the outage is over

    report = replay.replay_since(database, shop.id, PAST)

    assert dict(report.counts) == {"replayed": 1}
    with database.read() as session:
        event = session.get(InboxEvent, dead)
        assert (event.status, event.attempts) == ("processed", 1)
        assert sorted(session.scalars(select(Commission.amount))) == [500, 1000, 1490, 2980]


def test_events_that_fail_are_reported_and_the_run_goes_on(database, history, broken):
    """Snapshots cannot be applied; refunds still are, and nothing is half written."""
    before = snapshot(database, history.id)
    dead = make_dead(database, history, "orders/paid", second_order() | {"id": SECOND_ORDER + 1})

    report = replay.replay_since(database, history.id, PAST)

    paid, fulfilled, _refund, paid_again, _refund_again, _dead = sorted(statuses(database, history.id))
    assert report.counts == Counter(failed=4, reapplied=2)  # the snapshots fail, the refunds apply
    assert report.failures == [
        (event_id, "RuntimeError: database on fire") for event_id in (paid, fulfilled, paid_again, dead)
    ]
    after = snapshot(database, history.id)
    assert {k: v for k, v in after.items() if k != "inbox_event"} == {
        k: v for k, v in before.items() if k != "inbox_event"
    }
    assert statuses(database, history.id)[dead] == "failed"  # back in line, the workers retry it


def test_a_replay_takes_only_the_window_and_only_the_shop(database, make_shop, broken):
    shop, other = make_shop(), make_shop(name="Other shop")
    for each in (shop, other):
        with database.transaction() as session:
            seed_chain(session, each.id)
    orders = {
        day: shopify_orders.order(7_300_000_000 + day, datetime(2026, 11, day, tzinfo=UTC), [10_000])
        for day in (1, 2, 3)
    }
    events = {day: make_dead(database, shop, "orders/paid", payload) for day, payload in orders.items()}
    elsewhere = make_dead(database, other, "orders/paid", orders[2])
    for day, event_id in events.items():
        received_on(database, [event_id], datetime(2026, 11, day, 12, 0, tzinfo=UTC))
    received_on(database, [elsewhere], datetime(2026, 11, 2, 12, 0, tzinfo=UTC))
    broken()

    report = replay.replay_since(
        database, shop.id, datetime(2026, 11, 2, tzinfo=UTC), until=datetime(2026, 11, 3, tzinfo=UTC)
    )

    assert dict(report.counts) == {"replayed": 1}
    assert statuses(database, shop.id) == {events[1]: "dead", events[2]: "processed", events[3]: "dead"}
    assert statuses(database, other.id) == {elsewhere: "dead"}
    with database.read() as session:
        assert session.scalars(select(Commission).where(Commission.shop_id == other.id)).all() == []


def test_a_date_is_midnight_utc_and_until_is_excluded(database, shop):
    first = store(database, shop, "orders/paid", shopify_orders.order(7_400_000_001, PAST, [100], ref=None))
    second = store(database, shop, "orders/paid", shopify_orders.order(7_400_000_002, PAST, [100], ref=None))
    received_on(database, [first], datetime(2026, 11, 1, 23, 59, tzinfo=UTC))
    received_on(database, [second], datetime(2026, 11, 2, 0, 0, tzinfo=UTC))
    assert replay.count_events(database, shop.id, datetime(2026, 11, 2)) == 1
    assert replay.count_events(database, shop.id, datetime(2026, 11, 1), datetime(2026, 11, 2)) == 1
    plus_eight = datetime.fromisoformat("2026-11-02T08:00:00+08:00")  # midnight UTC
    assert replay.count_events(database, shop.id, plus_eight) == 1
    with pytest.raises(InvalidSetting):
        replay.replay_since(database, shop.id, datetime(2026, 11, 2), until=datetime(2026, 11, 2))
    with pytest.raises(NotFound):
        replay.replay_since(database, 987_654, PAST)


def test_ignored_events_are_skipped_and_received_ones_left_to_the_workers(database, shop):
    ignored = store(database, shop, "products/create", b'{"id": 1}')
    waiting = store(database, shop, "orders/paid", fixture_json("shopify", "orders_paid"))

    report = replay.replay_since(database, shop.id, PAST)

    assert dict(report.counts) == {"ignored": 1, "received": 1}
    assert statuses(database, shop.id) == {ignored: "ignored", waiting: "received"}
    with database.read() as session:
        assert session.scalars(select(Order)).all() == []


def test_a_replay_of_hundreds_of_events_goes_in_batches(database, shop, monkeypatch):
    with database.transaction() as session:
        seed_chain(session, shop.id)
    start = datetime(2026, 11, 11, tzinfo=UTC)
    for n in range(300):
        paid_at = start + timedelta(minutes=n)
        payload = shopify_orders.order(
            7_500_000_000 + n, paid_at, [1_000 + n], customer=8000 + n % 7, ref="INV-B7K2"
        )
        store(database, shop, "orders/paid", payload)
    while mailbox.drain(database):
        pass
    before = snapshot(database, shop.id)
    assert len(before["commission"]) == 600  # one line each, two tiers
    monkeypatch.setattr(replay, "PAGE", 150)  # several pages as well as several batches
    transactions, working = [], replay._reapply
    monkeypatch.setattr(
        replay,
        "_reapply",
        lambda db, s, ids, apis: transactions.append(len(ids)) or working(db, s, ids, apis),
    )
    progressed = []

    report = replay.replay_since(database, shop.id, PAST, progress=progressed.append)

    assert dict(report.counts) == {"reapplied": 300}
    assert sum(transactions) == sum(progressed) == 300
    assert max(transactions) == mailbox.BATCH[database.dialect] and len(transactions) > 3
    assert snapshot(database, shop.id) == before


def test_show_tells_what_an_event_became(database, history):
    first = min(statuses(database, history.id))
    view = show.show_event(database, first)
    assert (view["topic"], view["status"], view["attempts"]) == ("orders/paid", "processed", 1)
    assert view["headers"]["x-shopify-hmac-sha256"] == "[redacted]"
    assert view["headers"]["x-shopify-topic"] == "orders/paid"
    assert json.loads(view["body"])["id"] == 820982911946154508
    assert view["normalized"]["type"] == "Order"
    assert view["normalized"]["external_id"] == "820982911946154508"
    order = view["order"]
    assert (order["external_id"], order["status"], order["paid_total"]) == (
        "820982911946154508",
        "completed",
        39800,
    )
    assert order["refunded_total"] == 14900
    assert sorted((c["tier"], c["amount"], c["status"]) for c in order["commissions"]) == [
        (1, 1000, "available"),
        (1, 2980, "available"),
        (2, 500, "available"),
        (2, 1490, "available"),
    ]
    keys = sorted(t["key"].split(":")[0] for t in order["ledger"])
    assert keys == ["accrue"] * 4 + ["reverse"] * 2 + ["settle"] * 4
    for txn in order["ledger"]:
        assert sum(leg["amount"] for leg in txn["entries"]) == 0


def test_cli_replay_prints_a_summary_and_audits(database, history, runner):
    result = runner("inbox", "replay", "--shop", str(history.id), "--since", "2000-01-01", "--actor", "ops")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == f"shop {history.id}: deliveries received from 2000-01-01T00:00:00+00:00 to now"
    assert "reapplied         5  processed: applied again" in lines
    assert "failed            0  could not be replayed (below)" in lines
    assert lines[-1] == "total             5"
    with database.read() as session:
        assert session.scalar(select(AuditEvent.actor).where(AuditEvent.action == "inbox.replayed")) == "ops"


def test_cli_replay_exits_1_when_an_event_fails(database, history, runner, broken):
    result = runner("inbox", "replay", "--shop", str(history.id), "--since", "2000-01-01T00:00:00+08:00")
    assert result.exit_code == 1
    first = min(statuses(database, history.id))
    assert f"  event {first}: RuntimeError: database on fire" in result.output.splitlines()
    assert "failed            3  could not be replayed (below)" in result.output.splitlines()


def test_cli_replay_of_one_event_still_works(database, shop, runner, broken):
    dead = make_dead(database, shop)
    broken()
    result = runner("inbox", "replay", str(dead))
    assert (result.exit_code, result.output) == (0, "processed\n")


def test_cli_show_prints_the_order_and_its_commissions(database, history, runner):
    first = min(statuses(database, history.id))
    result = runner("inbox", "show", str(first))
    assert result.exit_code == 0, result.output
    out = result.output.splitlines()
    assert out[0] == f"event {first}  shop {history.id}  shopify orders/paid (order)"
    assert "  x-shopify-hmac-sha256: [redacted]" in out
    order_id = show.show_event(database, first)["order"]["id"]
    became = (
        f"became: order 820982911946154508 (id {order_id}), completed, paid 398.00 CNY, refunded 149.00 CNY"
    )
    assert became in out
    assert "commissions: 4" in out
    assert sum(line.startswith("  tier ") for line in out) == 4
    assert "ledger transactions: 10" in out
    as_json = json.loads(runner("inbox", "show", str(first), "--json").output)
    assert as_json == show.show_event(database, first)


def test_cli_show_of_an_ignored_and_of_an_unreadable_event(database, shop, runner):
    ignored = store(database, shop, "products/create", b'{"id": 1}')
    out = runner("inbox", "show", str(ignored)).output.splitlines()
    assert out[1:3] == [
        "  key        " + show.show_event(database, ignored)["event_key"],
        "  status     ignored after 0 attempt(s)",
    ]
    assert "  reason     topic products/create is not acted on" in out
    assert "normalized: nothing (this kind of delivery is not acted on)" in out
    assert out[-1] == "became: unknown"
    unreadable = store(
        database, shop, "orders/paid", fixture_bytes("shopify", "orders_paid").replace(b'"149.00"', b'"abc"')
    )
    assert mailbox.process(database, unreadable) == "dead"
    out = runner("inbox", "show", str(unreadable)).output.splitlines()
    assert "normalized: PayloadError: line_items.0.price must be a non-negative decimal string" in out
    assert "  last error PayloadError: line_items.0.price must be a non-negative decimal string" in out
    assert out[-1] == "became: unknown"


def test_a_body_is_shown_as_indented_json_or_as_text():
    assert show.body_text(b'{"a": [1, "\xe5\x88\x86"]}') == '{\n  "a": [\n    1,\n    "\u5206"\n  ]\n}'
    assert show.body_text(b"not json \xff") == "not json \ufffd"


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["inbox", "show", "424242"], 1, "Error: not_found: no inbox event 424242 (field event_id)"),
        (["inbox", "replay", "424242"], 1, "Error: no inbox event 424242"),
        (
            ["inbox", "replay", "--shop", "{shop}", "--since", "last week"],
            2,
            "Error: Invalid value for '--since': 'last week' is not an ISO date or time, "
            "e.g. 2026-11-11 or 2026-11-11T00:00:00+08:00",
        ),
        (
            ["inbox", "replay", "--shop", "{shop}"],
            2,
            "Error: give an EVENT_ID, or --shop and --since to replay a shop's deliveries",
        ),
        (
            ["inbox", "replay", "7", "--shop", "{shop}", "--since", "2026-11-01"],
            2,
            "Error: give either EVENT_ID or --shop with --since, not both",
        ),
        (
            ["inbox", "replay", "--shop", "{shop}", "--since", "2026-11-02", "--until", "2026-11-01"],
            2,
            "Error: --since (2026-11-02T00:00:00+00:00) must be before --until (2026-11-01T00:00:00+00:00)",
        ),
        (
            ["inbox", "replay", "--shop", "999999", "--since", "2026-11-01"],
            1,
            "Error: not_found: no shop 999999 (field shop_id)",
        ),
    ],
)
def test_cli_mistakes_print_one_line_and_fail(runner, shop, args, code, message):
    result = runner(*[a.format(shop=shop.id) for a in args])
    assert result.exit_code == code
    assert "Traceback" not in result.output
    assert result.output.strip().splitlines()[-1] == message


def test_an_adapter_that_fetches_gets_the_platform_client_or_fails_alone(database, history, monkeypatch):
    """A platform whose messages carry no amounts (Weimob) is normalized with the shop's API
    client, outside the transaction as the worker does; without one every such event fails with
    its reason, and the ledger stays as it is either way."""
    monkeypatch.setattr(get_adapter("shopify"), "normalize_at_intake", False)
    monkeypatch.setattr(fetching, "fetching_platforms", lambda: ("shopify",))
    before = snapshot(database, history.id)
    first = min(statuses(database, history.id))
    assert show.show_event(database, first)["normalized"] == {
        "needs_fetch": "shopify messages carry no amounts: the worker fetches the order"
    }

    report = replay.replay_since(database, history.id, PAST)
    assert report.counts == Counter(failed=5)
    assert report.failures[0] == (first, "NotConnected: no platform API client for shopify in this process")

    class Clients:
        asked: list[int] = []

        def for_shop(self, db, shop_id):
            self.asked.append(shop_id)

        def __call__(self, session, shop):
            raise AssertionError("no platform call inside the transaction")

    clients = Clients()
    report = replay.replay_since(database, history.id, PAST, apis=clients)
    assert report.counts == Counter(reapplied=5)
    assert clients.asked == [history.id] * 5
    assert snapshot(database, history.id) == before
