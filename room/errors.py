"""The closed set of error codes on the wire, and the typed exception that carries one."""

from __future__ import annotations

from enum import StrEnum


class Code(StrEnum):
    INVALID = "invalid"
    UNAUTHORIZED = "unauthorized"
    FORBIDDEN = "forbidden"
    NOT_FOUND = "not_found"
    CONFLICT = "conflict"
    ROOM_FULL = "room_full"
    PRESENTER_SEATS_FULL = "presenter_seats_full"
    STAGE_FULL = "stage_full"
    PARALLEL_LIMIT = "parallel_limit"
    NOT_LIVE = "not_live"
    RATE_LIMITED = "rate_limited"
    LINK_BOUND = "link_bound"
    BANNED = "banned"
    EVENT_ENDED = "event_ended"
    LIMIT_REACHED = "limit_reached"
    UNAVAILABLE = "unavailable"
    INSUFFICIENT_CREDITS = "insufficient_credits"
    INTERNAL = "internal"


HTTP_STATUS: dict[Code, int] = {
    Code.INVALID: 400,
    Code.UNAUTHORIZED: 401,
    Code.FORBIDDEN: 403,
    Code.NOT_FOUND: 404,
    Code.CONFLICT: 409,
    Code.ROOM_FULL: 409,
    Code.PRESENTER_SEATS_FULL: 409,
    Code.STAGE_FULL: 409,
    Code.PARALLEL_LIMIT: 409,
    Code.NOT_LIVE: 409,
    Code.RATE_LIMITED: 429,
    Code.LINK_BOUND: 403,
    Code.BANNED: 403,
    Code.EVENT_ENDED: 410,
    Code.LIMIT_REACHED: 409,
    Code.UNAVAILABLE: 503,
    Code.INSUFFICIENT_CREDITS: 409,
    Code.INTERNAL: 500,
}


class TribuneError(Exception):
    """A refusal meant for the client: a code from the closed set and a human message."""

    def __init__(self, code: Code, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field

    def to_wire(self) -> dict[str, str]:
        out = {"code": self.code.value, "message": self.message}
        if self.field is not None:
            out["field"] = self.field
        return out

    @property
    def http_status(self) -> int:
        return HTTP_STATUS[self.code]


def invalid(message: str, field: str | None = None) -> TribuneError:
    return TribuneError(Code.INVALID, message, field)


def forbidden(message: str = "you may not do this") -> TribuneError:
    return TribuneError(Code.FORBIDDEN, message)


def not_found(what: str) -> TribuneError:
    return TribuneError(Code.NOT_FOUND, f"{what} not found")
