"""How fast are commission rules evaluated, compiled vs. business-rules, and how fast is a replay?

For rulesets of 10, 100 and 1,000 rules (a realistic mix: tier defaults, product,
category-tree, level and ladder rates, time-slot and weekend bonuses, campaign tags,
regional bonuses, exclusions, caps, nested any/all), it prices the same synthetic order
lines with the compiled evaluator and with the business-rules reference, checks that
both give the same Pricing, and prints line evaluations per second and their ratio.
Then it streams synthetic historical lines (generated lazily) through ``rules.simulate``
with a 100-rule draft and prints the time and memory.

Usage (from the project root, in the project's virtualenv)::

    python bench/rules_eval.py                   # 10/100/1000 rules, 1,000,000 replayed lines
    python bench/rules_eval.py --lines 100000 --seconds 1

Single process, single thread: the evaluations per second are per core.
"""

from __future__ import annotations

import argparse
import gc
import random
import resource
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import rules  # noqa: E402

CST = timezone(timedelta(hours=8))
LEVELS = ("member", "silver", "gold", "staff", "city_partner")
CHANNELS = ("web", "app", "mini_program", "live_stream", "poster", "short_link")
REGIONS = tuple(f"city-{n:02d}" for n in range(20))
TAGS = ("double11", "618", "new-year", "clearance", "members-day", "flash")
ROOTS = ("drinks", "food", "beauty", "home", "digital")
CATEGORIES = tuple(f"{ROOTS[n % len(ROOTS)]}-{n:02d}" for n in range(40))
PRODUCTS = tuple(f"p{n:04d}" for n in range(500))
START = datetime(2026, 11, 1, tzinfo=CST)


def cond(name, operator, value=None):
    return {"name": name, "operator": operator, "value": value}


def percent(rng):
    return f"{rng.randint(1, 15)}.{rng.choice(('0', '5', '25'))}"


def _templates(rng, index):
    """One random rule: (priority, mode, conditions, actions)."""
    tier = rng.randint(1, 3)
    kind = rng.randrange(12)
    if kind <= 2:
        return (
            20,
            "replace",
            {"all": [cond("product_id", "equal_to", rng.choice(PRODUCTS))]},
            [("set_rate", {"percent": percent(rng)})],
        )
    if kind == 3:
        return (
            10,
            "replace",
            {"all": [cond("category_tree", "contains", rng.choice(CATEGORIES + ROOTS))]},
            [("set_rate", {"percent": percent(rng)})],
        )
    if kind == 4:
        group = [cond("tier", "equal_to", tier), cond("level", "equal_to", rng.choice(LEVELS))]
        return 5, "replace", {"all": group}, [("set_rate", {"percent": percent(rng)})]
    if kind == 5:
        day = 20261101 + rng.randrange(30)
        start = day * 10000 + rng.randrange(0, 22) * 100
        slot = [cond("order_datetime_number", "greater_than_or_equal_to", start)]
        slot.append(cond("order_datetime_number", "less_than", start + 200))
        return (
            15,
            "stack",
            {"all": [cond("tier", "equal_to", 1), *slot]},
            [("add_bonus_rate", {"percent": "2"})],
        )
    if kind == 6:
        weekend = {"any": [cond("order_weekday", "equal_to", 5), cond("order_weekday", "equal_to", 6)]}
        return (
            12,
            "stack",
            {"all": [cond("tier", "equal_to", tier), weekend]},
            [("add_bonus_rate", {"percent": "1"})],
        )
    if kind == 7:
        sales = cond(
            "beneficiary_month_sales", "greater_than_or_equal_to", rng.choice((500000, 1000000, 2000000))
        )
        return (
            8,
            "replace",
            {"all": [cond("tier", "equal_to", 1), sales]},
            [("set_rate", {"percent": percent(rng)})],
        )
    if kind == 8:
        tags = cond("campaign_tags", "shares_at_least_one_element_with", rng.sample(TAGS, 2))
        return (
            14,
            "stack",
            {"all": [tags, cond("channel", "equal_to", rng.choice(CHANNELS))]},
            [("set_fixed_per_unit", {"amount": rng.randint(10, 200)})],
        )
    if kind == 9:
        regional = [cond("level", "equal_to", "city_partner"), cond("in_beneficiary_region", "is_true")]
        return (
            13,
            "stack",
            {"all": regional},
            [("add_bonus_rate", {"percent": "2"}), ("cap_per_line", {"amount": 5000})],
        )
    if kind == 10:
        nested = {
            "any": [
                cond("sku", "starts_with", f"gift-{rng.randrange(50)}"),
                {
                    "all": [
                        cond("category", "equal_to", rng.choice(CATEGORIES)),
                        cond("quantity", "greater_than", 20),
                    ]
                },
            ]
        }
        return -10, "stack", nested, [("exclude", {})]
    new_buyer = [cond("tier", "equal_to", 1), cond("buyer_is_new", "is_true")]
    new_buyer.append(cond("order_paid_amount", "greater_than", rng.choice((5000, 10000, 50000))))
    return 11, "stack", {"all": new_buyer}, [("set_fixed_per_line", {"amount": rng.randint(50, 500)})]


def make_ruleset(size: int, seed: int = 7) -> dict:
    """A valid ruleset of ``size`` rules: three tier defaults and ``size - 3`` random ones."""
    rng = random.Random(seed)
    doc = {"name": f"bench-{size}", "rules": []}
    for tier, rate in ((1, "10"), (2, "5"), (3, "2")):
        doc["rules"].append(
            _rule(
                f"tier{tier}",
                0,
                "replace",
                {"all": [cond("tier", "equal_to", tier)]},
                [("set_rate", {"percent": rate})],
            )
        )
    for index in range(size - 3):
        doc["rules"].append(_rule(f"r{index}", *_templates(rng, index)))
    rules.validate_ruleset(doc, 3)
    return doc


def _rule(rule_id, priority, mode, conditions, actions):
    return {
        "id": rule_id,
        "priority": priority,
        "mode": mode,
        "conditions": conditions,
        "actions": [{"name": name, "params": params} for name, params in actions],
    }


def make_facts(rng: random.Random, when: datetime | None = None) -> rules.LineFacts:
    """One synthetic order line for one beneficiary."""
    category = rng.choice(CATEGORIES)
    quantity = rng.choice((1, 1, 1, 2, 3, 25))
    line = rng.randint(100, 60000) * quantity
    return rules.LineFacts(
        tier=rng.choice((1, 1, 2, 3)),
        level=rng.choice(LEVELS),
        product_id=rng.choice(PRODUCTS),
        sku=f"gift-{rng.randrange(500)}" if rng.random() < 0.05 else f"sku-{rng.randrange(5000)}",
        category=category,
        channel=rng.choice(CHANNELS),
        quantity=quantity,
        line_paid_amount=line,
        order_paid_amount=line + rng.choice((0, 0, 1999, 25000)),
        currency="CNY",
        order_time=when or START + timedelta(minutes=rng.randrange(30 * 24 * 60)),
        parent_categories=(category.split("-")[0],),
        buyer_is_new=rng.random() < 0.2,
        beneficiary_month_sales=rng.randrange(3000000),
        campaign_tags=tuple(rng.sample(TAGS, rng.randrange(3))),
        region=rng.choice(REGIONS),
        beneficiary_region=rng.choice(REGIONS),
    )


def rate(function, pool, seconds: float, repeats: int) -> float:
    """Best of ``repeats`` windows: evaluations per second of ``function(facts)`` cycling over ``pool``.

    The best window is the least disturbed by other processes on the machine.
    """
    best = 0.0
    for _ in range(repeats):
        done, started = 0, time.perf_counter()
        deadline = started + seconds
        while True:
            for facts in pool:
                function(facts)
            done += len(pool)
            now = time.perf_counter()
            if now >= deadline:
                break
        best = max(best, done / (now - started))
    return best


def rss_mib() -> float:
    """Current resident set size (Linux /proc), else the peak from getrusage."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def evaluation_table(sizes, seconds: float, repeats: int) -> list[tuple]:
    rng = random.Random(11)
    pool = [make_facts(rng) for _ in range(2000)]
    rows = []
    for size in sizes:
        doc = make_ruleset(size)
        compiled = rules.compile_cached(("bench", size), doc)
        for facts in pool[:300]:
            assert compiled.price(facts) == rules.price_line_reference(doc, facts), (size, facts)
        fast = rate(compiled.price, pool, seconds, repeats)
        slow_pool = pool[: max(20, 200 * 100 // size)]
        slow = rate(
            lambda facts, doc=doc: rules.price_line_reference(doc, facts), slow_pool, seconds, repeats
        )
        rows.append((size, fast, slow, fast / slow))
    return rows


def historical_lines(count: int, seed: int = 5):
    """``count`` synthetic (facts, actual_amount) pairs in time order, generated lazily."""
    rng = random.Random(seed)
    step = timedelta(days=30) / count
    for index in range(count):
        facts = make_facts(rng, START + step * index)
        yield facts, facts.line_paid_amount // 10


def replay(count: int, draft_size: int) -> dict:
    """Stream ``count`` lines through ``rules.simulate``; time it, and the line generator alone."""
    draft = rules.compile_ruleset(make_ruleset(draft_size, seed=99))
    gc.collect()
    started = time.perf_counter()
    for _ in historical_lines(count):
        pass
    feed = time.perf_counter() - started
    samples = []
    before = rss_mib()
    started = time.perf_counter()
    report = rules.simulate(
        draft,
        historical_lines(count),
        progress=lambda done: samples.append(rss_mib()),
        progress_every=max(count // 10, 1),
    )
    elapsed = time.perf_counter() - started
    return {
        "seconds": elapsed,
        "feed": feed,
        "rss_before": before,
        "rss_samples": samples,
        "peak": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "report": report,
    }


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 100, 1000], help="ruleset sizes")
    parser.add_argument("--seconds", type=float, default=2.0, help="length of one measuring window")
    parser.add_argument("--repeats", type=int, default=3, help="windows per engine and size (best counts)")
    parser.add_argument("--lines", type=int, default=1_000_000, help="historical lines to replay (0: skip)")
    parser.add_argument("--draft-rules", type=int, default=100, help="rules in the replayed draft")
    args = parser.parse_args(argv)

    print(f"python {sys.version.split()[0]}, one thread (evaluations per second are per core)")
    print()
    print(f"{'rules':>5} | {'compiled evals/s':>16} | {'business-rules evals/s':>22} | {'speed-up':>8}")
    print(f"{'-' * 5}-|-{'-' * 16}-|-{'-' * 22}-|-{'-' * 8}")
    for size, fast, slow, ratio in evaluation_table(args.sizes, args.seconds, args.repeats):
        print(f"{size:>5} | {fast:>16,.0f} | {slow:>22,.0f} | {ratio:>7.1f}x")
    if not args.lines:
        return
    run = replay(args.lines, args.draft_rules)
    samples = run["rss_samples"]
    print()
    print(f"{'replay':<34} | {'value':>14}")
    print(f"{'-' * 34}-|-{'-' * 14}")
    rows = [
        ("lines (lazily generated)", f"{args.lines:,}"),
        ("rules in the draft", f"{args.draft_rules}"),
        ("simulate, total time", f"{run['seconds']:.1f} s"),
        ("generating the lines alone", f"{run['feed']:.1f} s"),
        ("lines per second", f"{args.lines / run['seconds']:,.0f}"),
        ("RSS before", f"{run['rss_before']:.0f} MiB"),
        (
            "RSS at 10 % / 50 % / 100 %",
            "/".join(f"{samples[i]:.0f}" for i in (0, len(samples) // 2, -1)) + " MiB",
        ),
        ("process peak RSS (getrusage)", f"{run['peak']:.0f} MiB"),
        ("lines whose amount changed", f"{run['report'].total.changed:,}"),
        ("difference (simulated - actual)", rules.format_minor(run["report"].total.difference)),
    ]
    for label, value in rows:
        print(f"{label:<34} | {value:>14}")


if __name__ == "__main__":
    main()
