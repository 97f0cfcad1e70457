"""The Shopify install: ``GET /install/shopify/<shop_id>`` sends the merchant to Shopify to approve
the app, ``GET /install/shopify/<shop_id>/callback`` is where Shopify sends them back.

The first is opened by the operator (the workbench's Install button, ``fenxiao shop connect``)
or by Shopify itself; when Shopify signs it (``hmac``, ``shop``), the signature and the shop are
checked first. The callback answers JSON: ``{"status": "connected", ...}``, or a 4xx error when
the redirect is refused, or 502 when Shopify failed (see ``plugin.platforms.install``).
"""

from __future__ import annotations

from flask import jsonify, redirect, request, url_for

from plugin.config import secret_key
from plugin.platforms import install
from plugin.platforms.vault import Vault
from plugin.runtime import for_request
from plugin.shops import tenants

from .views import blueprint

ACTOR = "shopify-install"


@blueprint.get("/install/shopify/<id:shop_id>")
def install_shopify(shop_id: int):
    query = request.args.to_dict(flat=False)
    callback = url_for("webhooks.install_shopify_callback", shop_id=shop_id, _external=True)
    with for_request().database.transaction() as session:
        shop = tenants.get_shop(session, shop_id)
        if "hmac" in query:
            install.verify_request(session, shop, query)
        url = install.start(session, shop, redirect_uri=callback, actor=ACTOR)
    return redirect(url, 302)


@blueprint.get("/install/shopify/<id:shop_id>/callback")
def install_shopify_callback(shop_id: int):
    rt = for_request()
    installed = install.finish(
        rt.database,
        shop_id,
        request.args.to_dict(flat=False),
        vault=Vault(secret_key(rt.config)),
        webhook_address=url_for("webhooks.receive", platform="shopify", shop_id=shop_id, _external=True),
        actor=ACTOR,
    )
    return jsonify(installed.to_dict()), 200
