"""Webhook intake: ``POST /webhooks/<platform>/<shop_id>``. Verify, store raw once, enqueue, ack.

Also the Shopify install (``/install/shopify/<shop_id>``), which registers the shop's webhooks.
"""

from . import install, payouts  # noqa: F401 - add their routes to the blueprint
from .views import blueprint

__all__ = ["blueprint"]
