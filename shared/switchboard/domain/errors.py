"""Domain errors. Each class carries the HTTP status and the stable code the API renders.

Class names double as the Step Functions / SQS error contract, so do not rename them lightly.
"""

from __future__ import annotations

from typing import Any


class SwitchboardError(Exception):
    status = 500
    code = "internal_error"
    title = "Internal error"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class BadRequest(SwitchboardError):
    status = 400
    code = "bad_request"
    title = "Bad request"


class Unauthorized(SwitchboardError):
    status = 401
    code = "unauthorized"
    title = "Unauthorized"


class Forbidden(SwitchboardError):
    status = 403
    code = "forbidden"
    title = "Forbidden"


class ContactBlocked(Forbidden):
    """The contact is blocked ("hide chat"): the widget hides itself when it reads this code."""

    code = "contact_blocked"
    title = "Chat unavailable"


class NotFound(SwitchboardError):
    status = 404
    code = "not_found"
    title = "Not found"


class Conflict(SwitchboardError):
    status = 409
    code = "conflict"
    title = "Conflict"


class IllegalTransition(Conflict):
    code = "illegal_transition"
    title = "Status change not allowed"


class PayloadTooLarge(SwitchboardError):
    status = 413
    code = "payload_too_large"
    title = "Payload too large"


class UnsupportedMediaType(SwitchboardError):
    status = 415
    code = "unsupported_media_type"
    title = "Unsupported media type"


class DeliveryFailed(SwitchboardError):
    """A channel refused an outgoing message.

    ``transient`` errors are retried with back-off; permanent ones mark the message ``failed``
    with ``detail`` as the reason shown to the operator.
    """

    status = 502
    code = "delivery_failed"
    title = "Delivery failed"

    def __init__(
        self, detail: str, *, transient: bool, retry_after: float | None = None, unreachable: bool = False
    ) -> None:
        super().__init__(detail)
        self.transient = transient
        self.retry_after = retry_after
        self.unreachable = unreachable
