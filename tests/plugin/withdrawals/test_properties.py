"""Property tests of withdrawals: random interleavings of earning (orders, settlement, refunds
and their clawbacks), requests, approvals, rejections, payouts that succeed, fail, time out,
get lost or crash the worker, queries, duplicate and contradicting callbacks and sweeps (see
``interleavings.py``), on both databases. After every step the database must equal the model
(balances, withdrawals, approvals, payouts, and every refusal's name and what it allowed) and:

1. every ledger transaction balances, in one currency;
2. what left a distributor (net + tax + fee of paid payouts, with those on their way and those
   held) never exceeds what they earned less what was clawed back: not at all when a request
   is accepted, and later (a refund clawing back what was already paid out) only by the
   arrears the ledger records as their debt, never more than was clawed back; money is
   conserved between the two;
3. no account goes negative, and available and arrears are never both positive;
4. every withdrawal's postings are exactly its steps': nothing is left in ``withdrawing`` once it
   was sent or returned, nothing in ``payout_clearing`` once the gateway answered;
5. no out_no is ever submitted twice (a payout whose outcome is unknown is only ever queried),
   at most one payout per withdrawal, every payout fenxiao calls paid was paid by the gateway and
   every one it calls failed was not; once everything is answered (``drain``), what the gateway
   paid is exactly the ledger's ``paid``, and each person's month is withheld exactly the tax on
   its total, whichever of their payouts failed.

Each example uses a new shop (the database is not reset between examples); the sweep runs over
every shop, so the outside parties serve only the example's own shop.
"""

from __future__ import annotations

import os
from collections import defaultdict
from dataclasses import asdict
from datetime import timedelta
from functools import partial

from hypothesis import HealthCheck, event, given, note, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from adapters import schema
from adapters.payouts import base
from plugin.audit.models import AuditEvent
from plugin.commissions import settlement
from plugin.errors import FenxiaoError
from plugin.ledger import journal
from plugin.ledger.models import DEBIT_NORMAL, SHOP_OWNER, Account, LedgerEntry, LedgerTransaction
from plugin.orders import lifecycle
from plugin.shops.models import Shop
from plugin.tax.withholding import labour_remuneration_tax
from plugin.withdrawals import flow, paying, review
from plugin.withdrawals.errors import InsufficientFunds
from plugin.withdrawals.limits import LimitExceeded
from plugin.withdrawals.models import Payout, Withdrawal, WithdrawalApproval
from tests.plugin.scenario import ALL_TIERS_RULESET, install_unvalidated
from tests.plugin.withdrawals import interleavings as il
from tests.plugin.withdrawals import kit

# Examples per database (under a second each); FENXIAO_PROPERTY_EXAMPLES=200 explores further.
EXAMPLES = {"sqlite": 25, "postgresql": 25}
MAX_STEPS = 30
PEOPLE = ((kit.ID_A, "王小明"), (kit.ID_B, "李四"), (kit.ID_C, "张三"))
KINDS = ("pending", "available", "withdrawing", "paid", "arrears")
STEPS = {**dict.fromkeys(il.HELD, {"hold"}), "rejected": {"hold", "return"}, "paying": {"hold", "send"}}
STEPS |= {"paid": {"hold", "send", "paid"}, "failed": {"hold", "send", "return"}}


def examples(database) -> settings:
    count = int(os.environ.get("FENXIAO_PROPERTY_EXAMPLES", 0)) or EXAMPLES[database.dialect]
    return settings(
        max_examples=count,
        deadline=None,
        derandomize=False,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


class Run:
    """One example: a new shop, its distributors and payees, and the steps played on both the
    domain and the model, comparing every answer."""

    def __init__(self, database, make_shop, setup: il.Setup):
        self.database, self.model, self.clock, self.refunds = database, il.Model(setup), kit.NOW, 0
        self.accepted: int | None = None  # the distributor whose request the last step accepted
        self.shop_id = shop_id = make_shop(tier_depth=1, after_sales_days=0).id
        with database.transaction() as session:
            install_unvalidated(session, session.get(Shop, shop_id), ALL_TIERS_RULESET)
        kit.configure(database, shop_id, **setup.settings)
        self.members = [kit.distributor(database, shop_id, f"d{i}") for i in range(len(setup.people))]
        for i, (member, person) in enumerate(zip(self.members, setup.people, strict=True)):
            number, name = PEOPLE[person]
            kit.enter_payee(database, shop_id, member, number=number, name=name, account=f"o-openid-{i}")
        self.gateway, self.provider = il.Gateway(), kit.FakeProvider()
        down = kit.FakeProvider(unavailable=True)  # for the other examples' shops
        self.outside = flow.Outside(
            keys=kit.KEYS,
            identity_provider=lambda session, shop: self.provider if shop.id == shop_id else down,
            gateways=lambda session, shop, channel: self.gateway if shop.id == shop_id else None,
        )

    def play(self, step: il.Step) -> None:
        self.accepted = None
        before = [d.status for d in self.model.draws]
        getattr(self, step.kind)(step)
        moves = {f"{a}->{d.status}" for a, d in zip(before, self.model.draws, strict=False) if a != d.status}
        event(f"{step.kind}: {', '.join(sorted(moves)) or 'no move'}")

    def attempt(self, action) -> str | None:
        """Run ``action(session, shop)`` in a transaction; the refusal's name, or None."""
        try:
            with self.database.transaction() as session:
                action(session, session.get(Shop, self.shop_id))
        except FenxiaoError as refused:
            return type(refused).__name__
        return None

    def outside_call(self, step: il.Step, call) -> bool:
        """Call with the step's gateway script and moods; whether the worker crashed."""
        self.gateway.script[:], self.gateway.busy = step.answers, step.busy
        self.provider.unavailable = not step.provider_up
        try:
            call()
        except il.WorkerCrash:
            return True
        finally:
            self.gateway.script.clear()
        return False

    def earn(self, step: il.Step) -> None:
        n, at, who = len(self.model.earnings), self.clock, step.who
        order = schema.Order(
            platform="shopify",
            external_id=f"o{n}",
            status="completed",
            currency="CNY",
            channel="online",
            ref_code=f"INV-d{who}",  # binds the buyer under the distributor on their first order
            buyer=schema.Buyer(f"buyer-{who}"),
            lines=(schema.OrderLine(f"o{n}-1", "p1", None, None, 1, step.amount, 0, step.amount),),
            placed_at=at,
            updated_at=at,
            paid_at=at,
            completed_at=at,
        )
        assert self.attempt(lambda session, shop: lifecycle.apply_snapshot(session, shop, order)) is None
        self.model.earn(who, step.amount)
        if step.settle:
            self.settle(step)

    def settle(self, step: il.Step) -> None:
        settlement.settle_due(self.database, self.clock, shop_id=self.shop_id)
        self.model.settle()

    def refund(self, step: il.Step) -> None:
        line = schema.RefundLine(f"o{step.who}-1", 1, step.amount)
        refund = schema.Refund("shopify", f"r{self.refunds}", f"o{step.who}", "CNY", (line,), self.clock)
        self.refunds += 1
        assert self.attempt(lambda session, shop: lifecycle.apply_refund(session, shop, refund)) is None
        self.model.refund(step.who, step.amount)

    def request(self, step: il.Step) -> None:
        expected = self.model.refusal(step.who, step.amount)
        try:
            withdrawal_id = kit.ask(
                self.database, self.shop_id, self.members[step.who], step.amount, self.clock
            )
        except LimitExceeded as refused:
            assert expected == ("limit", refused.limit, refused.allowed)
            event(f"request refused: {refused.limit}")
        except InsufficientFunds as refused:
            assert expected == ("funds", None, refused.allowed)
            event("request refused: insufficient funds")
        else:
            assert expected is None
            self.model.request(withdrawal_id, step.who, step.amount)
            self.accepted = self.members[step.who]

    def approve(self, step: il.Step) -> None:
        d = self.model.draws[step.who]
        actor = f"member:{self.members[d.member]}" if step.actor == "requester" else step.actor
        expected = self.model.approve(d, step.actor)
        assert self.attempt(lambda s, shop: review.approve(s, shop, d.id, actor, self.clock)) == expected

    def reject(self, step: il.Step) -> None:
        d = self.model.draws[step.who]
        expected = self.model.reject(d, step.reason)
        outcome = self.attempt(lambda s, shop: review.reject(s, shop, d.id, "fin-1", step.reason, self.clock))
        assert outcome == expected

    def advance(self, step: il.Step) -> None:
        d = self.model.draws[step.who]
        crashed = self.outside_call(step, lambda: flow.advance(self.database, self.outside, d.id, self.clock))
        assert crashed == self.model.advance(d, list(step.answers), step.provider_up, self.clock)

    def check(self, step: il.Step) -> None:
        d = self.model.draws[step.who]
        with self.database.read() as session:
            payout_id = session.scalar(select(Payout.id).where(Payout.withdrawal_id == d.id))
        gateways = self.outside.gateways
        self.outside_call(step, lambda: paying.check(self.database, gateways, payout_id, self.clock))
        self.model.check(d, step.busy, self.clock)

    def callback(self, step: il.Step) -> None:
        d = self.model.draws[step.who]
        truth = self.gateway.settled.get(d.payout.out_no)
        if truth is None:  # the gateway never received it: it tells nobody anything
            return
        for _ in range(2):
            outcome = base.Outcome(d.payout.out_no, truth, reference=f"ref-{d.payout.out_no}")
            paying.apply(self.database, outcome, source="callback", now=self.clock, shop_id=self.shop_id)
        self.model.callback(d)

    def contradict(self, step: il.Step) -> None:
        d = self.model.draws[step.who]
        opposite = base.FAILED if d.payout.status == base.SUCCEEDED else base.SUCCEEDED
        outcome = base.Outcome(d.payout.out_no, opposite)
        assert paying.apply(self.database, outcome, source="callback", now=self.clock) == d.payout.status
        self.model.contradictions += 1

    def sweep(self, step: il.Step) -> None:
        every_shop = partial(flow.sweep, self.database, self.outside, self.clock, batch=1_000_000)
        crashed = self.outside_call(step, every_shop)
        assert crashed == self.model.sweep(list(step.answers), step.provider_up, step.busy, self.clock)

    def tick(self, step: il.Step) -> None:
        self.clock += timedelta(minutes=step.amount)

    def drain(self) -> None:
        """Later, with every outside party answering: a sweep verifies what waits and settles what
        was sent, finance approves every verified withdrawal, and a second sweep pays them."""
        self.clock, self.accepted = self.clock + timedelta(hours=2), None
        self.sweep(il.Step("sweep"))
        for index, d in enumerate(self.model.draws):
            for actor in ("fin-1", "fin-2") if d.status == "verified" else ():
                self.approve(il.Step("approve", index, actor=actor))
        self.sweep(il.Step("sweep"))


# --------------------------------------------------------------------------- checks


def ledger_of(session, shop_id: int):
    """Balances by (member, account kind) in each kind's normal direction; raw sums by (member,
    account kind, transaction kind) and by (transaction key, account kind)."""
    rows = session.execute(
        select(Account.member_id, Account.kind, LedgerTransaction.kind, LedgerTransaction.key)
        .add_columns(LedgerEntry.amount)
        .join(LedgerEntry, LedgerEntry.account_id == Account.id)
        .join(LedgerTransaction, LedgerTransaction.id == LedgerEntry.transaction_id)
        .where(Account.shop_id == shop_id)
    ).all()
    balances, by_kind, by_key = defaultdict(int), defaultdict(int), defaultdict(int)
    for member, kind, txn_kind, key, amount in rows:
        balances[(member, kind)] += amount if kind in DEBIT_NORMAL else -amount
        by_kind[(member, kind, txn_kind)] += amount
        by_key[(key, kind)] += amount
    return balances, by_kind, by_key


def check_state(run: Run) -> None:
    m, shop_id = run.model, run.shop_id
    with run.database.read() as session:
        assert journal.unbalanced_transactions(session, shop_id) == []  # 1.
        currencies = session.scalars(select(LedgerEntry.currency).where(LedgerEntry.shop_id == shop_id))
        assert set(currencies) <= {"CNY"}
        balances, by_kind, by_key = ledger_of(session, shop_id)
        rows = session.execute(
            select(Withdrawal.id, Withdrawal.member_id, Withdrawal.amount, Withdrawal.fee, Withdrawal.tax)
            .add_columns(Withdrawal.status, Withdrawal.approvals_needed)
            .where(Withdrawal.shop_id == shop_id)
            .order_by(Withdrawal.id)
        ).all()
        payout_rows = list(session.scalars(select(Payout).where(Payout.shop_id == shop_id)))
        approvals = defaultdict(list)
        for withdrawal_id, actor in session.execute(
            select(WithdrawalApproval.withdrawal_id, WithdrawalApproval.actor)
            .where(WithdrawalApproval.shop_id == shop_id)
            .order_by(WithdrawalApproval.id)
        ):
            approvals[withdrawal_id].append(actor)

    # The database is the model.
    payouts = {p.withdrawal_id: p for p in payout_rows}
    assert len(payouts) == len(payout_rows)  # 5. at most one payout per withdrawal
    for d in m.draws:
        if d.payout is not None and d.id in payouts:
            d.payout.out_no = payouts[d.id].out_no
    for member, book in zip(run.members, m.books, strict=True):
        assert {kind: balances[(member, kind)] for kind in KINDS} == asdict(book)
    assert {kind: balances[(SHOP_OWNER, kind)] for kind in m.shop} == m.shop
    expected = [(d.id, run.members[d.member], d.amount, d.fee, d.tax, d.status, d.needed) for d in m.draws]
    assert [tuple(row) for row in rows] == expected
    assert {w: (p.amount, p.status, p.attempts, p.next_check_at) for w, p in payouts.items()} == {
        d.id: (d.payout.net, d.payout.status, d.payout.attempts, d.payout.next_check)
        for d in m.draws
        if d.payout
    }
    assert dict(approvals) == {d.id: d.approvals for d in m.draws if d.approvals}

    # 2 and 3, from the database alone: per distributor, what left against what was earned.
    paid_net = {}
    for member in run.members:
        earned = by_kind[(member, "pending", "settle")]
        clawed = by_kind[(member, "available", "clawback")] + by_kind[(member, "arrears", "clawback")]
        mine = [row for row in rows if row.member_id == member]
        held = sum(row.amount for row in mine if row.status in il.HELD)
        on_way = sum(row.amount for row in mine if row.status == "paying")
        paid = [row for row in mine if row.status == "paid"]
        paid_net[member] = sum(row.amount - row.fee - row.tax for row in paid)
        gone = paid_net[member] + sum(row.tax + row.fee for row in paid)
        available, arrears = balances[(member, "available")], balances[(member, "arrears")]
        assert gone + on_way + held <= earned - clawed + arrears
        if member == run.accepted:  # when money is committed, no debt may pay for it
            assert gone + on_way + held <= earned - clawed
        assert arrears <= clawed
        assert available - arrears + held + on_way + gone == earned - clawed
        assert balances[(member, "paid")] == paid_net[member]
        assert min(balances[(member, kind)] for kind in KINDS) >= 0
        assert available == 0 or arrears == 0
    counted = [row for row in rows if row.status in ("paying", "paid")]
    assert balances[(SHOP_OWNER, "tax_withheld")] == sum(row.tax for row in counted)
    assert balances[(SHOP_OWNER, "withdrawal_fees")] == sum(row.fee for row in counted)
    on_way = sum(row.amount - row.fee - row.tax for row in counted if row.status == "paying")
    assert balances[(SHOP_OWNER, "payout_clearing")] == on_way

    # 4. Each withdrawal's postings are its steps', and leave nothing behind.
    steps, residue = defaultdict(set), defaultdict(int)
    for (key, kind), amount in by_key.items():
        if key.startswith("withdrawal:"):
            _, withdrawal_id, step = key.split(":")
            steps[int(withdrawal_id)].add(step)
            residue[(int(withdrawal_id), kind)] -= amount
    for row in rows:
        net = row.amount - row.fee - row.tax
        assert steps[row.id] == STEPS[row.status], (row, steps[row.id])
        assert residue[(row.id, "withdrawing")] == (row.amount if row.status in il.HELD else 0)
        assert residue[(row.id, "payout_clearing")] == (net if row.status == "paying" else 0)
        assert residue[(row.id, "paid")] == (net if row.status == "paid" else 0)

    # 5. Never submitted twice; fenxiao's record agrees with what the gateway did.
    gateway, out_nos = run.gateway, {p.out_no: p for p in payout_rows}
    assert len(gateway.calls) == len(set(gateway.calls))
    assert set(gateway.calls) <= set(out_nos)
    assert all(sent.amount == out_nos[sent.out_no].amount for sent in gateway.submitted)
    for out_no, payout in out_nos.items():
        if payout.status in il.SETTLED:
            assert gateway.settled.get(out_no, base.FAILED) == payout.status
    truly = gateway.truly_paid()
    assert sum(truly.get(o, 0) for o, p in out_nos.items() if p.status == "succeeded") == sum(
        paid_net.values()
    )


def check_drained(run: Run) -> None:
    """Everything answered: the gateway paid exactly the ledger's paid, and the tax adds up."""
    shop_id = run.shop_id
    with run.database.read() as session:
        rows = session.execute(
            select(Withdrawal.id_number_hash, Withdrawal.amount, Withdrawal.fee, Withdrawal.tax)
            .add_columns(Withdrawal.status)
            .where(Withdrawal.shop_id == shop_id)
        ).all()
        open_ = select(func.count()).where(
            Payout.shop_id == shop_id, Payout.status.in_(("sending", "pending"))
        )
        assert session.scalar(open_) == 0
        contradicted = select(func.count()).where(
            AuditEvent.shop_id == shop_id, AuditEvent.action == "payout.contradicted"
        )
        assert session.scalar(contradicted) == run.model.contradictions
        paid = sum(journal.member_balances(session, shop_id, m, "CNY")["paid"] for m in run.members)
    assert "paying" not in {row.status for row in rows}
    assert sum(run.gateway.truly_paid().values()) == paid
    for person in {row.id_number_hash for row in rows}:
        mine = [row for row in rows if row.id_number_hash == person]
        income = sum(row.amount - row.fee for row in mine if row.status == "paid")
        withheld = sum(row.tax for row in mine if row.status == "paid")
        due = 0 if run.model.setup.tax_policy == "off" else labour_remuneration_tax(income)
        assert withheld == due


def statistics(model: il.Model) -> None:
    """What the example went through, as hypothesis events."""
    for d in model.draws:
        answered = f", answered {d.payout.answer}, {d.payout.attempts} calls" if d.payout else ""
        event(f"ended {d.status}{answered}")
        event(f"approvals: {d.approvals}" if d.approvals else "no approval")
        alone = labour_remuneration_tax(d.amount - d.fee)
        event("no tax" if not d.tax else "tax on itself" if d.tax == alone else "tax on the person's month")
    for happening in sorted(model.happened):
        event(happening)
    event(f"arrears outstanding: {sum(book.arrears for book in model.books) > 0}")


def test_no_interleaving_overpays_pays_twice_or_unbalances(database, make_shop):
    @examples(database)
    @given(data=st.data())
    def run(data):
        setup = data.draw(il.setups, label="setup")
        played = Run(database, make_shop, setup)
        for step in data.draw(il.openings(len(setup.people)), label="opening"):
            played.play(step)
        for number in range(data.draw(st.integers(1, MAX_STEPS), label="steps")):
            played.play(data.draw(il.steps(played.model), label=f"step {number}"))
            check_state(played)
        played.drain()
        note(f"after the drain: {[(d.id, d.status, d.payout) for d in played.model.draws]}")
        check_state(played)
        check_drained(played)
        statistics(played.model)

    run()
