"""Distribution on the local stack: take (and the take race) in the demo workspace; round robin over operators with
an open socket, the cap, the backlog handed out on connect and when a slot frees, availability, and routing rules
of every kind in workspaces of their own, so that no other test sees auto-assign or routing rules."""

from __future__ import annotations

import itertools
import threading
import uuid
from contextlib import ExitStack
from dataclasses import dataclass, field

import httpx
import pytest
from websockets.sync.client import connect

from tests.integration.helpers import Operator, TelegramCustomer, conversation_of, demo_operator, eventually

_chat_ids = itertools.count(991_000_001)
PASSWORD = "Distribution-test-1"


# ------------------------------------------------------------------ a workspace of the test's own
@dataclass
class Workspace:
    """A tenant with its own teams, inboxes and operators, made through the provisioning service."""

    stack: object
    tenant: object
    teams: dict = field(default_factory=dict)  # name -> Team
    inboxes: dict = field(default_factory=dict)  # name -> {"id", "webhook_secret", "channel"}
    emails: dict = field(default_factory=dict)  # short name -> e-mail
    _signed_in: dict = field(default_factory=dict)

    def operator(self, who: str) -> Operator:
        if who not in self._signed_in:
            self._signed_in[who] = Operator(self.stack, self.emails[who], PASSWORD)
        return self._signed_in[who]

    def customer(self, name: str, inbox: str = "Telegram") -> TelegramCustomer:
        return TelegramCustomer(self.stack, next(_chat_ids), first_name=name, inbox=self.inboxes[inbox])

    def socket(self, who: str):
        return connect(f"{self.stack.urls['ws']}?token={self.operator(who).token}")

    def team_settings(self, team: str, **settings) -> httpx.Response:
        return self.operator("owner").http.patch(f"/v1/teams/{self.teams[team].id}", json=settings)

    def row(self, name: str) -> dict:
        """The customer's conversation as the list shows it (lists follow the stream, so it may take a moment)."""
        return eventually(lambda: conversation_of(self.operator("owner"), name, status="open"))

    def assignee_of(self, name: str) -> str | None:
        """Read from the conversation itself, not from the list: exact at once."""
        return self.operator("owner").conversation(self.row(name)["id"])["conversation"]["assignee_id"]

    def activity(self, conversation_id: str) -> list[str]:
        items = self.operator("owner").conversation(conversation_id)["messages"]["items"]
        return [m["text"] for m in items if m["type"] == "activity"]


@pytest.fixture
def workspace(stack, request) -> Workspace:
    """Teams Desk (default of every inbox) and Refunds; owner (both teams), ada and bo (Desk), cy (Refunds)."""
    from switchboard.wiring import services

    provisioning = services().provisioning
    tenant = provisioning.create_tenant(f"Distribution {request.node.name[:40]}")
    space = Workspace(stack, tenant)
    for name in ("Desk", "Refunds"):
        space.teams[name] = provisioning.create_team(tenant, name)
    for channel, name in (("telegram", "Telegram"), ("telegram", "Telegram VIP"), ("widget", "Web chat")):
        inbox, credentials = provisioning.create_inbox(tenant, channel, name, default_team=space.teams["Desk"])
        space.inboxes[name] = {"id": inbox.id, "channel": channel, "webhook_secret": credentials.webhook_secret}
    run = uuid.uuid4().hex[:8]
    people = [("owner", "Otto Owner", "owner", ["Desk", "Refunds"]), ("ada", "Ada Desk", "operator", ["Desk"]),
              ("bo", "Bo Desk", "operator", ["Desk"]), ("cy", "Cy Refunds", "operator", ["Refunds"])]
    for short, name, role, teams in people:  # created in this order: ada's id sorts before bo's
        email = f"{short}.{run}@distribution.example"
        provisioning.create_operator(tenant, email=email, name=name, password=PASSWORD, role=role,
                                     teams=[space.teams[t] for t in teams])
        space.emails[short] = email
    return space


# ------------------------------------------------------------------ take (demo workspace)
@pytest.fixture
def demo_customer(stack, request):
    return TelegramCustomer(stack, next(_chat_ids), first_name=f"Taker {request.node.name[-30:]}")


def test_take_puts_an_unassigned_conversation_into_mine_and_someone_elses_is_409(stack, demo_customer):
    anna, sofia = demo_operator(stack, "anna@acme.example"), demo_operator(stack, "sofia@acme.example")
    demo_customer.says("Can someone take this?")
    row = eventually(lambda: conversation_of(anna, demo_customer.first_name, assignee="unassigned"))
    # When Anna takes it from the team list
    taken = anna.post(f"/v1/conversations/{row['id']}/take")
    assert taken.status_code == 200, taken.text
    assert (taken.json()["assignee_id"], taken.json()["assignee_name"]) == (anna.id, "Anna Support")
    assert eventually(lambda: conversation_of(anna, demo_customer.first_name, assignee="me"))["id"] == row["id"]
    # Then taking it again is fine, and Sofia's take is refused with who has it
    assert anna.post(f"/v1/conversations/{row['id']}/take").status_code == 200
    refused = sofia.post(f"/v1/conversations/{row['id']}/take")
    assert refused.status_code == 409
    problem = refused.json()
    assert (problem["code"], problem["assignee_id"], problem["assignee_name"]) == (
        "already_assigned", anna.id, "Anna Support")
    assert problem["detail"] == "Anna Support already has this conversation."
    assert problem["version"] == taken.json()["version"]
    activity = [m["text"] for m in anna.conversation(row["id"])["messages"]["items"] if m["type"] == "activity"]
    assert activity == ["Anna Support took this"]


def test_of_two_operators_taking_at_once_exactly_one_wins(stack, demo_customer):
    anna, sofia = demo_operator(stack, "anna@acme.example"), demo_operator(stack, "sofia@acme.example")
    demo_customer.says("First come, first served")
    row = eventually(lambda: conversation_of(anna, demo_customer.first_name, assignee="unassigned"))
    start, answers = threading.Barrier(2), {}

    def take(name, operator):
        start.wait(timeout=10)
        answers[name] = operator.post(f"/v1/conversations/{row['id']}/take")

    threads = [threading.Thread(target=take, args=pair) for pair in (("anna", anna), ("sofia", sofia))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(answer.status_code for answer in answers.values()) == [200, 409]
    winner = next(name for name, answer in answers.items() if answer.status_code == 200)
    holder = anna.conversation(row["id"])["conversation"]["assignee_id"]
    assert holder == {"anna": anna.id, "sofia": sofia.id}[winner]
    assert next(a for a in answers.values() if a.status_code == 409).json()["assignee_id"] == holder
    activity = [m["text"] for m in anna.conversation(row["id"])["messages"]["items"] if m["type"] == "activity"]
    assert len(activity) == 1 and activity[0].endswith("took this")


def test_take_of_an_unknown_conversation_is_404(stack):
    assert demo_operator(stack, "anna@acme.example").post("/v1/conversations/01NOSUCHCONVERSATION/take"
                                                          ).status_code == 404


# ------------------------------------------------------------------ round robin
def test_round_robin_hands_new_conversations_in_turn_to_members_online(workspace, wait_idle):
    assert workspace.team_settings("Desk", auto_assign=True).json() == {
        "id": workspace.teams["Desk"].id, "name": "Desk", "auto_assign": True, "assignment_cap": None}
    ada, bo = workspace.operator("ada"), workspace.operator("bo")
    with workspace.socket("ada"), workspace.socket("bo"), workspace.socket("cy"):  # cy is not in Desk
        for n in range(4):
            workspace.customer(f"Round {n}").says(f"Question {n}")
            wait_idle()
        owners = [workspace.assignee_of(f"Round {n}") for n in range(4)]
    assert owners == [ada.id, bo.id, ada.id, bo.id]  # the owner is a Desk member too, but offline
    row = workspace.row("Round 1")
    assert workspace.activity(row["id"]) == ["Round robin assigned this to Bo Desk"]
    assert eventually(lambda: conversation_of(bo, "Round 1", assignee="me"))["assignee_name"] == "Bo Desk"


def test_the_cap_holds_the_backlog_until_a_slot_frees_then_the_oldest_goes_first(workspace, wait_idle):
    assert workspace.team_settings("Desk", auto_assign=True, assignment_cap=1).status_code == 200
    ada = workspace.operator("ada")
    with workspace.socket("ada"):
        for name in ("Capped first", "Capped second", "Capped third"):
            workspace.customer(name).says("hello")
            wait_idle()
        first = workspace.row("Capped first")
        assert workspace.assignee_of("Capped first") == ada.id
        assert [workspace.assignee_of(n) for n in ("Capped second", "Capped third")] == [None, None]
        # When Ada resolves hers, the conversation that waited longest becomes hers, and only that one
        assert ada.post(f"/v1/conversations/{first['id']}/resolve").status_code == 200
        eventually(lambda: workspace.assignee_of("Capped second") == ada.id)
        wait_idle()
        assert workspace.assignee_of("Capped third") is None
        # Setting it pending frees the slot too
        second = workspace.row("Capped second")
        assert ada.post(f"/v1/conversations/{second['id']}/pending").status_code == 200
        eventually(lambda: workspace.assignee_of("Capped third") == ada.id)
    wait_idle()
    assert [row["contact"]["name"] for row in ada.conversations(assignee="me", status="open")] == ["Capped third"]


def test_two_new_conversations_and_one_free_slot_give_one_and_keep_one_waiting(workspace, wait_idle):
    assert workspace.team_settings("Desk", auto_assign=True, assignment_cap=1).status_code == 200
    ada = workspace.operator("ada")
    customers = [workspace.customer(f"Burst {n}") for n in range(2)]
    with workspace.socket("ada"):
        threads = [threading.Thread(target=c.says, args=("at the same time",)) for c in customers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        wait_idle()
        assert sorted(workspace.assignee_of(c.first_name) or "" for c in customers) == ["", ada.id]


def test_the_backlog_is_handed_out_when_someone_comes_online(workspace, wait_idle):
    assert workspace.team_settings("Desk", auto_assign=True, assignment_cap=2).status_code == 200
    for name in ("Early", "Middle", "Late"):
        workspace.customer(name).says("anyone there?")
        wait_idle()
    assert [workspace.assignee_of(n) for n in ("Early", "Middle", "Late")] == [None, None, None]
    bo = workspace.operator("bo")
    with workspace.socket("bo"):
        # The socket's $connect hands out the two that waited longest (the cap is 2)
        assert [workspace.assignee_of(n) for n in ("Early", "Middle", "Late")] == [bo.id, bo.id, None]
    assert workspace.activity(workspace.row("Early")["id"]) == ["Round robin assigned this to Bo Desk"]


def test_two_operators_coming_online_at_once_get_each_conversation_once(workspace, wait_idle):
    assert workspace.team_settings("Desk", auto_assign=True).status_code == 200
    names = [f"Together {n}" for n in range(4)]
    for name in names:
        workspace.customer(name).says("hi")
    wait_idle()
    ada, bo = workspace.operator("ada"), workspace.operator("bo")
    start = threading.Barrier(2)
    with ExitStack() as sockets:

        def come_online(who):
            start.wait(timeout=10)
            sockets.enter_context(workspace.socket(who))

        threads = [threading.Thread(target=come_online, args=(who,)) for who in ("ada", "bo")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        wait_idle()
        assert {workspace.assignee_of(name) for name in names} <= {ada.id, bo.id}
        for name in names:
            lines = workspace.activity(workspace.row(name)["id"])
            assert len([line for line in lines if line.startswith("Round robin assigned")]) == 1


def test_away_operators_get_nothing_and_coming_back_hands_them_the_backlog(workspace, wait_idle):
    assert workspace.team_settings("Desk", auto_assign=True).status_code == 200
    ada = workspace.operator("ada")
    away = ada.http.put("/v1/me/availability", json={"availability": "away"})
    assert away.status_code == 200 and away.json() == {"availability": "away"}
    assert ada.get("/v1/me").json()["availability"] == "away"
    with workspace.socket("ada"):
        workspace.customer("While away").says("hello?")
        wait_idle()
        assert workspace.assignee_of("While away") is None
        back = ada.http.put("/v1/me/availability", json={"availability": "available"})
        assert back.json() == {"availability": "available"}
        assert workspace.assignee_of("While away") == ada.id
    refused = ada.http.put("/v1/me/availability", json={"availability": "on a break"})
    assert refused.status_code == 400 and refused.json()["detail"] == "availability must be 'available' or 'away'."


def test_team_settings_are_for_admins_and_are_validated(workspace):
    desk = workspace.teams["Desk"].id
    assert workspace.operator("ada").http.patch(f"/v1/teams/{desk}", json={"auto_assign": True}).status_code == 403
    bad = workspace.team_settings("Desk", assignment_cap=0)
    assert bad.status_code == 400
    assert bad.json()["detail"] == "assignment_cap must be a whole number from 1 to 1000, or null for no cap."
    assert workspace.operator("owner").http.patch("/v1/teams/nope", json={"auto_assign": True}).status_code == 404
    teams = {t["name"]: t for t in workspace.operator("ada").get("/v1/teams").json()["items"]}
    assert teams["Desk"]["auto_assign"] is False and teams["Desk"]["assignment_cap"] is None


# ------------------------------------------------------------------ routing rules
def test_routing_rules_of_every_kind_put_new_conversations_into_their_team(workspace, wait_idle):
    owner, refunds = workspace.operator("owner"), workspace.teams["Refunds"].id
    vip = workspace.inboxes["Telegram VIP"]["id"]
    rules = [
        {"name": "refunds", "team_id": refunds, "kind": "keyword", "value": ["refund", "money back"]},
        {"name": "returns page", "team_id": refunds, "kind": "page_url", "value": "/returns"},
        {"name": "german", "team_id": refunds, "kind": "contact_attribute", "attribute": "language", "value": "de"},
        {"name": "vip inbox", "team_id": refunds, "kind": "inbox", "value": vip},
        {"name": "web chat", "team_id": refunds, "kind": "channel", "value": "widget"},
    ]
    saved = owner.http.put("/v1/routing-rules", json={"rules": rules})
    assert saved.status_code == 200, saved.text
    assert owner.get("/v1/routing-rules").json()["rules"][0] == {**rules[0], "value": ["refund", "money back"]}

    workspace.customer("Keyword Kim").says("I would like a Refund, please")
    german = workspace.customer("German Greta")
    update = german.update("Hallo, wo ist mein Paket?")
    update["message"]["from"]["language_code"] = "de"
    assert german.post(update).status_code == 200
    workspace.customer("Vip Vera", inbox="Telegram VIP").says("hello")
    widget_says(workspace, "Page Pia", "Can I send it back?", page_url="https://shop.example/returns/new")
    widget_says(workspace, "Chat Chad", "Do you ship to Oslo?", page_url="https://shop.example/shipping")
    workspace.customer("Plain Paul").says("Where is my parcel?")
    wait_idle()

    expected = {"Keyword Kim": "refunds", "German Greta": "german", "Vip Vera": "vip inbox",
                "Page Pia": "returns page", "Chat Chad": "web chat"}
    for name, rule in expected.items():
        row = workspace.row(name)
        assert (row["team_id"], row["team_name"]) == (refunds, "Refunds"), name
        assert workspace.activity(row["id"]) == [f"Routed to Refunds by rule '{rule}'"]
    plain = workspace.row("Plain Paul")
    assert plain["team_name"] == "Desk" and workspace.activity(plain["id"]) == []
    # Cy (Refunds only) sees what the rules sent to her team
    assert eventually(lambda: conversation_of(workspace.operator("cy"), "Keyword Kim", status="open"))


def test_routing_rules_are_checked_and_only_admins_may_change_them(workspace):
    owner, ada = workspace.operator("owner"), workspace.operator("ada")
    bad = owner.http.put("/v1/routing-rules", json={"rules": [
        {"name": "ok", "team_id": workspace.teams["Desk"].id, "kind": "channel", "value": "telegram"},
        {"name": "broken", "team_id": workspace.teams["Desk"].id, "kind": "contact_attribute", "value": "x"}]})
    assert bad.status_code == 400
    assert bad.json()["detail"] == ("Rule 2 ('broken'): 'attribute' must be one of name, username, email, phone, "
                                    "language.")
    other_tenants_inbox = owner.http.put("/v1/routing-rules", json={"rules": [
        {"name": "x", "team_id": workspace.teams["Desk"].id, "kind": "inbox", "value": "01SOMEONEELSESINBOX"}]})
    assert other_tenants_inbox.status_code == 400
    assert owner.http.put("/v1/routing-rules", json={}).json()["detail"].startswith("Give 'rules'")
    assert ada.http.put("/v1/routing-rules", json={"rules": []}).status_code == 403
    assert ada.get("/v1/routing-rules").status_code == 403
    assert owner.get("/v1/routing-rules").json() == {"rules": []}


def test_a_routed_conversation_is_handed_out_by_its_teams_round_robin(workspace, wait_idle):
    owner, refunds = workspace.operator("owner"), workspace.teams["Refunds"].id
    assert owner.http.put("/v1/routing-rules", json={"rules": [
        {"name": "refunds", "team_id": refunds, "kind": "keyword", "value": "refund"}]}).status_code == 200
    assert workspace.team_settings("Refunds", auto_assign=True).status_code == 200
    cy = workspace.operator("cy")
    with workspace.socket("cy"), workspace.socket("ada"):
        workspace.customer("Routed Rita").says("refund please")
        wait_idle()
        row = workspace.row("Routed Rita")
        assert workspace.assignee_of("Routed Rita") == cy.id
    assert workspace.activity(row["id"]) == ["Routed to Refunds by rule 'refunds'",
                                             "Round robin assigned this to Cy Refunds"]


def widget_says(workspace: Workspace, name: str, text: str, page_url: str) -> None:
    url = f"{workspace.stack.urls['webhooks']}/widget/{workspace.inboxes['Web chat']['id']}"
    session = httpx.post(url, json={"type": "session"}).json()
    answer = httpx.post(url, json={"type": "message", "visitor_id": session["visitor_id"],
                                   "visitor_token": session["visitor_token"], "client_id": uuid.uuid4().hex,
                                   "text": text, "name": name, "page_url": page_url})
    assert answer.status_code == 200, answer.text
