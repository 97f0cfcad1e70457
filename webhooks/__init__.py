"""Webhook intake: ``POST /webhooks/<platform>/<shop_id>``. Verify, store raw once, enqueue, ack."""

from .views import blueprint

__all__ = ["blueprint"]
