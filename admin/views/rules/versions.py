"""Published versions: the list, one version's rules in words, roll back, and the diff of two."""

from __future__ import annotations

import json

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

import admin.security as security
from admin.forms.rules import RollbackForm
from admin.views.rules.blueprint import bp
from admin.views.rules.wording import MODES, action_text, conditions_text, rule_rows
from plugin import runtime
from plugin.db import MAX_INT
from plugin.shops import rulesets
from plugin.users.roles import Permission
from rules.describe import describe_actions, describe_conditions, diff_documents

VERSION = f"<int(min=1, max={MAX_INT}):number>"


def _version(number: int) -> dict:
    """One version of the current shop as plain values (404 if the shop has no such version)."""
    shop = security.current_shop()
    with runtime.for_request().database.read() as session:
        row = rulesets.version(session, shop.id, number)
        return _plain(row, shop)


def _plain(row, shop) -> dict:
    return {
        "version": row.version,
        "published_by": row.published_by,
        "published_at": row.published_at,
        "note": row.note,
        "fingerprint": row.fingerprint,
        "active": row.version == shop.active_rule_version,
        "document": row.document,
    }


@bp.route("/")
def index():
    """Every version, newest first (who, when, why, fingerprint, active), and the templates."""
    shop = security.current_shop()
    with runtime.for_request().database.read() as session:
        rows = [_plain(row, shop) for row in reversed(rulesets.versions(session, shop.id))]
    templates = {name: doc.get("description", "") for name, doc in rulesets.templates().items()}
    return render_template(
        "rules/index.html",
        versions=rows,
        templates=templates,
        can_edit=current_user.can(Permission.RULES),
        active=shop.active_rule_version,
    )


@bp.route(f"/versions/{VERSION}")
def show(number: int):
    """A version's rules as a readable table, its JSON, and (for operators) roll back to it."""
    shop = security.current_shop()
    found = _version(number)
    return _show(shop, found, RollbackForm(), 200)


def _show(shop, found: dict, form: RollbackForm, status: int):
    return (
        render_template(
            "rules/version.html",
            version=found,
            rows=rule_rows(found["document"], shop.currency),
            document_json=json.dumps(found["document"], ensure_ascii=False, indent=2),
            form=form,
            can_edit=current_user.can(Permission.RULES),
            active=shop.active_rule_version,
        ),
        status,
    )


@bp.route(f"/versions/{VERSION}/rollback", methods=["POST"])
@security.requires(Permission.RULES)
def rollback(number: int):
    """Publish this version's rules again as a new, active version (a reason is required; audited)."""
    shop = security.current_shop()
    found = _version(number)
    form = RollbackForm()
    if not form.validate():
        return _show(shop, found, form, 400)
    with runtime.for_request().database.transaction() as session:
        new = rulesets.rollback(
            session, shop.id, number, actor=security.actor(), note=form.reason.data.strip()
        ).version
    flash(_("Version %(new)s is active: the rules of version %(old)s again.", new=new, old=number), "success")
    return redirect(url_for("admin_rules.show", number=new))


@bp.route("/diff")
def diff():
    """Two versions compared rule by rule (added, removed, changed fields) and as a unified JSON diff."""
    shop = security.current_shop()
    old_number, new_number = _number_arg("old"), _number_arg("new")
    old, new = _version(old_number), _version(new_number)
    compared = diff_documents(old["document"], new["document"], f"v{old_number}", f"v{new_number}")
    currency = shop.currency
    changes = [
        {
            "id": change.id,
            "fields": [str(FIELDS[f]) for f in change.fields],
            "before": _summary(change.old, currency),
            "after": _summary(change.new, currency),
        }
        for change in compared.changed
    ]
    with runtime.for_request().database.read() as session:
        numbers = [row.version for row in rulesets.versions(session, shop.id)]
    return render_template(
        "rules/diff.html",
        old=old,
        new=new,
        diff=compared,
        changes=changes,
        added=[_summary(rule, currency) for rule in compared.added],
        removed=[_summary(rule, currency) for rule in compared.removed],
        numbers=numbers,
    )


def _number_arg(name: str) -> int:
    raw = request.args.get(name, "")
    if not raw.isdigit():
        abort(400)
    number = int(raw)
    if not 1 <= number <= MAX_INT:
        abort(404)
    return number


def _summary(rule: dict, currency: str) -> dict:
    """One rule in words, for the diff."""
    return {
        "id": rule.get("id"),
        "priority": rule.get("priority"),
        "mode": str(MODES.get(rule.get("mode"), rule.get("mode"))),
        "description": rule.get("description", ""),
        "conditions": conditions_text(describe_conditions(rule.get("conditions")), currency),
        "actions": [action_text(a, currency) for a in describe_actions(rule.get("actions"))],
    }


FIELDS = {
    "priority": _l("priority"),
    "mode": _l("mode"),
    "conditions": _l("conditions"),
    "actions": _l("actions"),
    "description": _l("description"),
    "position": _l("order among equal priorities"),
}
