"""Starting and stopping task deadline executions. The state machine (infra/statemachines/task_deadline.asl.json)
waits until the deadline, then marks the task overdue only if its ``deadline_version`` is still current."""

from __future__ import annotations

from datetime import datetime

from ..domain import clock
from ..domain.tasks import Task
from ..store.tasks import task_sk
from .waits import seconds_until, start_once, stop_quietly


class TaskDeadlineTimers:
    def __init__(self, sfn_client: object, state_machine_arn: str) -> None:
        self._sfn = sfn_client
        self._arn = state_machine_arn

    @staticmethod
    def execution_name(task_id: str, deadline_version: int) -> str:
        return f"{task_id}-deadline-{deadline_version}"

    @staticmethod
    def payload(task: Task, now: datetime) -> dict:
        """The execution's input: how long to wait, and what the conditional update needs."""
        deadline = task.deadline or clock.iso(now)
        return {
            "tenant_id": task.tenant_id,
            "task_key": task_sk(task.id),
            "seconds": seconds_until(deadline, now, never_early=True),
            "deadline_version": str(task.deadline_version),
            "deadline": deadline,
        }

    def start(self, task: Task, now: datetime) -> None:
        """Start the deadline's timer; repeating it (a redelivered stream record) is harmless."""
        start_once(self._sfn, self._arn, self.execution_name(task.id, task.deadline_version), self.payload(task, now))

    def stop(self, task_id: str, deadline_version: int) -> None:
        """Cancel a replaced timer. The version guard makes this an optimisation, not a requirement."""
        name = self.execution_name(task_id, deadline_version)
        stop_quietly(self._sfn, self._arn, name, "Deadline moved or task done")
