"""The Commission Rules tab: versions, readable rules, drafts (validate, simulate, publish),
roll back and diff; per role, per shop, with CSRF."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from plugin.audit.models import AuditEvent
from plugin.commissions.models import Commission
from plugin.members.directory import make_distributor, member_for_identity
from plugin.shops import rulesets
from plugin.shops.models import RuleSetVersion, Shop
from tests.admin.conftest import post
from tests.plugin import shopify_orders as so

ROLES = ("viewer", "operator", "finance", "admin")
EDITORS = {"operator", "admin"}


def doc(rate1="8", rate2="3", **extra):
    return {
        "name": "fission",
        "rules": [
            {
                "id": "tier1",
                "priority": 0,
                "mode": "replace",
                "conditions": {"all": [{"name": "tier", "operator": "equal_to", "value": 1}]},
                "actions": [{"name": "set_rate", "params": {"percent": rate1}}],
            },
            {
                "id": "tier2",
                "priority": 0,
                "mode": "replace",
                "conditions": {"all": [{"name": "tier", "operator": "equal_to", "value": 2}]},
                "actions": [{"name": "set_rate", "params": {"percent": rate2}}],
            },
        ],
        **extra,
    }


def versions_of(database, shop_id):
    with database.read() as session:
        return [(v.version, v.fingerprint, v.note) for v in rulesets.versions(session, shop_id)]


def publish(database, shop_id, document, note="seed"):
    with database.transaction() as session:
        return rulesets.publish(session, shop_id, document, actor="tests", note=note).version


def html(reply):
    return reply.get_data(as_text=True)


def distributor_x(database, shop_id):
    """Member X, an approved distributor whose code INV-X is the test orders' ref (tier 1 only)."""
    with database.transaction() as session:
        x = member_for_identity(session, shop_id, "shopify", "x")
        make_distributor(session, shop_id, x.id, invite_code="INV-X")
        return x.id


def commissions(database, shop_id):
    with database.read() as session:
        return [
            (c.tier, c.amount, c.rule_version)
            for c in session.scalars(
                select(Commission).where(Commission.shop_id == shop_id).order_by(Commission.id)
            )
        ]


def active_version(database, shop_id):
    with database.read() as session:
        return session.get(Shop, shop_id).active_rule_version


def draft_data(document, action="validate", **fields):
    return {"document": json.dumps(document), "action": action, **fields}


# --- who may do what ---------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_every_role_reads_versions_and_rules_but_only_editors_see_the_buttons(as_role, shop, database, role):
    publish(database, shop.id, doc(), note="autumn")
    client = as_role(role)
    index = client.get("/admin/rules/")
    assert index.status_code == 200
    assert ("/admin/rules/draft" in html(index)) == (role in EDITORS)
    old = client.get("/admin/rules/versions/1")
    assert old.status_code == 200
    assert ("/admin/rules/versions/1/rollback" in html(old)) == (role in EDITORS)
    assert client.get("/admin/rules/diff?old=1&new=2").status_code == 200


@pytest.mark.parametrize("role", ["viewer", "finance"])
def test_readers_are_refused_every_edit_and_nothing_changes(as_role, shop, database, role):
    publish(database, shop.id, doc(), note="autumn")
    client = as_role(role)
    before = versions_of(database, shop.id)
    assert client.get("/admin/rules/draft").status_code == 403
    assert client.get("/admin/rules/draft?template=referral_fission").status_code == 403
    for action in ("validate", "simulate", "publish"):
        data = draft_data(doc("9"), action, note="because", start="2026-01-01", end="2026-01-31")
        assert post(client, "/admin/rules/draft", data, token_from="/admin/rules/").status_code == 403
    reply = post(client, "/admin/rules/versions/1/rollback", {"reason": "x"}, token_from="/admin/rules/")
    assert reply.status_code == 403
    assert versions_of(database, shop.id) == before and active_version(database, shop.id) == 2


@pytest.mark.parametrize("role", sorted(EDITORS))
def test_editors_open_a_draft_from_the_active_version_an_earlier_one_or_a_template(
    as_role, shop, database, role
):
    publish(database, shop.id, doc("7"), note="autumn")
    client = as_role(role)
    active = html(client.get("/admin/rules/draft"))
    assert "&#34;percent&#34;: &#34;7&#34;" in active and 'id="r0-a0-percent"' in active
    earlier = html(client.get("/admin/rules/draft?version=1"))
    assert "tier1-default" in earlier and "version 1" in earlier
    assert client.get("/admin/rules/draft?template=nope").status_code == 404
    assert client.get("/admin/rules/draft?version=abc").status_code == 404


# --- the versions list and a version's rules in words --------------------------------------


def test_the_list_shows_who_when_why_the_fingerprint_and_the_active_version(as_role, shop, database):
    publish(database, shop.id, doc(), note="autumn campaign")
    with database.read() as session:
        v2 = rulesets.version(session, shop.id, 2)
        fingerprint = v2.fingerprint
    page = html(as_role("viewer").get("/admin/rules/"))
    rows = page.split("<tbody>")[1].split("</tbody>")[0].split("<tr>")[1:]
    assert len(rows) == 2
    newest = rows[0]
    assert "v2" in newest and "tests" in newest and "autumn campaign" in newest
    assert fingerprint[:12] in newest and "active" in newest
    assert "v1" in rows[1] and "default rule set" in rows[1] and "active" not in rows[1]


def test_a_version_reads_as_conditions_and_actions_in_words(as_role, shop, database):
    document = {
        "rules": [
            {
                "id": "double11-apparel",
                "priority": 50,
                "mode": "replace",
                "conditions": {
                    "all": [
                        {"name": "tier", "operator": "equal_to", "value": 1},
                        {
                            "any": [
                                {"name": "category", "operator": "equal_to", "value": "Apparel"},
                                {"name": "category", "operator": "equal_to", "value": "Shoes"},
                            ]
                        },
                        {
                            "name": "order_datetime_number",
                            "operator": "greater_than_or_equal_to",
                            "value": 202611110000,
                        },
                        {"name": "order_datetime_number", "operator": "less_than", "value": 202611120000},
                    ]
                },
                "actions": [
                    {"name": "set_rate", "params": {"percent": "15"}},
                    {"name": "cap_per_order", "params": {"amount": 5000}},
                ],
            },
            {
                "id": "new-buyer-bonus",
                "priority": 15,
                "mode": "stack",
                "conditions": {"all": [{"name": "buyer_is_new", "operator": "is_true", "value": None}]},
                "actions": [{"name": "set_fixed_per_line", "params": {"amount": 500}}],
            },
        ]
    }
    number = publish(database, shop.id, document)
    page = html(as_role("viewer").get(f"/admin/rules/versions/{number}"))
    assert (
        "tier is 1 and category is one of Apparel, Shoes and the order was paid between "
        "2026-11-11 00:00 and 2026-11-12 00:00"
    ) in page
    assert "<li>rate 15 %</li>" in page and "<li>cap ¥50.00 per order</li>" in page
    assert "the buyer is a new customer" in page and "<li>fixed ¥5.00</li>" in page
    assert page.index("double11-apparel") < page.index("new-buyer-bonus")  # highest priority first
    chinese = html(
        as_role("viewer").get(f"/admin/rules/versions/{number}", headers={"Accept-Language": "zh-CN"})
    )
    assert "佣金比例 15 %" in chinese and "每单封顶 ¥50.00" in chinese


# --- cross-shop, CSRF ----------------------------------------------------------------------


def test_another_shops_versions_are_not_found_and_never_touched(as_role, shop, other_shop, database):
    publish(database, other_shop.id, doc("6"), note="theirs")
    publish(database, other_shop.id, doc("5"), note="theirs again")
    theirs = versions_of(database, other_shop.id)
    ours = versions_of(database, shop.id)
    client = as_role("admin")
    assert client.get("/admin/rules/versions/3").status_code == 404
    assert client.get("/admin/rules/versions/2").status_code == 404
    assert client.get("/admin/rules/diff?old=1&new=3").status_code == 404
    assert client.get("/admin/rules/draft?version=2").status_code == 404
    reply = post(client, "/admin/rules/versions/3/rollback", {"reason": "steal"}, token_from="/admin/rules/")
    assert reply.status_code == 404
    assert versions_of(database, shop.id) == ours
    reply = post(
        client, "/admin/rules/draft", draft_data(doc("9"), "publish", note="ours"), token_from="/admin/rules/"
    )
    assert reply.status_code == 302
    assert versions_of(database, other_shop.id) == theirs and active_version(database, other_shop.id) == 3
    assert [v for v, _f, _n in versions_of(database, shop.id)] == [1, 2]


def test_writes_without_the_csrf_token_are_refused_and_change_nothing(as_role, shop, database):
    publish(database, shop.id, doc(), note="autumn")
    client = as_role("operator")
    before = versions_of(database, shop.id)
    assert (
        client.post("/admin/rules/draft", data=draft_data(doc("9"), "publish", note="x")).status_code == 400
    )
    assert client.post("/admin/rules/versions/1/rollback", data={"reason": "x"}).status_code == 400
    assert versions_of(database, shop.id) == before and active_version(database, shop.id) == 2


# --- validate ------------------------------------------------------------------------------


def test_a_validation_error_is_shown_on_its_rule_and_field_and_nothing_is_stored(as_role, shop, database):
    client = as_role("operator")
    before = versions_of(database, shop.id)
    reply = post(
        client,
        "/admin/rules/draft",
        draft_data(doc(rate2="150"), "publish", note="x"),
        token_from="/admin/rules/",
    )
    page = html(reply)
    assert reply.status_code == 400
    assert 'id="rule-1" data-rule aria-invalid="true" aria-describedby="rule-1-error"' in page
    assert 'id="r1-a0-percent" data-param="percent" value="150" aria-invalid="true"' in page
    assert 'id="rule-1-error">percent must be between 0 and 100, not &#39;150&#39;</p>' in page
    assert 'href="#r1-a0-percent"' in page
    assert 'id="r0-a0-percent" data-param="percent" value="8">' in page  # the good rule is not marked
    assert versions_of(database, shop.id) == before


def test_a_wrong_operator_or_a_deep_tier_is_marked_on_the_condition(as_role, shop, database):
    client = as_role("operator")
    bad = doc()
    bad["rules"][0]["conditions"]["all"][0]["operator"] = "starts_with"
    page = html(post(client, "/admin/rules/draft", draft_data(bad), token_from="/admin/rules/"))
    assert 'id="r0-c0-operator" data-field="operator" aria-invalid="true"' in page
    deep = doc()
    deep["rules"][1]["conditions"]["all"][0]["value"] = 3  # the shop pays 2 tiers
    reply = post(client, "/admin/rules/draft", draft_data(deep), token_from="/admin/rules/")
    assert reply.status_code == 400
    assert 'id="r1-c0-value" data-field="value" data-kind="number" value="3" aria-invalid="true"' in html(
        reply
    )


def test_json_that_does_not_parse_is_an_error_on_the_textarea(as_role, shop, database):
    client = as_role("operator")
    reply = post(
        client,
        "/admin/rules/draft",
        {"document": "{not json", "action": "validate"},
        token_from="/admin/rules/",
    )
    page = html(reply)
    assert reply.status_code == 400
    assert '<textarea aria-describedby="document-errors" aria-invalid="true"' in page
    assert 'id="document-errors"' in page and "This is not valid JSON" in page


def test_a_valid_draft_says_so_and_stores_nothing(as_role, shop, database):
    client = as_role("operator")
    reply = post(client, "/admin/rules/draft", draft_data(doc()), token_from="/admin/rules/")
    assert reply.status_code == 200 and "The draft is valid for this shop." in html(reply)
    assert "<li>rate 8 %</li>" in html(reply)
    assert versions_of(database, shop.id) == [(1, versions_of(database, shop.id)[0][1], "default rule set")]


@pytest.mark.parametrize("name", sorted(rulesets.templates()))
def test_every_template_opens_and_validates_for_the_shop(as_role, shop, name):
    client = as_role("operator")
    page = client.get(f"/admin/rules/draft?template={name}")
    assert page.status_code == 200
    document = rulesets.template(name)
    reply = post(client, "/admin/rules/draft", draft_data(document), token_from="/admin/rules/")
    assert reply.status_code == 200, html(reply)
    assert "The draft is valid for this shop." in html(reply)


# --- publish, roll back --------------------------------------------------------------------


def test_publishing_needs_a_reason(as_role, shop, database):
    client = as_role("operator")
    before = versions_of(database, shop.id)
    reply = post(
        client, "/admin/rules/draft", draft_data(doc(), "publish", note="  "), token_from="/admin/rules/"
    )
    page = html(reply)
    assert reply.status_code == 400
    assert 'id="note-errors"' in page and "Say why these rules are published" in page
    assert versions_of(database, shop.id) == before


def test_a_published_draft_prices_the_next_webhook(as_role, shop, database, send):
    distributor_x(database, shop.id)
    client = as_role("operator")
    reply = post(
        client,
        "/admin/rules/draft",
        draft_data(doc("8"), "publish", note="autumn campaign"),
        token_from="/admin/rules/",
    )
    assert reply.status_code == 302 and reply.headers["Location"] == "/admin/rules/versions/2"
    assert "Version 2 is published and active." in html(client.get("/admin/rules/versions/2"))
    assert active_version(database, shop.id) == 2
    with database.read() as session:
        event = session.scalar(
            select(AuditEvent).where(AuditEvent.action == "rules.published", AuditEvent.subject_id == "2")
        )
        stored = session.scalar(
            select(RuleSetVersion).where(RuleSetVersion.shop_id == shop.id, RuleSetVersion.version == 2)
        )
        assert (event.actor, event.shop_id, stored.note, stored.published_by) == (
            client.email,
            shop.id,
            "autumn campaign",
            client.email,
        )
        assert stored.document == doc("8")
    paid = datetime.now(UTC) - timedelta(hours=1)
    assert send(shop, "orders/paid", so.order(7001, paid, [29850, 10000])).status_code == 200
    assert commissions(database, shop.id) == [(1, 2388, 2), (1, 800, 2)]  # 8 % of 298.50 and of 100.00


def test_rolling_back_publishes_the_earlier_rules_again_with_the_reason(as_role, shop, database):
    publish(database, shop.id, doc("8"), note="autumn")
    with database.read() as session:
        first = rulesets.version(session, shop.id, 1).document
    client = as_role("admin")
    empty = post(
        client, "/admin/rules/versions/1/rollback", {"reason": ""}, token_from="/admin/rules/versions/1"
    )
    assert empty.status_code == 400 and 'id="reason-errors"' in html(empty)
    assert [v for v, _f, _n in versions_of(database, shop.id)] == [1, 2]
    reply = post(
        client,
        "/admin/rules/versions/1/rollback",
        {"reason": "too generous"},
        token_from="/admin/rules/versions/1",
    )
    assert reply.status_code == 302 and reply.headers["Location"] == "/admin/rules/versions/3"
    assert active_version(database, shop.id) == 3
    with database.read() as session:
        third = rulesets.version(session, shop.id, 3)
        assert (third.document, third.note, third.published_by) == (first, "too generous", client.email)
        audit = session.scalar(
            select(AuditEvent).where(AuditEvent.action == "rules.published", AuditEvent.subject_id == "3")
        )
        assert audit.actor == client.email


# --- diff -----------------------------------------------------------------------------------


def test_the_diff_names_added_removed_and_changed_rules_and_shows_the_json_lines(as_role, shop, database):
    with database.read() as session:
        first = rulesets.version(session, shop.id, 1).document
    second = json.loads(json.dumps(first))
    second["rules"][0]["actions"][0]["params"]["percent"] = "12"  # tier1-default changed
    second["rules"][0]["priority"] = 3
    del second["rules"][1]  # tier2-default removed
    second["rules"].append(
        {
            "id": "weekend-bonus",
            "priority": 15,
            "mode": "stack",
            "conditions": {
                "all": [{"name": "order_weekday", "operator": "greater_than_or_equal_to", "value": 5}]
            },
            "actions": [{"name": "add_bonus_rate", "params": {"percent": "2"}}],
        }
    )
    publish(database, shop.id, second)
    page = html(as_role("viewer").get("/admin/rules/diff?old=1&new=2"))
    added = page.split('id="added-heading"')[1].split("</section>")[0]
    removed = page.split('id="removed-heading"')[1].split("</section>")[0]
    changed = page.split('id="changed-heading"')[1].split("</section>")[0]
    assert "weekend-bonus" in added and "weekday of the order is at least Saturday" in added
    assert "tier2-default" in removed and "tier1-default" not in removed
    assert "tier1-default" in changed and "Changed: priority, actions" in changed
    assert "rate 10 %" in changed and "rate 12 %" in changed
    assert '<span class="del">-            &#34;percent&#34;: &#34;10&#34;</span>' in page
    assert '<span class="add">+            &#34;percent&#34;: &#34;12&#34;</span>' in page
    assert "1 added, 1 removed, 1 changed, 0 unchanged." in page
    assert as_role("viewer").get("/admin/rules/diff?old=1&new=x").status_code == 400


# --- simulate -------------------------------------------------------------------------------


def test_the_simulation_table_matches_an_independent_computation(as_role, shop, database, send):
    distributor_x(database, shop.id)
    now = datetime.now(UTC)
    orders = {8001: [29850, 10000], 8002: [12345]}
    for order_id, lines in orders.items():
        assert (
            send(shop, "orders/paid", so.order(order_id, now - timedelta(days=2), lines)).status_code == 200
        )
    send(shop, "orders/paid", so.order(8003, now - timedelta(days=60), [50000]))  # before the period
    actual = sum(amount for _tier, amount, _v in commissions(database, shop.id)) - 5000
    everything = [amount for lines in orders.values() for amount in lines]
    assert actual == sum((amount * 10 + 50) // 100 for amount in everything)  # v1 pays 10 %
    simulated = sum((amount * 8 + 50) // 100 for amount in everything)  # round half up, 8 %
    client = as_role("operator")
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    period = {"start": (today - timedelta(days=29)).isoformat(), "end": today.isoformat()}
    assert f'id="start" name="start" type="date" value="{period["start"]}"' in html(
        client.get("/admin/rules/draft")
    )
    reply = post(
        client, "/admin/rules/draft", draft_data(doc("8"), "simulate", **period), token_from="/admin/rules/"
    )
    page = html(reply)
    assert reply.status_code == 200, page
    total = page.split('data-group="total"')[1].split("</table>")[0]
    assert f'data-actual="{actual}"' in total and f'data-simulated="{simulated}"' in total
    assert f'data-difference="{simulated - actual}"' in total and "▼ 20.0 %" in total
    tier = page.split('data-group="tier"')[1].split("</table>")[0]
    assert '<th scope="row">1</th>' in tier and f'data-simulated="{simulated}"' in tier
    assert 'data-group="level"' in page and 'data-group="category"' in page
    assert [v for v, _f, _n in versions_of(database, shop.id)] == [1]  # nothing published


def test_a_simulation_needs_a_sensible_period(as_role, shop):
    client = as_role("operator")
    reply = post(
        client,
        "/admin/rules/draft",
        draft_data(doc(), "simulate", start="2026-02-01", end="2026-01-01"),
        token_from="/admin/rules/",
    )
    assert reply.status_code == 400 and 'id="end-errors"' in html(reply)
    reply = post(
        client,
        "/admin/rules/draft",
        draft_data(doc(), "simulate", start="", end="2026-01-01"),
        token_from="/admin/rules/",
    )
    assert reply.status_code == 400 and 'id="start-errors"' in html(reply)
