"""Commission rule sets: validate drafts, publish versions, list them, roll back."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from plugin.api import schemas
from plugin.api.auth import SECURITY, authenticate, shop_session
from plugin.commissions.simulation import simulate_draft
from plugin.db import MAX_INT
from plugin.runtime import for_request
from plugin.shops import rulesets

blueprint = Blueprint(
    "rules", __name__, url_prefix="/api/v1/shops/<id:shop_id>/rules", description="Commission rule sets"
)


def _out(row, shop) -> dict:
    return {
        "version": row.version,
        "published_by": row.published_by,
        "published_at": row.published_at,
        "note": row.note,
        "active": row.version == shop.active_rule_version,
        "document": row.document,
    }


@blueprint.route("")
class RuleSets(MethodView):
    @blueprint.response(200, schemas.RuleSetVersionOut(many=True))
    @blueprint.doc(security=SECURITY)
    def get(self, shop_id):
        """Every published version, oldest first, with the active one marked."""
        with shop_session(shop_id) as (session, shop):
            return [_out(row, shop) for row in rulesets.versions(session, shop_id)]

    @blueprint.arguments(schemas.RuleSetPublishIn)
    @blueprint.response(201, schemas.RuleSetVersionFullOut)
    @blueprint.doc(security=SECURITY)
    def post(self, data, shop_id):
        """Publish a draft as the next version and make it active (audited)."""
        with shop_session(shop_id) as (session, shop):
            row = rulesets.publish(session, shop_id, data["document"], actor=data["actor"], note=data["note"])
            return _out(row, shop)


@blueprint.route("/validate", methods=["POST"])
@blueprint.arguments(schemas.RuleSetDraftIn)
@blueprint.response(200, schemas.ValidationOut)
@blueprint.doc(security=SECURITY)
def validate_draft(data, shop_id):
    """Check a draft against every guard without publishing it (422 names the rule and field)."""
    with shop_session(shop_id) as (_session, shop):
        rulesets.check_draft(shop, data["document"])
        return {"valid": True}


@blueprint.route("/rollback", methods=["POST"])
@blueprint.arguments(schemas.RuleSetRollbackIn)
@blueprint.response(201, schemas.RuleSetVersionFullOut)
@blueprint.doc(security=SECURITY)
def rollback(data, shop_id):
    """Publish an earlier version's document again, as a new version."""
    with shop_session(shop_id) as (session, shop):
        row = rulesets.rollback(session, shop_id, data["version"], actor=data["actor"], note=data["note"])
        return _out(row, shop)


@blueprint.route(f"/<id(max={MAX_INT}):version>")
@blueprint.response(200, schemas.RuleSetVersionFullOut)
@blueprint.doc(security=SECURITY)
def get_version(shop_id, version):
    """One version with its document."""
    with shop_session(shop_id) as (session, shop):
        return _out(rulesets.version(session, shop_id, version), shop)


@blueprint.route("/simulate", methods=["POST"])
@blueprint.arguments(schemas.SimulateIn)
@blueprint.response(200, schemas.SimulationOut)
@blueprint.doc(security=SECURITY)
def simulate(data, shop_id):
    """Re-price the shop's orders paid in [from, to) under a draft; totals per tier, level, category."""
    authenticate(shop_id)
    report = simulate_draft(for_request().database, shop_id, data["document"], data["start"], data["end"])
    return report.to_dict()
