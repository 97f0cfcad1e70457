"""The shop's category tree, which gives the ``category_tree`` rule variable each line's parents."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from plugin.api import schemas
from plugin.api.auth import SECURITY, shop_session
from plugin.shops import categories

blueprint = Blueprint(
    "categories",
    __name__,
    url_prefix="/api/v1/shops/<id:shop_id>/categories",
    description="The category tree rules read parent categories from",
)


@blueprint.route("")
class CategoryTree(MethodView):
    @blueprint.response(200, schemas.CategoryTreeOut)
    @blueprint.doc(security=SECURITY)
    def get(self, shop_id):
        """The tree as category -> parent (roots map to null)."""
        with shop_session(shop_id) as (session, _shop):
            parents = categories.parents_of(session, shop_id)
            return {"parents": parents, "categories": len(parents)}

    @blueprint.arguments(schemas.CategoryTree)
    @blueprint.response(200, schemas.CategoryTreeOut)
    @blueprint.doc(security=SECURITY)
    def put(self, data, shop_id):
        """Replace the whole tree (audited); a cycle or a tree deeper than 16 levels is a 422."""
        with shop_session(shop_id) as (session, _shop):
            count = categories.replace_tree(session, shop_id, data["parents"], actor="api")
            return {"parents": categories.parents_of(session, shop_id), "categories": count}
