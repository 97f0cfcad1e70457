"""A local stand-in for Weimob's open API, for ``fenxiao demo --platform weimob`` and the
benchmarks: Weimob's messages carry no amounts, so fenxiao fetches each order and after-sales
record, and a demo or a measurement must not depend on the real platform (or the network).

It answers the token, order-detail and rights-detail calls the Weimob client makes with the
sample records (``plugin/samples/weimob``), reporting the order in the state the platform is in
now (``order_status``), after an optional ``delay``; ``fail_with`` makes every call fail with
that HTTP status. It runs in a thread on a free loopback port until ``close``.
"""

from __future__ import annotations

import copy
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources

OK = {"errcode": "0", "errmsg": "success"}


def weimob_sample(name: str) -> dict:
    return json.loads(resources.files("plugin").joinpath("samples", "weimob", f"{name}.json").read_text())


class FakeWeimob:
    """Weimob's API on ``self.base`` (``http://127.0.0.1:PORT``), serving the sample purchase."""

    def __init__(self, *, delay: float = 0.0, any_order: bool = False):
        self.delay, self.fail_with, self.order_status = delay, None, 3  # 3: paid, awaiting shipment
        self.any_order = any_order  # answer every order number with the sample (benchmarks)
        self.calls: dict[str, int] = {}
        order = weimob_sample("order_detail_get_response")["data"]
        rights = weimob_sample("rights_detail_get_response")["data"]
        self.orders = {str(order["orderNo"]): order}
        self.rights = {str(rights["rightsId"]): rights}
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def answer(self, path: str, payload: dict) -> tuple[int, dict]:
        with self._lock:
            self.calls[path] = self.calls.get(path, 0) + 1
        if self.delay:
            time.sleep(self.delay)
        if self.fail_with:
            return self.fail_with, {"code": {"errcode": str(self.fail_with), "errmsg": "unavailable"}}
        if path.endswith("/oauth2/token"):
            return 200, {
                "access_token": f"fake-token-{self.calls[path]}",
                "expires_in": 7200,
                "refresh_token": "fake-refresh",
                "refresh_token_expires_in": 30 * 86400,
            }
        if path.endswith("/order/detail/get"):
            order = self.orders.get(str(payload.get("orderNo")))
            if order is None and self.any_order:
                order = {**next(iter(self.orders.values())), "orderNo": payload.get("orderNo")}
            if order is None:
                return 200, {"code": {"errcode": "80001", "errmsg": "order not found"}}
            order = copy.deepcopy(order)
            order["orderStatus"] = self.order_status
            return 200, {"code": OK, "data": order}
        if path.endswith("/rights/detail/get"):
            rights = self.rights.get(str(payload.get("rightsId")))
            if rights is None:
                return 200, {"code": {"errcode": "80002", "errmsg": "rights not found"}}
            return 200, {"code": OK, "data": rights}
        return 404, {"code": {"errcode": "404", "errmsg": "no such API"}}

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as a real API: no connection per call
            disable_nagle_algorithm = True  # headers and body leave at once (no 40 ms stall)

            def do_POST(self):  # noqa: N802 - the http.server API
                length = int(self.headers.get("Content-Length") or 0)
                try:
                    payload = json.loads(self.rfile.read(length) or b"{}")
                except ValueError:
                    payload = {}
                status, body = fake.answer(self.path.split("?", 1)[0], payload)
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):  # quiet
                pass

        return Handler
