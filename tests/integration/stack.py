"""The production stack as separate processes: a restartable redis-server, ``fenxiao serve`` and
``fenxiao worker``, and a small HTTP client that talks to them like a shop platform would."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import redis
import requests
from sqlalchemy import create_engine, func, select

from plugin.inbox.models import InboxEvent
from plugin.orders.models import Order
from tests import servers
from tests.conftest import fixture_bytes, shopify_headers

FENXIAO = str(Path(sys.executable).with_name("fenxiao"))
ORDER_ID = "820982911946154508"  # the id in tests/fixtures/shopify/orders_paid.json
INVITE_CODE = "INV-B7K2"  # the ref code the fixture order carries
TEE, CAP = "487817672276298554", "487817672276298555"  # its two lines
BUYER = "115310627314723954"  # its Shopify customer
POLL_SECONDS = 20


def fenxiao(*args: str, env: dict[str, str], cwd: Path) -> str:
    """Run one ``fenxiao`` command to completion and return its stdout (raises on failure)."""
    result = subprocess.run(
        [FENXIAO, *args], env={**os.environ, **env}, cwd=cwd, capture_output=True, text=True, timeout=60
    )
    if result.returncode != 0:
        raise AssertionError(f"fenxiao {' '.join(args)} exited {result.returncode}:\n{result.stderr}")
    return result.stdout


class RestartableRedis:
    """A private redis-server on a fixed loopback port that a test can stop and start again."""

    def __init__(self, directory: Path):
        self.binary = shutil.which("redis-server")
        self.port = servers.find_free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.directory = directory
        self.process: servers.ManagedProcess | None = None

    def connection(self) -> redis.Redis:
        return redis.Redis.from_url(self.url, socket_connect_timeout=1, socket_timeout=2)

    def start(self) -> None:
        if self.process is not None and self.process.alive():
            return
        probe = self.connection()
        try:
            self.process = servers.start_process(
                [
                    self.binary,
                    "--port",
                    str(self.port),
                    "--bind",
                    "127.0.0.1",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--dir",
                    str(self.directory),
                ],
                ready_check=probe.ping,
                cwd=self.directory,
                name="redis-server",
            )
        finally:
            probe.close()

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()
            self.process = None
        assert not servers.port_is_open(self.port)


@dataclass
class Shop:
    id: int
    secret: str
    api_key: str

    @property
    def auth(self) -> dict:
        return {"X-Api-Key": self.api_key}


class Stack:
    """One PostgreSQL database, one restartable Redis and one ``fenxiao serve`` process."""

    def __init__(
        self,
        database_url: str,
        redis_server: RestartableRedis,
        base_url: str,
        web: servers.ManagedProcess,
        workdir: Path,
    ):
        self.database_url = database_url
        self.redis = redis_server
        self.base_url = base_url
        self.web = web
        self.workdir = workdir
        self.engine = create_engine(database_url)

    @property
    def env(self) -> dict[str, str]:
        return {"DATABASE_URL": self.database_url, "REDIS_URL": self.redis.url}

    def run(self, *args: str) -> str:
        return fenxiao(*args, env=self.env, cwd=self.workdir)

    def add_shop(self, name: str = "Integration shop", secret: str = "whsec-integration") -> Shop:
        """``fenxiao shop add`` as an operator would run it."""
        summary = json.loads(
            self.run("shop", "add", "--platform", "shopify", "--name", name, "--webhook-secret", secret)
        )
        assert summary["webhook_secret"] == secret
        return Shop(summary["shop_id"], secret, summary["api_key"])

    def add_inviter(self, shop: Shop) -> int:
        """The distributor who owns the fixture order's ref code, made through the JSON API."""
        member_id = self.member_id(shop, "inviter-1")
        distributor = requests.post(
            f"{self.base_url}/api/v1/shops/{shop.id}/distributors",
            headers=shop.auth,
            json={"member_id": member_id, "invite_code": INVITE_CODE},
            timeout=10,
        )
        assert distributor.status_code == 201, distributor.text
        assert distributor.json() == {
            "member_id": member_id,
            "invite_code": INVITE_CODE,
            "level": "B",
            "status": "approved",
            "region": None,
        }
        return member_id

    def member_id(self, shop: Shop, external_id: str) -> int:
        """The member behind a Shopify customer id (the API finds it, or creates it)."""
        reply = requests.post(
            f"{self.base_url}/api/v1/shops/{shop.id}/members",
            headers=shop.auth,
            json={"platform": "shopify", "external_id": external_id},
            timeout=10,
        )
        assert reply.status_code == 201, reply.text
        return reply.json()["member_id"]

    def inviter_of(self, shop: Shop, member_id: int) -> int:
        reply = requests.get(
            f"{self.base_url}/api/v1/shops/{shop.id}/members/{member_id}/binding",
            headers=shop.auth,
            timeout=10,
        )
        assert reply.status_code == 200, reply.text
        return reply.json()["inviter_id"]

    def post_order_paid(
        self, shop: Shop, webhook_id: str | None = None, body: bytes | None = None
    ) -> requests.Response:
        body = body or fixture_bytes("shopify", "orders_paid")
        return requests.post(
            f"{self.base_url}/webhooks/shopify/{shop.id}",
            data=body,
            timeout=10,
            headers=shopify_headers("orders/paid", body, shop.secret, webhook_id),
        )

    def get_order(self, shop: Shop, external_id: str = ORDER_ID) -> requests.Response:
        return requests.get(
            f"{self.base_url}/api/v1/shops/{shop.id}/orders/{external_id}", headers=shop.auth, timeout=10
        )

    def healthz(self) -> requests.Response:
        return requests.get(f"{self.base_url}/healthz", timeout=10)

    def inbox(self) -> list[tuple]:
        """(id, topic, status, attempts) of every stored delivery, in arrival order."""
        with self.engine.connect() as conn:
            return [
                tuple(row)
                for row in conn.execute(
                    select(InboxEvent.id, InboxEvent.topic, InboxEvent.status, InboxEvent.attempts).order_by(
                        InboxEvent.id
                    )
                )
            ]

    def order_count(self) -> int:
        with self.engine.connect() as conn:
            return conn.scalar(select(func.count()).select_from(Order))


def expected_commissions(inviter_id: int) -> list[tuple]:
    """The fixture order's commissions by the default rules: 10 % of each line's paid amount to tier 1
    (2 × 149.00 → 29.80; 120.00 − 20.00 discount → 10.00)."""
    return [(TEE, inviter_id, 1, 2980, 0, "pending"), (CAP, inviter_id, 1, 1000, 0, "pending")]


def commission_summary(order: dict) -> list[tuple]:
    """(line, beneficiary, tier, amount, reversed, status) of an order's commissions, by line."""
    return sorted(
        (c["line"], c["beneficiary_id"], c["tier"], c["amount"], c["reversed"], c["status"])
        for c in order["commissions"]
    )
