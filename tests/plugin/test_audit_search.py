"""Reading the audit trail: exact filters, the shop's calendar days, keyset pages with ties."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from plugin.audit import search
from plugin.audit.models import AuditEvent
from plugin.errors import InvalidSetting

T0 = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)


def add(
    database, shop_id, *, actor="ops@example.com", action="user.login", subject=("user", "1"), at=T0, **data
):
    with database.transaction() as session:
        row = AuditEvent(
            shop_id=shop_id,
            actor=actor,
            action=action,
            subject_type=subject[0],
            subject_id=subject[1],
            data=data,
            created_at=at,
        )
        session.add(row)
        session.flush()
        return row.id


@pytest.fixture
def other_shop(make_shop):
    return make_shop(name="Other shop")


def found(database, shop_id, **filters) -> list[int]:
    with database.read() as session:
        return [e.id for e in search.search(session, shop_id, **filters).events]


def test_every_filter_matches_exactly_and_only_in_the_shop(database, shop, other_shop):
    a = add(database, shop.id, actor="ann@example.com", action="rules.published", subject=("rule_set", "7"))
    b = add(
        database, shop.id, actor="ann@example.com.cn", action="rules.published", subject=("rule_set", "77")
    )
    c = add(database, shop.id, actor="bob@example.com", action="user.login", subject=("user", "1"))
    d = add(
        database, other_shop.id, actor="ann@example.com", action="rules.published", subject=("rule_set", "7")
    )
    assert found(database, shop.id, actor="ann@example.com") == [a]
    # (creating the shop published its default rules today: the range leaves that event out)
    until = T0 + timedelta(days=1)
    assert found(database, shop.id, action="rules.published", subject_type="rule_set", until=until) == [b, a]
    assert found(database, shop.id, subject_type="rule_set", subject_id="7") == [a]
    assert found(database, shop.id, subject_type="user", subject_id="1") == [c]
    assert found(database, shop.id, action="rules.publish") == []
    assert found(database, shop.id, actor="ann@example.com", action="user.login") == []
    assert d not in found(database, shop.id)
    assert found(database, other_shop.id, actor="ann@example.com") == [d]


def test_a_date_range_covers_the_shops_calendar_days(database, shop):
    """(Filtered to logins: creating the shop wrote events of its own today.)"""
    # Asia/Shanghai is UTC+8: 1 March local runs from 29 Feb 16:00 to 1 March 16:00 UTC.
    inside_first = add(database, shop.id, at=datetime(2024, 2, 29, 16, 0, tzinfo=UTC))
    before = add(database, shop.id, at=datetime(2024, 2, 29, 15, 59, 59, tzinfo=UTC))
    inside_last = add(database, shop.id, at=datetime(2024, 3, 1, 15, 59, 59, tzinfo=UTC))
    after = add(database, shop.id, at=datetime(2024, 3, 1, 16, 0, tzinfo=UTC))
    since, until = search.local_days("Asia/Shanghai", date(2024, 3, 1), date(2024, 3, 1))
    assert (since, until) == (datetime(2024, 2, 29, 16, tzinfo=UTC), datetime(2024, 3, 1, 16, tzinfo=UTC))
    assert found(database, shop.id, action="user.login", since=since, until=until) == [
        inside_last,
        inside_first,
    ]
    open_start = search.local_days("Asia/Shanghai", None, date(2024, 2, 29))
    assert found(database, shop.id, action="user.login", since=open_start[0], until=open_start[1]) == [before]
    open_end = search.local_days("Asia/Shanghai", date(2024, 3, 2), None)
    assert found(database, shop.id, action="user.login", since=open_end[0], until=open_end[1]) == [after]


def test_a_range_that_ends_before_it_starts_is_refused():
    with pytest.raises(InvalidSetting) as refused:
        search.local_days("UTC", date(2024, 3, 2), date(2024, 3, 1))
    assert refused.value.field == "date_to"


def test_pages_run_newest_first_without_gaps_or_repeats_even_on_equal_times(database, shop):
    times = [
        T0,
        T0 + timedelta(seconds=1),
        T0 + timedelta(seconds=1),
        T0 + timedelta(seconds=1),
        T0 + timedelta(seconds=2),
    ]
    ids = [add(database, shop.id, at=at) for at in times]
    expected = sorted(zip(times, ids), reverse=True)
    seen, cursor, pages = [], None, 0
    while True:
        with database.read() as session:
            page = search.search(session, shop.id, action="user.login", before=cursor, limit=2)
        seen += [e.id for e in page.events]
        pages += 1
        if page.next_cursor is None:
            break
        cursor = search.Cursor.parse(str(page.next_cursor))  # through the URL's text form
    assert seen == [i for _, i in expected]
    assert pages == 3


def test_a_cursor_survives_its_text_form_and_garbage_is_refused():
    cursor = search.Cursor(datetime(2024, 3, 1, 12, 0, 0, 123456, tzinfo=UTC), 42)
    assert search.Cursor.parse(str(cursor)) == cursor
    for garbage in ("", "abc", "12-", "-3", "1-2-3", "9" * 30 + "-1"):
        with pytest.raises(InvalidSetting):
            search.Cursor.parse(garbage)


def test_a_page_size_outside_the_bounds_is_refused(database, shop):
    with database.read() as session, pytest.raises(InvalidSetting):
        search.search(session, shop.id, limit=0)


def test_the_actions_offered_are_those_of_the_shops_newest_events(database, shop, other_shop):
    add(database, shop.id, action="zeta.old", at=T0 - timedelta(days=1))
    later = datetime.now(UTC) + timedelta(days=1)  # newer than the shop's own creation events
    add(database, shop.id, action="user.login", at=later)
    add(database, shop.id, action="user.login", at=later + timedelta(seconds=1))
    add(database, other_shop.id, action="other.only", at=later)
    with database.read() as session:
        everything = search.actions_present(session, shop.id)
        newest_two = search.actions_present(session, shop.id, window=2)
    # shop creation writes its own events (shop.created, rules.published, api_key.created)
    assert {"zeta.old", "user.login"} <= set(everything) and "other.only" not in everything
    assert everything == sorted(everything)
    assert newest_two == ["user.login"]
