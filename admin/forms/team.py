"""The Team Structure tab's form: pick a distributor, and which page of which level to show."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import IntegerField, StringField
from wtforms.validators import Length, NumberRange, Optional

from plugin.members.team import DEPTH

MAX_ID = 2**63 - 1


class TeamForm(FlaskForm):
    """A GET form (no CSRF: reading changes nothing): ``q`` searches, ``member`` shows a team,
    ``level``/``page`` page one level of it."""

    class Meta:
        csrf = False

    q = StringField(
        _l("Distributor (name, invite code or member id)"), validators=[Optional(), Length(max=100)]
    )
    member = IntegerField(
        _l("Member id"),
        validators=[Optional(), NumberRange(min=1, max=MAX_ID)],
        render_kw={"inputmode": "numeric"},
    )
    level = IntegerField(_l("Level below"), validators=[Optional(), NumberRange(min=1, max=DEPTH)])
    page = IntegerField(_l("Page"), validators=[Optional(), NumberRange(min=1, max=1_000_000)])

    def pages(self) -> dict[int, int]:
        """``{level: page}`` of the level being paged (the others show their first page)."""
        if self.level.data and self.page.data:
            return {self.level.data: self.page.data}
        return {}
