"""Withdrawals: identity, requests, review and payout (issue 10)."""
