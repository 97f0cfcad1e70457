"""The workbench in Simplified Chinese and English (Flask-Babel), money and numbers per locale.

The language is the user's setting, else the browser's ``Accept-Language``, else English.
Dates are shown in the current shop's time zone. Each area of the workbench keeps its own
catalog (a gettext *domain*: ``admin/translations/<locale>/LC_MESSAGES/<area>.po``), so the
areas' strings never collide; ``tests/admin/test_translations.py`` checks that every string
of every area is translated and that each compiled ``.mo`` matches its ``.po``.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from babel.numbers import format_currency, format_decimal
from flask import request, session
from flask_babel import Babel, get_locale
from flask_login import current_user

from adapters.money import Money
from admin.security import LOCALE_KEY, current_shop, current_shop_id

TRANSLATIONS = Path(__file__).parent / "translations"
LANGUAGES = {"en": "English", "zh_Hans_CN": "简体中文"}
# The user setting's values (plugin.users.accounts.LOCALES) as Babel names them.
SETTING_TO_LOCALE = {"en": "en", "zh_CN": "zh_Hans_CN"}
# A currency's own sign reads better than Babel's disambiguated one in English (CN¥).
HOME_SIGNS = {"CNY": "¥"}

babel = Babel()


def init_babel(app, names: list[str]) -> None:
    """Flask-Babel reading one catalog (gettext domain) per area, all merged."""
    app.config.update(
        BABEL_TRANSLATION_DIRECTORIES=";".join([str(TRANSLATIONS)] * len(names)),
        BABEL_DOMAIN=";".join(names),
    )
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)
    app.jinja_env.filters.update(money=money, number=number, change=change, masked=mask_phone)
    app.jinja_env.add_extension("jinja2.ext.i18n")


def select_locale() -> str:
    if current_user and current_user.is_authenticated and current_user.locale:
        return SETTING_TO_LOCALE.get(current_user.locale, "en")
    if session.get(LOCALE_KEY) in SETTING_TO_LOCALE:
        return SETTING_TO_LOCALE[session[LOCALE_KEY]]
    best = request.accept_languages.best_match(["en", "zh", "zh-CN", "zh-Hans", "zh-Hans-CN"])
    return "zh_Hans_CN" if best and best.startswith("zh") else "en"


def select_timezone() -> str | None:
    if current_shop_id() is None:
        return None
    return current_shop().timezone


def money(minor: int | None, currency: str) -> str:
    """``¥1,234.56`` (minor units of ``currency``, formatted for the request's locale)."""
    amount = Money(int(minor or 0), currency).to_decimal()
    text = format_currency(amount, currency, locale=get_locale() or "en")
    sign = HOME_SIGNS.get(currency)
    if sign:
        text = text.replace("CN¥", sign).replace("CNY", sign)
    return text


def number(value) -> str:
    return format_decimal(value or 0, locale=get_locale() or "en")


def change(current: int, previous: int) -> dict:
    """The change against the previous figure: ``{"arrow": "▲"|"▼"|"", "percent": "12.5 %"|None}``.

    ``percent`` is None when the previous figure is 0 (no base to compare with).
    """
    if not previous:
        return {"arrow": "▲" if current else "", "percent": None, "direction": "up" if current else "flat"}
    ratio = (Decimal(current) - Decimal(previous)) / Decimal(abs(previous)) * 100
    percent = format_decimal(
        abs(ratio).quantize(Decimal("0.1")), format="#,##0.0", locale=get_locale() or "en"
    )
    if ratio > 0:
        return {"arrow": "▲", "percent": f"{percent} %", "direction": "up"}
    if ratio < 0:
        return {"arrow": "▼", "percent": f"{percent} %", "direction": "down"}
    return {"arrow": "", "percent": "0.0 %", "direction": "flat"}


def mask_phone(text: str | None) -> str:
    """Hide the middle of anything that looks like a phone number: ``138****5678``."""
    if not text:
        return ""
    digits = [c for c in text if c.isdigit()]
    if len(digits) >= 7 and len(digits) >= len(text.replace("+", "").replace(" ", "").replace("-", "")) - 1:
        clean = "".join(digits)
        return clean[:3] + "*" * (len(clean) - 7) + clean[-4:]
    return text
