"""Errors of the withdrawal steps; each names what refused and carries its HTTP status."""

from __future__ import annotations

from plugin.errors import FenxiaoError


class InsufficientFunds(FenxiaoError):
    """More than the distributor can withdraw now (available less what arrears claim)."""

    code = "insufficient_funds"
    status = 422

    def __init__(self, message: str, allowed: int):
        super().__init__(message, "amount")
        self.allowed = allowed

    def to_dict(self) -> dict:
        return {**super().to_dict(), "allowed": self.allowed}


class PayeeMissing(FenxiaoError):
    """No verified-or-checkable payee: the distributor must enter their identity and account."""

    code = "payee_required"
    status = 409


class FourEyes(FenxiaoError):
    """The approver may not approve this one: they asked for it or approved it already."""

    code = "four_eyes"
    status = 403


class ReviewRefused(FenxiaoError):
    """A review step that does not apply to the withdrawal as it is now."""

    code = "review_refused"
    status = 409


class PayeeLocked(FenxiaoError):
    """The payee cannot change while a withdrawal to it is under way."""

    code = "payee_locked"
    status = 409
