"""A local stand-in for Alipay's open API, for the month-end benchmark (``bench/month_end.py``)
and the end-to-end test of the withdrawal workflow (``tests/e2e/test_withdrawal_approval.py``):
a payout's whole path (signing, sending, verifying the answer) runs as in production, without
the real gateway or the network.

It answers ``alipay.fund.trans.uni.transfer`` and ``alipay.fund.trans.common.query`` with signed
answers (RSA2 over the answer's text, as Alipay signs), pays every transfer once per
``out_biz_no`` (a repeated one gets the first answer), and keeps the statement a finance team
downloads. ``credentials()`` gives what ``fenxiao withdrawals gateway alipay`` takes; every
call is kept in ``received`` (method and ``biz_content``), so a test can count what was sent.
It runs in a thread on a free loopback port until ``stop``.

Decisions: the keys are made fresh per instance (2048-bit RSA; no key is ever stored), and the
answers never fail: a benchmark measures fenxiao, not a gateway's refusals (the adapter's own
tests cover those with ``responses``).
"""

from __future__ import annotations

import base64
import json
import threading
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

TRANSFER, QUERY = "alipay.fund.trans.uni.transfer", "alipay.fund.trans.common.query"


def _pem(key, public: bool) -> str:
    if public:
        return (
            key.public_key()
            .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
            .decode()
        )
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


class FakeAlipay:
    """Alipay's gateway on ``self.url`` (``http://127.0.0.1:PORT/gateway.do``)."""

    def __init__(self):
        self.app_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.alipay_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.orders: dict[str, tuple[str, Decimal, str]] = {}  # out_biz_no -> (order id, amount, status)
        self.received: list[tuple[str, dict]] = []  # (method, biz_content) of every call, in order
        self.lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                query = dict(parse_qsl(urlsplit(self.path).query))
                form = dict(parse_qsl(self.rfile.read(int(self.headers["Content-Length"])).decode()))
                body = fake.answer(query["method"], json.loads(form["biz_content"])).encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html;charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/gateway.do"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def credentials(self, app_id: str = "2021000000000001") -> dict:
        """The alipay gateway's credentials pointing at this fake (app key, Alipay's public key)."""
        return dict(
            app_id=app_id,
            app_private_key=_pem(self.app_key, public=False),
            alipay_public_key=_pem(self.alipay_key, public=True),
            gateway_url=self.url,
        )

    def answer(self, method: str, biz: dict) -> str:
        """The signed answer to ``method`` with ``biz`` (its ``biz_content``); a transfer of a new
        ``out_biz_no`` succeeds at once, a query of an unknown one is ``ORDER_NOT_EXIST``."""
        out_no = biz["out_biz_no"]
        with self.lock:
            self.received.append((method, biz))
            if method == TRANSFER and out_no not in self.orders:
                self.orders[out_no] = (
                    f"2026{len(self.orders):016d}",
                    Decimal(biz["trans_amount"]),
                    "SUCCESS",
                )
            order = self.orders.get(out_no)
        if order is None:
            inner = {
                "code": "40004",
                "msg": "Business Failed",
                "sub_code": "ORDER_NOT_EXIST",
                "sub_msg": "no order",
            }
        else:
            inner = {
                "code": "10000",
                "msg": "Success",
                "out_biz_no": out_no,
                "order_id": order[0],
                "status": order[2],
            }
            inner["pay_fund_order_id"] = order[0]
        text = json.dumps(inner, separators=(",", ":"))
        signature = self.alipay_key.sign(text.encode(), padding.PKCS1v15(), hashes.SHA256())
        name = method.replace(".", "_") + "_response"
        return f'{{"{name}":{text},"sign":"{base64.b64encode(signature).decode()}"}}'

    def statement(self) -> str:
        """The statement as CSV: out_no,status,amount,reference."""
        lines = ["out_no,status,amount,reference"]
        with self.lock:
            lines += [
                f"{out_no},success,{amount:.2f},{order}" for out_no, (order, amount, _) in self.orders.items()
            ]
        return "\n".join(lines) + "\n"

    def stop(self):
        self.server.shutdown()
