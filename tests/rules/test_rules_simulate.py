"""What-if replay: totals per group, streaming, progress, running caps."""

from datetime import datetime, timedelta, timezone

from rules import HistoricalLine, compile_ruleset, format_minor, replay, simulate, validate_ruleset

CST = timezone(timedelta(hours=8))


def tier_rate(tier, percent, *extra):
    return {
        "id": f"tier{tier}",
        "priority": 0,
        "mode": "replace",
        "conditions": {"all": [{"name": "tier", "operator": "equal_to", "value": tier}]},
        "actions": [{"name": "set_rate", "params": {"percent": percent}}, *extra],
    }


DRAFT = {"rules": [tier_rate(1, "8"), tier_rate(2, "3")]}


def test_totals_per_tier_level_and_category(make_facts):
    validate_ruleset(DRAFT, 2)
    lines = [
        (make_facts(tier=1, level="gold", category="tea", line_paid_amount=10000), 1000),
        (make_facts(tier=2, level="gold", category="tea", line_paid_amount=10000), 500),
        (make_facts(tier=1, level="staff", category=None, line_paid_amount=2000), 200),
        (make_facts(tier=1, level="gold", category="tea", line_paid_amount=0), 0),
    ]
    report = simulate(DRAFT, iter(lines))
    assert report.total.to_dict() == {
        "lines": 4,
        "actual": 1700,
        "simulated": 1260,
        "difference": -440,
        "changed": 3,
    }
    assert report.groups["tier"][1].to_dict() == {
        "lines": 3,
        "actual": 1200,
        "simulated": 960,
        "difference": -240,
        "changed": 2,
    }
    assert report.groups["tier"][2].difference == 300 - 500
    assert report.groups["level"]["staff"].simulated == 160
    assert report.groups["category"][""].actual == 200
    body = report.to_dict()
    assert body["difference"] == -440
    assert [row["key"] for row in body["groups"]["tier"]] == [1, 2]
    assert body["fingerprint"] == compile_ruleset(DRAFT).fingerprint


def test_streams_lazily_and_reports_progress(make_facts):
    consumed = []

    def lines():
        for index in range(25):
            consumed.append(index)
            yield make_facts(line_paid_amount=100), 10

    seen = []

    def progress(done):
        seen.append((done, len(consumed)))

    report = simulate(compile_ruleset(DRAFT), lines(), progress=progress, progress_every=10)
    assert seen == [(10, 10), (20, 20), (25, 25)]  # never read ahead
    assert report.total.lines == 25
    assert report.total.changed == 25  # 8 % of 100 = 8, not 10


def test_custom_groups(make_facts):
    report = simulate(
        DRAFT,
        [(make_facts(channel="poster"), 0), (make_facts(channel="live_stream"), 0)],
        group_by={"channel": lambda facts: facts.channel},
    )
    assert set(report.groups) == {"channel"}
    assert report.groups["channel"]["poster"].simulated == 800


CAPPED_15 = {
    "rules": [
        tier_rate(1, "15", {"name": "cap_per_order", "params": {"amount": 2000}}),
        {
            "id": "monthly",
            "priority": 0,
            "mode": "stack",
            "conditions": {"all": [{"name": "tier", "operator": "equal_to", "value": 1}]},
            "actions": [{"name": "cap_per_month", "params": {"amount": 3500}}],
        },
    ]
}
NOV = datetime(2026, 11, 30, 12, tzinfo=CST)
DEC = datetime(2026, 12, 1, 12, tzinfo=CST)


def history_at_10_percent(make_facts):
    """Lines that were priced at 10 % (1000 each), with the figures they were priced on."""

    def line(when, month, order, actual, *keys):
        facts = make_facts(
            line_paid_amount=10000,
            order_time=when,
            already_paid_this_month=month,
            already_paid_this_order=order,
        )
        return HistoricalLine(facts, actual, *keys)

    return [
        line(NOV, 1000, 0, 1000, "alice", "o1", "a"),  # alice had 1000 this month before the window
        line(NOV, 2000, 1000, 1000, "alice", "o1", "b"),
        line(NOV, 0, 0, 1000, "bob", "o1", "c"),  # bob: figures of his own
        line(NOV, 3000, 0, 1000, "alice", "o2", "a"),
        line(DEC, 0, 0, 1000, "alice", "o3", "a"),  # a new month
    ]


def test_caps_see_the_actual_figures_plus_the_drafts_own_deviation(make_facts):
    validate_ruleset(CAPPED_15, 1)
    amounts = [
        pricing.amount
        for _, _, pricing in replay(compile_ruleset(CAPPED_15), history_at_10_percent(make_facts))
    ]
    # o1/a: 1500 (rooms 2000 and 3500 - 1000); o1/b: order 1000 + 500 more -> room 500;
    # bob: 1500; o2: month 3000 + 0 deviation (500 - 500) -> room 500; December: 1500.
    assert amounts == [1500, 500, 1500, 500, 1500]


def test_replaying_the_rules_that_priced_the_history_gives_it_back(make_facts):
    priced = {"rules": [tier_rate(1, "10", {"name": "cap_per_month", "params": {"amount": 3000}})]}
    validate_ruleset(priced, 1)
    history = history_at_10_percent(make_facts)
    history[3] = history[3]._replace(actual_amount=0)  # month cap: 3000 - 3000 left no room
    report = simulate(priced, history)
    assert (report.total.actual, report.total.simulated, report.total.changed) == (4000, 4000, 0)


def test_the_line_ceiling_carries_the_drafts_deviation_across_tiers(make_facts):
    draft = {"rules": [tier_rate(1, "30"), tier_rate(2, "30")]}
    validate_ruleset(draft, 2)
    lines = [
        HistoricalLine(make_facts(tier=1, line_ceiling=5000), 1000, "d", "o1", "l1"),
        HistoricalLine(
            make_facts(tier=2, line_ceiling=5000, already_paid_this_line=1000), 500, "c", "o1", "l1"
        ),
        HistoricalLine(make_facts(tier=2, line_ceiling=5000), 500, "c", "o1", "l2"),
    ]
    amounts = [pricing.amount for _, _, pricing in replay(compile_ruleset(draft), lines, explain=True)]
    # tier 1 pays 3000 instead of 1000, so tier 2 on l1 has 5000 - 3000 left; l2 is another line
    assert amounts == [3000, 2000, 3000]


def test_plain_pairs_are_priced_on_their_facts_alone(make_facts):
    draft = {"rules": [tier_rate(1, "10", {"name": "cap_per_order", "params": {"amount": 1500}})]}
    lines = [(make_facts(line_paid_amount=10000), 0)] * 3
    assert simulate(draft, lines).total.simulated == 3000  # each line: already_paid_this_order from its facts


def test_format_table_and_minor_units(make_facts):
    report = simulate(DRAFT, [(make_facts(line_paid_amount=12345), 1234)])
    table = report.format_table()
    assert table.splitlines()[0].split(" | ")[0].strip() == "group"
    assert "-2.46" in table  # 987.6 -> 988 simulated, 1234 actual
    assert (format_minor(-1234), format_minor(5), format_minor(100, 0)) == ("-12.34", "0.05", "100")


def test_replay_streams_priced_lines_with_explanations(make_facts):
    facts = make_facts(tier=2, line_paid_amount=10000)
    ((seen, actual, pricing),) = list(replay(compile_ruleset(DRAFT), [(facts, 499)], explain=True))
    assert (seen, actual, pricing.amount) == (facts, 499, 300)
    assert pricing.explanation[0]["rule"] == "tier2"
