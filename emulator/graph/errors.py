"""Graph's error envelope and every error the emulator's Graph surface answers with, in one place."""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus

import orjson

from emulator.clock import to_datetime


class GraphError(Exception):
    """An error to answer with the Graph envelope ``{"error": {"code", "message", "innerError"}}``."""

    def __init__(self, status: int, code: str, message: str, headers: Mapping[str, str] | None = None,
                 *, inner_code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})
        self.inner_code = inner_code  # a more specific code inside innerError (e.g. throttledRequest)


def error_body(code: str, message: str, *, request_id: str, client_request_id: str, now: float,
               inner_code: str | None = None) -> bytes:
    inner: dict[str, str] = {"code": inner_code} if inner_code else {}
    inner.update({
        "date": to_datetime(now).strftime("%Y-%m-%dT%H:%M:%S"),
        "request-id": request_id,
        "client-request-id": client_request_id,
    })
    return orjson.dumps({"error": {"code": code, "message": message, "innerError": inner}})


# -- the errors, by the situation that raises them -------------------------------------------------------

def bad_request(message: str) -> GraphError:
    return GraphError(400, "BadRequest", message)


def invalid_argument(message: str) -> GraphError:
    return GraphError(400, "InvalidArgument", message)


def malformed_json(detail: str) -> GraphError:
    return GraphError(400, "BadRequest", f"Unable to read JSON request payload. {detail}".strip())


def duration_out_of_range(field: str = "ExpirationDuration") -> GraphError:
    return invalid_argument(f"The provided [{field}] is out of range.")


def unknown_segment(segment: str) -> GraphError:
    return GraphError(400, "BadRequest", f"Resource not found for the segment '{segment}'.")


def not_found_path(path: str) -> GraphError:
    return GraphError(404, "NotFound", f"No resource exists at '{path}'.")


def item_not_found(message: str) -> GraphError:
    return GraphError(404, "itemNotFound", message)


def session_not_found(user_id: str, session_id: str) -> GraphError:
    return GraphError(404, "NotFound", f"The presence session '{session_id}' was not found for user '{user_id}'.")


def method_not_allowed(method: str, allowed: set[str]) -> GraphError:
    return GraphError(405, "MethodNotAllowed",
                      f"The HTTP method '{method}' is not allowed for this resource.",
                      {"Allow": ", ".join(sorted(allowed))})


def unsupported_media_type(content_type: str) -> GraphError:
    return GraphError(415, "UnsupportedMediaType",
                      f"The content type '{content_type}' is not supported; send application/json.")


def payload_too_large(limit: int) -> GraphError:
    return GraphError(413, "RequestEntityTooLarge", f"The request body is larger than {limit} bytes.")


def me_without_user() -> GraphError:
    return bad_request("/me request is only valid with delegated authentication flow.")


def invalid_scenario(problems: list[str]) -> GraphError:
    """A scenario that failed to load: one problem per line, each with its file:line:column."""
    return GraphError(400, "InvalidScenario", "\n".join(problems))


# -- authentication and authorisation (strict auth; see emulator/graph/auth.py) ---------------------------

# What Graph sends with a 401, so a client that reads the challenge finds what it expects.
WWW_AUTHENTICATE = ('Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", '
                    'client_id="00000003-0000-0000-c000-000000000000"')


def invalid_token(message: str) -> GraphError:
    return GraphError(401, "InvalidAuthenticationToken", message, {"WWW-Authenticate": WWW_AUTHENTICATE})


def token_missing() -> GraphError:
    return invalid_token("Access token is empty.")


def _listed(names: frozenset[str]) -> str:
    return ", ".join(sorted(names))


def missing_scopes(required: frozenset[str], present: frozenset[str]) -> GraphError:
    return GraphError(403, "Forbidden", f"Missing scope permissions on the request. API requires one of "
                                        f"'{_listed(required)}'. Scopes on the request '{_listed(present)}'")


def missing_roles(required: frozenset[str], present: frozenset[str]) -> GraphError:
    return GraphError(403, "Forbidden", f"Missing role permissions on the request. API requires one of "
                                        f"'{_listed(required)}'. Roles on the request '{_listed(present)}'")


def application_not_supported() -> GraphError:
    return GraphError(403, "Forbidden", "This operation does not support application permissions; "
                                        "use a delegated token with one of the required scopes.")


def notification_url_not_https(field: str, url: str) -> GraphError:
    """Strict auth (``TenantSettings.require_https_notification_urls``): webhooks must be https."""
    return bad_request(f"The {field} '{url}' must use https.")


# -- JSON batching ------------------------------------------------------------------------------------------

def invalid_batch(message: str) -> GraphError:
    return GraphError(400, "BadRequest", message)


def failed_dependency(request_id: str, failed: str) -> GraphError:
    return GraphError(424, "FailedDependency",
                      f"Request '{request_id}' was not run because the request it depends on ('{failed}') failed.")


def internal_error() -> GraphError:
    return GraphError(500, "generalException", "An unexpected error occurred in the emulator.")


# -- subscriptions ---------------------------------------------------------------------------------------

def subscription_invalid(message: str) -> GraphError:
    return GraphError(400, "InvalidRequest", message)


def subscription_expiration(message: str) -> GraphError:
    return GraphError(400, "ExtensionError", message)


def subscription_conflict(message: str) -> GraphError:
    return GraphError(409, "ExtensionError", message)


def subscription_not_found(subscription_id: str) -> GraphError:
    return GraphError(404, "ResourceNotFound", f"The object was not found. (subscription '{subscription_id}')")


# -- throttling and injected faults (emulator/traffic) ----------------------------------------------------

# Codes for an injected error when a fault rule gives none: errors.md's documented codes where one fits.
FAULT_CODES = {
    400: "invalidRequest", 401: "InvalidAuthenticationToken", 403: "accessDenied", 404: "itemNotFound",
    409: "Conflict", 429: "activityLimitReached", 500: "generalException", 501: "notSupported",
    503: "serviceNotAvailable", 504: "GatewayTimeout",
}
FAULT_MESSAGES = {
    429: "The request has been throttled. Retry after the time the Retry-After header gives.",
    500: "An unexpected error occurred.",
    503: "The service is temporarily unavailable. Retry after the time the Retry-After header gives.",
    504: "The service did not answer in time.",
}


def _retry_after(seconds: int | None) -> dict[str, str]:
    return {} if seconds is None else {"Retry-After": str(seconds)}


def throttled(code: str, retry_after: int) -> GraphError:
    """429 for a request over the throttling limit (graph-presence-spec.md 5.3)."""
    return GraphError(429, code, "Too many requests: the application is over its request limit. "
                      f"Retry after {retry_after} seconds.", _retry_after(retry_after),
                      inner_code="throttledRequest")


def injected(status: int, code: str | None, message: str | None, retry_after: int | None) -> GraphError:
    """The error a fault rule answers with; code and message default to the usual ones for the status."""
    if code is None:
        try:
            default = HTTPStatus(status).phrase.title().replace(" ", "").replace("-", "")
        except ValueError:
            default = "UnknownError"
        code = FAULT_CODES.get(status, default)
    if message is None:
        try:
            phrase = HTTPStatus(status).phrase
        except ValueError:
            phrase = f"Error {status}"
        message = FAULT_MESSAGES.get(status, f"{phrase}.")
    return GraphError(status, code, message, _retry_after(retry_after),
                      inner_code="throttledRequest" if status == 429 else None)
