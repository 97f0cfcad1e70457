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


class PlatformUnavailable(AdapterError):
    """A platform API did not answer usefully in time: a timeout, a connection error, a 5xx or a
    429 that outlasted the retries. The call may succeed later: retry the work, never guess."""

    code = "platform_unavailable"


class PlatformRefused(AdapterError):
    """A platform API refused the call (a 4xx, or a business error in a 2xx body): retrying the
    same call will not help. ``status`` is the HTTP status, ``platform_code`` the platform's own."""

    code = "platform_refused"

    def __init__(
        self, message: str, field: str | None = None, *, status: int | None = None, platform_code=None
    ):
        super().__init__(message, field)
        self.status = status
        self.platform_code = platform_code

    def to_dict(self) -> dict:
        body = super().to_dict()
        body.update(status=self.status, platform_code=self.platform_code)
        return body
