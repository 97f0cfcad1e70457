"""Weimob messages through the app: verified with the shop's client id, acknowledged with Weimob's
reply at once, and priced from the order and rights records fetched from Weimob's API (faked with
``responses``). A fetch that fails leaves the event in the inbox for a later drain, never a
half-priced order; any arrival order of paid, refund and completed ends in the same ledger."""

from __future__ import annotations

import functools
import itertools
import json
import threading
from datetime import timedelta

import pytest
import requests
import responses
from sqlalchemy import func, select, update

from adapters.clients import base as client_base
from adapters.http import HttpClient
from adapters.weimob import signed_envelope
from plugin import runtime
from plugin.app import create_app
from plugin.commissions.models import Commission
from plugin.config import Config
from plugin.db import utcnow
from plugin.inbox import mailbox
from plugin.inbox.models import InboxEvent
from plugin.ledger import journal
from plugin.ledger.models import LedgerEntry
from plugin.members.bindings import bind
from plugin.members.directory import make_distributor, member_for_identity
from plugin.orders.models import Order, OrderLine, Refund
from plugin.platforms import connections
from plugin.platforms.models import PlatformConnection
from plugin.shops import tenants
from plugin.shops.models import Shop
from tests.conftest import ShopHandle, fixture_json
from tests.servers import wait_until

CLIENT_ID = "8E1B2D3C4F5A"
BOS_ID = "4020112618957"
API = "https://weimob.fake"  # the connection's api_base: the fake below answers there
ORDER_URL = f"{API}/apigw/weimob_shop/v2.0/order/detail/get"
RIGHTS_URL = f"{API}/apigw/weimob_shop/v2.0/rights/detail/get"
TOKEN_URL = f"{API}/fuwu/b/oauth2/token"
ACK = {"code": {"errcode": "0", "errmsg": "success"}}
SAMPLES = {"paid": "order_paid", "refund": "rights_refund", "completed": "order_completed"}
COMPLETED_AT_MS = 1763427600000  # the completed message's updateTime


class FakeWeimob:
    """Weimob's API as a platform that moves on: each fetch answers the state the platform is in
    when it is made. The purchase is paid (status 3), one tee is refunded (rights 20001
    completed, the order record unchanged: refunds live in rights records), then the order
    completes (status 8, finished at the completed message's time). A message can only arrive
    after what it reports happened, so ``happen`` is called before each delivery."""

    def __init__(self, mock: responses.RequestsMock):
        self.happened: set[str] = set()
        self.down = False
        self.refusal: str | None = None  # a business error code every fetch answers
        self.gate: threading.Event | None = None  # set: fetches wait for it (a slow API)
        self.fetching = threading.Event()
        self.abandoned = False  # a fetch gave up waiting for the gate
        self.fetches: list[tuple[str, dict]] = []
        self.tokens_issued = 0
        self.mock = mock
        mock.add_callback(responses.POST, TOKEN_URL, callback=self._token)
        mock.add_callback(responses.POST, ORDER_URL, callback=self._order)
        mock.add_callback(responses.POST, RIGHTS_URL, callback=self._rights)

    def happen(self, name: str) -> None:
        self.happened.add(name)

    def _token(self, request):
        self.tokens_issued += 1
        return 200, {}, json.dumps({"access_token": "tok-1", "expires_in": 7199, "scope": "default"})

    def _reply(self, request, data):
        self.fetching.set()
        if self.gate is not None and not self.abandoned and not self.gate.wait(timeout=12):
            self.abandoned = True  # a safety valve: whatever waited on this fetch is released
            return 504, {}, "the test never let the slow fetch finish"
        self.fetches.append((request.url.split("?")[0].rsplit("/", 3)[-3], json.loads(request.body)))
        if self.down:
            return 503, {}, "gateway unavailable"
        if self.refusal:
            return 200, {}, json.dumps({"code": {"errcode": self.refusal, "errmsg": "busy"}})
        assert "accesstoken=tok-1" in request.url
        return 200, {}, json.dumps({**ACK, "data": data})

    def _order(self, request):
        record = fixture_json("weimob", "order_detail_get_response")["data"]
        if "completed" in self.happened:
            record.update(orderStatus=8, updateTime=COMPLETED_AT_MS)
            record["orderBaseInfo"] = {"finishTime": COMPLETED_AT_MS}
        return self._reply(request, record)

    def _rights(self, request):
        return self._reply(request, fixture_json("weimob", "rights_detail_get_response")["data"])


@pytest.fixture
def weimob(monkeypatch):
    """The fake API; the platform client's retries do not sleep."""
    monkeypatch.setattr(client_base, "HttpClient", functools.partial(HttpClient, sleep=lambda _: None))
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield FakeWeimob(mock)


def chained_shop(make_shop, database, *, client_id: str | None = CLIENT_ID):
    """A Weimob shop (app id, bosId and the fake's address configured) whose buyer, wid 4464,
    is bound under B, who is bound under A: two tiers earn on the purchase."""
    handle = make_shop(platform="weimob")
    with database.transaction() as session:
        shop = session.get(Shop, handle.id)
        connections.configure(session, shop, client_id=client_id, shop_ref=BOS_ID, api_base=API)
        chain = {}
        for name, code, inviter in (("A", "WM-A", None), ("B", "WM-B", "WM-A"), ("buyer", None, "WM-B")):
            member = member_for_identity(
                session, shop.id, "weimob", "4464" if name == "buyer" else f"wid-{name}"
            )
            if code:
                make_distributor(session, shop.id, member.id, invite_code=code)
                session.flush()
            if inviter:
                bind(session, shop.id, member.id, inviter)
            chain[name] = member.id
    return handle, chain


@pytest.fixture
def shop(make_shop, database):
    return chained_shop(make_shop, database)[0]


def message(name: str, secret: str, *, indent=None, **envelope) -> bytes:
    body = signed_envelope({**fixture_json("weimob", SAMPLES.get(name, name)), **envelope}, CLIENT_ID, secret)
    return body if indent is None else json.dumps(json.loads(body), indent=indent).encode()


def post(client, shop, body: bytes):
    return client.post(shop.webhook_url, data=body, content_type="application/json")


def count(database, model) -> int:
    with database.transaction() as session:
        return session.scalar(select(func.count()).select_from(model))


def nothing_stored(database) -> bool:
    return all(count(database, model) == 0 for model in (InboxEvent, Order, Commission, LedgerEntry))


def commissions(database, shop_id: int) -> list[tuple]:
    with database.transaction() as session:
        return sorted(
            session.execute(
                select(Commission.tier, Commission.amount, Commission.reversed, Commission.status).where(
                    Commission.shop_id == shop_id
                )
            ).all()
        )


def test_a_paid_message_is_acknowledged_and_priced_from_the_fetched_order(client, shop, database, weimob):
    weimob.happen("paid")
    reply = post(client, shop, message("paid", shop.secret))
    assert (reply.status_code, reply.get_json()) == (200, ACK)
    assert weimob.fetches == [("order", {"orderNo": 10001})]
    with database.transaction() as session:
        event = session.scalar(select(InboxEvent))
        assert (event.topic, event.kind, event.status) == (
            "weimob_shop.order/statusUpdate",
            "order",
            "processed",
        )
        order = session.scalar(select(Order))
        assert (order.platform, order.external_id, order.status, order.paid_total) == (
            "weimob",
            "10001",
            "paid",
            39800,
        )
        lines = session.execute(
            select(OrderLine.external_id, OrderLine.quantity, OrderLine.unit_price, OrderLine.paid_amount)
            .where(OrderLine.order_id == order.id)
            .order_by(OrderLine.external_id)
        ).all()
        assert lines == [("1", 2, 14900, 29800), ("2", 1, 12000, 10000)]
        connection = session.get(PlatformConnection, shop.id)
        assert (connection.status, connection.access_token is not None) == ("connected", True)
        assert b"tok-1" not in connection.access_token.encode()  # sealed, never in clear
    weimob.happen("completed")  # a second message: the kept token is used again
    assert post(client, shop, message("completed", shop.secret)).get_json() == ACK
    assert (weimob.tokens_issued, len(weimob.fetches)) == (1, 2)
    with database.transaction() as session:
        assert session.scalar(select(Order.status)) == "completed"
    assert commissions(database, shop.id) == [
        (1, 1000, 0, "pending"),
        (1, 2980, 0, "pending"),
        (2, 500, 0, "pending"),
        (2, 1490, 0, "pending"),
    ]


def test_the_intake_acknowledges_while_the_api_is_down_and_a_later_drain_prices_it(
    app, client, shop, database, weimob
):
    weimob.happen("paid")
    weimob.down = True
    reply = post(client, shop, message("paid", shop.secret))
    assert (reply.status_code, reply.get_json()) == (200, ACK)
    with database.transaction() as session:
        event = session.scalar(select(InboxEvent))
        assert (event.status, event.attempts) == ("failed", 1)
        assert event.last_error.startswith("PlatformUnavailable: weimob: 503")
        assert event.next_attempt_at > utcnow()
    assert count(database, Order) == 0  # nothing half-priced
    assert count(database, LedgerEntry) == count(database, Commission) == 0

    weimob.down = False
    apis = connections.api_factory(app.extensions[runtime.EXTENSION].config)
    assert mailbox.drain(database, apis=apis) == 0  # not due yet: it backs off
    with database.transaction() as session:
        session.execute(update(InboxEvent).values(next_attempt_at=utcnow() - timedelta(seconds=1)))
    assert mailbox.drain(database, apis=apis) == 1
    with database.transaction() as session:
        event = session.scalar(select(InboxEvent))
        assert (event.status, event.attempts) == ("processed", 2)
        assert session.scalar(select(Order.status)) == "paid"
    assert count(database, LedgerEntry) > 0
    assert [amount for _, amount, _, _ in commissions(database, shop.id)] == [1000, 2980, 500, 1490]


def test_a_refusal_by_the_api_also_leaves_the_event_for_a_retry(client, shop, database, weimob):
    weimob.happen("paid")
    weimob.refusal = "80001001000500"
    assert post(client, shop, message("paid", shop.secret)).get_json() == ACK
    with database.transaction() as session:
        event = session.scalar(select(InboxEvent))
        assert event.status == "failed"
        assert "80001001000500" in event.last_error
    assert count(database, Order) == 0


@pytest.mark.parametrize("signed_with", ["someone-else", None])
def test_a_tampered_or_foreign_message_is_401_and_stores_nothing(client, shop, database, weimob, signed_with):
    body = message("paid", signed_with or shop.secret)
    if signed_with is None:
        tampered = body.replace(b'\\"orderStatus\\":3', b'\\"orderStatus\\":8')
        assert tampered != body
        body = tampered
    reply = post(client, shop, body)
    assert reply.status_code == 401
    assert reply.get_json()["error"]["code"] == "bad_signature"
    assert nothing_stored(database)
    assert weimob.fetches == []


def test_a_shop_without_a_client_id_refuses_every_message(client, make_shop, database, weimob):
    shop, _ = chained_shop(make_shop, database, client_id=None)
    reply = post(client, shop, message("paid", shop.secret))
    assert reply.status_code == 401
    assert "client id" in reply.get_json()["error"]["message"]
    assert nothing_stored(database)


def test_a_heartbeat_is_acknowledged_and_not_stored(client, shop, database, weimob):
    reply = post(client, shop, message("paid", shop.secret, test=True))
    assert (reply.status_code, reply.get_json()) == (200, ACK)
    assert count(database, InboxEvent) == 0
    assert weimob.fetches == []


def test_a_duplicate_message_is_acknowledged_and_processed_once(client, shop, database, weimob):
    weimob.happen("paid")
    for body in (
        message("paid", shop.secret),
        message("paid", shop.secret),
        message("paid", shop.secret, indent=2),
    ):
        assert post(client, shop, body).get_json() == ACK
    with database.transaction() as session:
        assert session.execute(select(InboxEvent.status, InboxEvent.attempts)).all() == [("processed", 1)]
    assert len(weimob.fetches) == 1


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        (lambda secret: b"{not json", 400, "body"),
        (lambda secret: message("paid", secret, msgBody="{not json"), 422, "msgBody"),
        (lambda secret: message("paid", secret, msgBody='{"orderStatus":3}'), 422, "msgBody.orderNo"),
        (lambda secret: message("paid", secret, topic=None), 422, "topic"),
    ],
)
def test_a_malformed_message_is_4xx_and_stores_nothing(client, shop, database, weimob, body, status, field):
    reply = post(client, shop, body(shop.secret))
    assert reply.status_code == status
    assert reply.get_json()["error"]["field"] == field
    assert nothing_stored(database)


def test_a_message_over_real_http_is_acknowledged_and_processed(live_server, shop, database, weimob):
    weimob.mock.add_passthru(live_server)
    weimob.happen("paid")
    body = message("paid", shop.secret)
    reply = requests.post(
        live_server + shop.webhook_url, data=body, headers={"Content-Type": "application/json"}, timeout=10
    )
    assert (reply.status_code, reply.json()) == (200, ACK)
    with database.transaction() as session:
        assert session.scalar(select(Order.paid_total)) == 39800
    wrong = requests.post(live_server + shop.webhook_url, data=message("paid", "nope"), timeout=10)
    assert wrong.status_code == 401


@pytest.fixture
def threaded(database_url):
    """The app with the embedded default's job thread: intake stores, a thread drains."""
    app = create_app(Config(database_url=database_url, jobs="thread", testing=True))
    yield app, app.extensions[runtime.EXTENSION]
    app.extensions[runtime.EXTENSION].close()


def test_a_slow_api_never_holds_up_acknowledgements(threaded, weimob):
    """A message whose fetch hangs on Weimob's API neither delays its own reply nor the next
    message's: intake only stores, and the worker fetches afterwards."""
    app, rt = threaded
    shop, _ = chained_shop(functools.partial(make_shop_in, rt), rt.database)
    weimob.gate = threading.Event()
    try:
        weimob.happen("paid")
        reply = post(app.test_client(), shop, message("paid", shop.secret))
        assert (reply.status_code, reply.get_json()) == (200, ACK)
        assert weimob.fetching.wait(timeout=30)  # the worker now waits on the API
        weimob.happen("completed")
        reply = post(app.test_client(), shop, message("completed", shop.secret))
        assert (reply.status_code, reply.get_json()) == (200, ACK)
        assert not weimob.abandoned  # answered while the first fetch still hangs, not after it
        with rt.database.read() as session:
            assert session.scalar(select(func.count()).select_from(InboxEvent)) == 2
            assert session.scalar(select(func.count()).select_from(Order)) == 0
    finally:
        weimob.gate.set()

    def completed():
        with rt.database.read() as session:
            return session.scalar(select(Order.status)) == "completed"

    assert wait_until(completed, timeout=30)


def make_shop_in(rt, **settings):
    """``make_shop`` for another app's database (the job-thread app above)."""
    with rt.database.transaction() as session:
        new = tenants.create_shop(session, name="Weimob shop", **settings)
        return ShopHandle(new.shop.id, new.webhook_secret, new.api_key, 2, 7, platform=new.shop.platform)


# --------------------------------------------------------------------------- arrival order


def play(make_shop, database, client, mock, names) -> dict:
    """A new shop; each message of ``names`` arrives in that order once the platform has done
    what it reports, then every one arrives again (in other bytes, as a re-send would)."""
    shop, chain = chained_shop(make_shop, database)
    weimob = FakeWeimob(mock)
    for indent in (None, 1):
        for name in names:
            weimob.happen(name)
            assert post(client, shop, message(name, shop.secret, indent=indent)).get_json() == ACK
    with database.transaction() as session:
        order = session.scalar(select(Order).where(Order.shop_id == shop.id))
        state = {
            "events": sorted(
                session.execute(
                    select(InboxEvent.topic, InboxEvent.status, InboxEvent.attempts).where(
                        InboxEvent.shop_id == shop.id
                    )
                ).all()
            ),
            "order": (
                order.status,
                order.paid_total,
                order.refunded_total,
                order.paid_at,
                order.completed_at,
            ),
            "refunds": session.scalars(select(Refund.external_id).where(Refund.shop_id == shop.id)).all(),
            "commissions": sorted(
                session.execute(
                    select(
                        Commission.tier,
                        Commission.amount,
                        Commission.reversed,
                        Commission.status,
                        Commission.settle_after,
                    ).where(Commission.shop_id == shop.id)
                ).all()
            ),
            "balances": {
                name: journal.member_balances(session, shop.id, member_id, "CNY")
                for name, member_id in chain.items()
            },
        }
    return state


def test_every_arrival_order_of_paid_refund_and_completed_ends_in_the_same_ledger(
    make_shop, database, client, monkeypatch
):
    monkeypatch.setattr(client_base, "HttpClient", functools.partial(HttpClient, sleep=lambda _: None))
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        in_order = play(make_shop, database, client, mock, ["paid", "refund", "completed"])
        assert in_order["order"][:3] == ("completed", 39800, 14900)
        assert in_order["refunds"] == ["20001"]
        assert [row[:4] for row in in_order["commissions"]] == [
            (1, 1000, 0, "pending"),
            (1, 2980, 1490, "pending"),
            (2, 500, 0, "pending"),
            (2, 1490, 745, "pending"),
        ]
        assert all(row[4] is not None for row in in_order["commissions"])  # completed: settlement due
        assert in_order["balances"]["B"]["pending"] == 1000 + 2980 - 1490
        assert in_order["balances"]["A"]["pending"] == 500 + 1490 - 745
        assert [status for _, status, attempts in in_order["events"]] == ["processed"] * 3
        for arrival in itertools.permutations(["paid", "refund", "completed"]):
            mock.reset()
            assert play(make_shop, database, client, mock, list(arrival)) == in_order, arrival


def test_a_refused_token_leaves_the_event_for_a_retry_and_shows_the_shop_disconnected(
    client, shop, database, weimob
):
    weimob.mock.replace(
        responses.POST,
        TOKEN_URL,
        json={"error": "invalid_client", "error_description": "bad secret"},
        status=401,
    )
    weimob.happen("paid")
    assert post(client, shop, message("paid", shop.secret)).get_json() == ACK  # acknowledged all the same
    with database.transaction() as session:
        event = session.scalar(select(InboxEvent))
        assert event.status == "failed" and "invalid_client" in event.last_error
        row = session.get(PlatformConnection, shop.id)
        assert row.status == "disconnected" and "invalid_client" in row.last_error
    assert count(database, Order) == 0
