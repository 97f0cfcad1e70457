"""The intake endpoint. It does the least that makes a delivery safe: verify the signature over
the raw bytes, validate the payload (so bad input gets a 4xx and no row), store it once, and
enqueue its processing after the commit. Everything else happens in a job.

Nothing that an unauthenticated caller can send takes a write lock: the shop and its secrets are
read in a read-only transaction and the signature is checked before the one short write.
"""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from adapters import base
from adapters.errors import AdapterError, PayloadError, SignatureError, UnknownPlatform
from adapters.registry import get_adapter
from plugin.errors import FenxiaoError, NotFound
from plugin.inbox import mailbox
from plugin.jobs import tasks
from plugin.orders import lifecycle
from plugin.runtime import for_request
from plugin.shops import tenants

blueprint = Blueprint("webhooks", __name__)


def _error(err: AdapterError | FenxiaoError, status: int):
    return jsonify({"error": err.to_dict()}), status


@blueprint.post("/webhooks/<platform>/<id:shop_id>")
def receive(platform: str, shop_id: int):
    try:
        adapter = get_adapter(platform)
    except UnknownPlatform as err:
        return _error(err, 404)
    body = request.get_data(cache=True)  # over MAX_CONTENT_LENGTH: 413, as JSON, by the app
    if not body:
        return _error(PayloadError("empty body", "body"), 400)
    headers = dict(request.headers)
    rt = for_request()
    database = rt.database
    try:
        with database.read() as session:
            shop = tenants.get_shop(session, shop_id)
            if shop.platform != platform:
                raise NotFound(f"shop {shop_id} does not take {platform} webhooks", "platform")
            secrets = tenants.active_secrets(session, shop_id)
        adapter.verify(headers, body, secrets)
        delivery = adapter.describe(headers, body)
        if delivery.kind == base.KIND_HEARTBEAT:
            return jsonify(adapter.acknowledgement()), 200
        ignore_reason = None
        if adapter.normalize_at_intake:
            ignore_reason = lifecycle.ignore_reason(shop, adapter.normalize(delivery, body))
        with database.transaction() as session:
            event_id = mailbox.store(
                session, shop_id, platform, delivery, headers, body, ignore_reason=ignore_reason
            )
    except SignatureError as err:
        return _error(err, 401)
    except PayloadError as err:
        return _error(err, 400 if err.field == "body" else 422)
    except FenxiaoError as err:
        return _error(err, err.status)
    if event_id is not None and delivery.kind != base.KIND_IGNORED and ignore_reason is None:
        tasks.enqueue_inbox_event(rt, event_id)
    return jsonify(adapter.acknowledgement()), 200
