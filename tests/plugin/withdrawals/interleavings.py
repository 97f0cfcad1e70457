"""Random interleavings of a shop's money steps, and an independent model of what they must do.

``setups`` draws the withdrawal settings and 1 to 3 distributors, two of whom may be one person
(one ID number: one month for the withholding); ``steps(model)`` draws the next ``Step`` from the
model's state. Earning takes the real path, chosen over posting clawbacks by hand: orders and
refunds go through ``plugin.orders.lifecycle`` as the inbox worker applies them (only the signed
webhook and the inbox row are skipped) and ``settlement.settle_due`` settles, so every clawback
is ``plugin.commissions.reversal``'s own. The shop runs ``ALL_TIERS_RULESET`` at depth 1 with no
after-sales window: a distributor's buyer earns them 10 % of each order.

``Gateway`` knows whether it really paid: a timeout leaves the outcome to a later query or
callback, a lost submit never arrived (a query then says "not found": FAILED), and a worker crash
right after the gateway paid leaves the payout ``sending``, claimed and unanswered. ``Model`` is
written on its own from the documented rules (the postings table, reversal, settlement, limits,
four-eyes, the person's month of ``plugin.tax.months``, the check schedule) and never calls the
domain; only the tax formula ``labour_remuneration_tax`` is the domain's, tested on its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from fractions import Fraction

from hypothesis import strategies as st

from adapters.errors import PlatformUnavailable
from adapters.payouts import base
from plugin.tax.withholding import labour_remuneration_tax
from tests.plugin.withdrawals.kit import FakeGateway

OK, REFUSED, LOST = "ok", "refused", "lost"
TIMEOUT_PAID, TIMEOUT_UNPAID, CRASH_PAID = "timeout-paid", "timeout-unpaid", "crash-paid"
PAID_ANSWERS = (OK, TIMEOUT_PAID, CRASH_PAID)
HELD, RETURNED = ("requested", "verified", "approved"), ("rejected", "failed")
SETTLED = ("succeeded", "failed")  # a payout's final statuses
AUTO = "auto-approval"
RATE = 10  # percent of what a line paid, tier 1 of ALL_TIERS_RULESET
FIRST_CHECK, LONGEST_WAIT = timedelta(seconds=30), timedelta(hours=1)


class WorkerCrash(Exception):
    """The process died right after the gateway accepted a payout (nothing was recorded)."""


@dataclass
class Gateway(FakeGateway):
    """Answers a submit as scripted (``OK`` when nothing is left); ``settled`` is the truth of
    every payout it received, ``calls`` every out_no it was asked to pay, received or not."""

    busy: bool = False  # queries answer PENDING: the gateway has not decided yet
    calls: list = field(default_factory=list)

    def submit(self, payout: base.Payout) -> base.Outcome:
        self.calls.append(payout.out_no)
        answer = self.script.pop(0) if self.script else OK
        if answer == LOST:
            raise PlatformUnavailable("gateway: timed out before the payout arrived")
        self.submitted.append(payout)
        self.settled[payout.out_no] = base.SUCCEEDED if answer in PAID_ANSWERS else base.FAILED
        if answer == CRASH_PAID:
            raise WorkerCrash(payout.out_no)
        status = {OK: base.SUCCEEDED, REFUSED: base.FAILED}.get(answer, base.PENDING)
        return self._outcome(payout.out_no, status)

    def query(self, out_no: str) -> base.Outcome:
        self.queried.append(out_no)
        if self.busy:
            return base.Outcome(out_no, base.PENDING)
        return self._outcome(out_no, self.settled.get(out_no, base.FAILED))  # unknown: not found

    def truly_paid(self) -> dict[str, int]:  # what really reached a payee, by out_no
        return {p.out_no: p.amount for p in self.submitted if self.settled[p.out_no] == base.SUCCEEDED}

    @staticmethod
    def _outcome(out_no: str, status: str) -> base.Outcome:
        reason = "NOT_ENOUGH: merchant balance too low" if status == base.FAILED else None
        return base.Outcome(out_no, status, reference=f"ref-{out_no}", reason=reason)


@dataclass(frozen=True)
class Setup:
    people: tuple[int, ...]  # the person of each distributor
    settings: dict  # for ``plugin.withdrawals.settings.update``

    def __getattr__(self, name: str):  # a setting by its name: ``setup.minimum``
        if name.startswith("_") or name == "settings":
            raise AttributeError(name)
        return self.settings[name]

    @property
    def channel_daily(self) -> int | None:
        return self.settings["channel_caps"].get("wechat", {}).get("daily")

    def fee(self, amount: int) -> int:
        return self.fee_fixed + half_up(amount * Fraction(self.fee_percent) / 100)


setups = st.builds(
    Setup,
    st.sampled_from([(0,), (0, 1), (0, 0), (0, 1, 2), (0, 0, 1)]),
    st.fixed_dictionaries(
        {
            "minimum": st.sampled_from([100, 1_000]),
            "per_transaction": st.sampled_from([5_000_000, 300_000]),
            "daily": st.sampled_from([None, None, 500_000]),
            "channel_caps": st.sampled_from([{}, {}, {"wechat": {"daily": 900_000}}]),
            "fee_fixed": st.sampled_from([0, 0, 200]),
            "fee_percent": st.sampled_from(["0", "0", "1", "0.5"]),
            "second_approval_above": st.sampled_from([None, 100_000]),
            "auto_approve_up_to": st.sampled_from([None, 60_000]),
            "tax_policy": st.sampled_from(["labour_remuneration", "labour_remuneration", "off"]),
        }
    ),
)


def half_up(value: Fraction) -> int:
    return int(value + Fraction(1, 2)) if value >= 0 else -half_up(-value)


@dataclass(frozen=True)
class Step:
    kind: str
    who: int = 0  # a distributor, an order or a withdrawal (by the model's index)
    amount: int = 0
    actor: str = ""
    reason: str = ""
    answers: tuple[str, ...] = ()
    provider_up: bool = True
    busy: bool = False
    settle: bool = False

    def __repr__(self) -> str:
        values = ((f.name, getattr(self, f.name), f.default) for f in fields(self)[1:])
        return f"{self.kind}({', '.join(f'{n}={v!r}' for n, v, default in values if v != default)})"


answers = st.sampled_from([OK, OK, REFUSED, TIMEOUT_PAID, TIMEOUT_UNPAID, LOST, CRASH_PAID])
sales = st.sampled_from([30_000, 999_999, 2_000_000, 5_000_000]) | st.integers(1, 5_000_000)


@st.composite
def openings(draw, distributors: int) -> list[Step]:
    """Some earnings settled before anything else, so that most examples have money to move."""
    chosen = [who for who in range(distributors) if who == 0 or draw(st.booleans())]
    return [Step("earn", who, draw(sales), settle=True) for who in chosen]


@st.composite
def steps(draw, model: Model) -> Step:
    """The next step, among those the model's state makes meaningful (and some that are refused)."""
    draws, people = model.draws, list(range(len(model.books)))
    sent = [i for i, d in enumerate(draws) if d.payout is not None]
    unsettled = [i for i in sent if draws[i].payout.status not in SETTLED]
    moving = [i for i, d in enumerate(draws) if d.status in (*HELD, "paying")] or list(range(len(draws)))
    verified = [i for i, d in enumerate(draws) if d.status == "verified"]
    movable = [i for i, d in enumerate(draws) if d.status in ("requested", "approved", "paying")]
    kinds = ["earn", "settle", "request", "request", "request", "tick", "sweep", "sweep"]
    heard = [i for i in unsettled if draws[i].payout.received]  # the gateway may call back about these
    kinds += ["refund"] * bool(model.earnings) + ["reject"] * bool(draws)
    kinds += ["callback"] * (3 if heard else 1 if sent else 0)
    kinds += ["approve"] * (4 if verified else 1 if draws else 0)
    kinds += ["advance"] * (4 if movable else 1 if draws else 0)
    kinds += ["check"] * (3 if unsettled else 1 if sent else 0)
    kinds += ["contradict"] * (len(unsettled) < len(sent))
    kind = draw(st.sampled_from(kinds), label="kind")
    up, busy = st.sampled_from([True, True, True, False]), st.sampled_from([False, False, True])

    def pick(choices):
        return draw(st.sampled_from(choices))

    if kind == "earn":
        return Step(kind, pick(people), draw(sales), settle=draw(st.booleans()))
    if kind == "refund":
        index = pick(range(len(model.earnings)))
        order = model.earnings[index]
        rest = max(1, order.paid - order.refunded)
        return Step(kind, index, draw(st.sampled_from([rest, order.paid]) | st.integers(1, 2 * order.paid)))
    if kind == "request":
        who = pick([who for who in people if model.free(who)] * 3 + people)
        free = model.free(who)
        how = pick(["all", "all", "half", "some", "some", "over", "tiny"])
        amounts = {"all": free, "half": free // 2, "over": free + 1, "tiny": model.setup.minimum - 1}
        amount = draw(st.integers(1, max(1, free))) if how == "some" else amounts[how]
        return Step(kind, who, max(1, amount) if free or how == "tiny" else 1_000)
    if kind == "approve":
        return Step(kind, pick(verified or moving), actor=pick(["fin-1", "fin-2"] * 2 + ["requester"]))
    if kind == "reject":
        return Step(kind, pick(moving), reason=pick(["looks wrong", " "]))
    if kind == "advance":
        return Step(kind, pick(movable or moving), answers=(draw(answers),), provider_up=draw(up))
    if kind == "check":
        return Step(kind, pick(unsettled or sent), busy=draw(busy))
    if kind == "callback":
        return Step(kind, pick(heard or sent))
    if kind == "contradict":
        return Step(kind, pick([i for i in sent if draws[i].payout.status in SETTLED]))
    if kind == "sweep":
        scripted = tuple(draw(st.lists(answers, max_size=3)))
        return Step(kind, answers=scripted, provider_up=draw(up), busy=draw(busy))
    if kind == "tick":
        return Step(kind, amount=draw(st.integers(1, 15)))
    return Step(kind)  # settle


# --------------------------------------------------------------------------- the model


@dataclass
class Book:
    """A distributor's expected balance of each account kind."""

    pending: int = 0
    available: int = 0
    withdrawing: int = 0
    paid: int = 0
    arrears: int = 0


@dataclass
class Earning:
    member: int
    paid: int
    commission: int
    refunded: int = 0
    reversed: int = 0
    settled: bool = False


@dataclass
class PayoutModel:
    net: int
    answer: str = ""  # what the gateway answered the submit
    status: str = "sending"
    attempts: int = 0
    next_check: datetime | None = None
    truth: str = base.FAILED
    received: bool = False
    out_no: str | None = None  # learnt from the database once made


@dataclass
class Draw:
    id: int
    member: int
    amount: int
    fee: int
    needed: int
    status: str = "requested"
    tax: int = 0
    approvals: list[str] = field(default_factory=list)
    payout: PayoutModel | None = None

    @property
    def net(self) -> int:
        return self.amount - self.fee - self.tax


@dataclass
class Model:
    setup: Setup
    books: list[Book] = field(default_factory=list)
    earnings: list[Earning] = field(default_factory=list)
    draws: list[Draw] = field(default_factory=list)
    verified: list[bool] = field(default_factory=list)  # each distributor's payee
    shop: dict[str, int] = field(default_factory=dict)
    contradictions: int = 0
    happened: set[str] = field(default_factory=set)  # for the statistics

    def __post_init__(self):
        self.books, self.verified = [Book() for _ in self.setup.people], [False for _ in self.setup.people]
        kinds = ("commission_expense", "tax_withheld", "payout_clearing", "withdrawal_fees")
        self.shop = dict.fromkeys(kinds, 0)

    def earn(self, member: int, paid: int) -> None:
        commission = half_up(Fraction(paid * RATE, 100))
        self.earnings.append(Earning(member, paid, commission))
        self.books[member].pending += commission
        self.shop["commission_expense"] += commission

    def settle(self) -> None:
        """Every pending commission with something left becomes available, arrears repaid first."""
        for earning in (e for e in self.earnings if not e.settled and e.commission > e.reversed):
            book, remaining = self.books[earning.member], earning.commission - earning.reversed
            earning.settled = True
            repay = self._repay(book, remaining, "settlement")
            book.pending -= remaining
            book.available += remaining - repay

    def refund(self, index: int, amount: int) -> None:
        """Reverse the refunded share: cancelled from pending, or clawed back (arrears if short)."""
        earning = self.earnings[index]
        earning.refunded += amount
        if not earning.commission:
            return
        target = half_up(Fraction(earning.commission * min(earning.refunded, earning.paid), earning.paid))
        delta, earning.reversed = target - earning.reversed, max(target, earning.reversed)
        if delta <= 0:
            return
        book = self.books[earning.member]
        self.shop["commission_expense"] -= delta
        if not earning.settled:
            book.pending -= delta
            return
        taken = min(book.available, delta)
        book.available -= taken
        book.arrears += delta - taken
        self.happened.add("clawback into arrears" if taken < delta else "clawback")

    def _repay(self, book: Book, amount: int, by: str) -> int:
        """Arrears come first out of money coming back: what they took."""
        repay = min(book.arrears, amount)
        book.arrears -= repay
        self.happened |= {f"{by} repaid arrears"} if repay else set()
        return repay

    def free(self, member: int) -> int:
        return max(0, self.books[member].available - self.books[member].arrears)

    def refusal(self, member: int, amount: int) -> tuple | None:
        """``("limit", name, allowed)``, ``("funds", None, allowed)`` or None (accepted)."""
        s, counted = self.setup, [d for d in self.draws if d.status not in RETURNED]
        mine, channel = sum(d.amount for d in counted if d.member == member), sum(d.amount for d in counted)
        if amount < s.minimum:
            return ("limit", "minimum", 0)
        caps = (("per_transaction", s.per_transaction, 0), ("daily", s.daily, mine))
        for name, cap, used in (*caps, ("channel_daily", s.channel_daily, channel)):
            if cap is not None and used + amount > cap:
                return ("limit", name, max(0, cap - used))
        if s.fee(amount) >= amount:
            return ("limit", "fee", 0)
        return ("funds", None, self.free(member)) if amount > self.free(member) else None

    def request(self, withdrawal_id: int, member: int, amount: int) -> None:
        above = self.setup.second_approval_above
        needed = 2 if above is not None and amount > above else 1
        self.draws.append(Draw(withdrawal_id, member, amount, self.setup.fee(amount), needed))
        self.books[member].available -= amount
        self.books[member].withdrawing += amount

    def approve(self, d: Draw, actor: str) -> str | None:
        if d.status != "verified":
            return "ReviewRefused"
        if actor == "requester" or actor in d.approvals:
            return "FourEyes"
        d.approvals.append(actor)
        d.status = "approved" if len(d.approvals) >= d.needed else d.status
        return None

    def reject(self, d: Draw, reason: str) -> str | None:
        if not reason.strip():
            return "InvalidSetting"
        if d.status not in HELD:
            return "ReviewRefused"
        d.status = "rejected"
        book = self.books[d.member]
        book.withdrawing -= d.amount
        book.available += d.amount - self._repay(book, d.amount, "a rejection")
        return None

    def advance(self, d: Draw, script: list[str], provider_up: bool, now: datetime) -> bool:
        """``flow.advance``; returns whether the worker crashed in it."""
        if d.status == "requested" and not self.verified[d.member]:
            self.verified[d.member] = provider_up
        if d.status == "requested" and self.verified[d.member]:
            d.status, auto = "verified", self.setup.auto_approve_up_to
            if auto is not None and d.amount <= auto and d.needed == 1:
                d.approvals.append(AUTO)
                d.status = "approved"
        if d.status == "approved" and self.setup.tax_policy != "off" and self.in_flight(d):
            self.happened.add("waited for the person's payout in flight")
        elif d.status == "approved":
            self._start(d)
        if d.status == "paying" and d.payout.status == "sending" and d.payout.attempts == 0:
            return self._send(d, script, now)
        return False

    def in_flight(self, d: Draw) -> bool:
        """Another payout of the person is sent and unanswered (so ``d`` waits when taxed)."""
        people = self.setup.people
        return any(e.status == "paying" and people[e.member] == people[d.member] for e in self.draws)

    def tax_due(self, d: Draw) -> int:
        """The person's month so far: every payout paid (none is paying: see ``in_flight``)."""
        if self.setup.tax_policy == "off":
            return 0
        people = self.setup.people
        month = [
            e for e in self.draws if people[e.member] == people[d.member] and e.status in ("paying", "paid")
        ]
        income, withheld = sum(e.amount - e.fee for e in month), sum(e.tax for e in month)
        return max(0, labour_remuneration_tax(income + d.amount - d.fee) - withheld)

    def _start(self, d: Draw) -> None:
        d.tax, d.status = self.tax_due(d), "paying"
        d.payout = PayoutModel(d.net)
        self.books[d.member].withdrawing -= d.amount
        self.shop["payout_clearing"] += d.net
        self.shop["tax_withheld"] += d.tax
        self.shop["withdrawal_fees"] += d.fee

    def _send(self, d: Draw, script: list[str], now: datetime) -> bool:
        payout = d.payout
        payout.answer = answer = script.pop(0) if script else OK
        payout.attempts, payout.next_check, payout.received = 1, now + FIRST_CHECK, answer != LOST
        payout.truth = base.SUCCEEDED if answer in PAID_ANSWERS else base.FAILED
        if answer in (OK, REFUSED):
            self._finish(d, answer == OK)
        elif answer != CRASH_PAID:
            payout.status = "pending"
        return answer == CRASH_PAID

    def check(self, d: Draw, busy: bool, now: datetime) -> None:
        payout = d.payout
        if payout.status in SETTLED or not payout.attempts:
            return
        payout.attempts += 1
        payout.next_check = now + min(FIRST_CHECK * 2 ** (payout.attempts - 1), LONGEST_WAIT)
        if busy:
            payout.status = "pending"
        else:
            self._finish(d, payout.truth == base.SUCCEEDED)

    def callback(self, d: Draw) -> None:
        if d.payout.status not in SETTLED:
            self._finish(d, d.payout.truth == base.SUCCEEDED)

    def _finish(self, d: Draw, succeeded: bool) -> None:
        book, d.payout.status = self.books[d.member], "succeeded" if succeeded else "failed"
        self.shop["payout_clearing"] -= d.net
        if succeeded:
            d.status, book.paid = "paid", book.paid + d.net
            return
        d.status = "failed"
        self.shop["tax_withheld"] -= d.tax
        self.shop["withdrawal_fees"] -= d.fee
        book.available += d.amount - self._repay(book, d.amount, "a failed payout")

    def sweep(self, script: list[str], provider_up: bool, busy: bool, now: datetime) -> bool:
        """``flow.sweep``: the waiting withdrawals in id order (not an approved one whose person has
        a payout in flight), then the payouts due a check."""
        waiting = sorted(
            (
                d
                for d in self.draws
                if d.status == "requested" or (d.status == "approved" and not self.in_flight(d))
            ),
            key=lambda d: d.id,
        )
        sent = [d for d in self.draws if d.payout and d.payout.status not in SETTLED and d.payout.attempts]
        due = [d for d in sent if d.payout.next_check <= now]
        for d in waiting:
            if self.advance(d, script, provider_up, now):
                return True
        for d in due:
            self.check(d, busy, now)
        return False
