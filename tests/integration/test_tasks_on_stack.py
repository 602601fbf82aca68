"""Tasks on the local stack: created through the API from a conversation, the assignee notified; the deadline timer (a
Step Functions execution) marks the task overdue and notifies the assignee when the deadline passes; a moved deadline
leaves the old timer nothing to do, even if it ran."""

from __future__ import annotations

import itertools
import json
import time
from datetime import UTC, datetime, timedelta

import boto3

from tests.integration.helpers import TelegramCustomer, conversation_of, demo_operator, eventually

_chat_ids = itertools.count(440_000_001)


def soon(seconds: float) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat(timespec="milliseconds")


def notifications_about(operator, number: int) -> list[dict]:
    items = operator.get("/v1/notifications", limit=50).json()["items"]
    return [n for n in items if f"#{number}" in n["title"]]


def test_a_task_from_a_conversation_notifies_its_assignee_and_again_when_the_deadline_passes(
        stack, owner, anna, wait_idle, request):
    customer = TelegramCustomer(stack, next(_chat_ids), first_name=f"Tess {request.node.name[-20:]}")
    customer.says("The parcel arrived broken. Photo attached later.")
    row = eventually(lambda: conversation_of(owner, customer.first_name, status="open"))
    message = owner.conversation(row["id"])["messages"]["items"][0]
    created = owner.post("/v1/tasks", {"conversation_id": row["id"], "message_id": message["id"],
                                       "assignee_id": anna.id, "deadline": soon(2)})
    assert created.status_code == 201, created.text
    task = created.json()
    assert (task["title"], task["description"], task["conversation_id"], task["assignee_name"]) == (
        "The parcel arrived broken. Photo attached later.", message["text"], row["id"], "Anna Support")
    assert task["team_name"] == "Support" and task["status"] == "open" and task["overdue"] is False
    assigned = eventually(lambda: notifications_about(anna, task["number"]))
    assert [(n["event"], n["title"]) for n in assigned] == [
        ("task_assigned", f"Olivia Owner assigned you task #{task['number']}")]
    # When the deadline passes, the timer marks it overdue and Anna is told
    overdue = eventually(lambda: [n for n in notifications_about(anna, task["number"])
                                  if n["event"] == "task_overdue"], timeout=15)
    assert overdue[0]["title"] == f"Task #{task['number']} is overdue"
    assert overdue[0]["conversation_id"] == row["id"]
    after = anna.get(f"/v1/tasks/{task['id']}").json()
    assert after["overdue"] is True and after["overdue_at"] == task["deadline"]
    listed = anna.get("/v1/tasks", view="overdue", assignee="me").json()["items"]
    assert task["id"] in [t["id"] for t in listed]
    # And when she is done, it leaves the current list for the done list
    assert anna.http.patch(f"/v1/tasks/{task['id']}", json={"status": "done"}).json()["overdue"] is False
    assert task["id"] in [t["id"] for t in anna.get("/v1/tasks", view="done", assignee="me").json()["items"]]
    assert task["id"] not in [t["id"] for t in anna.get("/v1/tasks", assignee="me").json()["items"]]
    wait_idle()


def test_a_moved_deadline_leaves_the_old_timer_nothing_to_do(stack, owner, anna, wait_idle):
    created = owner.post("/v1/tasks", {"title": "Call the courier", "assignee_id": anna.id, "deadline": soon(2)})
    assert created.status_code == 201, created.text
    task = created.json()
    moved = anna.http.patch(f"/v1/tasks/{task['id']}", json={"deadline": soon(3600), "version": task["version"]})
    assert moved.status_code == 200, moved.text
    time.sleep(3)  # past the first deadline
    wait_idle()
    after = anna.get(f"/v1/tasks/{task['id']}").json()
    assert (after["overdue"], after["overdue_at"], after["version"]) == (False, None, moved.json()["version"])
    assert [n["event"] for n in notifications_about(anna, task["number"])] == ["task_assigned"]


def test_a_stale_deadline_timer_that_runs_anyway_changes_nothing(stack, owner, anna, wait_idle):
    # Given a task whose deadline was moved (deadline_version 1), and a timer of the old deadline (version 0)
    task = owner.post("/v1/tasks", {"title": "Order a replacement", "deadline": soon(3600)}).json()
    moved = owner.http.patch(f"/v1/tasks/{task['id']}", json={"deadline": soon(7200)}).json()
    wait_idle()
    sfn = boto3.client("stepfunctions")
    execution = sfn.start_execution(
        stateMachineArn=stack.outputs["TaskDeadlineStateMachineArn"], name=f"test-stale-{task['id']}",
        input=json.dumps({"tenant_id": stack.demo["tenant"]["id"], "task_key": f"task#{task['id']}", "seconds": 0,
                          "deadline_version": "0", "deadline": task["deadline"]}),
    )["executionArn"]
    # When it runs to its end
    eventually(lambda: sfn.describe_execution(executionArn=execution)["status"] != "RUNNING")
    # Then it ended quietly through StaleTimer and the task is as it was
    assert sfn.describe_execution(executionArn=execution)["status"] == "SUCCEEDED"
    entered = [event["stateEnteredEventDetails"]["name"] for event in
               sfn.get_execution_history(executionArn=execution)["events"] if "stateEnteredEventDetails" in event]
    assert entered[-1] == "StaleTimer"
    after = owner.get(f"/v1/tasks/{task['id']}").json()
    assert (after["overdue_at"], after["version"]) == (None, moved["version"])


def test_operators_see_their_own_and_their_teams_tasks_and_bad_requests_are_400s(stack, owner, anna):
    boris = demo_operator(stack, "boris@acme.example")  # Billing only
    teams = {team["name"]: team["id"] for team in owner.get("/v1/teams").json()["items"]}
    billing = owner.post("/v1/tasks", {"title": "Check invoice 88", "team_id": teams["Billing"]}).json()
    assert boris.get(f"/v1/tasks/{billing['id']}").status_code == 200
    assert anna.get(f"/v1/tasks/{billing['id']}").status_code == 404
    assert billing["id"] in [t["id"] for t in boris.get("/v1/tasks", team=teams["Billing"]).json()["items"]]
    assert anna.get("/v1/tasks", team=teams["Billing"]).status_code == 403
    for body in ({}, {"title": "x", "deadline": "yesterday"}, {"title": "x", "deadline": soon(-60)},
                 {"title": "x", "priority": "high"}):
        refused = owner.post("/v1/tasks", body)
        assert (refused.status_code, refused.headers["content-type"]) == (400, "application/problem+json")
    assert owner.http.patch(f"/v1/tasks/{billing['id']}", json={"status": "blocked"}).status_code == 400
    assert owner.http.patch(f"/v1/tasks/{billing['id']}", json={"status": "done", "version": 0}).status_code == 409
