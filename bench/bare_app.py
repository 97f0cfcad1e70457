"""The floor for ``webhook_ack.py``: a bare Flask endpoint under the same server as
``fenxiao serve`` (gunicorn, gthread workers, the same options). It reads the body and answers 200
with the same acknowledgement, and does nothing else — no signature check, no database, no queue.

    python bench/bare_app.py --port 8001 --workers 2 --threads 8
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
    parser.add_argument("--workers", type=int, default=2, help="gunicorn processes (as fenxiao serve)")
    parser.add_argument("--threads", type=int, default=8, help="threads per process (as fenxiao serve)")
    args = parser.parse_args()
    if not ipaddress.ip_address(args.host).is_loopback:
        parser.error("the benchmark only listens on loopback addresses")
    from gunicorn.app.base import BaseApplication

    from plugin.cli.serve import options

    class Bare(BaseApplication):
        def load_config(self):
            for key, value in options(args.host, args.port, args.workers, args.threads).items():
                self.cfg.set(key, value)
            self.cfg.set("proc_name", "bare-web")

        def load(self):
            return create_bare_app()

    Bare().run()


if __name__ == "__main__":
    main()
