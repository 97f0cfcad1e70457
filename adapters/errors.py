"""Errors an adapter raises; the webhook layer maps each ``code`` to an HTTP status."""


class AdapterError(Exception):
    """Root of adapter errors. ``code`` is stable and machine-readable."""

    code = "adapter_error"

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field

    def to_dict(self) -> dict:
        body = {"code": self.code, "message": self.message}
        if self.field:
            body["field"] = self.field
        return body


class SignatureError(AdapterError):
    """The delivery is not signed by a secret the shop holds (HTTP 401)."""

    code = "bad_signature"


class PayloadError(AdapterError):
    """The body is not what the platform documents: bad JSON, missing or mistyped field (HTTP 422)."""

    code = "bad_payload"


class UnknownPlatform(AdapterError, KeyError):
    """No adapter is registered under the requested platform name (HTTP 404)."""

    code = "unknown_platform"

    def __str__(self) -> str:
        return self.message
