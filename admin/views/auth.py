"""Log in (throttled per account and per address), log out, pick a language, switch shop."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, PasswordField, SelectField
from wtforms.validators import DataRequired, Length

from admin import security
from admin.area import Area, blueprint
from admin.extensions import limiter
from admin.i18n import LANGUAGES
from plugin import runtime
from plugin.audit import trail
from plugin.shops import tenants
from plugin.users import accounts

bp = blueprint("auth", "", static_folder="static", static_url_path="/static")
area = Area(bp, "workbench")

# Failed attempts only (a successful login redirects): a person who mistypes twice is not locked out.
PER_ACCOUNT = "5 per 5 minutes"
PER_ADDRESS = "20 per 5 minutes"


class LoginForm(FlaskForm):
    email = EmailField(_l("E-mail"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])
    next = HiddenField()


class LanguageForm(FlaskForm):
    locale = SelectField(_l("Language"), choices=[("en", "English"), ("zh_CN", "简体中文")])
    next = HiddenField()


class ShopForm(FlaskForm):
    shop_id = SelectField(_l("Shop"), coerce=int)


def _account_key() -> str:
    return "login:" + accounts.normalize_email(request.form.get("email", ""))


def _failed(response) -> bool:
    return response.status_code != 302


def _safe_next(target: str | None) -> str:
    """Only a path of this site: never an open redirect to another host."""
    if target and target.startswith("/") and not target.startswith("//") and not urlsplit(target).netloc:
        return target
    return url_for("admin_dashboard.index")


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(PER_ADDRESS, methods=["POST"], deduct_when=_failed)
@limiter.limit(PER_ACCOUNT, methods=["POST"], key_func=_account_key, deduct_when=_failed)
@security.public
def login():
    form = LoginForm(next=request.args.get("next", ""))
    error = None
    if form.validate_on_submit():
        with runtime.for_request().database.transaction() as session:
            user = accounts.authenticate(session, form.email.data, form.password.data)
            if user is not None and user.shop_id is not None:
                trail.record(session, user.shop_id, "user.login", "user", user.id, actor=user.email)
        if user is not None:
            security.sign_in(user)
            return redirect(_safe_next(form.next.data))
        error = _l("Wrong e-mail or password.")
    status = 200 if request.method != "POST" else 401 if error else 400
    return render_template("auth/login.html", form=form, error=error), status


@bp.route("/logout", methods=["POST"])
@security.public
def logout():
    security.sign_out()
    return redirect(url_for("admin_auth.login"))


@bp.route("/language", methods=["POST"])
@security.public
def language():
    """Remember the choice on the user (logged in) or in the session (the login page)."""
    form = LanguageForm()
    if form.validate_on_submit():
        if current_user.is_authenticated:
            with runtime.for_request().database.transaction() as session:
                accounts.set_locale(session, current_user.id, form.locale.data)
        security.remember_language(form.locale.data)
    return redirect(_safe_next(form.next.data))


@bp.route("/shops", methods=["GET", "POST"])
def shops():
    """A platform superuser picks the shop to work in (recorded in that shop's audit log)."""
    if not current_user.is_superuser:
        return redirect(url_for("admin_dashboard.index"))
    with runtime.for_request().database.read() as session:
        choices = [(s.id, f"#{s.id} {s.name}") for s in tenants.list_shops(session)]
    form = ShopForm()
    form.shop_id.choices = choices
    if form.validate_on_submit():
        security.switch_shop(form.shop_id.data)
        with runtime.for_request().database.transaction() as session:
            trail.record(
                session,
                form.shop_id.data,
                "user.entered_shop",
                "user",
                current_user.id,
                actor=current_user.email,
            )
        return redirect(url_for("admin_dashboard.index"))
    return render_template("auth/shops.html", form=form, languages=LANGUAGES)
