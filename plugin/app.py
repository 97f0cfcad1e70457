"""The application factory and the wiring it shares with ``Fenxiao(app)``: the database, the job
queue, the webhook intake, the JSON API and the admin on one Flask app. The only modules (with
the CLI and the extension) that import webhooks/ and admin/."""

from __future__ import annotations

import contextlib
import logging
import time

from flask import Blueprint, Flask, abort, g, jsonify, make_response, request
from flask_smorest import Api
from sqlalchemy import text
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge, default_exceptions
from werkzeug.routing import RequestRedirect

import webhooks
from admin.workbench import init_app as init_workbench
from admin.workbench import refuse_conflicts as refuse_workbench_conflicts
from plugin import runtime
from plugin.api import categories as categories_api
from plugin.api import members as members_api
from plugin.api import orders as orders_api
from plugin.api import rules as rules_api
from plugin.api import webhook_docs
from plugin.api import withdrawals as withdrawals_api
from plugin.api.auth import SECURITY_SCHEMES
from plugin.api.converters import CONVERTERS, IdConverter
from plugin.config import Config, secret_key
from plugin.errors import FenxiaoError, InvalidConfig
from plugin.jobs import tasks

log = logging.getLogger(__name__)

API_BLUEPRINTS = (
    members_api.blueprint,
    orders_api.blueprint,
    rules_api.blueprint,
    categories_api.blueprint,
    withdrawals_api.blueprint,
)
# Inside a host the API's blueprints are fenxiao_members, fenxiao_orders… beside the host's own
# (nothing builds their URLs by name); the intake keeps "webhooks" (url_for("webhooks.receive")).
HOST_NAMES = "fenxiao_"


def create_app(config: Config | None = None) -> Flask:
    """Build the web application.

    Args:
        config: settings; read from the environment when omitted.
    """
    config = config or Config.from_env()
    app = Flask(__name__)
    app.config.update(TESTING=config.testing, MAX_CONTENT_LENGTH=config.max_body_bytes)
    wire(app, runtime.build(config))
    return app


def wire(
    app: Flask,
    rt: runtime.Runtime,
    *,
    url_prefix: str = "",
    embedded: bool = False,
    workbench: bool = True,
) -> None:
    """Mount fenxiao on ``app`` under ``url_prefix``: the webhook intake, the JSON API with its
    OpenAPI document, the workbench and ``/healthz``; keep ``rt`` on the app; start the sweeps.

    Everything is scoped to fenxiao's own routes, so the same wiring serves fenxiao's app and a
    host's: errors become fenxiao's JSON errors (the workbench's own pages stay HTML) only in
    fenxiao's blueprints, or, for a URL no route matches, under ``url_prefix`` (all of fenxiao's
    app when it is ""); the body limit and the JSON-body check apply to fenxiao's routes only.

    Args:
        app: fenxiao's own app, or a host's (``embedded``).
        rt: the runtime to keep on ``app`` (``app.extensions["fenxiao"]``).
        url_prefix: "" or a path such as "/fenxiao" (no trailing slash).
        embedded: ``app`` is a host's: the API's blueprints are named ``fenxiao_*`` and the
            workbench leaves the host's app-wide settings alone (``admin.workbench``).
        workbench: mount the workbench (``<prefix>/admin/``).

    Raises:
        InvalidConfig: fenxiao is already on ``app``, ``app`` has another ``id`` URL converter,
            or (``embedded``) the workbench cannot share what the host has
            (``admin.workbench.refuse_conflicts``); nothing is set up on ``app`` then.
    """
    if runtime.EXTENSION in app.extensions:
        raise InvalidConfig("fenxiao is already set up on this app")
    if app.url_map.converters.get("id", IdConverter) is not IdConverter:
        raise InvalidConfig("the app has a URL converter named 'id' of its own; fenxiao's ids use that name")
    if embedded and workbench:
        refuse_workbench_conflicts(app)
    rt.url_prefix = url_prefix
    app.extensions[runtime.EXTENSION] = rt
    if not app.config.get("SECRET_KEY"):  # a host's own key signs the workbench's cookies too
        app.config["SECRET_KEY"] = secret_key(rt.config)
    app.url_map.converters.update(CONVERTERS)
    names = HOST_NAMES if embedded else ""

    intake = webhooks.blueprint.name
    app.register_blueprint(webhooks.blueprint, url_prefix=url_prefix)
    health = Blueprint("fenxiao", __name__, url_prefix=url_prefix or None)
    health.add_url_rule("/healthz", "healthz", _healthz)
    app.register_blueprint(health)
    api_docs, api_scopes = _mount_api(app, url_prefix, names)
    admin_scopes = []
    if workbench:
        admin_scopes = init_workbench(
            app,
            limiter_storage=rt.config.redis_url or "memory://",
            url_prefix=url_prefix,
            embedded=embedded,
        )
    scopes = {intake, health.name, api_docs, *api_scopes, *admin_scopes}

    for name in scopes:
        _json_errors(app, name)
        app.before_request_funcs[name].insert(0, _limit_body)
    for name in api_scopes:
        app.before_request_funcs[name].append(_require_json_object)

    def is_fenxiao_request() -> bool:
        if request.blueprint is not None:
            return request.blueprint in scopes
        return request.path == url_prefix or request.path.startswith(url_prefix + "/")

    _log_requests(app, is_fenxiao_request)

    @app.before_request
    def unrouted_as_json():
        """A URL of fenxiao's that no route matches (404, 405) answers as fenxiao does."""
        err = request.routing_exception
        if err is not None and not isinstance(err, RequestRedirect) and is_fenxiao_request():
            return _http_error(err)
        return None

    signed, exempted_on = (intake, *api_scopes), []

    def exempt_from_csrf():
        """Webhooks and the API are signed, not cookie-authenticated: exempt them from an
        app-wide Flask-WTF check, whichever ``CSRFProtect`` the app has, set up before fenxiao
        (now) or after it (at the first request: its check runs after this hook)."""
        protector = app.extensions.get("csrf")
        if protector is not None and protector not in exempted_on:
            for name in signed:
                protector.exempt(app.blueprints[name])
            exempted_on.append(protector)

    exempt_from_csrf()
    app.before_request(exempt_from_csrf)

    if rt.config.jobs == "thread" and not rt.config.testing:
        for func, _queue, seconds in tasks.SWEEPS:
            rt.queue.every(min(seconds, rt.config.sweep_seconds), func)


class _ScopedApi(Api):
    """flask-smorest's ``Api`` without its app-wide ``HTTPException`` handler: fenxiao's errors
    are answered by the handlers ``wire`` scopes to its own blueprints."""

    def _register_error_handlers(self):
        pass


def _mount_api(app: Flask, url_prefix: str, names: str) -> tuple[str, list[str]]:
    """The JSON API under ``<url_prefix>/api/v1`` and its document at ``…/api/v1/openapi.json``,
    with its own settings (``FENXIAO_OPENAPI_*``) beside any API of the host's."""
    app.config.update(
        FENXIAO_OPENAPI_URL_PREFIX=f"{url_prefix}/api/v1", FENXIAO_OPENAPI_JSON_PATH="openapi.json"
    )
    api = _ScopedApi(
        app,
        config_prefix="FENXIAO",
        spec_kwargs={
            "title": "fenxiao",
            "version": "v1",
            "openapi_version": "3.0.3",
            "components": {"securitySchemes": SECURITY_SCHEMES},
        },
    )
    api.register_converter(
        IdConverter, lambda c: {"type": "integer", "format": "int64", "minimum": 1, "maximum": c.max}
    )
    webhook_docs.document(api, url_prefix)
    scopes = []
    for blueprint in API_BLUEPRINTS:
        name = names + blueprint.name
        api.register_blueprint(blueprint, url_prefix=url_prefix + blueprint.url_prefix, name=name)
        scopes.append(name)
    return api._make_doc_blueprint_name(), scopes


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


def _limit_body():
    """fenxiao's body limit on fenxiao's routes (a host's ``MAX_CONTENT_LENGTH`` is its own)."""
    limit = runtime.for_request().config.max_body_bytes
    if request.content_length is not None and request.content_length > limit:
        raise RequestEntityTooLarge()
    with contextlib.suppress(AttributeError):  # settable from Flask 3.1: a body without a length
        request.max_content_length = limit


def _require_json_object():
    """A write call whose body is not a JSON object is a 400 naming the body.

    Without it a form or a typo reaches the schema as an empty object and reads as "every
    field missing", which sends the caller looking in the wrong place.
    """
    if request.method in ("POST", "PUT", "PATCH") and not isinstance(request.get_json(silent=True), dict):
        error = {"code": "bad_request", "message": "the body must be a JSON object", "field": "body"}
        abort(make_response(jsonify({"error": error}), 400))


def _log_requests(app: Flask, is_fenxiao_request) -> None:
    """One line per request of fenxiao's: method, path, status and milliseconds (``fenxiao.http``)."""
    http_log = logging.getLogger("fenxiao.http")

    @app.before_request
    def start_clock():
        if is_fenxiao_request():
            g.fenxiao_started = time.perf_counter()

    @app.after_request
    def log_request(response):
        started = g.pop("fenxiao_started", None)
        if started is not None:
            elapsed = (time.perf_counter() - started) * 1000
            http_log.info("%s %s %s %.1f ms", request.method, request.path, response.status_code, elapsed)
        return response


def _json_errors(app: Flask, scope: str) -> None:
    """fenxiao's JSON errors for the blueprint ``scope``, keeping the handlers it has (the
    workbench's HTML pages). Registered per status code too: a host's ``errorhandler(404)``
    would otherwise be chosen before a class handler, even for fenxiao's own routes."""
    # Flask keeps handlers per blueprint name; a blueprint object is shared by every app that
    # registers it, so the handlers are added to this app's table for that name only.
    handlers = app.error_handler_spec[scope]
    for code, exception in default_exceptions.items():
        handlers[code].setdefault(exception, _http_error)
    handlers[None].setdefault(FenxiaoError, _domain_error)
    handlers[None].setdefault(HTTPException, _http_error)
    handlers[None].setdefault(Exception, _unexpected)


def _domain_error(err: FenxiaoError):
    return jsonify({"error": err.to_dict()}), err.status


def _http_error(err: HTTPException):
    messages = getattr(err, "data", {}).get("messages") if hasattr(err, "data") else None
    if messages:
        return jsonify({"error": validation_error(messages)}), err.code
    body = {"code": (err.name or "error").lower().replace(" ", "_"), "message": err.description}
    return jsonify({"error": body}), err.code


def _unexpected(err: Exception):
    log.exception("unhandled error")
    return jsonify({"error": {"code": "internal_error", "message": "unexpected error; it was logged"}}), 500


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
