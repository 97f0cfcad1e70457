"""Order Settlement: the shop's paid orders, one order with its commissions explained, and
running the settlement sweep for this shop now (finance, admin)."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from admin import security
from admin.area import Area, Tab, blueprint
from admin.forms.orders import STATUS_LABELS, OrderFilterForm, SettleForm
from plugin import runtime
from plugin.audit import trail
from plugin.commissions import settlement
from plugin.commissions.models import CommissionStatus
from plugin.db import utcnow
from plugin.orders import queries
from plugin.users.roles import Permission

bp = blueprint("orders", "/orders")
area = Area(bp, "orders", Tab("admin_orders.index", _l("Order Settlement"), Permission.READ))

COMMISSION_LABELS = {
    CommissionStatus.PENDING: _l("pending settlement"),
    CommissionStatus.HELD: _l("held for review"),
    CommissionStatus.AVAILABLE: _l("available"),
    CommissionStatus.WITHDRAWN: _l("withdrawn"),
    CommissionStatus.CANCELLED: _l("cancelled"),
    CommissionStatus.CLAWED_BACK: _l("clawed back"),
}
# the badge colours admin.css has: settled money green, reversed red, waiting amber
COMMISSION_BADGES = {
    CommissionStatus.PENDING: "pending",
    CommissionStatus.HELD: "review",
    CommissionStatus.AVAILABLE: "settled",
    CommissionStatus.WITHDRAWN: "paid",
    CommissionStatus.CANCELLED: "cancelled",
    CommissionStatus.CLAWED_BACK: "reversed",
}
ORDER_BADGES = {"paid": "pending", "completed": "settled", "refunded": "reversed"}
PAGE_SIZE = queries.PAGE_SIZE


@bp.route("/")
def index():
    """The list: filters in the query string, keyset pages (``after``/``before`` a row)."""
    shop = security.current_shop()
    form = OrderFilterForm(formdata=request.args)
    page, status = None, 200
    if form.validate():
        try:
            with runtime.for_request().database.read() as session:
                page = queries.list_orders(
                    session,
                    shop,
                    _filters(form),
                    after=_cursor(form.after.data, "after"),
                    before=_cursor(form.before.data, "before"),
                    limit=PAGE_SIZE,
                )
        except queries.InvalidFilter as err:
            _attach(form, err)
            page, status = None, 400
    else:
        status = 400
    can_settle = current_user.can(Permission.SETTLEMENT)
    due = settlement.count_due(runtime.for_request().database, utcnow(), shop_id=shop.id) if can_settle else 0
    return render_template(
        "orders/index.html",
        form=form,
        page=page,
        shop=shop,
        args=_kept_filters(form) if page is not None else {},
        can_settle=can_settle,
        settle_form=SettleForm() if can_settle else None,
        due=due,
        status_labels=STATUS_LABELS,
        badges=ORDER_BADGES,
    ), status


@bp.route("/<int:order_id>")
def detail(order_id: int):
    shop = security.current_shop()
    with runtime.for_request().database.read() as session:
        found = queries.order_detail(session, shop.id, order_id)
    return render_template(
        "orders/detail.html",
        found=found,
        order=found.order,
        shop=shop,
        status_labels=STATUS_LABELS,
        badges=ORDER_BADGES,
        commission_labels=COMMISSION_LABELS,
        commission_badges=COMMISSION_BADGES,
    )


@bp.route("/settle", methods=["POST"])
@security.requires(Permission.SETTLEMENT)
def settle():
    """Settle this shop's due commissions now, then audit the run (who, how many).

    The sweep settles each commission in its own short transaction (as the timed sweep does),
    so the run's audit event is written once the run is over, with the count it settled.
    """
    shop = security.current_shop()
    database = runtime.for_request().database
    settled = settlement.settle_due(database, utcnow(), shop_id=shop.id)
    with database.transaction() as session:
        trail.record(
            session, shop.id, "settlement.run", "shop", shop.id, actor=security.actor(), count=settled
        )
    flash(_("Settlement ran. Commissions settled: %(n)s.", n=settled), "success")
    return redirect(url_for("admin_orders.index"))


def _filters(form: OrderFilterForm) -> queries.OrderFilter:
    return queries.OrderFilter(
        status=form.status.data or None,
        paid_from=form.paid_from.data,
        paid_to=form.paid_to.data,
        distributor=(form.distributor.data or "").strip() or None,
        has_commission=form.has_commission_value(),
    )


def _cursor(token: str | None, name: str) -> queries.Cursor | None:
    return queries.Cursor.parse(token, name) if token else None


def _kept_filters(form: OrderFilterForm) -> dict:
    """The filters as query arguments, for the pager's links (cursors left out)."""
    return {
        name: request.args[name]
        for name in ("status", "paid_from", "paid_to", "distributor", "has_commission")
        if request.args.get(name)
    }


def _attach(form: OrderFilterForm, err: queries.InvalidFilter) -> None:
    """A domain error on the field it names (the cursor fields show on the form's top)."""
    messages = {
        "distributor": _l("No member id or invite code of this shop matches."),
        "paid_to": _l("The last day comes before the first."),
        "status": _l("Not a status the list can show."),
    }
    target = getattr(form, err.field or "", None) or form.distributor
    if err.field in ("after", "before"):
        form.form_errors.append(_l("That page of the list does not exist; start again from the first page."))
        return
    target.errors = [*target.errors, messages.get(err.field, err.message)]
