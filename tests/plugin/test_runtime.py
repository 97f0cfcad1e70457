"""Each app keeps its own runtime, and every job runs in the runtime of what ran it."""

from __future__ import annotations

import shutil

import pytest
from sqlalchemy import func, select

from plugin import runtime
from plugin.app import create_app
from plugin.config import Config
from plugin.inbox.models import InboxEvent
from plugin.jobs import context, tasks
from plugin.orders.models import Order
from plugin.shops import tenants
from tests.conftest import fixture_bytes, shopify_headers


@pytest.fixture
def two_apps(tmp_path, sqlite_template):
    apps = []
    for name in ("one", "two"):
        path = tmp_path / f"{name}.sqlite3"
        shutil.copy(sqlite_template, path)
        apps.append(create_app(Config(database_url=f"sqlite:///{path}", jobs="inline", testing=True)))
    yield apps
    for app in apps:
        app.extensions[runtime.EXTENSION].close()


def counts(app) -> tuple[int, int]:
    with app.extensions[runtime.EXTENSION].database.transaction() as session:
        return (
            session.scalar(select(func.count()).select_from(InboxEvent)),
            session.scalar(select(func.count()).select_from(Order)),
        )


def test_two_apps_in_one_process_each_write_to_their_own_database(two_apps):
    one, two = two_apps
    with one.extensions[runtime.EXTENSION].database.transaction() as session:
        new = tenants.create_shop(
            session, name="One", platform="shopify", webhook_secret="whsec-one-0123456789"
        )
    body = fixture_bytes("shopify", "orders_paid")
    reply = one.test_client().post(
        f"/webhooks/shopify/{new.shop.id}",
        data=body,
        headers=shopify_headers("orders/paid", body, "whsec-one-0123456789"),
    )
    assert reply.status_code == 200
    assert counts(one) == (1, 1)  # stored, and its inline job processed it in the same database
    assert counts(two) == (0, 0)  # the app built after it did not take its place


def test_a_job_runs_in_the_runtime_it_is_given(two_apps):
    one, two = two_apps
    seen = []

    def job():
        seen.append(runtime.for_job())

    with context.using(two.extensions[runtime.EXTENSION]):
        job()
    one.extensions[runtime.EXTENSION].queue.enqueue(job, job_id="probe")
    assert seen == [two.extensions[runtime.EXTENSION], one.extensions[runtime.EXTENSION]]
    with context.using(one.extensions[runtime.EXTENSION]):
        assert tasks.inbox_sweep() == 0
