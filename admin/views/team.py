"""Team Structure: pick a distributor, see their downline to depth 3, each level paged."""

from __future__ import annotations

from flask import render_template, request
from flask_babel import lazy_gettext as _l

from admin import security
from admin.area import Area, Tab, blueprint
from admin.forms.team import TeamForm
from plugin import runtime
from plugin.db import utcnow
from plugin.members import team
from plugin.users.roles import Permission

bp = blueprint("team", "/team")
area = Area(bp, "team", Tab("admin_team.index", _l("Team Structure"), Permission.READ))

PER_PAGE = 20  # members per level and page
STATUS_LABELS = {
    "applied": _l("applied"),
    "approved": _l("approved"),
    "rejected": _l("rejected"),
    "suspended": _l("suspended"),
}


@bp.route("/")
def index():
    """``?q=`` searches distributors; ``?member=ID`` shows that distributor's team, and
    ``&level=N&page=P`` pages level N (the other levels show their first page)."""
    shop = security.current_shop()
    form = TeamForm(formdata=request.args)
    if not form.validate():
        return _render(form, shop), 400
    found, tree = [], None
    with runtime.for_request().database.read() as session:
        if form.q.data:
            found = team.find_distributors(session, shop.id, form.q.data)
        # one match needs no second click: show that distributor's team at once
        root = form.member.data or (found[0].member_id if len(found) == 1 else None)
        if root:
            tree = team.team_of(session, shop, root, utcnow(), pages=form.pages(), per_page=PER_PAGE)
    return _render(form, shop, found=found, tree=tree)


def _render(form: TeamForm, shop, *, found=(), tree=None):
    return render_template(
        "team/index.html",
        form=form,
        shop=shop,
        found=found,
        tree=tree,
        open_level=form.level.data if not form.errors else None,
        status_labels=STATUS_LABELS,
    )
