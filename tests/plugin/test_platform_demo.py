"""``fenxiao demo --platform``: the same purchase through each platform ends in the same ledger."""

from __future__ import annotations

from click.testing import CliRunner

from plugin.cli import main, platform_demo


def test_the_four_platforms_ledgers_agree_to_the_fen():
    result = CliRunner().invoke(main, ["demo", "--platform", "all"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    rows = {
        line.split()[0]: line.split()[1:] for line in result.output.splitlines() if line.endswith("  yes")
    }
    expected = ["completed", "¥398.00", "¥149.00", "¥24.90", "¥12.45", "yes"]
    assert rows == {platform: expected for platform in platform_demo.PLATFORMS}
    assert result.output.rstrip().endswith("the four ledgers agree to the fen: yes")
    # every message was acknowledged as its platform expects, the repeated paid one included
    assert result.output.count("→ HTTP 200") == 4 * 4
    assert '{"code":0,"msg":"success"}' in result.output
    assert '{"code":{"errcode":"0","errmsg":"success"}}' in result.output


def test_one_platform_runs_alone_and_its_story_is_complete():
    result = platform_demo.run_story("youzan", echo=lambda line: None)
    assert (result["order"], result["paid"], result["refunded"], result["unbalanced"]) == (
        "completed",
        39800,
        14900,
        0,
    )
    assert result["B"]["pending"] == 2490 and result["A"]["pending"] == 1245
    tiers = {(tier, reversed_ > 0) for tier, _amount, reversed_, _status in result["commissions"]}
    assert tiers == {(1, True), (1, False), (2, True), (2, False)}  # the tee line's commissions reversed


def test_ledgers_that_differ_do_not_agree():
    same = {"order": "completed", "B": {"pending": 2490}}
    assert platform_demo.agree({"a": same, "b": dict(same)})
    assert not platform_demo.agree({"a": same, "b": {**same, "B": {"pending": 2491}}})
