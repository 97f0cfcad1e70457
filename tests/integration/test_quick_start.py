"""The Quick start as a newcomer runs it: ``fenxiao up`` in an empty directory (SQLite file, job
thread, sweep timer), ``fenxiao send-sample``, then a burst of signed orders from several clients
at once, all processed, read back through the JSON API, and every request in the server's log."""

from __future__ import annotations

import json
import re
import subprocess
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import pytest
import requests

from tests import servers
from tests.conftest import shopify_headers
from tests.plugin import shopify_orders as so

from .stack import FENXIAO

CST = timezone(timedelta(hours=8))
CLEAN_ENV = {"DATABASE_URL": None, "REDIS_URL": None, "FENXIAO_JOBS": None, "FENXIAO_SWEEP_SECONDS": None}


@pytest.fixture
def fenxiao_up(tmp_path):
    port = servers.find_free_port()
    base_url = f"http://127.0.0.1:{port}"
    process = servers.start_process(
        [FENXIAO, "up", "--port", str(port)],
        env=CLEAN_ENV,
        ready_check=lambda: requests.get(f"{base_url}/healthz", timeout=1).status_code == 200,
        cwd=tmp_path,
        name="fenxiao-up",
    )
    yield base_url, tmp_path, process
    process.stop()


@pytest.mark.integration
def test_the_quick_start_takes_a_sample_and_a_burst_and_processes_them_all(fenxiao_up):
    base_url, workdir, process = fenxiao_up
    demo = json.loads((workdir / "fenxiao-demo.json").read_text())
    assert demo["webhook_url"] == f"{base_url}/webhooks/shopify/{demo['shop_id']}"
    assert (workdir / "fenxiao.sqlite3").exists()

    sample = subprocess.run(
        [FENXIAO, "send-sample", "orders_paid"],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (sample.returncode, sample.stdout) == (0, 'HTTP 200 {"ok":true}\n'), sample.stderr

    paid_at = datetime(2026, 11, 5, 12, tzinfo=CST)

    def post(n: int) -> int:
        body = json.dumps(so.order(5000 + n, paid_at, [10000], customer=6000 + n, ref="INV-B7K2")).encode()
        headers = shopify_headers("orders/paid", body, demo["webhook_secret"])
        return requests.post(demo["webhook_url"], data=body, headers=headers, timeout=30).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert list(pool.map(post, range(40))) == [200] * 40

    api = f"{base_url}/api/v1/shops/{demo['shop_id']}"
    auth = {"X-Api-Key": demo["api_key"]}
    d = requests.post(
        f"{api}/members", json={"platform": "demo", "external_id": "member-D"}, headers=auth, timeout=10
    )
    d_id = d.json()["member_id"]

    def pending() -> int:
        return requests.get(f"{api}/members/{d_id}/balances", headers=auth, timeout=10).json()["balances"][
            "pending"
        ]

    # the sample pays D 3980 (10 % of 398.00); each burst order 1000
    assert servers.wait_until(lambda: pending() == 3980 + 40 * 1000, timeout=60), pending()
    log = process.log_path.read_text()
    assert log.count(f"POST /webhooks/shopify/{demo['shop_id']} 200") == 41
    drained = re.findall(r"drained (\d+) events \(([^)]*)\) in", log)
    assert sum(int(n) for n, _ in drained) == 41
    assert {outcome.split("=")[0] for _, outcome in drained} == {"processed"}
