"""The pure rules of distribution: routing rules (matching and validation), team settings, the round-robin turn,
and which changes put a conversation into a backlog or free an operator's slot."""

import dataclasses

import pytest

from switchboard.domain.conversation import Conversation, Status
from switchboard.domain.errors import BadRequest
from switchboard.domain.routing import (
    Facts,
    RoutingRule,
    TeamSettings,
    first_match,
    freed_slot,
    joins_backlog,
    next_in_turn,
    oldest_first,
    parse_availability,
    parse_rules,
)

TEAMS, INBOXES, CHANNELS = {"billing", "support"}, {"inbox-1", "inbox-2"}, {"telegram", "widget", "vk"}


def rule(kind, value, team="billing", name="r", attribute=None):
    values = (value,) if isinstance(value, str) else tuple(value)
    return RoutingRule(name=name, team_id=team, kind=kind, values=values, attribute=attribute)


def facts(**overrides):
    base = {"inbox_id": "inbox-1", "channel": "telegram", "text": "", "page_url": None, "contact": {}}
    return Facts(**{**base, **overrides})


def parse(rules):
    return parse_rules(rules, teams=TEAMS, inboxes=INBOXES, channels=CHANNELS)


# ------------------------------------------------------------------ matching
@pytest.mark.parametrize(("candidate", "seen", "expected"), [
    (rule("inbox", "inbox-2"), facts(inbox_id="inbox-2"), True),
    (rule("inbox", "inbox-2"), facts(inbox_id="inbox-1"), False),
    (rule("channel", ["vk", "widget"]), facts(channel="widget"), True),
    (rule("channel", "vk"), facts(channel="telegram"), False),
    (rule("page_url", "/Pricing"), facts(page_url="https://acme.example/pricing?plan=pro"), True),
    (rule("page_url", "/pricing"), facts(page_url="https://acme.example/shipping"), False),
    (rule("page_url", "/pricing"), facts(page_url=None), False),
    (rule("contact_attribute", "*@BigCorp.com", attribute="email"), facts(contact={"email": "ann@bigcorp.com"}),
     True),
    (rule("contact_attribute", "*@bigcorp.com", attribute="email"), facts(contact={"email": "ann@corp.com"}),
     False),
    (rule("contact_attribute", "de", attribute="language"), facts(contact={"language": "DE"}), True),
    (rule("contact_attribute", "de", attribute="language"), facts(contact={"language": None}), False),
    (rule("keyword", ["refund", "money back"]), facts(text="I want my MONEY BACK now"), True),
    (rule("keyword", "refund"), facts(text="Refund, please!"), True),
    (rule("keyword", "refund"), facts(text="this is non-refundable?"), False),
    (rule("keyword", "возврат"), facts(text="Хочу возврат денег"), True),
])
def test_each_kind_of_rule_matches_what_it_says(candidate, seen, expected):
    assert candidate.matches(seen) is expected


def test_the_first_matching_rule_wins_and_none_match_means_no_rule():
    rules = [rule("keyword", "invoice", team="billing", name="invoices"),
             rule("channel", "telegram", team="support", name="telegram"),
             rule("keyword", "hello", team="billing", name="greetings")]
    assert first_match(rules, facts(text="hello, my invoice")).name == "invoices"
    assert first_match(rules, facts(text="hello")).name == "telegram"
    assert first_match(rules, facts(channel="vk", text="bye")) is None
    assert first_match([], facts()) is None


def test_rules_survive_the_round_trip_through_storage():
    original = parse([{"name": "vip", "team_id": "billing", "kind": "contact_attribute", "attribute": "email",
                       "value": ["*@bigcorp.com", "*@hugecorp.com"]},
                      {"name": "refunds", "team_id": "support", "kind": "keyword", "value": " refund "}])
    assert [RoutingRule.from_dict(r.to_dict()) for r in original] == original
    assert original[1].values == ("refund",)


# ------------------------------------------------------------------ validation
@pytest.mark.parametrize(("rules", "message"), [
    ({"name": "x"}, "Give 'rules': a list"),
    (["not an object"], "Rule 1 must be an object"),
    ([{"name": " ", "team_id": "billing", "kind": "keyword", "value": "x"}], "Rule 1: 'name' must be text"),
    ([{"name": "a", "team_id": "nope", "kind": "keyword", "value": "x"}], "Rule 1 ('a'): team_id must name a team"),
    ([{"name": "a", "team_id": "billing", "kind": "weather", "value": "x"}], "Rule 1 ('a'): 'kind' must be one of"),
    ([{"name": "a", "team_id": "billing", "kind": "keyword", "value": []}], "'value' must be text or a list"),
    ([{"name": "a", "team_id": "billing", "kind": "keyword", "value": ["ok", 3]}], "every value must be text"),
    ([{"name": "a", "team_id": "billing", "kind": "keyword", "value": "x" * 201}], "every value must be text"),
    ([{"name": "a", "team_id": "billing", "kind": "inbox", "value": "inbox-9"}], "'inbox-9' is not an inbox"),
    ([{"name": "a", "team_id": "billing", "kind": "channel", "value": "fax"}], "'fax' is not a channel"),
    ([{"name": "a", "team_id": "billing", "kind": "contact_attribute", "value": "x"}], "'attribute' must be one of"),
    ([{"name": "a", "team_id": "billing", "kind": "keyword", "value": "x", "attribute": "email"}],
     "'attribute' belongs only to contact_attribute rules"),
    ([{"name": "a", "team_id": "billing", "kind": "keyword", "value": "x", "priority": 1}],
     "unknown field 'priority'"),
    ([{"name": "Same", "team_id": "billing", "kind": "keyword", "value": "x"},
      {"name": "same", "team_id": "support", "kind": "keyword", "value": "y"}],
     "Rule 2: the name 'same' is used twice"),
    ([{"name": f"r{i}", "team_id": "billing", "kind": "keyword", "value": "x"} for i in range(51)],
     "At most 50 routing rules"),
])
def test_invalid_rules_are_refused_with_a_message_naming_the_rule(rules, message):
    with pytest.raises(BadRequest) as refused:
        parse(rules)
    assert message in refused.value.detail


def test_an_empty_list_clears_the_rules():
    assert parse([]) == []


# ------------------------------------------------------------------ team settings and availability
def test_team_settings_change_only_what_the_patch_names():
    current = TeamSettings(auto_assign=False, assignment_cap=3)
    assert current.updated({"auto_assign": True}) == TeamSettings(True, 3)
    assert current.updated({"assignment_cap": None}) == TeamSettings(False, None)
    assert current.updated({"auto_assign": True, "assignment_cap": 5}) == TeamSettings(True, 5)


@pytest.mark.parametrize(("body", "message"), [
    ({}, "Give auto_assign"),
    ({"auto_assign": "yes"}, "auto_assign must be true or false"),
    ({"assignment_cap": 0}, "assignment_cap must be a whole number from 1 to 1000"),
    ({"assignment_cap": 2.5}, "assignment_cap must be a whole number"),
    ({"assignment_cap": True}, "assignment_cap must be a whole number"),
    ({"name": "Sales"}, "Unknown field 'name'"),
])
def test_bad_team_settings_are_refused(body, message):
    with pytest.raises(BadRequest) as refused:
        TeamSettings().updated(body)
    assert message in refused.value.detail


def test_availability_is_available_or_away():
    assert parse_availability("away") == "away"
    with pytest.raises(BadRequest):
        parse_availability("busy")


# ------------------------------------------------------------------ round robin
def test_the_turn_goes_round_in_a_fixed_order_after_the_last_one():
    members = ["c", "a", "b"]

    def everyone(member):
        return True

    assert next_in_turn(members, None, everyone) == "a"
    assert next_in_turn(members, "a", everyone) == "b"
    assert next_in_turn(members, "c", everyone) == "a"


def test_the_turn_skips_members_without_room_and_is_none_when_nobody_has_room():
    assert next_in_turn(["a", "b", "c"], "a", lambda member: member != "b") == "c"
    assert next_in_turn(["a", "b", "c"], "c", lambda member: member == "c") == "c"
    assert next_in_turn(["a", "b"], "a", lambda member: False) is None
    assert next_in_turn([], None, lambda member: True) is None


def test_the_turn_continues_from_where_a_departed_member_stood():
    assert next_in_turn(["a", "c", "e"], "d", lambda member: True) == "e"
    assert next_in_turn(["a", "c"], "z", lambda member: True) == "a"


def conversation(id_="C1", **changes):
    base = Conversation(tenant_id="t", id=id_, inbox_id="i", contact_id="k", channel="telegram",
                        status=Status.OPEN, team_id="support", created_at="2026-01-01T10:00:00.000Z",
                        last_activity_at="2026-01-01T10:00:00.000Z")
    return dataclasses.replace(base, **changes)


def test_the_backlog_is_handed_out_longest_waiting_first():
    late = conversation("C1", waiting_since="2026-01-01T10:05:00.000Z", last_activity_at="2026-01-01T09:00:00.000Z")
    early = conversation("C2", waiting_since="2026-01-01T10:01:00.000Z", last_activity_at="2026-01-01T11:00:00.000Z")
    never = conversation("C3", waiting_since=None, last_activity_at="2026-01-01T10:03:00.000Z")
    assert [c.id for c in oldest_first([late, early, never])] == ["C2", "C3", "C1"]


# ------------------------------------------------------------------ what changes mean
def test_a_conversation_joins_its_teams_backlog_when_it_becomes_open_and_unassigned_there():
    waiting = conversation()
    assert joins_backlog(None, waiting)
    assert joins_backlog(conversation(status=Status.RESOLVED), waiting)  # reopened
    assert joins_backlog(conversation(assignee_id="anna"), waiting)  # unassigned
    assert joins_backlog(conversation(team_id="billing"), waiting)  # moved team
    assert not joins_backlog(waiting, dataclasses.replace(waiting, unread_count=3))  # already waiting there
    assert not joins_backlog(None, conversation(team_id=None))  # no team: nobody's round robin
    assert not joins_backlog(None, conversation(assignee_id="anna"))
    assert not joins_backlog(None, conversation(status=Status.PENDING))


def test_a_slot_is_freed_when_an_open_conversation_leaves_its_owner():
    held = conversation(assignee_id="anna")
    for leaves in (Status.RESOLVED, Status.SNOOZED, Status.PENDING):
        assert freed_slot(held, dataclasses.replace(held, status=leaves)) == "anna"
    assert freed_slot(held, dataclasses.replace(held, assignee_id="boris")) == "anna"
    assert freed_slot(held, dataclasses.replace(held, assignee_id=None)) == "anna"
    assert freed_slot(held, dataclasses.replace(held, unread_count=2)) is None
    assert freed_slot(conversation(assignee_id="anna", status=Status.PENDING), held) is None
    assert freed_slot(None, held) is None
