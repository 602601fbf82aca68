"""The SLA service against the real tables (in-process moto), driven by the conversations stream as the reactions
consumer drives it, on a clock the test moves. The Step Functions timer is played by ``Timers``: it keeps what the
service starts and stops and, when the test's clock passes an alert, applies the conditional update of the real
state machine definition (infra/statemachines/sla.asl.json) to the table."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError

from switchboard.channels.base import WebhookRequest
from switchboard.domain import clock
from switchboard.domain.conversation import OperatorView
from switchboard.domain.errors import BadRequest, Forbidden, NotFound
from switchboard.domain.settings import Patch
from switchboard.services.conversations import ConversationService
from switchboard.services.notifications import NotificationService
from switchboard.services.sla import SlaService
from switchboard.store.notifications import NotificationStore
from switchboard.store.sla import SlaPolicyStore
from switchboard.store.writes import ConversationWriter
from tests.support.views import StreamFollower
from tests.unit.test_notification_service import Outbox, Sockets

ROOT = Path(__file__).resolve().parents[2]
TELEGRAM_TEXT = ROOT / "tests" / "fixtures" / "telegram" / "text.json"
RAISE = json.loads((ROOT / "infra" / "statemachines" / "sla.asl.json").read_text())["States"]["RaiseAlert"]
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
_message_ids = itertools.count(1)


class Clock:
    def __init__(self) -> None:
        self.moment = START

    def __call__(self) -> datetime:
        return self.moment

    def forward(self, **delta: float) -> None:
        self.moment += timedelta(**delta)


class Timers:
    """Stands in for Step Functions: each started execution raises its chained alerts in turn once the clock has
    passed them, through the RaiseAlert task's own parameters, and ends at the first refused (stale) update."""

    def __init__(self, table: str, now: Clock) -> None:
        self.table, self.now = table, now
        self.started: dict[str, dict] = {}  # name -> {"input", "at", "done": alerts raised so far, "ended"}
        self.stopped: list[str] = []

    # the SlaTimers interface
    def start(self, tenant_id, conversation_id, sla_version, alerts, now) -> None:  # type: ignore[no-untyped-def]
        from switchboard.timers.sla import SlaTimers, timer_input

        name = SlaTimers.execution_name(conversation_id, sla_version)
        self.started.setdefault(name, {"input": timer_input(tenant_id, conversation_id, sla_version, alerts, now),
                                       "at": now, "done": 0, "ended": None})

    def stop(self, conversation_id: str, sla_version: int) -> None:
        self.stopped.append(f"{conversation_id}-sla-{sla_version}")

    # playing the executions
    def keys(self, name: str) -> list[str]:
        node, keys = self.started[name]["input"]["alert"], []
        while node:
            keys.append(node["key"])
            node = node.get("next")
        return keys

    def run(self, name: str) -> None:
        """Raise what is due of one execution, even a stopped one (the version guard must hold on its own)."""
        execution = self.started[name]
        node, moment, index = execution["input"]["alert"], execution["at"], 0
        while node and execution["ended"] is None:
            moment += timedelta(seconds=node["seconds"])
            if moment > self.now():
                return
            if index >= execution["done"]:
                execution["done"] = index + 1
                if not self._raise(execution["input"], node):
                    execution["ended"] = "stale"
                    return
            node, index = node.get("next"), index + 1
        execution["ended"] = execution["ended"] or "done"

    def run_current(self) -> None:
        for name in list(self.started):
            if name not in self.stopped:
                self.run(name)

    def _raise(self, execution_input: dict, node: dict) -> bool:
        state = {**execution_input, "alert": node}
        parameters = _resolved(RAISE["Parameters"], state)
        parameters["TableName"] = self.table
        try:
            boto3.client("dynamodb").update_item(**parameters)
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True


def _resolved(template: object, state: dict) -> object:
    """ASL parameters with their ``.$`` paths (plain ``$.a.b``) read from ``state``."""
    if isinstance(template, dict):
        resolved = {}
        for key, value in template.items():
            if key.endswith(".$"):
                found = state
                for part in value.removeprefix("$.").split("."):
                    found = found[part]
                resolved[key[:-2]] = found
            else:
                resolved[key] = _resolved(value, state)
        return resolved
    return template


class Desk:
    """The demo workspace with SLA clocks running from the conversations stream, on the test's clock."""

    def __init__(self, services, demo, env_table: str) -> None:
        self.services, self.demo, self.now = services, demo, Clock()
        self.timers = Timers(env_table, self.now)
        writer = ConversationWriter(services.transactions)
        self.sla = SlaService(services.conversations, writer, SlaPolicyStore(cache_seconds=0), services.hours_store,
                              services.directory, self.timers, now=self.now)
        self.ops = ConversationService(services.conversations, services.messages, services.directory, writer,
                                       now=self.now, lists=services.conversation_lists,
                                       zone_of=services.hours_store.zone)
        self.sockets, self.outbox = Sockets(), Outbox()
        self.notifications = NotificationService(NotificationStore(services.transactions), services.directory,
                                                 services.conversations, services.connections, self.sockets,
                                                 self.outbox, now=self.now)
        self.delivered = []
        self.stream = StreamFollower(env_table, self._consume)
        people = {p["email"].split("@")[0]: p for p in demo["operators"]}
        self.view = {name: OperatorView(demo["tenant"]["id"], p["id"], p["role"], frozenset(p["team_ids"]),
                                        name=p["name"]) for name, p in people.items()}
        self.teams = {team["name"]: team["id"] for team in demo["teams"]}
        self._chat = 5550001234

    def _consume(self, change) -> None:  # type: ignore[no-untyped-def]
        self.delivered.append(change)
        self.sla.on_change(change.new, change.old)
        self.notifications.notify(change)

    def settle(self) -> None:
        """Let the stream consumer catch up, as the deployed one would."""
        while self.stream.drain():
            pass

    def customer_writes(self, text: str = "Where is my order?") -> str:
        update = json.loads(TELEGRAM_TEXT.read_text())
        update["update_id"] += next(_message_ids)
        update["message"]["text"] = text
        update["message"]["message_id"] = next(_message_ids)
        self._chat_of(update)
        inbox = next(i for i in self.demo["inboxes"] if i["channel"] == "telegram")
        request = WebhookRequest("POST", {"x-telegram-bot-api-secret-token": inbox["webhook_secret"]}, {},
                                 json.dumps(update).encode(), clock.iso(self.now()))
        self.services.webhooks.receive("telegram", inbox["id"], request)
        self.settle()
        [row] = [c for c in self._all() if c.contact_name and c.last_message.get("text") == text]
        return row.id

    def _chat_of(self, update: dict) -> None:
        for where in (update["message"]["from"], update["message"]["chat"]):
            where["id"] = self._chat

    def _all(self):  # type: ignore[no-untyped-def]
        return self.ops.list(self.view["owner"], status=None, assignee=None, limit=50, cursor=None)[0]

    def conversation(self, conversation_id: str):  # type: ignore[no-untyped-def]
        return self.services.conversations.get(self.view["owner"].tenant_id, conversation_id)

    def activity(self, conversation_id: str) -> list[str]:
        messages, _ = self.ops.messages(self.view["owner"], conversation_id, limit=100, cursor=None)
        return [m.text for m in messages if str(m.type) == "activity" and m.text.startswith("SLA")]

    def tick(self, **delta: float) -> None:
        """Time passes: due timers raise their alerts, and the stream carries them to the service."""
        self.now.forward(**delta)
        self.timers.run_current()
        self.settle()

    def inbox(self, who: str) -> list[tuple[str, str]]:
        listed = self.notifications.recent(self.view[who], limit=20, cursor=None)["items"]
        return [(item["event"], item["title"]) for item in listed]


@pytest.fixture
def desk(world):
    """Given the demo workspace (Support and Billing; anna in Support, sofia supervises both) with the SLA policy
    "Standard": first response 10 min, next response 5 min, resolution 1 h, escalating a breach by raising the
    priority and unassigning."""
    services, demo = world
    desk = Desk(services, demo, services.settings.conversations_table)
    desk.sla.set_policies(desk.view["owner"], [
        {"name": "Urgent", "match": {"priorities": ["urgent"]}, "first_response_minutes": 2},
        {"name": "Standard", "first_response_minutes": 10, "next_response_minutes": 5, "resolution_minutes": 60,
         "escalation": {"raise_priority": True, "unassign": True}}])
    return desk


def test_a_new_conversation_starts_its_clocks_and_their_timer(desk):
    conversation_id = desk.customer_writes()
    conversation = desk.conversation(conversation_id)
    assert (conversation.sla_state, conversation.sla_version) == ("none", 1)
    assert conversation.sla_due_at == clock.iso(START + timedelta(minutes=10))
    assert desk.timers.keys(f"{conversation_id}-sla-1") == [
        "1:first_response:warning", "1:first_response:breach", "1:resolution:warning", "1:resolution:breach"]
    view = desk.sla.record(desk.view["anna"], conversation_id)
    assert (view["policy"], [c["target"] for c in view["clocks"]]) == ("Standard", ["resolution", "first_response"])


def test_a_reply_stops_first_response_records_the_hit_and_replaces_the_timer(desk):
    conversation_id = desk.customer_writes()
    desk.now.forward(minutes=3)
    desk.ops.reply(desk.view["anna"], conversation_id, "Let me check", None)
    desk.settle()

    conversation = desk.conversation(conversation_id)
    assert conversation.sla_version == 2
    assert conversation.sla_due_at == clock.iso(START + timedelta(hours=1))
    assert desk.timers.stopped == [f"{conversation_id}-sla-1"]
    assert desk.timers.keys(f"{conversation_id}-sla-2") == ["2:resolution:warning", "2:resolution:breach"]
    [outcome] = desk.sla.record(desk.view["anna"], conversation_id)["record"]
    assert (outcome["target"], outcome["hit"], outcome["elapsed"], outcome["spare_seconds"]) == (
        "first_response", True, 180.0, 420.0)

    # And the replaced timer, had it not been stopped, changes nothing when its warning comes
    before = desk.conversation(conversation_id)
    desk.now.forward(minutes=6)
    desk.timers.run(f"{conversation_id}-sla-1")
    desk.settle()
    assert desk.timers.started[f"{conversation_id}-sla-1"]["ended"] == "stale"
    assert desk.conversation(conversation_id) == before


def test_warning_then_breach_notify_the_assignee_and_supervisors_and_escalate(desk):
    conversation_id = desk.customer_writes()
    desk.ops.assign(desk.view["owner"], conversation_id, assignee_id=desk.view["anna"].operator_id)
    desk.settle()
    desk.outbox.sent.clear()

    desk.tick(minutes=8)  # 80 % of the 10 minutes
    warned = desk.conversation(conversation_id)
    assert (warned.sla_state, warned.assignee_id, warned.priority) == ("warning", desk.view["anna"].operator_id,
                                                                       "normal")
    assert desk.activity(conversation_id) == ["SLA first response due in 2 min (10 min target)"]
    assert ("sla_warning", "SLA first response due soon: Søren Ålund") in desk.inbox("anna")
    assert ("sla_warning", "SLA first response due soon: Søren Ålund") in desk.inbox("sofia")
    assert desk.inbox("boris") == []  # Billing: not his team

    desk.tick(minutes=2)
    breached = desk.conversation(conversation_id)
    assert (breached.sla_state, breached.priority, breached.assignee_id) == ("breached", "high", None)
    assert breached.sla_due_at == clock.iso(START + timedelta(minutes=10))  # overdue: "breached" lists find it
    assert desk.activity(conversation_id)[1:] == [
        "SLA first response overdue (10 min target)",
        "SLA escalation: priority raised to high, unassigned, so round robin hands it to someone online"]
    for who in ("anna", "sofia"):
        assert desk.inbox(who)[0] == ("sla_breach", "SLA first response breached: Søren Ålund")
    assert sorted((mail["to"], mail["headers"]["X-Switchboard-Event"]) for mail in desk.outbox.sent) == [
        ("anna@acme.example", "sla_breach"), ("anna@acme.example", "sla_warning"),
        ("sofia@acme.example", "sla_breach"), ("sofia@acme.example", "sla_warning")]

    # When the answer finally comes, the record says by how much the target was missed
    desk.now.forward(minutes=4)
    desk.ops.reply(desk.view["sofia"], conversation_id, "Sorry for the wait", None)
    desk.settle()
    assert desk.activity(conversation_id)[-1] == "SLA first response breached: 10 min target, 4 min late"
    [outcome] = desk.sla.record(desk.view["sofia"], conversation_id)["record"]
    assert (outcome["hit"], outcome["late_seconds"]) == (False, 240.0)
    assert desk.conversation(conversation_id).sla_state == "none"  # resolution still runs, not yet warned


def test_an_escalation_can_move_the_conversation_to_another_team(desk):
    desk.sla.set_policies(desk.view["owner"], [
        {"name": "Standard", "first_response_minutes": 10,
         "escalation": {"at": "warning", "team_id": desk.teams["Billing"]}}])
    conversation_id = desk.customer_writes()
    desk.tick(minutes=8)
    moved = desk.conversation(conversation_id)
    assert (moved.team_id, moved.sla_state) == (desk.teams["Billing"], "warning")
    assert desk.activity(conversation_id)[-1] == "SLA escalation: moved to Billing"
    assert ("sla_warning", "SLA first response due soon: Søren Ålund") in desk.inbox("sofia")


def test_pending_pauses_the_clocks_and_a_customer_message_resumes_them(desk):
    conversation_id = desk.customer_writes()
    desk.now.forward(minutes=2)
    desk.ops.reply(desk.view["anna"], conversation_id, "Can you send the order number?", None, then_pending=True)
    desk.settle()
    paused = desk.conversation(conversation_id)
    assert (paused.sla_due_at, paused.status) == (None, "pending")

    desk.tick(hours=3)  # far past every target: nothing is raised while pending
    assert desk.conversation(conversation_id).sla_state == "none"
    assert desk.activity(conversation_id) == []

    desk.customer_writes("It is NW-2231")
    resumed = desk.conversation(conversation_id)
    view = desk.sla.record(desk.view["anna"], conversation_id)
    clocks = {c["target"]: c for c in view["clocks"]}
    assert clocks["resolution"]["used_seconds"] == 120.0  # the two minutes before the pause
    assert clocks["resolution"]["due_at"] == clock.iso(desk.now() + timedelta(minutes=58))
    assert clocks["next_response"]["due_at"] == clock.iso(desk.now() + timedelta(minutes=5))
    assert resumed.sla_due_at == clocks["next_response"]["due_at"]


def test_resolving_stops_every_clock_and_the_timer(desk):
    conversation_id = desk.customer_writes()
    desk.now.forward(minutes=1)
    desk.ops.resolve(desk.view["anna"], conversation_id)
    desk.settle()
    resolved = desk.conversation(conversation_id)
    assert (resolved.sla_due_at, resolved.sla_state, resolved.sla_version) == (None, "none", 2)
    assert f"{conversation_id}-sla-2" not in desk.timers.started  # nothing left to time
    assert desk.timers.stopped == [f"{conversation_id}-sla-1"]
    record = desk.sla.record(desk.view["anna"], conversation_id)["record"]
    assert sorted((o["target"], o["stopped_by"], o["hit"]) for o in record) == [
        ("first_response", "resolve", True), ("resolution", "resolve", True)]


def test_raising_the_priority_puts_the_conversation_under_the_stricter_policy(desk):
    conversation_id = desk.customer_writes()
    desk.now.forward(minutes=1)
    patch = Patch.parse({"priority": "urgent"})  # what the API's PATCH sends
    desk.services.conversation_settings.update(desk.view["anna"], conversation_id, patch, None)
    desk.settle()
    view = desk.sla.record(desk.view["anna"], conversation_id)
    assert view["policy"] == "Urgent"
    assert [(c["target"], c["target_seconds"]) for c in view["clocks"]] == [("first_response", 120)]
    assert view["due_at"] == clock.iso(START + timedelta(minutes=2))  # time already used still counts


def test_a_change_the_stream_delivers_again_is_applied_once(desk):
    conversation_id = desk.customer_writes()
    desk.tick(minutes=8)
    warning = next(change for change in desk.delivered if change.new is not None and change.new.sla_alert)
    before = desk.conversation(conversation_id)

    desk.sla.on_change(warning.new, warning.old)
    desk.settle()

    assert desk.conversation(conversation_id) == before
    assert desk.activity(conversation_id) == ["SLA first response due in 2 min (10 min target)"]


def test_a_workspace_without_policies_keeps_no_sla_state(desk):
    desk.sla.set_policies(desk.view["owner"], [])
    conversation_id = desk.customer_writes()
    desk.ops.reply(desk.view["anna"], conversation_id, "Hello", None)
    desk.settle()
    conversation = desk.conversation(conversation_id)
    assert (conversation.sla, conversation.sla_version, conversation.sla_due_at) == ({}, 0, None)
    assert desk.timers.started == {}


def test_only_admins_change_the_policies_and_a_bad_one_is_refused(desk):
    with pytest.raises(Forbidden):
        desk.sla.set_policies(desk.view["sofia"], [])
    with pytest.raises(Forbidden):
        desk.sla.policies(desk.view["anna"])
    assert [p.name for p in desk.sla.policies(desk.view["sofia"])] == ["Urgent", "Standard"]
    with pytest.raises(BadRequest) as refused:
        desk.sla.set_policies(desk.view["owner"], [{"name": "X", "first_response_minutes": 5,
                                                     "match": {"team_ids": ["no-such-team"]}}])
    assert refused.value.detail == "Policy 1 ('X'): 'no-such-team' in match.team_ids is not a team of this workspace."


def test_the_record_is_shown_only_to_who_may_see_the_conversation(desk):
    conversation_id = desk.customer_writes()
    with pytest.raises(NotFound):
        desk.sla.record(desk.view["boris"], conversation_id)  # Billing only; the conversation is Support's
