"""Members, distributors, bindings, balances and ledger entries of one shop."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from plugin.api import schemas
from plugin.api.auth import SECURITY, shop_session
from plugin.errors import NotFound
from plugin.ledger import journal
from plugin.members import bindings, directory

blueprint = Blueprint(
    "members",
    __name__,
    url_prefix="/api/v1/shops/<id:shop_id>",
    description="Members, distributors, bindings, balances and ledger",
)


@blueprint.route("/members")
class Members(MethodView):
    @blueprint.arguments(schemas.MemberIn)
    @blueprint.response(201, schemas.MemberOut)
    @blueprint.doc(security=SECURITY)
    def post(self, data, shop_id):
        """Find or create the member behind a platform identity."""
        with shop_session(shop_id) as (session, _shop):
            member = directory.member_for_identity(session, shop_id, data["platform"], data["external_id"])
            return {"member_id": member.id}


@blueprint.route("/distributors")
class Distributors(MethodView):
    @blueprint.arguments(schemas.DistributorIn)
    @blueprint.response(201, schemas.DistributorOut)
    @blueprint.doc(security=SECURITY)
    def post(self, data, shop_id):
        """Approve a member as a distributor and give them an invite code (no fee, ever)."""
        with shop_session(shop_id) as (session, _shop):
            return directory.make_distributor(
                session,
                shop_id,
                data["member_id"],
                level=data["level"],
                invite_code=data["invite_code"],
                region=data["region"],
                actor="api",
            )


@blueprint.route("/distributors/<id:member_id>", methods=["PATCH"])
@blueprint.arguments(schemas.DistributorPatch)
@blueprint.response(200, schemas.DistributorOut)
@blueprint.doc(security=SECURITY)
def update_distributor(data, shop_id, member_id):
    """Change a distributor's level or region (region null clears it); audited."""
    with shop_session(shop_id) as (session, _shop):
        return directory.update_distributor(
            session,
            shop_id,
            member_id,
            level=data.get("level"),
            region=data.get("region", directory.UNCHANGED),
            actor="api",
        )


@blueprint.route("/bindings")
class Bindings(MethodView):
    @blueprint.arguments(schemas.BindingIn)
    @blueprint.response(201, schemas.BindingOut)
    @blueprint.doc(security=SECURITY)
    def post(self, data, shop_id):
        """Bind a member under the owner of an invite code (first binding wins)."""
        with shop_session(shop_id) as (session, _shop):
            return bindings.bind(
                session, shop_id, data["member_id"], data["invite_code"], source=data["source"], actor="api"
            )


@blueprint.route("/members/<id:member_id>/binding")
@blueprint.response(200, schemas.BindingOut)
@blueprint.doc(security=SECURITY)
def get_binding(shop_id, member_id):
    """Who invited this member, and their precomputed ancestors."""
    with shop_session(shop_id) as (session, _shop):
        directory.get_member(session, shop_id, member_id)
        binding = bindings.binding_of(session, member_id)
        if binding is None:
            raise NotFound(f"member {member_id} is not bound", "member_id")
        return binding


@blueprint.route("/members/<id:member_id>/balances")
@blueprint.response(200, schemas.BalancesOut)
@blueprint.doc(security=SECURITY)
def get_balances(shop_id, member_id):
    """Balances per account, in minor units, derived from the ledger entries."""
    with shop_session(shop_id) as (session, shop):
        directory.get_member(session, shop_id, member_id)
        return {
            "member_id": member_id,
            "currency": shop.currency,
            "balances": journal.member_balances(session, shop_id, member_id, shop.currency),
        }


@blueprint.route("/members/<id:member_id>/ledger")
@blueprint.arguments(schemas.LedgerQuery, location="query")
@blueprint.response(200, schemas.LedgerEntryOut(many=True))
@blueprint.doc(security=SECURITY)
def get_ledger(query, shop_id, member_id):
    """The member's ledger entries, newest first (page with ``before_id``)."""
    with shop_session(shop_id) as (session, _shop):
        directory.get_member(session, shop_id, member_id)
        return journal.entries_of(
            session, shop_id, member_id, limit=query["limit"], before_id=query["before_id"]
        )
