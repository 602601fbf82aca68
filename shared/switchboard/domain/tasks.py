"""Tasks: tickets with a number per tenant, a title, a deadline, an assignee and a status, standalone or linked to a
conversation. Pure: what a request may say, how a change applies, who may see a task, and when its deadline timer
must be (re)started.

The deadline timer follows the snooze pattern: every change that needs a new timer (the deadline moved, or a done
task was reopened) bumps ``deadline_version``, and the timer's conditional write only marks the task overdue while its
version is still current and the task is not done, so a replaced timer changes nothing.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from . import clock
from .conversation import OperatorView
from .errors import BadRequest

MAX_TITLE = 200
MAX_DESCRIPTION = 10_000
MAX_AHEAD = timedelta(days=365)  # a Step Functions execution runs at most a year
NO_DEADLINE = "~"  # sorts after every ISO time: tasks without a deadline come last, and are never overdue


class TaskStatus(StrEnum):
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    DONE = "done"


class TaskView(StrEnum):
    """The filters of the task list: current (open or in progress), overdue (current, deadline passed), done."""

    CURRENT = "current"
    OVERDUE = "overdue"
    DONE = "done"


@dataclass
class Task:
    tenant_id: str
    id: str
    number: int
    title: str
    status: TaskStatus = TaskStatus.OPEN
    description: str = ""
    deadline: str | None = None  # ISO UTC (clock.iso)
    assignee_id: str | None = None
    team_id: str | None = None
    conversation_id: str | None = None
    created_by: str | None = None
    created_at: str = ""
    updated_at: str = ""
    overdue_at: str | None = None  # stamped by the deadline timer when the deadline passes
    deadline_version: int = 0
    version: int = 0
    changed_by: str | None = None  # the operator whose change made this version (None: the deadline timer)

    @property
    def state(self) -> str:
        """The list partition: "done", or "current" for open and in-progress tasks."""
        return TaskView.DONE.value if self.status is TaskStatus.DONE else TaskView.CURRENT.value

    @property
    def due_key(self) -> str:
        """Sorts the lists by deadline; unique per task."""
        return f"{self.deadline or NO_DEADLINE}#{self.id}"

    def is_overdue(self, now: datetime) -> bool:
        return self.status is not TaskStatus.DONE and self.deadline is not None and self.deadline <= clock.iso(now)

    @property
    def timer_armed(self) -> bool:
        """A deadline timer should be waiting for this task."""
        return self.deadline is not None and self.status is not TaskStatus.DONE and self.overdue_at is None

    def in_view(self, view: TaskView, now: datetime) -> bool:
        if view is TaskView.DONE:
            return self.status is TaskStatus.DONE
        return self.status is not TaskStatus.DONE and (view is TaskView.CURRENT or self.is_overdue(now))

    def visible_to(self, viewer: OperatorView, conversation_visible: Callable[[], bool]) -> bool:
        """Supervisors and admins see every task; an operator their own (assigned or created), their teams', and
        those of conversations they may see (``conversation_visible`` reads the conversation only if it must)."""
        if viewer.sees_all or viewer.operator_id in (self.assignee_id, self.created_by):
            return True
        if self.team_id is not None and self.team_id in viewer.team_ids:
            return True
        return self.conversation_id is not None and conversation_visible()


def timer_changes(old: Task | None, new: Task | None) -> tuple[bool, bool]:
    """(start a timer for ``new``, stop ``old``'s timer) for one committed change of a task."""
    version_moved = old is None or new is None or old.deadline_version != new.deadline_version
    start = new is not None and new.timer_armed and version_moved
    stop = old is not None and old.timer_armed and (version_moved or new.status is TaskStatus.DONE)  # type: ignore[union-attr]
    return start, stop


# ------------------------------------------------------------------ requests
@dataclass(frozen=True)
class TaskDraft:
    """A new task as an operator asked for it. ``message_id`` (with ``conversation_id``): the message becomes the
    description, and its first line the title when none is given."""

    title: str | None
    description: str
    deadline: datetime | None
    assignee_id: str | None
    team_id: str | None
    conversation_id: str | None
    message_id: str | None
    client_id: str | None

    @classmethod
    def parse(cls, body: Mapping[str, object], now: datetime) -> TaskDraft:
        unknown = sorted(set(body) - {f.name for f in dataclasses.fields(cls)})
        if unknown:
            raise BadRequest(f"Unknown field '{unknown[0]}' for a task.")
        message_id, conversation_id = _optional_id(body, "message_id"), _optional_id(body, "conversation_id")
        if message_id and not conversation_id:
            raise BadRequest("A task made from a message needs the message's conversation_id too.")
        title = body.get("title")
        if title is None and not message_id:
            raise BadRequest("A task needs a title.")
        return cls(
            title=clean_title(title) if title is not None else None,
            description=clean_description(body.get("description", "")),
            deadline=parse_deadline(body.get("deadline"), now), assignee_id=_optional_id(body, "assignee_id"),
            team_id=_optional_id(body, "team_id"), conversation_id=conversation_id, message_id=message_id,
            client_id=_client_id(body.get("client_id")),
        )


_PATCHABLE = ("title", "description", "status", "deadline", "assignee_id")


@dataclass(frozen=True)
class TaskPatch:
    """The fields an update sets; ``present`` says which were given (null clears the deadline or the assignee)."""

    present: frozenset[str]
    title: str | None = None
    description: str | None = None
    status: TaskStatus | None = None
    deadline: datetime | None = None
    assignee_id: str | None = None
    version: int | None = None

    @classmethod
    def parse(cls, body: Mapping[str, object], now: datetime) -> TaskPatch:
        unknown = sorted(set(body) - {*_PATCHABLE, "version"})
        present = frozenset(name for name in _PATCHABLE if name in body)
        if unknown or not present:
            raise BadRequest(f"Give one or more of {', '.join(_PATCHABLE)} (and version, to refuse a stale change).")
        status = body.get("status")
        if "status" in body and status not in {s.value for s in TaskStatus}:
            raise BadRequest(f"Unknown status {status!r}; use one of {', '.join(TaskStatus)}.")
        version = body.get("version")
        if version is not None and (not isinstance(version, int) or isinstance(version, bool)):
            raise BadRequest("version must be an integer.")
        return cls(
            present=present, title=clean_title(body["title"]) if "title" in body else None,
            description=clean_description(body["description"]) if "description" in body else None,
            status=TaskStatus(status) if "status" in body else None,
            deadline=parse_deadline(body.get("deadline"), now), assignee_id=_optional_id(body, "assignee_id"),
            version=version,
        )

    def apply(self, task: Task) -> Task:
        """The changed task. A moved deadline, or a done task reopened with a deadline, needs a new timer: a new
        ``deadline_version`` (the old timer's guard then fails) and no overdue mark."""
        changes: dict = {name: getattr(self, name) for name in ("title", "description", "status", "assignee_id")
                         if name in self.present}
        if "deadline" in self.present:
            changes["deadline"] = clock.iso(self.deadline) if self.deadline else None
        new = dataclasses.replace(task, **changes)
        reopened = task.status is TaskStatus.DONE and new.status is not TaskStatus.DONE
        if new.deadline != task.deadline or (reopened and new.deadline):
            new = dataclasses.replace(new, deadline_version=task.deadline_version + 1, overdue_at=None)
        return new


@dataclass(frozen=True)
class TaskQuery:
    """The task list's filters: a view, and at most one of assignee ("me", "unassigned" or an operator id), team, or
    conversation_id. Without one, an operator's list is their own tasks and their teams'."""

    view: TaskView = TaskView.CURRENT
    assignee: str | None = None
    team_id: str | None = None
    conversation_id: str | None = None

    @classmethod
    def parse(cls, params: Mapping[str, str]) -> TaskQuery:
        unknown = sorted(set(params) - {"view", "assignee", "team", "conversation_id"})
        if unknown:
            raise BadRequest(f"Unknown parameter '{unknown[0]}'; use view, assignee, team or conversation_id.")
        view = params.get("view") or TaskView.CURRENT.value
        if view not in {v.value for v in TaskView}:
            raise BadRequest(f"Unknown view '{view}'; use one of {', '.join(TaskView)}.")
        scopes = [name for name in ("assignee", "team", "conversation_id") if params.get(name)]
        if len(scopes) > 1:
            raise BadRequest("Filter by one of assignee, team or conversation_id at a time.")
        return cls(TaskView(view), params.get("assignee") or None, params.get("team") or None,
                   params.get("conversation_id") or None)


# ------------------------------------------------------------------ values
def clean_title(value: object) -> str:
    if not isinstance(value, str) or not value.strip() or len(value.strip()) > MAX_TITLE:
        raise BadRequest(f"title must be a text of 1–{MAX_TITLE} characters.")
    return " ".join(value.split())


def clean_description(value: object) -> str:
    if not isinstance(value, str) or len(value) > MAX_DESCRIPTION:
        raise BadRequest(f"description must be a text of at most {MAX_DESCRIPTION} characters.")
    return value.strip()


def title_from(text: str) -> str:
    """A title for a task made from a message: its first line, shortened."""
    first = next((line.strip() for line in text.splitlines() if line.strip()), "") or "Task from a message"
    return first if len(first) <= 80 else first[:79].rstrip() + "…"


def parse_deadline(value: object, now: datetime) -> datetime | None:
    """An ISO-8601 time with an offset, in the future and at most a year ahead (a deadline timer is a Step
    Functions execution, which may run a year); None when absent or null."""
    if value is None:
        return None
    moment = clock.parse_aware(value, "deadline")
    if moment <= now:
        raise BadRequest("A deadline must be in the future.")
    if moment - now > MAX_AHEAD:
        raise BadRequest("A deadline may be at most a year ahead.")
    return moment.astimezone(UTC)


def _optional_id(body: Mapping[str, object], name: str) -> str | None:
    value = body.get(name)
    if value is not None and (not isinstance(value, str) or not value):
        raise BadRequest(f"{name} must be an id or null.")
    return value  # type: ignore[return-value]


def _client_id(value: object) -> str | None:
    if value is not None and (not isinstance(value, str) or not 1 <= len(value) <= 64):
        raise BadRequest("client_id must be a string of 1–64 characters.")
    return value  # type: ignore[return-value]
