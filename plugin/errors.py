"""One error hierarchy: every domain error carries a stable ``code`` and an HTTP status."""


class FenxiaoError(Exception):
    code = "fenxiao_error"
    status = 400

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field

    def to_dict(self) -> dict:
        body = {"code": self.code, "message": self.message}
        if self.field:
            body["field"] = self.field
        return body


class NotFound(FenxiaoError):
    code = "not_found"
    status = 404


class Unauthorized(FenxiaoError):
    code = "unauthorized"
    status = 401


class InvalidSetting(FenxiaoError):
    code = "invalid_setting"
    status = 422


class BindingRefused(FenxiaoError):
    code = "binding_refused"
    status = 409


class InvalidTransition(FenxiaoError):
    code = "invalid_transition"
    status = 409


class UnbalancedTransaction(FenxiaoError):
    """A ledger transaction whose legs do not sum to zero: a programming error."""

    code = "unbalanced_transaction"
    status = 500


class InvalidConfig(FenxiaoError):
    """A setting from the environment (DATABASE_URL, REDIS_URL, FENXIAO_*) that cannot work."""

    code = "invalid_config"
    status = 500
