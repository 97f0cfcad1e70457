"""The intake endpoint. It does the least that makes a delivery safe: verify the signature over
the raw bytes, validate the payload (so bad input gets a 4xx and no row), store it once with one
``INSERT … ON CONFLICT DO NOTHING`` and its ``COMMIT``, then wake the workers (one Redis
``SET NX`` when a drain is already queued). Everything else happens in a job.

The shop and its secrets come from the process's ``CredentialCache``, so nothing that an
unauthenticated caller can send touches the database before the signature is checked, and a
verified delivery costs the database that one short write.
"""

from __future__ import annotations

import functools

from flask import Blueprint, jsonify, request

from adapters import base
from adapters.errors import AdapterError, PayloadError, SignatureError, UnknownPlatform
from adapters.registry import get_adapter
from plugin.errors import FenxiaoError, NotFound
from plugin.inbox import mailbox
from plugin.jobs import tasks
from plugin.orders import lifecycle
from plugin.runtime import for_request
from plugin.shops.credentials import verified

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
    try:
        if rt.credentials.get(shop_id).platform != platform:
            raise NotFound(f"shop {shop_id} does not take {platform} webhooks", "platform")
        shop = verified(rt.credentials, shop_id, functools.partial(adapter.verify, headers, body))
        delivery = adapter.describe(headers, body)
        if delivery.kind == base.KIND_HEARTBEAT:
            return jsonify(adapter.acknowledgement()), 200
        ignore_reason = None
        if adapter.normalize_at_intake:
            ignore_reason = lifecycle.ignore_reason(shop, adapter.normalize(delivery, body))
        with rt.database.transaction() as session:
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
        tasks.wake_workers(rt)
    return jsonify(adapter.acknowledgement()), 200
