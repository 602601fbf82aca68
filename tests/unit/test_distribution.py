"""Distribution against the real tables (in-process moto): take, round robin over online and available members with
a cap, the backlog handed out when someone comes online or frees a slot, routing rules at ingest, and the races.

The reactions stream does not run here: each test hands the committed change to DistributionService.on_change,
as the reactions consumer does with every change of the Conversations table."""

from __future__ import annotations

import itertools
import json
import threading
import time
from datetime import timedelta

import pytest

from switchboard.channels.base import WebhookRequest
from switchboard.domain import clock
from switchboard.domain.conversation import OperatorView, Status
from switchboard.domain.errors import BadRequest, Forbidden, IllegalTransition, NotFound
from switchboard.domain.routing import AlreadyTaken
from switchboard.services.distribution import DistributionService
from switchboard.store.distribution import DistributionStore, Workload
from switchboard.store.models import ConversationItem
from switchboard.store.writes import ConversationWriter

_chats = itertools.count(7_100_001)


# ------------------------------------------------------------------ the cast
def person(demo, email):
    return next(p for p in demo["operators"] if p["email"] == email)


def viewer(demo, email) -> OperatorView:
    p = person(demo, email)
    return OperatorView(demo["tenant"]["id"], p["id"], p["role"], team_ids=frozenset(p["team_ids"]), name=p["name"])


def team_id(demo, name):
    return next(team["id"] for team in demo["teams"] if team["name"] == name)


def online(services, demo, email):
    """The operator opens a socket (what realtime's $connect stores)."""
    p = person(demo, email)
    services.connections.add_operator(f"socket-{p['id']}", tenant_id=demo["tenant"]["id"], operator_id=p["id"],
                                      role=p["role"], team_ids=p["team_ids"], inbox_ids=[], at=clock.iso(clock.now()))


def auto_assign(services, demo, team="Support", cap=None):
    return services.distribution.update_team(viewer(demo, "owner@acme.example"), team_id(demo, team),
                                             {"auto_assign": True, "assignment_cap": cap})


def writes(services, demo, text, *, language=None, name=None, stream=True):
    """A new Telegram customer writes; with ``stream`` the committed conversation reaches distribution."""
    chat_id = next(_chats)
    name = name or f"Customer {chat_id}"
    sender = {"id": chat_id, "is_bot": False, "first_name": name, **({"language_code": language} if language else {})}
    body = {"update_id": chat_id, "message": {"message_id": 1, "from": sender, "date": int(time.time()), "text": text,
                                              "chat": {"id": chat_id, "first_name": name, "type": "private"}}}
    inbox = next(inbox for inbox in demo["inboxes"] if inbox["channel"] == "telegram")
    request = WebhookRequest("POST", {"x-telegram-bot-api-secret-token": inbox["webhook_secret"]}, {},
                             json.dumps(body).encode(), clock.iso(clock.now()))
    assert services.webhooks.receive("telegram", inbox["id"], request).status == 200
    identity = services.contacts.identity(demo["tenant"]["id"], inbox["id"], str(chat_id))
    conversation = services.conversations.get(demo["tenant"]["id"], identity.open_conversation_id)
    if stream:
        services.distribution.on_change(conversation, None)
    return fresh(services, conversation)


def fresh(services, conversation):
    return services.conversations.get(conversation.tenant_id, conversation.id)


def activity(services, demo, conversation):
    page, _ = services.conversation_service.messages(viewer(demo, "owner@acme.example"), conversation.id, limit=50,
                                                     cursor=None)
    return [m.text for m in page if str(m.type) == "activity"]


def run_together(*calls):
    """Run the calls in parallel threads; re-raise the first error."""
    errors, results = [], [None] * len(calls)

    def run(index, call):
        try:
            results[index] = call()
        except Exception as exc:  # noqa: BLE001 - re-raised below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=pair) for pair in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    if errors:
        raise errors[0]
    return results


class MeetingPoint:
    """The first ``parties`` callers wait for each other: both assigners have read before either writes."""

    def __init__(self, parties=2):
        self._barrier = threading.Barrier(parties, timeout=10)
        self._left = parties
        self._lock = threading.Lock()

    def wait(self):
        with self._lock:
            if self._left == 0:
                return
            self._left -= 1
        self._barrier.wait()


def distribution_on(services, store):
    return DistributionService(services.directory, store, services.connections, services.conversations,
                               ConversationWriter(services.transactions), services.conversation_service)


# ------------------------------------------------------------------ take
def test_take_makes_an_unassigned_conversation_mine_and_says_so(world):
    services, demo = world
    conversation = writes(services, demo, "Hello?")
    anna = viewer(demo, "anna@acme.example")
    taken = services.distribution.take(anna, conversation.id)
    assert taken.assignee_id == anna.operator_id
    assert "Anna Support took this" in activity(services, demo, conversation)
    # Taking it again is fine and writes nothing
    again = services.distribution.take(anna, conversation.id)
    assert again.version == taken.version


def test_take_of_someone_elses_conversation_is_a_conflict_naming_the_holder(world):
    services, demo = world
    conversation = writes(services, demo, "Hello?")
    anna, sofia = viewer(demo, "anna@acme.example"), viewer(demo, "sofia@acme.example")
    held = services.distribution.take(anna, conversation.id)
    with pytest.raises(AlreadyTaken) as refused:
        services.distribution.take(sofia, conversation.id)
    assert refused.value.status == 409
    assert refused.value.extra == {"conversation_id": conversation.id, "assignee_id": anna.operator_id,
                                   "assignee_name": "Anna Support", "conversation_status": "open",
                                   "version": held.version}
    assert fresh(services, conversation).assignee_id == anna.operator_id


def test_take_needs_a_conversation_the_operator_may_see_and_not_resolved(world):
    services, demo = world
    conversation = writes(services, demo, "Hello?")
    with pytest.raises(NotFound):
        services.distribution.take(viewer(demo, "boris@acme.example"), conversation.id)  # Billing sees no Support
    services.conversation_service.resolve(viewer(demo, "owner@acme.example"), conversation.id)
    with pytest.raises(IllegalTransition):
        services.distribution.take(viewer(demo, "anna@acme.example"), conversation.id)


def test_of_two_operators_taking_at_once_exactly_one_wins(world):
    services, demo = world
    conversation = writes(services, demo, "Who is first?")
    anna, sofia = viewer(demo, "anna@acme.example"), viewer(demo, "sofia@acme.example")
    outcomes = []

    def take(who):
        def call():
            try:
                outcomes.append(("won", services.distribution.take(who, conversation.id).assignee_id))
            except AlreadyTaken as refused:
                outcomes.append(("409", refused.extra["assignee_id"]))
        return call

    run_together(take(anna), take(sofia))
    winner = fresh(services, conversation).assignee_id
    assert sorted(kind for kind, _ in outcomes) == ["409", "won"]
    assert all(holder == winner for _, holder in outcomes)
    assert len([line for line in activity(services, demo, conversation) if line.endswith("took this")]) == 1


# ------------------------------------------------------------------ round robin
def test_round_robin_gives_new_conversations_in_turn_to_members_online(world):
    services, demo = world
    auto_assign(services, demo)
    online(services, demo, "anna@acme.example")
    online(services, demo, "sofia@acme.example")
    online(services, demo, "boris@acme.example")  # online, but not in Support
    owners = [writes(services, demo, f"Question {n}").assignee_id for n in range(4)]
    anna, sofia = person(demo, "anna@acme.example")["id"], person(demo, "sofia@acme.example")["id"]
    assert owners == [anna, sofia, anna, sofia]


def test_round_robin_leaves_a_line_and_offline_or_away_members_get_nothing(world):
    services, demo = world
    auto_assign(services, demo)
    online(services, demo, "anna@acme.example")
    online(services, demo, "sofia@acme.example")
    services.distribution.set_availability(viewer(demo, "sofia@acme.example"), "away")
    conversations = [writes(services, demo, f"Question {n}") for n in range(2)]
    assert {c.assignee_id for c in conversations} == {person(demo, "anna@acme.example")["id"]}
    assert activity(services, demo, conversations[0]) == ["Round robin assigned this to Anna Support"]


def test_nothing_is_handed_out_while_auto_assign_is_off(world):
    services, demo = world
    online(services, demo, "anna@acme.example")
    assert writes(services, demo, "Anyone?").assignee_id is None


def test_the_cap_holds_the_rest_back_until_a_slot_frees(world):
    services, demo = world
    auto_assign(services, demo, cap=1)
    online(services, demo, "anna@acme.example")
    first = writes(services, demo, "First")
    second = writes(services, demo, "Second")
    anna = viewer(demo, "anna@acme.example")
    assert first.assignee_id == anna.operator_id and second.assignee_id is None
    # When Anna resolves her conversation, the stream tells distribution, and the waiting one is hers
    resolved = services.conversation_service.resolve(anna, first.id)
    services.distribution.on_change(resolved, first)
    assert fresh(services, second).assignee_id == anna.operator_id


@pytest.mark.parametrize("frees", ["snooze", "set_pending", "reassign"])
def test_snoozing_setting_pending_or_reassigning_frees_a_slot_too(world, frees):
    services, demo = world
    auto_assign(services, demo, cap=1)
    online(services, demo, "anna@acme.example")
    first, second = writes(services, demo, "First"), writes(services, demo, "Second")
    anna, owner = viewer(demo, "anna@acme.example"), viewer(demo, "owner@acme.example")
    service = services.conversation_service
    changed = {
        "snooze": lambda: service.snooze(anna, first.id, clock.now() + timedelta(hours=1)),
        "set_pending": lambda: service.set_pending(anna, first.id),
        "reassign": lambda: service.assign(owner, first.id, assignee_id=owner.operator_id),
    }[frees]()
    services.distribution.on_change(changed, first)
    assert fresh(services, second).assignee_id == anna.operator_id


def test_the_backlog_goes_oldest_first_to_whoever_comes_online(world):
    services, demo = world
    auto_assign(services, demo, cap=1)
    waiting = [writes(services, demo, f"Waiting {n}") for n in range(3)]
    assert all(c.assignee_id is None for c in waiting)
    online(services, demo, "anna@acme.example")
    services.distribution.operator_online(demo["tenant"]["id"], person(demo, "anna@acme.example")["id"])
    assert [fresh(services, c).assignee_id for c in waiting] == [person(demo, "anna@acme.example")["id"], None, None]


def test_coming_back_from_away_hands_out_the_backlog(world):
    services, demo = world
    auto_assign(services, demo)
    online(services, demo, "anna@acme.example")
    anna = viewer(demo, "anna@acme.example")
    services.distribution.set_availability(anna, "away")
    waiting = writes(services, demo, "Hello?")
    assert waiting.assignee_id is None and services.distribution.availability(anna) == "away"
    assert services.distribution.set_availability(anna, "available") == "available"
    assert fresh(services, waiting).assignee_id == anna.operator_id


def test_turning_auto_assign_on_hands_out_the_waiting_conversations(world):
    services, demo = world
    online(services, demo, "anna@acme.example")
    waiting = writes(services, demo, "Hello?")
    team = auto_assign(services, demo, cap=5)
    assert (team.auto_assign, team.assignment_cap) == (True, 5)
    assert fresh(services, waiting).assignee_id == person(demo, "anna@acme.example")["id"]


def test_only_admins_change_team_settings_and_unknown_teams_are_not_found(world):
    services, demo = world
    with pytest.raises(Forbidden):
        services.distribution.update_team(viewer(demo, "anna@acme.example"), team_id(demo, "Support"),
                                          {"auto_assign": True})
    with pytest.raises(NotFound):
        services.distribution.update_team(viewer(demo, "owner@acme.example"), "no-such-team", {"auto_assign": True})
    with pytest.raises(BadRequest):
        services.distribution.set_availability(viewer(demo, "anna@acme.example"), "on holiday")


# ------------------------------------------------------------------ races
def test_two_new_conversations_and_one_free_slot_never_exceed_the_cap(world):
    services, demo = world
    auto_assign(services, demo, cap=1)
    waiting = [writes(services, demo, f"Race {n}", stream=False) for n in range(2)]
    online(services, demo, "anna@acme.example")

    class CountTogether(DistributionStore):
        """Both assigners count Anna's open conversations before either writes."""

        meeting = MeetingPoint()

        def open_count(self, workload, cap):
            count = super().open_count(workload, cap)
            self.meeting.wait()
            return count

    racer = distribution_on(services, CountTogether())
    run_together(lambda: racer.on_change(waiting[0], None), lambda: racer.on_change(waiting[1], None))
    assert sorted(fresh(services, c).assignee_id is None for c in waiting) == [False, True]


def test_the_cap_counts_an_assignment_the_index_does_not_show_yet(world):
    services, demo = world
    conversation = writes(services, demo, "Just handed out", stream=False)
    tenant, anna = demo["tenant"]["id"], person(demo, "anna@acme.example")["id"]
    # Anna got it a moment ago, but the by_assignee index still files it under "unassigned" (index lag)
    ConversationItem(tenant, conversation.id).update(actions=[ConversationItem.assignee_id.set(anna)])
    store = DistributionStore()
    assert store.open_count(Workload(tenant, anna), cap=1) == 0  # the index alone misses it
    just_claimed = Workload(tenant, anna, seq=1, claims=((conversation.id, time.time()),))
    assert store.open_count(just_claimed, cap=1) == 1
    long_ago = Workload(tenant, anna, seq=1, claims=((conversation.id, time.time() - 3600),))
    assert store.open_count(long_ago, cap=1) == 0
    ConversationItem(tenant, conversation.id).update(actions=[ConversationItem.assignee_id.set("someone-else")])
    assert store.open_count(just_claimed, cap=1) == 0  # no longer hers: the claim does not count


def test_two_operators_coming_online_at_once_get_each_conversation_once(world):
    services, demo = world
    auto_assign(services, demo)
    waiting = [writes(services, demo, f"Backlog {n}") for n in range(4)]
    online(services, demo, "anna@acme.example")
    online(services, demo, "sofia@acme.example")

    class ReadTogether(DistributionStore):
        """Both drains read the same backlog before either assigns anything."""

        meeting = MeetingPoint()

        def backlog(self, tenant_id, team_id, limit):
            found = super().backlog(tenant_id, team_id, limit)
            self.meeting.wait()
            return found

    racer = distribution_on(services, ReadTogether())
    tenant = demo["tenant"]["id"]
    run_together(lambda: racer.operator_online(tenant, person(demo, "anna@acme.example")["id"]),
                 lambda: racer.operator_online(tenant, person(demo, "sofia@acme.example")["id"]))
    assert all(fresh(services, c).assignee_id for c in waiting)
    for conversation in waiting:
        lines = [line for line in activity(services, demo, conversation) if line.startswith("Round robin")]
        assert len(lines) == 1


def test_a_manual_assignment_between_round_robins_read_and_write_wins(world):
    services, demo = world
    auto_assign(services, demo)
    waiting = writes(services, demo, "Mine, please", stream=False)
    online(services, demo, "anna@acme.example")
    owner = viewer(demo, "owner@acme.example")

    class AssignedMeanwhile(DistributionStore):
        def backlog(self, tenant_id, team_id, limit):
            found = super().backlog(tenant_id, team_id, limit)
            services.conversation_service.assign(owner, waiting.id, assignee_id=owner.operator_id)
            return found

    assert distribution_on(services, AssignedMeanwhile()).drain(demo["tenant"]["id"], waiting.team_id) == []
    assert fresh(services, waiting).assignee_id == owner.operator_id
    assert not [line for line in activity(services, demo, waiting) if line.startswith("Round robin")]


# ------------------------------------------------------------------ routing rules
def rules_of(demo, *rules):
    return [{"team_id": team_id(demo, "Billing"), **rule} for rule in rules]


def test_routing_rules_put_a_new_conversation_into_the_first_matching_team(world):
    services, demo = world
    owner = viewer(demo, "owner@acme.example")
    services.distribution.set_rules(owner, rules_of(
        demo, {"name": "refunds", "kind": "keyword", "value": ["refund", "money back"]},
        {"name": "german", "kind": "contact_attribute", "attribute": "language", "value": "de"}))
    refund = writes(services, demo, "I want a REFUND for order 7")
    german = writes(services, demo, "Hallo", language="de")
    other = writes(services, demo, "Where is my parcel?", language="en")
    billing, support = team_id(demo, "Billing"), team_id(demo, "Support")
    assert (refund.team_id, german.team_id, other.team_id) == (billing, billing, support)
    assert activity(services, demo, refund) == ["Routed to Billing by rule 'refunds'"]
    assert activity(services, demo, german) == ["Routed to Billing by rule 'german'"]
    assert activity(services, demo, other) == []


def test_a_routed_conversation_is_handed_out_by_its_new_teams_round_robin(world):
    services, demo = world
    services.distribution.set_rules(viewer(demo, "owner@acme.example"), rules_of(
        demo, {"name": "invoices", "kind": "keyword", "value": "invoice"}))
    auto_assign(services, demo, team="Billing")
    online(services, demo, "boris@acme.example")
    routed = writes(services, demo, "Please resend the invoice")
    assert routed.assignee_id == person(demo, "boris@acme.example")["id"]
    assert activity(services, demo, routed) == ["Routed to Billing by rule 'invoices'",
                                                "Round robin assigned this to Boris Billing"]


def test_only_admins_edit_rules_and_operators_cannot_read_them(world):
    services, demo = world
    with pytest.raises(Forbidden):
        services.distribution.set_rules(viewer(demo, "sofia@acme.example"), [])
    with pytest.raises(Forbidden):
        services.distribution.rules(viewer(demo, "anna@acme.example"))
    with pytest.raises(BadRequest) as refused:
        services.distribution.set_rules(viewer(demo, "owner@acme.example"),
                                        [{"name": "x", "team_id": "nope", "kind": "keyword", "value": "x"}])
    assert refused.value.detail == "Rule 1 ('x'): team_id must name a team of this workspace."
    saved = services.distribution.set_rules(viewer(demo, "owner@acme.example"), rules_of(
        demo, {"name": "vk", "kind": "channel", "value": "vk"}))
    assert services.distribution.rules(viewer(demo, "sofia@acme.example")) == saved


def test_a_resolved_conversation_is_not_handed_out(world):
    services, demo = world
    auto_assign(services, demo)
    conversation = writes(services, demo, "Bye", stream=False)
    resolved = services.conversation_service.resolve(viewer(demo, "owner@acme.example"), conversation.id)
    online(services, demo, "anna@acme.example")
    services.distribution.on_change(resolved, conversation)
    assert fresh(services, conversation).status is Status.RESOLVED
    assert fresh(services, conversation).assignee_id is None
