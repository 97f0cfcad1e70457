"""The floor for ``webhook_ack.py``: a bare Flask endpoint under the same server stack as
``fenxiao serve`` (waitress, same thread count). It reads the body and answers 200 with the same
acknowledgement, and does nothing else — no signature check, no database, no queue.

    python bench/bare_app.py --port 8001 --threads 8
"""

from __future__ import annotations

import argparse
import ipaddress

from flask import Flask, jsonify, request


def create_bare_app() -> Flask:
    app = Flask(__name__)

    @app.post("/webhooks/<platform>/<int:shop_id>")
    def receive(platform: str, shop_id: int):
        request.get_data()
        return jsonify({"ok": True}), 200

    @app.get("/healthz")
    def healthz():
        return jsonify({"status": "ok"}), 200

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1", help="a loopback address")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--threads", type=int, default=8, help="waitress threads (as fenxiao serve: 8)")
    args = parser.parse_args()
    if not ipaddress.ip_address(args.host).is_loopback:
        parser.error("the benchmark only listens on loopback addresses")
    from waitress import serve

    serve(create_bare_app(), host=args.host, port=args.port, threads=args.threads)


if __name__ == "__main__":
    main()
