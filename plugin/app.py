"""The application factory: wires the database, the job queue, the webhook intake, the JSON API
and the admin together. The only module (with the CLI) that imports webhooks/ and admin/."""

from __future__ import annotations

import logging

from flask import Flask, jsonify
from flask_smorest import Api
from sqlalchemy import text
from werkzeug.exceptions import HTTPException

import webhooks

from . import jobs, runtime
from .api import members as members_api
from .api import orders as orders_api
from .api import rules as rules_api
from .api.auth import SECURITY_SCHEME
from .config import Config
from .errors import FenxiaoError

log = logging.getLogger(__name__)


def create_app(config: Config | None = None) -> Flask:
    """Build the web application.

    Args:
        config: settings; read from the environment when omitted.
    """
    config = config or Config.from_env()
    rt = runtime.configure(config)
    app = Flask(__name__)
    app.config.update(
        TESTING=config.testing,
        MAX_CONTENT_LENGTH=config.max_body_bytes,
        API_TITLE="fenxiao",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api/v1",
        OPENAPI_JSON_PATH="openapi.json",
    )
    app.extensions["fenxiao"] = rt
    app.register_blueprint(webhooks.blueprint)
    api = Api(app, spec_kwargs={"components": {"securitySchemes": {"ApiKey": SECURITY_SCHEME}}})
    api.register_blueprint(members_api.blueprint)
    api.register_blueprint(orders_api.blueprint)
    api.register_blueprint(rules_api.blueprint)
    _register_errors(app)
    app.add_url_rule("/healthz", "healthz", _healthz)
    if config.jobs == "thread" and not config.testing:
        for func, _queue, seconds in jobs.SWEEPS:
            rt.queue.every(min(seconds, config.sweep_seconds), func)
    return app


def _healthz():
    rt = runtime.current()
    try:
        with rt.database.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        database_ok = True
    except Exception:  # noqa: BLE001 - reported, not raised
        database_ok = False
    checks = {
        "database": database_ok,
        "jobs": rt.queue.kind,
        "redis": rt.queue.ping() if rt.queue.kind == "rq" else None,
    }
    healthy = database_ok and checks["redis"] is not False
    return jsonify({"status": "ok" if healthy else "degraded", **checks}), 200 if healthy else 503


def _register_errors(app: Flask) -> None:
    @app.errorhandler(FenxiaoError)
    def domain_error(err: FenxiaoError):
        return jsonify({"error": err.to_dict()}), err.status

    @app.errorhandler(HTTPException)
    def http_error(err: HTTPException):
        body = {"code": (err.name or "error").lower().replace(" ", "_"), "message": err.description}
        messages = getattr(err, "data", {}).get("messages") if hasattr(err, "data") else None
        if messages:
            body["fields"] = messages
        return jsonify({"error": body}), err.code

    @app.errorhandler(Exception)
    def unexpected(err: Exception):
        log.exception("unhandled error")
        return jsonify(
            {"error": {"code": "internal_error", "message": "unexpected error; it was logged"}}
        ), 500
