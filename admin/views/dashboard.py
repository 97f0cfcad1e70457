"""The dashboard: the workbench's landing page. A month's figures against last month's, its days,
its tiers and its top 10 distributors (``plugin.reports.month``), with three server-side SVG
charts (pygal) that each carry a title and an equivalent data table, so the page reads without
JavaScript and with a screen reader.

Every role may see it. ``?month=YYYY-MM`` picks a month (a GET form); a month that is not one,
before 2000 or after the shop's current month is a 400 page with the error on the field.
"""

from __future__ import annotations

import functools
import re
from decimal import Decimal

import pygal
from babel.dates import format_skeleton
from flask import render_template, request
from flask_babel import format_date, format_datetime, format_percent, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from markupsafe import Markup
from pygal.style import Style
from wtforms import StringField
from wtforms.validators import ValidationError

from admin import security
from admin.area import Area, Tab, blueprint
from admin.i18n import money
from plugin import runtime
from plugin.db import utcnow
from plugin.reports import month as months
from plugin.users.roles import Permission

bp = blueprint("dashboard", "")
area = Area(bp, "dashboard", Tab("admin_dashboard.index", _l("Dashboard"), Permission.READ))

MONTH = re.compile(r"\d{4}-\d{2}")
FIRST_MONTH = "2000-01"
CHART_STYLE = Style(
    background="transparent",
    plot_background="transparent",
    foreground="#1d2330",
    foreground_strong="#1d2330",
    foreground_subtle="#d9dee7",
    colors=("#c8102e", "#1f4fbf", "#1a7f37", "#8a5300", "#5b6475"),
    font_family='system-ui, "PingFang SC", "Microsoft YaHei", "Noto Sans CJK SC", sans-serif',
    label_font_size=12,
    major_label_font_size=12,
    legend_font_size=13,
    title_font_size=15,
    tooltip_font_size=13,
)


class MonthForm(FlaskForm):
    """The month picker (a GET form: no CSRF token; the month lives in the URL)."""

    class Meta:
        csrf = False

    month = StringField(_l("Month"))

    def __init__(self, *args, latest: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.latest = latest

    def validate_month(self, field):
        value = (field.data or "").strip()
        if not value:
            return
        if not MONTH.fullmatch(value) or not 1 <= int(value[5:]) <= 12:
            raise ValidationError(_l("Enter a month as YYYY-MM, for example 2026-11."))
        if value < FIRST_MONTH:
            raise ValidationError(_l("Pick a month from 2000-01 on."))
        if value > self.latest:
            raise ValidationError(_l("Pick this month or an earlier one: later months have no figures yet."))
        field.data = value


@bp.route("/")
def index():
    shop = security.current_shop()
    now = utcnow()
    latest = months.current_month(shop, now)
    form = MonthForm(request.args, latest=latest)
    if not form.validate():
        return render_template("dashboard/index.html", form=form, board=None), 400
    chosen = form.month.data or latest
    form.month.data = chosen
    with runtime.for_request().database.read() as session:
        board = months.month_dashboard(session, shop, chosen, now)
    return render_template(
        "dashboard/index.html",
        form=form,
        board=board,
        month_name=month_name(chosen),
        previous_month=board.previous_month if board.previous_month >= FIRST_MONTH else None,
        previous_name=month_name(board.previous_month),
        next_month=months.shift_month(chosen, 1) if chosen < latest else None,
        as_of=format_datetime(board.as_of, "short") if board.as_of else None,
        charts=charts(board),
        day_label=lambda day: format_date(day, "medium"),
        tier_name=tier_name,
        share=share,
    )


def month_name(month: str) -> str:
    """``2026-11`` as the locale writes a month: "November 2026", "2026年11月"."""
    return format_skeleton("yMMMM", months.month_start(month), locale=get_locale() or "en")


def _config(**options) -> dict:
    """What every chart shares: no external script (pygal's tooltips load one), sized to scale."""
    return {
        "style": CHART_STYLE,
        "js": [],
        "width": 760,
        "height": 340,
        "disable_xml_declaration": True,
    } | options


SCRIPT = re.compile(r"<script[^>]*>.*?</script>", re.S)


def _svg(chart) -> Markup:
    """The chart's SVG without pygal's inline config script (its tooltips need an external one,
    which the page never loads)."""
    return Markup(SCRIPT.sub("", chart.render(is_unicode=True)))  # noqa: S704 - pygal escapes its labels


def charts(board: months.MonthDashboard) -> dict[str, Markup]:
    """The three charts as inline SVG: by day, by tier, top 10. Values stay integers in minor
    units; only their labels are formatted as money.

    Drawing is most of the page's time, so each chart is kept (per process, ``CHARTS`` of them)
    under everything it shows: a month whose figures have not changed is drawn once.
    """
    key = (str(get_locale()), board.currency)
    name = month_name(board.month)
    return {
        "by_day": _by_day(
            *key,
            _("Distribution GMV and commission by day, %(month)s", month=name),
            (_("Distribution GMV"), _("Commission (right axis)")),
            tuple((str(day.day.day), day.gmv, day.commission) for day in board.days),
        ),
        "by_tier": _by_tier(
            *key,
            _("Commission by tier, %(month)s", month=name),
            tuple((tier_name(tier), amount) for tier, amount in board.commission_by_tier.items()),
        ),
        "top": _top(
            *key,
            _("Top 10 distributors by distribution GMV, %(month)s", month=name),
            _("Distribution GMV"),
            tuple((t.name, t.sales) for t in board.top),
        ),
    }


CHARTS = 256


def _formatter(currency: str):
    @functools.lru_cache(maxsize=1024)
    def as_money(value) -> str:
        return money(int(value or 0), currency)

    return as_money


@functools.lru_cache(maxsize=CHARTS)
def _by_day(locale: str, currency: str, title: str, names: tuple[str, str], days: tuple) -> Markup:
    chart = pygal.Line(
        **_config(
            title=title,
            value_formatter=_formatter(currency),
            show_dots=len(days) <= 31,
            x_label_rotation=0,
            legend_at_bottom=True,
            truncate_legend=-1,
        )
    )
    chart.x_labels = [label for label, _, _ in days]
    chart.add(names[0], [gmv for _, gmv, _ in days])
    chart.add(names[1], [commission for _, _, commission in days], secondary=True)
    return _svg(chart)


@functools.lru_cache(maxsize=CHARTS)
def _by_tier(locale: str, currency: str, title: str, tiers: tuple) -> Markup:
    chart = pygal.Pie(
        **_config(
            title=title,
            value_formatter=_formatter(currency),
            inner_radius=0.45,
            legend_at_bottom=True,
            height=300,
        )
    )
    for name, amount in tiers:
        chart.add(name, amount)
    return _svg(chart)


@functools.lru_cache(maxsize=CHARTS)
def _top(locale: str, currency: str, title: str, series_name: str, top: tuple) -> Markup:
    chart = pygal.HorizontalBar(
        **_config(
            title=title,
            value_formatter=_formatter(currency),
            show_legend=False,
            height=60 + 30 * max(len(top), 3),
        )
    )
    chart.x_labels = [name for name, _ in reversed(top)]  # the largest on top
    chart.add(series_name, [sales for _, sales in reversed(top)])
    return _svg(chart)


def tier_name(tier: int) -> str:
    return _("Tier %(n)s", n=tier)


def share(part: int, whole: int) -> str:
    """``part`` as a percentage of ``whole`` ("62.5%"), "—" when there is no whole."""
    return format_percent(Decimal(part) / Decimal(whole), "#,##0.0%") if whole else "—"
