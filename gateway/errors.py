"""One exception family for every expected failure; REST and GraphQL each translate it once.

Domain code raises these; it never builds HTTP responses. `code` is the stable machine code
clients switch on, `status` the HTTP status the REST face answers with.
"""

from collections.abc import Mapping


class ApiError(Exception):
    status: int = 400
    code: str = "error"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status: int | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        self.headers = dict(headers or {})


class Invalid(ApiError):
    status, code = 400, "invalid"


class Unauthenticated(ApiError):
    status, code = 401, "unauthenticated"


class Forbidden(ApiError):
    status, code = 403, "forbidden"


class NotFound(ApiError):
    status, code = 404, "not_found"


class MethodNotAllowed(ApiError):
    status, code = 405, "method_not_allowed"


class Conflict(ApiError):
    status, code = 409, "conflict"


class PayloadTooLarge(ApiError):
    status, code = 413, "payload_too_large"


class UnsupportedMediaType(ApiError):
    status, code = 415, "unsupported_media_type"


class RateLimited(ApiError):
    status, code = 429, "rate_limited"

    def __init__(self, message: str, *, retry_after: int, code: str | None = None) -> None:
        super().__init__(message, code=code, headers={"Retry-After": str(max(1, retry_after))})
        self.retry_after = max(1, retry_after)


class UpstreamError(ApiError):
    """The model or voice provider answered with an error (502)."""

    status, code = 502, "upstream_error"


class UpstreamUnavailable(ApiError):
    """The provider is unreachable, timed out, or not configured (503)."""

    status, code = 503, "upstream_unavailable"
