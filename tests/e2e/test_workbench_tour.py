"""Log in as the demo admin, open every tab in English and in Chinese, and log out: each page
renders its real content, and a screenshot of each is kept for a person to look at."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import screenshot

pytestmark = pytest.mark.browser

TABS = [
    ("dashboard", "/admin/", "Dashboard", "数据看板"),
    ("distributors", "/admin/distributors/", "Distributors", "分销员"),
    ("rules", "/admin/rules/", "Commission Rules", "佣金规则"),
    ("orders", "/admin/orders/", "Order Settlement", "订单结算"),
    ("withdrawals", "/admin/withdrawals/", "Withdrawal Approval", "提现审核"),
    ("tax", "/admin/tax/", "Monthly tax report", "月度个税报表"),
    ("team", "/admin/team/", "Team Structure", "团队结构"),
    ("audit", "/admin/audit/", "Audit log", "审计日志"),
    ("settings", "/admin/settings/", "Shop settings", "店铺设置"),
]


def log_in(page, workbench) -> None:
    login = workbench["demo"]["workbench"]
    page.goto(workbench["base_url"] + "/admin/")
    assert page.url.startswith(workbench["base_url"] + "/admin/login")
    page.get_by_label("E-mail").fill(login["email"])
    page.get_by_label("Password").fill(login["password"])
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(workbench["base_url"] + "/admin/")


def test_a_wrong_password_is_told_and_the_right_one_opens_the_dashboard(page, workbench):
    page.goto(workbench["base_url"] + "/admin/login")
    page.get_by_label("E-mail").fill(workbench["demo"]["workbench"]["email"])
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Log in").click()
    assert page.get_by_role("alert").inner_text() == "Wrong e-mail or password."
    screenshot(page, "en-login-refused")
    log_in(page, workbench)
    assert page.locator("h1").first.inner_text().startswith("Dashboard")


def test_every_tab_in_both_languages(page, workbench):
    log_in(page, workbench)
    for name, path, english, _chinese in TABS:
        page.goto(workbench["base_url"] + path)
        current = page.locator('nav.tabs a[aria-current="page"]')
        assert current.inner_text() == english, name
        screenshot(page, f"en-{name}")
    page.get_by_label("Language").select_option("zh_CN")
    page.get_by_role("button", name="Switch").click()
    page.wait_for_load_state()
    for name, path, _english, chinese in TABS:
        page.goto(workbench["base_url"] + path)
        assert page.locator('nav.tabs a[aria-current="page"]').inner_text() == chinese, name
        assert page.locator("html").get_attribute("lang") == "zh-CN"
        screenshot(page, f"zh-{name}")
    page.get_by_label("语言").select_option("en")
    page.get_by_role("button", name="切换").click()
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url("**/admin/login")
    page.goto(workbench["base_url"] + "/admin/")
    assert "/admin/login" in page.url
