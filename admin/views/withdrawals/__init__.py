"""Withdrawal Approval (finance, admin): the queue of withdrawals with filters and counts per
status, a withdrawal's evidence page, approving (four-eyes) and rejecting with a reason, and the
bank batch file's download and result upload. One blueprint (``admin_withdrawals``); the pages
live in ``pages``, the writes in ``actions``, the reading queries in ``queue``."""

from __future__ import annotations

from admin.views.withdrawals import actions, pages
from admin.views.withdrawals.blueprint import area, bp

__all__ = ["actions", "area", "bp", "pages"]
