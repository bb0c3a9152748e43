"""GraphQL's translation of the one error family: typed codes for expected failures, and a
masked message for everything else (the details stay in the server log)."""

from graphql.error import GraphQLError
from strawberry.extensions import MaskErrors

from gateway.errors import ApiError

INTERNAL_MESSAGE = "internal server error"


def _is_internal(error: GraphQLError) -> bool:
    """Errors raised by our code that are not ApiErrors; parse/validation errors are not."""
    original = error.original_error
    return original is not None and not isinstance(original, (ApiError, GraphQLError))


class ApiErrorExtension(MaskErrors):
    def __init__(self) -> None:
        super().__init__(should_mask_error=_is_internal, error_message=INTERNAL_MESSAGE)

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        masked = super().anonymise_error(error)
        masked.extensions = {"code": "INTERNAL_ERROR", "status": 500}
        return masked

    def _process_errors(self, errors: list[GraphQLError]) -> list[GraphQLError]:
        processed = super()._process_errors(errors)
        for error in processed:
            original = error.original_error
            if isinstance(original, ApiError):
                error.extensions = {
                    **(error.extensions or {}),
                    "code": original.code.upper(),
                    "status": original.status,
                }
                if "Retry-After" in original.headers:
                    error.extensions["retryAfter"] = int(original.headers["Retry-After"])
        return processed
