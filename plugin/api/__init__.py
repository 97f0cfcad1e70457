"""The JSON API under ``/api/v1`` (flask-smorest), documented at ``/api/v1/openapi.json``."""

from __future__ import annotations

from flask import abort, jsonify, make_response, request

PREFIX = "/api/v1/"


def require_json_body():
    """A write call whose body is not a JSON object is a 400 naming the body (``before_request``).

    Without it a form or a typo reaches the schema as an empty object and reads as "every
    field missing", which sends the caller looking in the wrong place.
    """
    if not request.path.startswith(PREFIX) or request.method not in ("POST", "PUT", "PATCH"):
        return
    if not isinstance(request.get_json(silent=True), dict):
        error = {"code": "bad_request", "message": "the body must be a JSON object", "field": "body"}
        abort(make_response(jsonify({"error": error}), 400))
