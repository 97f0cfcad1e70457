"""The monthly tax report (finance, admin): each person paid in a month with their income, the
tax withheld and the net, masked on the page; the CSV for the filing (个税扣缴申报) carries names
and ID numbers in full, so each download is audited (``tax.report_downloaded``, the month).

Decisions:
- The whole tab is finance and admin only (``Permission.SETTLEMENT``), the page included: even
  masked, it lists people's incomes.
- The download is a POST (CSRF): it writes the audit event, and a link elsewhere cannot make a
  user's browser fetch the file. The event and the file are made in one transaction, so a
  download is never served without its event. The file is never cached.
- The month defaults to the current month of the shop's calendar, the months the withdrawals'
  ``tax_month`` is kept in.
"""

from __future__ import annotations

from datetime import date

from flask import make_response, render_template, request
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, MonthField
from wtforms.validators import DataRequired, Optional, Regexp

from admin import security
from admin.area import Area, Tab, blueprint
from plugin import runtime
from plugin.audit import trail
from plugin.db import utcnow
from plugin.reports.month import current_month, shift_month
from plugin.shops.models import Shop
from plugin.tax import report
from plugin.users.roles import Permission
from plugin.withdrawals.keyring import keyring

bp = blueprint("tax", "/tax", Permission.SETTLEMENT)
area = Area(bp, "tax", Tab("admin_tax.index", _l("Monthly tax report"), Permission.SETTLEMENT))
BAD_MONTH = _l("Enter a month as YYYY-MM.")


class MonthForm(FlaskForm):
    """The month to show (a GET form: no CSRF token)."""

    class Meta:
        csrf = False

    month = MonthField(_l("Month"), validators=[Optional()], invalid_value_message=BAD_MONTH)


class DownloadForm(FlaskForm):
    month = HiddenField(validators=[DataRequired(BAD_MONTH), Regexp(report.MONTH.pattern, message=BAD_MONTH)])


@bp.route("/")
def index():
    shop = security.current_shop()
    form = MonthForm(formdata=request.args)
    if not form.validate():
        return render_template("tax/index.html", form=form, rows=None, month=None), 400
    picked: date | None = form.month.data
    month = picked.strftime("%Y-%m") if picked else current_month(shop, utcnow())
    form.month.data = date(int(month[:4]), int(month[5:7]), 1)
    with runtime.for_request().database.read() as session:
        rows = report.month_rows(session, session.get(Shop, shop.id), month)
    totals = {
        "income": sum(r.income for r in rows),
        "tax": sum(r.tax for r in rows),
        "net": sum(r.net for r in rows),
        "payouts": sum(r.payouts for r in rows),
    }
    return render_template(
        "tax/index.html",
        form=form,
        rows=rows,
        month=month,
        totals=totals,
        shop=shop,
        previous=shift_month(month, -1),
        following=shift_month(month, 1),
        download_form=DownloadForm(formdata=None, month=month),
    )


@bp.route("/download", methods=["POST"])
def download():
    """The month's CSV with names and ID numbers in full; audited with the month."""
    shop = security.current_shop()
    form = DownloadForm()
    if not form.validate():
        picker = MonthForm(formdata=None)
        picker.month.errors = [BAD_MONTH]
        return render_template("tax/index.html", form=picker, rows=None, month=None), 400
    month = form.month.data
    rt = runtime.for_request()
    with rt.database.transaction() as session:
        data = report.month_csv(session, session.get(Shop, shop.id), month, keyring(rt.config))
        trail.record(
            session, shop.id, "tax.report_downloaded", "shop", shop.id, actor=security.actor(), month=month
        )
    response = make_response(data)
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    response.headers["Content-Disposition"] = f'attachment; filename="tax-{shop.id}-{month}.csv"'
    response.headers["Cache-Control"] = "no-store"
    return response
