"""The rules walk-through an operator does in the browser: edit the active rules in the form,
meet a validation error on the field, fix it, simulate, publish with a reason, watch the next
webhook's commission use the new version, open that order's explanation, and roll back."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import pytest
import requests
from playwright.sync_api import expect

from tests.conftest import shopify_headers
from tests.e2e.conftest import screenshot
from tests.e2e.test_workbench_tour import log_in
from tests.plugin import shopify_orders as so

pytestmark = pytest.mark.browser

ORDER_ID = 990000000001  # an order no demo data uses


def send_order(workbench, amount: int) -> dict:
    """Post a signed paid order through the demo shop's webhook; wait until it is priced."""
    demo = workbench["demo"]
    payload = so.order(ORDER_ID, datetime.now(UTC), [amount], customer=880001, ref="INV-B7K2")
    body = json.dumps(payload).encode()
    headers = shopify_headers("orders/paid", body, demo["webhook_secret"])
    reply = requests.post(demo["webhook_url"], data=body, headers=headers, timeout=30)
    assert reply.status_code == 200, reply.text
    url = f"{workbench['base_url']}/api/v1/shops/{demo['shop_id']}/orders/{ORDER_ID}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        found = requests.get(url, headers={"X-Api-Key": demo["api_key"]}, timeout=10)
        if found.status_code == 200 and found.json()["commissions"]:
            return found.json()
        time.sleep(0.2)
    raise AssertionError(f"order {ORDER_ID} was not priced within 30 s")


def test_edit_validate_simulate_publish_price_explain_and_roll_back(page, workbench):
    log_in(page, workbench)
    base = workbench["base_url"]
    page.goto(base + "/admin/rules/")
    active_row = page.locator("tr", has=page.locator(".badge.approved")).first
    active_before = int(active_row.locator("td").first.inner_text().strip().lstrip("v"))
    page.goto(base + "/admin/rules/draft")

    # An impossible rate on the first rule's action, typed in the form: the JSON follows it.
    rate = page.locator("#r0-a0-percent")
    rate.fill("250")
    rate.dispatch_event("change")
    assert '"250"' in page.locator("#document").input_value()
    page.get_by_role("button", name="Validate").click()
    expect(page.locator("#r0-a0-percent")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_role("alert").first).to_be_visible()
    screenshot(page, "en-rules-validation-error")

    page.locator("#r0-a0-percent").fill("12")
    page.locator("#r0-a0-percent").dispatch_event("change")
    page.get_by_role("button", name="Validate").click()
    expect(page.get_by_text("The draft is valid for this shop.")).to_be_visible()

    page.get_by_role("button", name="Simulate").click()
    expect(page.locator("section.simulation table").first).to_be_visible()
    screenshot(page, "en-rules-simulation")

    page.get_by_label("Reason for publishing").fill("Double the welcome: tier 1 earns 12 %")
    page.get_by_role("button", name="Publish as the new active version").click()
    published = active_before + 1
    page.wait_for_url(f"**/admin/rules/versions/{published}")
    expect(page.get_by_text(f"Version {published} is published and active.")).to_be_visible()
    screenshot(page, "en-rules-published")

    order = send_order(workbench, 10000)
    tier1 = next(c for c in order["commissions"] if c["tier"] == 1)
    assert (tier1["rule_version"], tier1["amount"]) == (published, 1200)

    page.goto(base + f"/admin/orders/?q={ORDER_ID}")
    page.get_by_role("link", name=f"#{ORDER_ID}").click()
    explanation = page.locator(".explanation").first.inner_text()
    assert "12" in explanation
    screenshot(page, "en-order-explanation")

    page.goto(base + f"/admin/rules/versions/{active_before}")
    page.get_by_label("Reason for rolling back").fill("Back to the old rate after the campaign")
    page.get_by_role("button", name="Roll back").click()
    page.wait_for_url(f"**/admin/rules/versions/{published + 1}")
    screenshot(page, "en-rules-rolled-back")
    page.goto(base + f"/admin/rules/diff?old={active_before}&new={published}")
    assert "tier1-default" in page.locator("main").inner_text()
    screenshot(page, "en-rules-diff")
