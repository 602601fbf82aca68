"""Tasks for operators: create (standalone, from a conversation, or from one of its messages), read, list (current,
overdue, done) and change status, assignee and deadline. From the stream: start and stop each task's deadline timer.
Notifications (task assigned, task overdue) come from the same stream, in services/notifications.py."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from datetime import datetime

from ..domain import clock
from ..domain.conversation import Conversation, OperatorView
from ..domain.errors import Conflict, Forbidden, NotFound
from ..domain.ids import ulid
from ..domain.tasks import Task, TaskDraft, TaskPatch, TaskQuery, TaskView, timer_changes, title_from
from ..store.conversations import ConversationStore
from ..store.directory import DirectoryStore
from ..store.messages import MessageStore
from ..store.models import UNASSIGNED
from ..store.pages import Source, decode_cursor, encode_cursor, merge_pages
from ..store.streams import Change
from ..store.tasks import Partition, TaskStore, TaskVersionConflict
from ..timers.task_deadline import TaskDeadlineTimers

MAX_ATTEMPTS = 5


class TaskService:
    def __init__(self, store: TaskStore, conversations: ConversationStore, messages: MessageStore,
                 directory: DirectoryStore, now: Callable[[], datetime] = clock.now) -> None:
        self._store = store
        self._conversations = conversations
        self._messages = messages
        self._directory = directory
        self._now = now

    # ------------------------------------------------------------ writing
    def create(self, viewer: OperatorView, body: Mapping[str, object]) -> Task:
        """A new task, numbered per tenant. It belongs to the team given (escalating to another team is allowed), else
        to its conversation's team; a linked conversation must be one the creator may see."""
        draft = TaskDraft.parse(body, self._now())
        conversation = self._visible_conversation(viewer, draft.conversation_id) if draft.conversation_id else None
        title, description = self._wording(viewer, draft)
        if draft.assignee_id:
            self._directory.operator(viewer.tenant_id, draft.assignee_id)  # 404 for someone unknown
        if draft.team_id and draft.team_id not in {team.id for team in self._directory.teams(viewer.tenant_id)}:
            raise NotFound("No such team.")
        team_id = draft.team_id or (conversation.team_id if conversation else None)  # another team: escalation
        at = clock.iso(self._now())
        task = Task(
            tenant_id=viewer.tenant_id, id=ulid(), number=self._store.next_number(viewer.tenant_id), title=title,
            description=description, deadline=clock.iso(draft.deadline) if draft.deadline else None,
            assignee_id=draft.assignee_id, team_id=team_id, conversation_id=draft.conversation_id,
            created_by=viewer.operator_id, created_at=at, updated_at=at, version=1, changed_by=viewer.operator_id,
        )
        return self._store.create(task, draft.client_id)

    def update(self, viewer: OperatorView, task_id: str, body: Mapping[str, object]) -> Task:
        """Change status, assignee, deadline, title or description; with ``version``, a stale view gets 409."""
        patch = TaskPatch.parse(body, self._now())
        if patch.assignee_id:
            self._directory.operator(viewer.tenant_id, patch.assignee_id)
        for _ in range(MAX_ATTEMPTS):
            task = self.get(viewer, task_id)
            if patch.version is not None and patch.version != task.version:
                raise Conflict("Someone changed this task a moment ago.", version=task.version)
            new = dataclasses.replace(patch.apply(task), version=task.version + 1, changed_by=viewer.operator_id,
                                      updated_at=clock.iso(self._now()))
            try:
                self._store.save(task, new)
            except TaskVersionConflict:  # its deadline timer or a colleague got there first: read again
                continue
            return new
        raise Conflict("The task is changing too quickly; try again.")

    # ------------------------------------------------------------ reading
    def get(self, viewer: OperatorView, task_id: str) -> Task:
        """The task, if ``viewer`` may see it; another tenant's or an invisible one is simply not found."""
        task = self._store.get(viewer.tenant_id, task_id)
        if not task.visible_to(viewer, lambda: self._conversation_visible(viewer, task.conversation_id)):
            raise NotFound("No such task.")
        return task

    def list(self, viewer: OperatorView, params: Mapping[str, str], *, limit: int,
             cursor: str | None) -> tuple[list[Task], str | None]:
        """One page in deadline order (tasks without a deadline last), each query reading only its partition."""
        query, now = TaskQuery.parse(params), self._now()
        partitions = self._partitions(viewer, query, clock.iso(now))
        sources = [Source(name=f"{p.index}:{p.key}",
                          run=lambda start, size, p=p: self._store.query(viewer.tenant_id, p, start, size),
                          start_key=lambda task, p=p: TaskStore.start_key(p, task)) for p in partitions]
        page, state = merge_pages(sources, limit=limit, cursor=decode_cursor(cursor), sort_key=lambda t: t.due_key,
                                  item_id=lambda t: t.id, keep=lambda t: t.in_view(query.view, now), ascending=True)
        return page, encode_cursor(state)

    def _partitions(self, viewer: OperatorView, query: TaskQuery, now: str) -> list[Partition]:
        tenant = viewer.tenant_id
        state = "done" if query.view is TaskView.DONE else "current"
        before = now if query.view is TaskView.OVERDUE else None
        if query.conversation_id:
            self._visible_conversation(viewer, query.conversation_id)
            return [Partition("by_conversation", f"{tenant}#{query.conversation_id}")]
        if query.team_id:
            self._require_team(viewer, query.team_id)
            return [Partition("by_team", f"{tenant}#{query.team_id}#{state}", before)]
        if query.assignee:
            assignee = {"me": viewer.operator_id, "unassigned": UNASSIGNED}.get(query.assignee, query.assignee)
            if not viewer.sees_all and assignee != viewer.operator_id:
                raise Forbidden("Operators list their own tasks and their teams'; ask by team instead.")
            return [Partition("by_assignee", f"{tenant}#{assignee}#{state}", before)]
        if viewer.sees_all:
            return [Partition("by_state", f"{tenant}#{state}", before)]
        mine = Partition("by_assignee", f"{tenant}#{viewer.operator_id}#{state}", before)
        return [mine] + [Partition("by_team", f"{tenant}#{team}#{state}", before) for team in sorted(viewer.team_ids)]

    # ------------------------------------------------------------ internals
    def _wording(self, viewer: OperatorView, draft: TaskDraft) -> tuple[str, str]:
        """Title and description; a task made from a message takes the message as its description."""
        if not draft.message_id:
            return draft.title or "", draft.description
        message = self._messages.get(viewer.tenant_id, draft.conversation_id or "", draft.message_id)
        return draft.title or title_from(message.text), draft.description or message.text

    def _visible_conversation(self, viewer: OperatorView, conversation_id: str) -> Conversation:
        conversation = self._conversations.get(viewer.tenant_id, conversation_id)
        if not conversation.visible_to(viewer):
            raise NotFound("No such conversation.")
        return conversation

    def _conversation_visible(self, viewer: OperatorView, conversation_id: str | None) -> bool:
        try:
            return conversation_id is not None and self._conversations.get(
                viewer.tenant_id, conversation_id).visible_to(viewer)
        except NotFound:
            return False

    def _require_team(self, viewer: OperatorView, team_id: str) -> None:
        if team_id not in {team.id for team in self._directory.teams(viewer.tenant_id)}:
            raise NotFound("No such team.")
        if not viewer.sees_all and team_id not in viewer.team_ids:
            raise Forbidden("Only the team's members (and supervisors) see its tasks.")


class TaskDeadlines:
    """From the tasks stream: a deadline timer for each current deadline, the replaced one stopped."""

    def __init__(self, timers: TaskDeadlineTimers, now: Callable[[], datetime] = clock.now) -> None:
        self._timers = timers
        self._now = now

    def on_change(self, change: Change) -> None:
        start, stop = timer_changes(change.old, change.new)
        if start:
            self._timers.start(change.new, self._now())
        if stop:
            self._timers.stop(change.old.id, change.old.deadline_version)


def task_view(task: Task, names: Mapping[str, str], now: datetime) -> dict:
    """The JSON shape of a task; ``names``: display names of operators and teams by id."""
    return {
        "id": task.id, "number": task.number, "title": task.title, "description": task.description,
        "status": str(task.status), "deadline": task.deadline, "overdue": task.is_overdue(now),
        "overdue_at": task.overdue_at, "assignee_id": task.assignee_id,
        "assignee_name": names.get(task.assignee_id or ""), "team_id": task.team_id,
        "team_name": names.get(task.team_id or ""), "conversation_id": task.conversation_id,
        "created_by": task.created_by, "created_at": task.created_at, "updated_at": task.updated_at,
        "version": task.version,
    }
