"""Tasks: the pure rules (changes, deadline timers, who is told), and the service on the template's tables — numbers
per tenant, tasks from messages, who sees which task, the current / overdue / done lists, stale writes — plus the
deadline timers and notifications the tasks stream drives."""

from __future__ import annotations

import dataclasses
import threading
from datetime import UTC, datetime, timedelta

import pytest

from switchboard.domain import clock
from switchboard.domain.conversation import OperatorView
from switchboard.domain.errors import BadRequest, Conflict, Forbidden, NotFound
from switchboard.domain.notifications import Event, task_notifications
from switchboard.domain.tasks import Task, TaskPatch, TaskQuery, TaskStatus, TaskView, timer_changes
from switchboard.services.notifications import NotificationService
from switchboard.services.tasks import TaskDeadlines, TaskService
from switchboard.store.notifications import NotificationStore
from switchboard.store.streams import Change, parse_record
from switchboard.store.tasks import TaskStore, task_to_item
from switchboard.timers.task_deadline import TaskDeadlineTimers
from tests.unit.test_conversation_settings import person
from tests.unit.test_notification_service import Outbox, Sockets
from tests.unit.test_services import deliver, only_conversation, update
from tests.unit.test_snooze_timers import FakeStepFunctions

NOW = datetime(2026, 7, 15, 10, 0, tzinfo=UTC)
ARN = "arn:aws:states:us-east-1:123456789012:stateMachine:deadline"


def task(**fields) -> Task:
    base = Task(tenant_id="t", id="T1", number=7, title="Refund order A-1", deadline=clock.iso(NOW + timedelta(days=1)),
                assignee_id="anna", version=1, changed_by="owner")
    return dataclasses.replace(base, **fields)


def patched(current: Task, body: dict) -> Task:
    return TaskPatch.parse(body, NOW).apply(current)


# ------------------------------------------------------------------ pure rules
def test_moving_the_deadline_needs_a_new_timer_and_clears_the_overdue_mark():
    overdue = task(overdue_at=clock.iso(NOW))
    moved = patched(overdue, {"deadline": "2026-07-20T09:00:00+02:00"})
    assert (moved.deadline, moved.deadline_version, moved.overdue_at) == ("2026-07-20T07:00:00.000Z", 1, None)
    assert timer_changes(overdue, moved) == (True, False)  # the old timer already fired


def test_a_title_change_keeps_the_timer_and_done_stops_it_and_reopening_starts_a_new_one():
    current = task()
    retitled = patched(current, {"title": "Refund order A-2"})
    assert retitled.deadline_version == 0 and timer_changes(current, retitled) == (False, False)
    done = patched(current, {"status": "done"})
    assert timer_changes(current, done) == (False, True)
    reopened = patched(done, {"status": "open"})
    assert reopened.deadline_version == 1 and timer_changes(done, reopened) == (True, False)


def test_a_new_task_with_a_deadline_starts_a_timer_and_one_without_does_not():
    assert timer_changes(None, task()) == (True, False)
    assert timer_changes(None, task(deadline=None)) == (False, False)
    assert timer_changes(task(), task(deadline=None, deadline_version=1)) == (False, True)


@pytest.mark.parametrize(("body", "says"), [
    ({}, "Give one or more of"),
    ({"status": "blocked"}, "Unknown status"),
    ({"deadline": "2026-07-15T09:00:00Z"}, "in the future"),
    ({"deadline": "2027-07-16T10:00:00Z"}, "at most a year"),
    ({"deadline": "2026-07-20T09:00:00"}, "time zone offset"),
    ({"title": " "}, "title must be"),
    ({"priority": "high"}, "Give one or more of"),
])
def test_a_bad_change_is_a_400_that_says_what_is_wrong(body, says):
    with pytest.raises(BadRequest, match=says):
        TaskPatch.parse(body, NOW)


def test_the_list_takes_one_view_and_at_most_one_scope():
    assert TaskQuery.parse({}) == TaskQuery(TaskView.CURRENT)
    assert TaskQuery.parse({"view": "overdue", "assignee": "me"}).view is TaskView.OVERDUE
    for bad in ({"view": "late"}, {"assignee": "me", "team": "x"}, {"sort": "deadline"}):
        with pytest.raises(BadRequest):
            TaskQuery.parse(bad)


def test_the_assignee_hears_of_a_new_task_a_reassignment_and_the_deadline_passing_but_not_of_their_own_doing():
    names = {"owner": "Olivia Owner"}
    [assigned] = task_notifications(None, task(), names)
    assert (assigned.event, assigned.recipient_id, assigned.title) == (
        Event.TASK_ASSIGNED, "anna", "Olivia Owner assigned you task #7")
    assert task_notifications(None, task(changed_by="anna"), names) == []  # Anna made it for herself
    assert task_notifications(task(), task(title="Other", version=2), names) == []
    [overdue] = task_notifications(task(), task(overdue_at=clock.iso(NOW), version=2, changed_by=None), names)
    assert (overdue.event, overdue.title, overdue.actor_id) == (Event.TASK_OVERDUE, "Task #7 is overdue", None)
    assert task_notifications(task(status=TaskStatus.DONE), task(status=TaskStatus.DONE, overdue_at="x"), names) == []
    assert task_notifications(None, task(assignee_id=None), names) == []


# ------------------------------------------------------------------ the service, on moto
def tasks_at(services, now: datetime) -> TaskService:
    return TaskService(TaskStore(services.transactions), services.conversations, services.messages,
                       services.directory, now=lambda: now)


def people(demo) -> dict[str, OperatorView]:
    return {email.split("@")[0]: person(demo, email) for email in
            ("owner@acme.example", "anna@acme.example", "boris@acme.example", "sofia@acme.example")}


def test_numbers_count_up_per_tenant_even_when_created_at_once(world):
    services, demo = world
    anna = people(demo)["anna"]
    numbers, start = [], threading.Barrier(5)

    def create(n: int) -> None:
        start.wait()
        numbers.append(services.tasks.create(anna, {"title": f"Task {n}"}).number)

    threads = [threading.Thread(target=create, args=(n,)) for n in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(numbers) == [1, 2, 3, 4, 5]
    assert services.tasks.create(anna, {"title": "Later"}).number == 6


def test_a_retried_create_with_the_same_client_id_stores_one_task(world):
    services, demo = world
    anna = people(demo)["anna"]
    first = services.tasks.create(anna, {"title": "Call back", "client_id": "c-1"})
    again = services.tasks.create(anna, {"title": "Call back", "client_id": "c-1"})
    assert again.id == first.id
    page, _ = services.tasks.list(anna, {"assignee": "me"}, limit=10, cursor=None)
    assert page == []  # created, not assigned to her
    page, _ = services.tasks.list(people(demo)["owner"], {}, limit=10, cursor=None)
    assert [t.id for t in page] == [first.id]


def test_a_task_from_a_message_takes_the_message_as_description_and_the_conversations_team(world):
    services, demo = world
    deliver(services, demo, update(1, 1, "My order A-1 never arrived.\nPlease refund it."))
    conversation = only_conversation(services, demo)
    message, _ = services.conversation_service.messages(people(demo)["owner"], conversation.id, limit=5, cursor=None)
    made = services.tasks.create(people(demo)["anna"], {"conversation_id": conversation.id,
                                                        "message_id": message[0].id})
    assert (made.title, made.description) == ("My order A-1 never arrived.",
                                              "My order A-1 never arrived.\nPlease refund it.")
    assert made.team_id == conversation.team_id and made.conversation_id == conversation.id
    page, _ = services.tasks.list(people(demo)["anna"], {"conversation_id": conversation.id}, limit=5, cursor=None)
    assert [t.id for t in page] == [made.id]


def test_operators_see_tasks_of_conversations_they_may_see_and_their_own(world):
    services, demo = world
    who = people(demo)
    deliver(services, demo, update(1, 1, "hello"))  # the Telegram inbox routes to Support
    conversation = only_conversation(services, demo)
    support_task = services.tasks.create(who["anna"], {"title": "Check", "conversation_id": conversation.id})
    with pytest.raises(NotFound):
        services.tasks.get(who["boris"], support_task.id)
    with pytest.raises(NotFound):
        services.tasks.create(who["boris"], {"title": "Peek", "conversation_id": conversation.id})
    with pytest.raises(Forbidden):
        services.tasks.list(who["boris"], {"assignee": who["anna"].operator_id}, limit=5, cursor=None)
    given = services.tasks.update(who["anna"], support_task.id, {"assignee_id": who["boris"].operator_id})
    assert services.tasks.get(who["boris"], support_task.id).id == given.id  # now his own
    mine, _ = services.tasks.list(who["boris"], {}, limit=5, cursor=None)
    assert [t.id for t in mine] == [support_task.id]


def test_current_overdue_and_done_lists_in_deadline_order(world):
    services, demo = world
    anna = people(demo)["anna"]
    made = {name: tasks_at(services, NOW).create(anna, {"title": name, "assignee_id": anna.operator_id, **extra})
            for name, extra in [("late", {"deadline": "2026-07-15T12:00:00Z"}), ("no deadline", {}),
                                ("soon", {"deadline": "2026-07-15T11:00:00Z"}),
                                ("next week", {"deadline": "2026-07-22T11:00:00Z"})]}
    later = tasks_at(services, NOW + timedelta(hours=3))  # 13:00: "soon" and "late" have passed
    later.update(anna, made["soon"].id, {"status": "done"})

    def titles(view: str, scope: dict) -> list[str]:
        page, _ = later.list(anna, {"view": view, **scope}, limit=10, cursor=None)
        return [t.title for t in page]

    for scope in ({}, {"assignee": "me"}):
        assert titles("current", scope) == ["late", "next week", "no deadline"]
        assert titles("overdue", scope) == ["late"]
        assert titles("done", scope) == ["soon"]


def test_pages_follow_the_cursor_without_repeats(world):
    services, demo = world
    owner = people(demo)["owner"]
    for n in range(7):
        tasks_at(services, NOW).create(owner, {"title": f"T{n}", "deadline": f"2026-07-16T1{n}:00:00Z"})
    seen, cursor = [], None
    while True:
        page, cursor = services.tasks.list(owner, {}, limit=3, cursor=cursor)
        seen += [t.title for t in page]
        if cursor is None:
            break
    assert seen == [f"T{n}" for n in range(7)]


def test_a_change_against_a_stale_view_is_refused(world):
    services, demo = world
    anna = people(demo)["anna"]
    made = services.tasks.create(anna, {"title": "Call back"})
    services.tasks.update(anna, made.id, {"status": "in_progress", "version": made.version})
    with pytest.raises(Conflict) as refused:
        services.tasks.update(anna, made.id, {"status": "done", "version": made.version})
    assert refused.value.extra["version"] == made.version + 1


# ------------------------------------------------------------------ from the tasks stream
def test_the_stream_starts_the_deadline_timer_and_a_moved_deadline_replaces_it(world):
    services, demo = world
    anna, sfn = people(demo)["anna"], FakeStepFunctions()
    deadlines = TaskDeadlines(TaskDeadlineTimers(sfn, ARN), now=lambda: NOW)
    made = tasks_at(services, NOW).create(anna, {"title": "Ship", "deadline": "2026-07-29T10:00:00Z"})
    deadlines.on_change(Change("tasks", "INSERT", made, None, {}))
    payload = sfn.started[f"{made.id}-deadline-0"]
    assert payload == {"tenant_id": made.tenant_id, "task_key": f"task#{made.id}", "seconds": 14 * 24 * 3600,
                       "deadline_version": "0", "deadline": "2026-07-29T10:00:00.000Z"}
    moved = tasks_at(services, NOW).update(anna, made.id, {"deadline": "2026-07-30T10:00:00Z"})
    deadlines.on_change(Change("tasks", "MODIFY", moved, made, {}))
    assert f"{made.id}-deadline-1" in sfn.started and sfn.stopped == [f"{made.id}-deadline-0"]


def test_a_task_stream_record_reads_back_as_the_task(world):
    services, demo = world
    made = tasks_at(services, NOW).create(people(demo)["anna"], {"title": "Read me",
                                                                 "deadline": "2026-08-01T00:00:00Z"})
    table = services.settings.tasks_table
    record = {"eventName": "INSERT", "eventSourceARN": f"arn:aws:dynamodb:us-east-1:1:table/{table}/stream/x",
              "dynamodb": {"NewImage": task_to_item(made).serialize(), "SequenceNumber": "1"}}
    change = parse_record(record)
    assert (change.table, change.new, change.old) == ("tasks", made, None)
    counter = {**record, "dynamodb": {"NewImage": {"pk": {"S": made.tenant_id}, "sk": {"S": "counter"},
                                                   "kind": {"S": "counter"}, "last_number": {"N": "1"}}}}
    assert parse_record(counter) is None


def test_the_assignee_is_told_once_when_given_a_task_and_when_its_deadline_passes(world):
    services, demo = world
    who = people(demo)
    sockets, outbox = Sockets(), Outbox()
    notifications = NotificationService(NotificationStore(services.transactions), services.directory,
                                        services.conversations, services.connections, sockets, outbox)
    made = tasks_at(services, NOW).create(who["owner"], {"title": "Refund A-1", "assignee_id": who["anna"].operator_id,
                                                         "deadline": "2026-07-16T10:00:00Z"})
    created = Change("tasks", "INSERT", made, None, {})
    assert notifications.notify(created) == 1
    assert notifications.notify(created) == 0  # the stream delivered it again
    overdue = dataclasses.replace(made, overdue_at=made.deadline, version=made.version + 1, changed_by=None)
    assert notifications.notify(Change("tasks", "MODIFY", overdue, made, {})) == 1
    recent = services.notifications.recent(who["anna"], limit=5, cursor=None)["items"]
    assert [(n["event"], n["title"], n["body"]) for n in recent] == [
        ("task_overdue", f"Task #{made.number} is overdue", "Refund A-1"),
        ("task_assigned", f"Olivia Owner assigned you task #{made.number}", "Refund A-1")]
    assert [mail["subject"] for mail in outbox.sent] == [recent[1]["title"], recent[0]["title"]]
