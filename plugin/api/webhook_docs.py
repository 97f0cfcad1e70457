"""The generic webhook in the OpenAPI document: its two bodies as the components ``GenericOrder``
and ``GenericRefund`` and its one path, ``POST /webhooks/generic/{shop_id}``.

The intake is a plain Flask route (``webhooks/``), not a flask-smorest view, so the path is
added to the spec by hand; the schemas are the adapter's (``adapters.generic``), so the document
cannot drift from what the adapter publishes. The manual is ``docs/generic-webhook.md``.
"""

from __future__ import annotations

from flask_smorest import Api
from werkzeug.routing import Map, Rule

from adapters import generic
from plugin.api.converters import CONVERTERS

ROUTE = "/webhooks/generic/<id:shop_id>"
TAG = "webhooks"
_ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string", "example": "bad_payload"},
                "message": {"type": "string"},
                "field": {
                    "type": "string",
                    "description": "The header or body field at fault (lines.0.paid_amount).",
                },
            },
        }
    },
}


def _header(name: str, description: str, schema: dict) -> dict:
    return {"in": "header", "name": name, "required": True, "description": description, "schema": schema}


def _reply(description: str, schema: dict = _ERROR) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def operation(api: Api) -> dict:
    """The OpenAPI operation object of the intake (the schemas referenced by ``$ref``)."""
    order, refund = (
        api.spec.components.get_ref("schema", name) for name in ("GenericOrder", "GenericRefund")
    )
    return {
        "tags": [TAG],
        "operationId": "receiveGenericWebhook",
        "summary": "Receive an order snapshot or a refund from a shop on an in-house stack",
        "description": (
            "Signed with the shop's webhook secret: X-Fenxiao-Signature is `sha256=` + hex "
            'HMAC-SHA256 of `timestamp + "." + raw body`. A timestamp more than '
            f"{generic.TOLERANCE_SECONDS} s old or ahead is refused. A repeated X-Fenxiao-Event-Id "
            "is acknowledged and not processed again. Topic `ping` is acknowledged and stored "
            "nowhere (its body, any JSON object, is not read); unknown topics are acknowledged and "
            "recorded as ignored. See docs/generic-webhook.md."
        ),
        "security": [],  # the signature, not an API key, authenticates the sender
        "parameters": [
            _header(
                generic.EVENT_ID_HEADER,
                "Unique per event and the same on every retry of it: the dedupe key.",
                {"type": "string", "minLength": 1, "maxLength": 128},
            ),
            _header(
                generic.TOPIC_HEADER,
                "Why the body was sent. order.* topics carry a GenericOrder, refund.created a GenericRefund.",
                {"type": "string", "enum": list(generic.TOPIC_KINDS)},
            ),
            _header(
                generic.TIMESTAMP_HEADER,
                "When this attempt was signed, in unix seconds.",
                {"type": "string", "pattern": "^[0-9]{1,12}$", "example": "1794326702"},
            ),
            _header(
                generic.SIGNATURE_HEADER,
                "sha256= followed by the hex HMAC-SHA256 of timestamp + '.' + raw body.",
                {"type": "string", "pattern": "^sha256=[0-9a-fA-F]{64}$"},
            ),
        ],
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"oneOf": [order, refund]}}},
        },
        "responses": {
            "200": _reply(
                "Accepted (or a duplicate, a ping, or an ignored topic).",
                {"type": "object", "required": ["ok"], "properties": {"ok": {"type": "boolean"}}},
            ),
            "400": _reply("The body is empty or not a JSON object."),
            "401": _reply("The signature is missing, wrong, or its timestamp is out of tolerance."),
            "404": _reply("No such shop, or the shop is not on the generic platform."),
            "413": _reply("The body is larger than the server accepts."),
            "422": _reply("A header or body field is missing or invalid; `field` names it."),
        },
    }


def document(api: Api, url_prefix: str = "") -> None:
    """Add the generic webhook's schemas and path (under ``url_prefix``, where a host app mounts
    fenxiao) to ``api``'s OpenAPI document (call once)."""
    api.spec.components.schema("GenericOrder", generic.ORDER_JSON_SCHEMA)
    api.spec.components.schema("GenericRefund", generic.REFUND_JSON_SCHEMA)
    api.spec.tag({"name": TAG, "description": "Deliveries from the shops' platforms"})
    rule = Rule(url_prefix + ROUTE, defaults={})  # flask-smorest reads ``defaults`` as a dict
    Map([rule], converters=CONVERTERS)  # binds the rule: shop_id is documented like the API's ids
    shop_id = {"in": "path", "name": "shop_id", "description": "The shop's id in fenxiao."}
    api.spec.path(rule=rule, operations={"post": operation(api)}, parameters=[shop_id])
