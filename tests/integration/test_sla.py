"""SLA clocks on the local stack, with targets of a few seconds (the workspaces are open around the clock, so business
seconds are wall seconds): the real Step Functions timers raise the warning and then the breach, which notify the
assignee and the team's supervisor and escalate; a reply stops the clock and its timer; pending pauses it and a
customer message resumes it with the time left; and a timer whose SLA version is stale changes nothing.

Each test has a workspace of its own: SLA policies apply tenant-wide, and no other test should meet them."""

from __future__ import annotations

import itertools
import json
import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta

import boto3
import httpx
import pytest
from websockets.sync.client import connect

from switchboard.domain import clock
from tests.integration.helpers import Operator, TelegramCustomer, eventually

PASSWORD = "Sla-test-password-1"
_chat_ids = itertools.count(884_000_001)


@dataclass
class Workspace:
    """Teams Desk (every inbox's default) and Refunds; owner (both), ada (Desk), sam (supervisor of Desk) and
    cy (Refunds)."""

    stack: object
    tenant_id: str
    teams: dict = field(default_factory=dict)
    inbox: dict = field(default_factory=dict)
    emails: dict = field(default_factory=dict)
    _signed_in: dict = field(default_factory=dict)

    def operator(self, who: str) -> Operator:
        if who not in self._signed_in:
            self._signed_in[who] = Operator(self.stack, self.emails[who], PASSWORD)
        return self._signed_in[who]

    def policies(self, *policies: dict) -> None:
        answer = self.operator("owner").http.put("/v1/sla-policies", json={"policies": list(policies)})
        assert answer.status_code == 200, answer.text

    def customer(self, name: str) -> TelegramCustomer:
        return TelegramCustomer(self.stack, next(_chat_ids), first_name=name, inbox=self.inbox)

    def opened_by(self, customer: TelegramCustomer, text: str = "Where is my parcel?") -> str:
        """The customer writes; the id of the conversation, once its SLA clocks run."""
        customer.says(text)
        owner = self.operator("owner")
        row = eventually(lambda: next((c for c in owner.conversations(status="all")
                                       if c["contact"]["name"] == customer.first_name), None), timeout=20)
        eventually(lambda: self.sla(row["id"])["clocks"], timeout=20)
        return row["id"]

    def conversation(self, conversation_id: str) -> dict:
        return self.operator("owner").conversation(conversation_id)["conversation"]

    def sla(self, conversation_id: str) -> dict:
        answer = self.operator("owner").get(f"/v1/conversations/{conversation_id}/sla")
        assert answer.status_code == 200, answer.text
        return answer.json()

    def activity(self, conversation_id: str) -> list[str]:
        items = self.operator("owner").conversation(conversation_id)["messages"]["items"]
        return [m["text"] for m in items if m["type"] == "activity" and m["text"].startswith("SLA")]

    def notified(self, who: str, conversation_id: str) -> list[str]:
        """The SLA notifications ``who`` has about the conversation (in-app)."""
        items = self.operator(who).get("/v1/notifications", limit=50).json()["items"]
        return sorted(n["event"] for n in items if n["conversation_id"] == conversation_id
                      and n["event"].startswith("sla_"))

    def mailed(self, who: str, conversation_id: str) -> list[str]:
        answer = httpx.get(f"{self.stack.urls['gateway']}/sim/api/mail", params={"to": self.emails[who]}, timeout=10)
        assert answer.status_code == 200, answer.text
        return sorted(mail["subject"] for mail in answer.json()["messages"] if conversation_id in mail["text"])


@pytest.fixture
def workspace(stack, request) -> Workspace:
    from switchboard.wiring import services

    provisioning = services().provisioning
    tenant = provisioning.create_tenant(f"SLA {request.node.name[:40]}")
    space = Workspace(stack, tenant.id)
    for name in ("Desk", "Refunds"):
        space.teams[name] = provisioning.create_team(tenant, name).id
    desk = next(team for team in services().directory.teams(tenant.id) if team.id == space.teams["Desk"])
    inbox, credentials = provisioning.create_inbox(tenant, "telegram", "Telegram", default_team=desk)
    space.inbox = {"id": inbox.id, "channel": "telegram", "webhook_secret": credentials.webhook_secret}
    run = uuid.uuid4().hex[:8]
    teams = {team.id: team for team in services().directory.teams(tenant.id)}
    people = [("owner", "Otto Owner", "owner", ["Desk", "Refunds"]), ("ada", "Ada Desk", "operator", ["Desk"]),
              ("sam", "Sam Supervisor", "supervisor", ["Desk"]), ("cy", "Cy Refunds", "operator", ["Refunds"])]
    for short, name, role, member_of in people:
        email = f"{short}.{run}@sla.example"
        provisioning.create_operator(tenant, email=email, name=name, password=PASSWORD, role=role,
                                     teams=[teams[space.teams[team]] for team in member_of])
        space.emails[short] = email
    return space


def test_the_warning_then_the_breach_notify_mark_and_escalate(workspace, stack):
    # Given a 6-second first response target whose breach raises the priority, moves the conversation to Refunds
    # and unassigns it; round robin in Refunds, where Cy is online; Ada holds the conversation
    workspace.policies({"name": "Fast", "first_response_seconds": 6,
                        "escalation": {"raise_priority": True, "team_id": workspace.teams["Refunds"],
                                       "unassign": True}})
    owner = workspace.operator("owner")
    assert owner.http.patch(f"/v1/teams/{workspace.teams['Refunds']}", json={"auto_assign": True}).status_code == 200
    with connect(f"{stack.urls['ws']}?token={workspace.operator('cy').token}"):
        conversation_id = workspace.opened_by(workspace.customer("Wanda"))
        taken = workspace.operator("ada").post(f"/v1/conversations/{conversation_id}/take")
        assert taken.status_code == 200, taken.text

        # When nobody answers: the warning at 80 % (4.8 s) ...
        warned = eventually(lambda: workspace.conversation(conversation_id)["sla_state"] != "none" and
                            workspace.conversation(conversation_id), timeout=20)
        assert (warned["sla_state"], warned["assignee_id"]) == ("warning", workspace.operator("ada").id)

        # ... and the breach at 100 %
        escalated = eventually(lambda: (c := workspace.conversation(conversation_id))["assignee_id"] not in (
            None, workspace.operator("ada").id) and c, timeout=20)

    # Then it is marked breached and still due (in the past), escalated and handed to Cy by round robin
    assert escalated["sla_state"] == "breached"
    assert (escalated["priority"], escalated["team_id"], escalated["assignee_id"]) == (
        "high", workspace.teams["Refunds"], workspace.operator("cy").id)
    assert escalated["sla_due_at"] == workspace.sla(conversation_id)["due_at"] < clock.iso(clock.now())
    assert workspace.activity(conversation_id) == [
        "SLA first response due in 1 s (6 s target)",
        "SLA first response overdue (6 s target)",
        "SLA escalation: priority raised to high, moved to Refunds, unassigned, so round robin hands it to someone "
        "online"]
    # The assignee heard of the warning; the supervisor of the team heard of both, in the app and by e-mail
    assert workspace.notified("ada", conversation_id) == ["sla_warning"]
    assert eventually(lambda: workspace.notified("sam", conversation_id) == ["sla_breach", "sla_warning"])
    assert eventually(lambda: workspace.mailed("sam", conversation_id) == [
        "SLA first response breached: Wanda", "SLA first response due soon: Wanda"])
    assert workspace.mailed("ada", conversation_id) == ["SLA first response due soon: Wanda"]
    assert workspace.notified("owner", conversation_id) == []  # not a supervisor, not the assignee


def test_a_reply_stops_the_clock_and_its_timer(workspace, stack):
    workspace.policies({"name": "Fast", "first_response_seconds": 4})
    conversation_id = workspace.opened_by(workspace.customer("Rita"))
    first_version = workspace.conversation(conversation_id)  # its SLA timer runs for the first response

    # When Ada answers within the target
    answer = workspace.operator("ada").post(f"/v1/conversations/{conversation_id}/messages", {"text": "Hello!"})
    assert answer.status_code == 201, answer.text

    # Then the first response is recorded as hit, no clock runs, and the timer was stopped
    record = eventually(lambda: workspace.sla(conversation_id)["record"], timeout=20)
    assert [(o["target"], o["hit"], o["stopped_by"]) for o in record] == [("first_response", True, "reply")]
    assert workspace.conversation(conversation_id)["sla_due_at"] is None
    execution = _execution(stack, conversation_id, version=1)
    assert eventually(lambda: _status(execution) == "ABORTED", timeout=20)
    assert first_version["version"] < workspace.conversation(conversation_id)["version"]
    time.sleep(4.5)  # past the moment the stopped timer would have raised its breach
    after = workspace.conversation(conversation_id)
    assert (after["sla_state"], workspace.activity(conversation_id)) == ("none", [])


def test_pending_pauses_the_clock_and_the_customer_resumes_it_with_the_time_left(workspace, stack):
    workspace.policies({"name": "Fast", "first_response_seconds": 5})
    customer = workspace.customer("Petra")
    conversation_id = workspace.opened_by(customer)

    # When the conversation waits on the customer for longer than the whole target
    assert workspace.operator("ada").post(f"/v1/conversations/{conversation_id}/pending").status_code == 200
    paused = eventually(lambda: not workspace.sla(conversation_id)["clocks"][0]["running"]
                        and workspace.sla(conversation_id), timeout=20)
    time.sleep(6)

    # Then nothing was raised, and nothing is due
    assert workspace.conversation(conversation_id)["sla_state"] == "none"
    assert workspace.conversation(conversation_id)["sla_due_at"] is None
    [clock] = paused["clocks"]
    used = clock["used_seconds"]
    assert 0 < used < 5

    # When the customer writes again, the clock runs on with the time that was left, and then breaches
    customer.says("Here is the photo you asked for")
    running = eventually(lambda: (c := workspace.sla(conversation_id)["clocks"][0])["running"] and c, timeout=20)
    assert running["due_at"] == _plus(running["running_since"], 5 - used)
    assert eventually(lambda: workspace.conversation(conversation_id)["sla_state"] == "breached", timeout=20)
    [breached] = workspace.sla(conversation_id)["clocks"]
    assert breached["breached"] and breached["due_at"] == running["due_at"]


def test_a_timer_whose_sla_version_is_stale_changes_nothing(workspace, stack):
    workspace.policies({"name": "Slow", "first_response_seconds": 600})
    conversation_id = workspace.opened_by(workspace.customer("Sven"))
    table = boto3.resource("dynamodb").Table(stack.outputs["ConversationsTableName"])
    key = {"tenant_id": workspace.tenant_id, "conversation_id": conversation_id}
    before = table.get_item(Key=key, ConsistentRead=True)["Item"]
    assert before["sla_version"] == 1

    # When a timer of an older SLA version raises a breach at once
    sfn = boto3.client("stepfunctions")
    execution = sfn.start_execution(
        stateMachineArn=stack.outputs["SlaStateMachineArn"], name=f"test-{conversation_id}-sla-0",
        input=json.dumps({"tenant_id": workspace.tenant_id, "conversation_id": conversation_id, "sla_version": "0",
                          "alert": {"seconds": 0, "key": "0:first_response:breach", "next": None}}))["executionArn"]
    assert eventually(lambda: _status(execution) != "RUNNING", timeout=20)

    # Then it ended quietly through StaleTimer and the conversation is exactly as it was
    assert _status(execution) == "SUCCEEDED"
    entered = [e["stateEnteredEventDetails"]["name"] for e in sfn.get_execution_history(
        executionArn=execution)["events"] if "stateEnteredEventDetails" in e]
    assert entered == ["WaitForAlert", "RaiseAlert", "StaleTimer"]
    assert table.get_item(Key=key, ConsistentRead=True)["Item"] == before
    assert workspace.conversation(conversation_id)["sla_state"] == "none"


def test_policies_are_for_admins_and_a_bad_one_is_a_clear_400(workspace):
    refused = workspace.operator("ada").http.put("/v1/sla-policies", json={"policies": []})
    assert refused.status_code == 403
    assert workspace.operator("ada").get("/v1/sla-policies").status_code == 403
    bad = workspace.operator("owner").http.put("/v1/sla-policies", json={"policies": [
        {"name": "Vague", "first_response_minutes": "soon"}]})
    assert bad.status_code == 400
    assert bad.json()["detail"] == ("Policy 1 ('Vague'): first_response must be a whole number of business minutes, "
                                    "more than 0 and at most a year.")
    workspace.policies({"name": "Desk", "match": {"team_ids": [workspace.teams["Desk"]]}, "resolution_minutes": 480})
    assert workspace.operator("sam").get("/v1/sla-policies").json() == {"policies": [
        {"name": "Desk", "match": {"team_ids": [workspace.teams["Desk"]]}, "resolution_minutes": 480}]}


def _execution(stack, conversation_id: str, version: int) -> str:
    arn = stack.outputs["SlaStateMachineArn"]
    return arn.replace(":stateMachine:", ":execution:") + f":{conversation_id}-sla-{version}"


def _status(execution_arn: str) -> str:
    return boto3.client("stepfunctions").describe_execution(executionArn=execution_arn)["status"]


def _plus(iso: str, seconds: float) -> str:
    return clock.iso(clock.parse_iso(iso) + timedelta(seconds=seconds))
