"""Payout gateways' result callbacks: ``POST /webhooks/payouts/<channel>/<shop_id>``, the
``notify_url`` a shop gives WeChat Pay and Alipay.

The gateway checks the callback's signature and reads the outcome; the domain applies it once
(a repeated callback changes nothing). The answer is what each gateway waits for, else it calls
again: WeChat Pay a 200 with ``{"code": "SUCCESS"}``, Alipay the plain text ``success``. A bad
signature is a 401 and an unknown payout a 404, both as JSON: the gateway keeps retrying them,
and its query answers the truth anyway.
"""

from __future__ import annotations

from flask import jsonify, request

from adapters.errors import AdapterError, SignatureError
from plugin.errors import FenxiaoError, NotFound
from plugin.runtime import for_request
from plugin.shops.models import Shop
from plugin.withdrawals import connectors, paying
from plugin.withdrawals.keyring import keyring

from .views import _error, blueprint

ANSWERS = {
    "wechat": lambda: (jsonify({"code": "SUCCESS", "message": "OK"}), 200),
    "alipay": lambda: ("success", 200),
}


@blueprint.post("/webhooks/payouts/<channel>/<id:shop_id>")
def payout_callback(channel: str, shop_id: int):
    if channel not in ANSWERS:
        return _error(NotFound(f"no payout callbacks for {channel!r}", "channel"), 404)
    rt = for_request()
    try:
        with rt.database.read() as session:
            shop = session.get(Shop, shop_id)
            if shop is None:
                raise NotFound(f"no shop {shop_id}", "shop_id")
            gateway = connectors.Connectors(keyring(rt.config)).gateway(session, shop, channel)
        outcome = gateway.parse_notification(dict(request.headers), request.get_data())
        paying.apply(rt.database, outcome, source="callback", shop_id=shop_id)
    except SignatureError as err:
        return _error(err, 401)
    except FenxiaoError as err:
        return _error(err, err.status)
    except AdapterError as err:
        return _error(err, 404 if err.field == "out_no" else 422)
    return ANSWERS[channel]()
