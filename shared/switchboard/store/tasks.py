"""Tasks as stored: one item per task with the index keys every list reads, the tenant's number counter, and the
client-id keys that make a retried create store one task.

Indexes (all sorted by ``due_key``, deadline first, tasks without one last):

* ``by_state``: ``{tenant}#{current|done}`` — every task of the tenant (supervisors, admins);
* ``by_assignee``: ``{tenant}#{assignee or -}#{current|done}`` — someone's tasks; overdue is a range condition
  (``due_key`` before now), not a filter;
* ``by_team``: ``{tenant}#{team or -}#{current|done}`` — a team's tasks;
* ``by_conversation``: ``{tenant}#{conversation}`` — the tasks of one conversation (sparse).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from pynamodb.exceptions import PutError

from ..domain.errors import NotFound
from ..domain.tasks import Task, TaskStatus
from .models import UNASSIGNED, TaskItem
from .writes import TransactionRunner

COUNTER = "counter"


class TaskVersionConflict(Exception):
    """The task changed since it was read (an operator, or its deadline timer); read again and retry."""


def task_sk(task_id: str) -> str:
    return f"task#{task_id}"


def index_keys(task: Task) -> dict[str, str | None]:
    tenant, state = task.tenant_id, task.state
    return {
        "tenant_state": f"{tenant}#{state}",
        "tenant_assignee": f"{tenant}#{task.assignee_id or UNASSIGNED}#{state}",
        "tenant_team": f"{tenant}#{task.team_id or UNASSIGNED}#{state}",
        "tenant_conversation": f"{tenant}#{task.conversation_id}" if task.conversation_id else None,
        "due_key": task.due_key,
    }


def task_to_item(task: Task) -> TaskItem:
    return TaskItem(
        task.tenant_id, task_sk(task.id), kind="task", task_id=task.id, number=task.number, title=task.title,
        description=task.description or None, status=str(task.status), deadline=task.deadline,
        assignee_id=task.assignee_id, team_id=task.team_id, conversation_id=task.conversation_id,
        created_by=task.created_by, created_at=task.created_at, updated_at=task.updated_at,
        overdue_at=task.overdue_at, deadline_version=task.deadline_version, version=task.version,
        changed_by=task.changed_by, **index_keys(task),
    )


def task_from_item(item: TaskItem) -> Task:
    return Task(
        tenant_id=item.pk, id=item.task_id or item.sk.split("#", 1)[1], number=int(item.number or 0),
        title=item.title or "", status=TaskStatus(item.status or TaskStatus.OPEN), description=item.description or "",
        deadline=item.deadline, assignee_id=item.assignee_id, team_id=item.team_id,
        conversation_id=item.conversation_id, created_by=item.created_by, created_at=item.created_at or "",
        updated_at=item.updated_at or "", overdue_at=item.overdue_at, deadline_version=int(item.deadline_version or 0),
        version=int(item.version or 0), changed_by=item.changed_by,
    )


@dataclass(frozen=True)
class Partition:
    """One index partition of tasks; ``before``: only tasks due before this instant (overdue)."""

    index: str  # by_state | by_assignee | by_team | by_conversation
    key: str
    before: str | None = None


class TaskStore:
    def __init__(self, runner: TransactionRunner) -> None:
        self._runner = runner

    def next_number(self, tenant_id: str) -> int:
        """The tenant's next task number: an atomic ADD, so concurrent creates never share one (a failed create
        leaves a gap, as ticket systems do)."""
        counter = TaskItem(tenant_id, COUNTER)
        counter.update(actions=[TaskItem.last_number.add(1), TaskItem.kind.set(COUNTER)])
        return int(counter.last_number)

    def create(self, task: Task, client_id: str | None = None) -> Task:
        """Store a new task; with ``client_id``, a retry returns the task the first attempt stored."""
        item = task_to_item(task)
        ops = [lambda tx: tx.save(item, condition=TaskItem.sk.does_not_exist())]
        if client_id:
            key = TaskItem(task.tenant_id, f"client#{client_id}", kind="client_key", task_id=task.id)
            ops.append(lambda tx: tx.save(key, condition=TaskItem.sk.does_not_exist()))
        failed = self._runner.run(ops)  # type: ignore[arg-type]
        if failed is None:
            return task
        if client_id and failed[-1]:
            existing = TaskItem.get(task.tenant_id, f"client#{client_id}", consistent_read=True)
            return self.get(task.tenant_id, existing.task_id)
        raise RuntimeError(f"task id {task.id} is taken")  # a fresh ULID: never, short of a broken clock

    def get(self, tenant_id: str, task_id: str) -> Task:
        try:
            item = TaskItem.get(tenant_id, task_sk(task_id), consistent_read=True)
        except TaskItem.DoesNotExist:
            raise NotFound("No such task.") from None
        if item.kind != "task":
            raise NotFound("No such task.")
        return task_from_item(item)

    def save(self, old: Task, new: Task) -> None:
        """Replace the task if nobody (no operator, no deadline timer) changed it since ``old`` was read."""
        try:
            task_to_item(new).save(condition=TaskItem.version == old.version)
        except PutError as exc:
            if getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException":
                raise TaskVersionConflict(old.id) from None
            raise

    def query(self, tenant_id: str, partition: Partition, start: dict | None, limit: int) -> Iterator[Task]:
        """Tasks of one partition in deadline order, after ``start`` (a key from ``start_key``)."""
        index = getattr(TaskItem, partition.index)
        condition = TaskItem.due_key < partition.before if partition.before else None
        for item in index.query(partition.key, condition, limit=None, page_size=limit, last_evaluated_key=start):
            yield task_from_item(item)

    @staticmethod
    def start_key(partition: Partition, task: Task) -> dict:
        """Where a query of ``partition`` resumes after ``task`` (DynamoDB's ExclusiveStartKey)."""
        keys = index_keys(task)
        hash_name = {"by_state": "tenant_state", "by_assignee": "tenant_assignee", "by_team": "tenant_team",
                     "by_conversation": "tenant_conversation"}[partition.index]
        return {"pk": {"S": task.tenant_id}, "sk": {"S": task_sk(task.id)}, hash_name: {"S": keys[hash_name]},
                "due_key": {"S": task.due_key}}
