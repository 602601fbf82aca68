"""Conversations and the one table of status transitions every change goes through."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from .errors import IllegalTransition


class Status(StrEnum):
    OPEN = "open"
    PENDING = "pending"
    SNOOZED = "snoozed"
    RESOLVED = "resolved"


class Action(StrEnum):
    CUSTOMER_MESSAGE = "customer_message"
    SET_PENDING = "set_pending"
    SNOOZE = "snooze"
    UNSNOOZE = "unsnooze"
    WAKE = "wake"
    RESOLVE = "resolve"
    REOPEN = "reopen"


_O, _P, _S, _R = Status.OPEN, Status.PENDING, Status.SNOOZED, Status.RESOLVED

# (current status, action) -> new status. Anything missing is refused.
TRANSITIONS: dict[tuple[Status, Action], Status] = {
    (_O, Action.CUSTOMER_MESSAGE): _O,
    (_P, Action.CUSTOMER_MESSAGE): _O,
    (_S, Action.CUSTOMER_MESSAGE): _O,
    (_O, Action.SET_PENDING): _P,
    (_O, Action.SNOOZE): _S,
    (_P, Action.SNOOZE): _S,
    (_S, Action.SNOOZE): _S,  # re-snooze replaces the timer
    (_S, Action.UNSNOOZE): _O,
    (_S, Action.WAKE): _O,
    (_O, Action.RESOLVE): _R,
    (_P, Action.RESOLVE): _R,
    (_S, Action.RESOLVE): _R,
    (_R, Action.REOPEN): _O,
    (_P, Action.REOPEN): _O,
}

_REASONS = {
    Action.SNOOZE: "only an open or pending conversation can be snoozed",
    Action.UNSNOOZE: "only a snoozed conversation can be unsnoozed",
    Action.RESOLVE: "the conversation is already resolved",
    Action.REOPEN: "only a resolved or pending conversation can be reopened",
    Action.SET_PENDING: "only an open conversation can be set to pending",
}


def next_status(current: Status, action: Action) -> Status:
    try:
        return TRANSITIONS[(current, action)]
    except KeyError:
        reason = _REASONS.get(action, f"cannot {action} a {current} conversation")
        raise IllegalTransition(f"Cannot {action} a {current} conversation: {reason}.", status=str(current)) from None


def sources_for(action: Action) -> list[Status]:
    """The statuses from which ``action`` is allowed: the condition of the conditional write."""
    return [current for (current, act) in TRANSITIONS if act is action]


def accepts_replies(status: Status) -> bool:
    """A resolved conversation is read-only except for notes and tags."""
    return status is not Status.RESOLVED


@dataclass
class Conversation:
    tenant_id: str
    id: str
    inbox_id: str
    contact_id: str
    channel: str
    status: Status = Status.OPEN
    assignee_id: str | None = None
    team_id: str | None = None
    created_at: str = ""
    last_activity_at: str = ""
    last_message: dict = field(default_factory=dict)
    unread_count: int = 0
    waiting_since: str | None = None
    snoozed_until: str | None = None
    snooze_version: int = 0
    version: int = 0
    title: str | None = None
    priority: str = "normal"
    contact_name: str | None = None
    source_id: str = ""
    tags: list[str] = field(default_factory=list)
    participants: list[str] = field(default_factory=list)  # operators who follow it besides the assignee
    request_type: str | None = None
    reasons: list[str] = field(default_factory=list)
    components: list[str] = field(default_factory=list)
    operator_active_until: str | None = None  # automated messages wait while an operator works in it
    sla_due_at: str | None = None  # the earliest due time of a running SLA clock; None when none runs
    sla_state: str = "none"  # none | warning | breached, of the SLA clocks still running (domain/sla.py)
    sla_version: int = 0  # the SLA timer that is current; older timers' updates are refused
    sla: dict = field(default_factory=dict)  # the SLA clocks and their record (domain.sla.SlaState)
    sla_alert: str | None = None  # set by the SLA timer when it raises a warning or breach
    woke_at: str | None = None  # set by the snooze timer when it wakes the conversation
    changed_by: str | None = None  # the operator whose action made this version; None for customers and automation

    def visible_to(self, operator: OperatorView) -> bool:
        return (
            operator.sees_all
            or self.assignee_id == operator.operator_id
            or operator.operator_id in self.participants
            or self.team_id in operator.team_ids
            or self.inbox_id in operator.inbox_ids
        )


@dataclass(frozen=True)
class OperatorView:
    """What access checks need to know about the caller."""

    tenant_id: str
    operator_id: str
    role: str
    team_ids: frozenset[str] = frozenset()
    inbox_ids: frozenset[str] = frozenset()
    name: str = ""
    permissions: frozenset[str] = frozenset()

    @property
    def is_admin(self) -> bool:
        """Manages the workspace: operators, inboxes, keys, rules."""
        return self.role in ("owner", "admin")

    @property
    def sees_all(self) -> bool:
        """Admins and supervisors see every conversation of the tenant; operators their teams' and inboxes'."""
        return self.role in ("owner", "admin", "supervisor")

    def can(self, permission: str) -> bool:
        return self.is_admin or permission in self.permissions


EDIT_DIALOG_SETTINGS = "edit_dialog_settings"  # request types, reasons, components
PERMISSIONS = (EDIT_DIALOG_SETTINGS,)
