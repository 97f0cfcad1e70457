"""Drafts: start one (from the active version, an earlier one or a template), then validate,
simulate or publish it.

There is no draft table: the draft travels in the form (the ``document`` textarea), so Validate,
Simulate and Publish are submit buttons of one form and nothing is stored before Publish. A
draft lost by closing the page was never published; operators who want to keep one copy its
JSON. Simulation replays the shop's real orders paid in the chosen days (shop time, both days
included, at most a year) inside the request; it writes nothing.
"""

from __future__ import annotations

import json
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

import admin.security as security
from admin.forms import rules as forms
from admin.i18n import change
from admin.views.rules.blueprint import bp
from admin.views.rules.wording import MODES, editor_vocabulary, rule_rows
from plugin import runtime
from plugin.commissions.simulation import simulate_draft
from plugin.db import MAX_INT
from plugin.shops import rulesets
from plugin.shops.rulesets import InvalidRuleSet
from plugin.users.roles import Permission

ACTIONS = ("validate", "simulate", "publish")
GROUPS = {"tier": _l("Per tier"), "level": _l("Per distributor level"), "category": _l("Per category")}
DEFAULT_DAYS = 30


@bp.route("/draft")
@security.requires(Permission.RULES)
def start():
    """A new draft from ``?version=N`` (default: the active version) or ``?template=NAME``."""
    shop = security.current_shop()
    if "template" in request.args:
        name = request.args["template"]
        document, origin = rulesets.template(name), _("template %(name)s", name=name)
    else:
        raw = request.args.get("version", str(shop.active_rule_version))
        if not raw.isdigit() or not 1 <= int(raw) <= MAX_INT:
            abort(404)
        with runtime.for_request().database.read() as session:
            document = rulesets.version(session, shop.id, int(raw)).document
        origin = _("version %(n)s", n=int(raw))
    today = datetime.now(ZoneInfo(shop.timezone)).date()
    form = forms.DraftForm(
        formdata=None,
        document=json.dumps(document, ensure_ascii=False, indent=2),
        start=today - timedelta(days=DEFAULT_DAYS - 1),
        end=today,
    )
    return _editor(shop, form, document, origin=origin)


@bp.route("/draft", methods=["POST"])
@security.requires(Permission.RULES)
def submit():
    """Validate, simulate or publish the draft the form carries (400 with each error on its field)."""
    shop = security.current_shop()
    action = request.form.get("action")
    if action not in ACTIONS:
        abort(400)
    form = forms.DraftForm()
    valid = form.validate()
    document, problem = form.parsed, None
    if form.document.errors:
        document = None
    elif document is not None:
        error = rulesets.draft_error(shop, document)
        if error is not None:
            problem = forms.locate(error, document)
            if problem.rule is None:
                form.document.errors.append(problem.message)
            valid = False
    if action == "simulate":
        valid = _check_period(form) and valid
    if action == "publish" and not (form.note.data or "").strip():
        form.note.errors.append(_("Say why these rules are published: the audit log keeps the reason."))
        valid = False
    if not valid:
        return _editor(shop, form, document, problem=problem, status=400)
    if action == "validate":
        return _editor(shop, form, document, valid=True)
    if action == "simulate":
        zone = ZoneInfo(shop.timezone)
        start = datetime.combine(form.start.data, time.min, tzinfo=zone)
        end = datetime.combine(form.end.data + timedelta(days=1), time.min, tzinfo=zone)
        report = simulate_draft(runtime.for_request().database, shop.id, document, start, end)
        return _editor(shop, form, document, valid=True, report=_report(report))
    try:
        with runtime.for_request().database.transaction() as session:
            number = rulesets.publish(
                session, shop.id, document, actor=security.actor(), note=form.note.data.strip()
            ).version
    except InvalidRuleSet as err:  # the shop's depth or ceiling changed since the check above
        form.document.errors.append(err.message)
        return _editor(shop, form, document, status=400)
    flash(_("Version %(n)s is published and active.", n=number), "success")
    return redirect(url_for("admin_rules.show", number=number))


def _check_period(form) -> bool:
    ok = True
    for field in (form.start, form.end):
        if field.data is None and not field.errors:
            field.errors.append(_("Pick a date."))
    if form.start.errors or form.end.errors:
        return False
    if form.start.data > form.end.data:
        form.end.errors.append(_("The last day must not be before the first."))
        ok = False
    elif (form.end.data - form.start.data).days >= forms.MAX_SIMULATION_DAYS:
        form.end.errors.append(_("Simulate at most %(n)s days at a time.", n=forms.MAX_SIMULATION_DAYS))
        ok = False
    return ok


def _report(report) -> dict:
    """The simulation as tables: every group's rows with actual, simulated, Δ and the change in %."""

    def row(key, totals) -> dict:
        return {
            "key": _("(none)") if key in (None, "") else str(key),
            "lines": totals.lines,
            "changed": totals.changed,
            "actual": totals.actual,
            "simulated": totals.simulated,
            "difference": totals.difference,
            "change": change(totals.simulated, totals.actual),
        }

    groups = [
        {
            "name": name,
            "label": str(GROUPS.get(name, name)),
            "rows": [
                row(key, totals)
                for key, totals in sorted(rows.items(), key=lambda i: (str(type(i[0])), str(i[0])))
            ],
        }
        for name, rows in report.groups.items()
    ]
    return {"total": row(_("All lines"), report.total), "groups": groups, "fingerprint": report.fingerprint}


def _editor(shop, form, document, *, origin=None, problem=None, valid=False, report=None, status=200):
    vocabulary = editor_vocabulary(forms.vocabulary())
    return (
        render_template(
            "rules/draft.html",
            form=form,
            blocks=forms.blocks(document, problem),
            document=document if isinstance(document, dict) else {},
            problem=problem,
            origin=origin,
            valid=valid,
            report=report,
            vocabulary=vocabulary,
            variables={v["name"]: v for v in vocabulary["variables"]},
            actions={a["name"]: a for a in vocabulary["actions"]},
            templates=rulesets.templates(),
            currency=shop.currency,
            modes=MODES,
            blank_rule=forms.blank_block(),
            rules_words=rule_rows(document, shop.currency) if valid else [],
        ),
        status,
    )
