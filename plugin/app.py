"""The application factory: wires the database, the job queue, the webhook intake, the JSON API
and the admin together. The only module (with the CLI) that imports webhooks/ and admin/."""

from __future__ import annotations

import logging
import time

from flask import Flask, g, jsonify, request
from flask_smorest import Api
from sqlalchemy import text
from werkzeug.exceptions import HTTPException

import webhooks
from admin.workbench import init_app as init_workbench
from plugin import runtime
from plugin.api import categories as categories_api
from plugin.api import members as members_api
from plugin.api import orders as orders_api
from plugin.api import require_json_body
from plugin.api import rules as rules_api
from plugin.api.auth import SECURITY_SCHEMES
from plugin.api.converters import CONVERTERS, IdConverter
from plugin.config import Config, secret_key
from plugin.errors import FenxiaoError
from plugin.jobs import tasks

log = logging.getLogger(__name__)


def create_app(config: Config | None = None) -> Flask:
    """Build the web application.

    Args:
        config: settings; read from the environment when omitted.
    """
    config = config or Config.from_env()
    rt = runtime.build(config)
    app = Flask(__name__)
    app.config.update(
        TESTING=config.testing,
        MAX_CONTENT_LENGTH=config.max_body_bytes,
        API_TITLE="fenxiao",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api/v1",
        OPENAPI_JSON_PATH="openapi.json",
        SECRET_KEY=secret_key(config),
    )
    app.extensions[runtime.EXTENSION] = rt
    app.url_map.converters.update(CONVERTERS)
    app.register_blueprint(webhooks.blueprint)
    api = Api(app, spec_kwargs={"components": {"securitySchemes": SECURITY_SCHEMES}})
    api.register_converter(
        IdConverter, lambda c: {"type": "integer", "format": "int64", "minimum": 1, "maximum": c.max}
    )
    api.register_blueprint(members_api.blueprint)
    api.register_blueprint(orders_api.blueprint)
    api.register_blueprint(rules_api.blueprint)
    api.register_blueprint(categories_api.blueprint)
    init_workbench(app, limiter_storage=config.redis_url or "memory://")
    _register_errors(app)
    _log_requests(app)
    app.before_request(require_json_body)
    app.add_url_rule("/healthz", "healthz", _healthz)
    if config.jobs == "thread" and not config.testing:
        for func, _queue, seconds in tasks.SWEEPS:
            rt.queue.every(min(seconds, config.sweep_seconds), func)
    return app


def _healthz():
    rt = runtime.for_request()
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


def _log_requests(app: Flask) -> None:
    """One line per request: method, path, status and milliseconds (logger ``fenxiao.http``)."""
    http_log = logging.getLogger("fenxiao.http")

    @app.before_request
    def start_clock():
        g.fenxiao_started = time.perf_counter()

    @app.after_request
    def log_request(response):
        started = g.get("fenxiao_started")
        elapsed = (time.perf_counter() - started) * 1000 if started is not None else 0.0
        http_log.info("%s %s %s %.1f ms", request.method, request.path, response.status_code, elapsed)
        return response


def _register_errors(app: Flask) -> None:
    @app.errorhandler(FenxiaoError)
    def domain_error(err: FenxiaoError):
        return jsonify({"error": err.to_dict()}), err.status

    @app.errorhandler(HTTPException)
    def http_error(err: HTTPException):
        messages = getattr(err, "data", {}).get("messages") if hasattr(err, "data") else None
        if messages:
            return jsonify({"error": validation_error(messages)}), err.code
        body = {"code": (err.name or "error").lower().replace(" ", "_"), "message": err.description}
        return jsonify({"error": body}), err.code

    @app.errorhandler(Exception)
    def unexpected(err: Exception):
        log.exception("unhandled error")
        return jsonify(
            {"error": {"code": "internal_error", "message": "unexpected error; it was logged"}}
        ), 500


def validation_error(messages: dict) -> dict:
    """The README's error shape for a request that failed its schema.

    ``field`` and ``message`` name the first problem; ``fields`` maps every dotted field path
    (``json.member_id``, ``query.before_id``) to its messages.
    """
    fields: dict[str, list[str]] = {}

    def walk(node, path):
        if isinstance(node, dict):
            for key, value in node.items():
                walk(value, [*path, str(key)])
        elif isinstance(node, list) and node and all(isinstance(item, str) for item in node):
            fields[".".join(path)] = list(node)
        elif isinstance(node, list):
            for item in node:
                walk(item, path)
        else:
            fields[".".join(path)] = [str(node)]

    walk(messages, [])
    first, first_messages = next(iter(fields.items()), ("_request", ["invalid request"]))
    return {
        "code": "invalid_request",
        "message": f"{first}: {first_messages[0]}",
        "field": first,
        "fields": fields,
    }
