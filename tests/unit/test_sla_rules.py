"""SLA policies and clocks, as pure rules: which policy applies, what a change of a conversation means to its clocks,
how business time is counted across pauses and closed hours, when the warning and the breach fall due, and what is
recorded when a target is hit or missed."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from switchboard.domain import clock
from switchboard.domain.business_hours import BusinessHours
from switchboard.domain.conversation import Conversation, Status
from switchboard.domain.errors import BadRequest
from switchboard.domain.sla import (
    BREACH,
    BREACHED,
    NONE,
    WARNED,
    WARNING,
    Alert,
    Escalation,
    Facts,
    Happening,
    Kind,
    Match,
    SlaPolicy,
    SlaState,
    Target,
    advance,
    first_match,
    happenings,
    missed_line,
    parse_policies,
    raised_alert,
    settle,
    span,
)
from switchboard.timers.sla import timer_input

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday
ALWAYS = BusinessHours.always_open("UTC")
TEAMS, INBOXES, CHANNELS = {"desk", "vip"}, {"tg", "mail"}, {"telegram", "email"}

FR, NR, RES = Target.FIRST_RESPONSE, Target.NEXT_RESPONSE, Target.RESOLUTION
STANDARD = SlaPolicy("Standard", {FR: 3600, NR: 1800, RES: 8 * 3600})


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def iso(minutes: float) -> str:
    return clock.iso(at(minutes))


def conversation(**fields) -> Conversation:
    base = dict(tenant_id="t", id="c1", inbox_id="tg", contact_id="k", channel="telegram", team_id="desk",
                created_at=iso(0), waiting_since=iso(0), last_message={"id": "m1", "type": "incoming", "at": iso(0)})
    return Conversation(**{**base, **fields})


def facts(policy: SlaPolicy | None = STANDARD, *, status: Status = Status.OPEN, waiting: bool = True,
          hours: BusinessHours = ALWAYS, version: int = 1) -> Facts:
    return Facts(policy=policy, status=status, waiting=waiting, hours=hours, version=version)


def step(state: SlaState, kind: Kind, minutes: float, alert: str | None = None, **fact_args):
    return advance(state, [Happening(kind, at(minutes), alert)], facts(**fact_args))


def opened(policy: SlaPolicy = STANDARD, **fact_args) -> SlaState:
    return step(SlaState(), Kind.OPENED, 0, policy=policy, **fact_args).state


# ------------------------------------------------------------------ policies
def policy_body(**overrides) -> dict:
    return {"name": "VIP", "match": {"team_ids": ["vip"]}, "first_response_minutes": 15, **overrides}


def test_policies_round_trip_with_targets_in_minutes_or_test_seconds():
    raw = [policy_body(resolution_seconds=90, escalation={"raise_priority": True, "team_id": "vip"}),
           {"name": "Everyone", "next_response_minutes": 60}]
    policies = parse_policies(raw, teams=TEAMS, inboxes=INBOXES, channels=CHANNELS)
    assert policies[0].targets == {FR: 900, RES: 90}
    assert policies[0].escalation == Escalation(raise_priority=True, team_id="vip")
    assert [policy.to_dict() for policy in policies] == [
        {"name": "VIP", "match": {"team_ids": ["vip"]}, "first_response_minutes": 15, "resolution_seconds": 90,
         "escalation": {"at": "breach", "raise_priority": True, "team_id": "vip"}},
        {"name": "Everyone", "match": {}, "next_response_minutes": 60}]
    assert [SlaPolicy.from_dict(policy.to_dict()) for policy in policies] == policies


@pytest.mark.parametrize(("raw", "says"), [
    ({"rules": []}, "Give 'policies'"),
    ([policy_body(first_response_minutes=None)], "give at least one target"),
    ([policy_body(resolution_minutes=5, resolution_seconds=5)], "not both"),
    ([policy_body(first_response_minutes=0)], "more than 0"),
    ([policy_body(first_response_minutes=1.5)], "whole number of business minutes"),
    ([policy_body(first_response_minutes=True)], "whole number"),
    ([policy_body(first_response_hours=2)], "unknown field 'first_response_hours'"),
    ([policy_body(match={"team_ids": ["nope"]})], "'nope' in match.team_ids is not a team"),
    ([policy_body(match={"priorities": ["asap"]})], "is not a priority"),
    ([policy_body(match={"tags": ["x"]})], "'match' must be an object"),
    ([policy_body(escalation={"team_id": "nope"})], "escalation.team_id must name a team"),
    ([policy_body(escalation={"at": "breach"})], "an escalation must do something"),
    ([policy_body(escalation={"at": "later", "unassign": True})], "escalation.at must be"),
    ([policy_body(escalation={"raise_priority": "asap"})], "raise_priority must be true"),
    ([policy_body(), policy_body(name="vip")], "Policy 2: the name 'vip' is used twice"),
    ([policy_body(name=" ")], "'name' must be text"),
])
def test_a_bad_policy_is_refused_with_what_is_wrong(raw, says):
    with pytest.raises(BadRequest) as refused:
        parse_policies(raw, teams=TEAMS, inboxes=INBOXES, channels=CHANNELS)
    assert says in refused.value.detail


def test_the_first_policy_that_matches_applies():
    urgent = SlaPolicy("Urgent", {FR: 60}, Match(priorities=("urgent",)))
    vip_mail = SlaPolicy("VIP mail", {FR: 120}, Match(team_ids=("vip",), channels=("email",)))
    everyone = SlaPolicy("Everyone", {FR: 600})
    policies = [urgent, vip_mail, everyone]
    assert first_match(policies, conversation(team_id="vip", channel="email")) is vip_mail
    assert first_match(policies, conversation(team_id="vip", channel="email", priority="urgent")) is urgent
    assert first_match(policies, conversation(team_id="vip", channel="telegram")) is everyone
    assert first_match(policies[:2], conversation()) is None


def test_escalation_raises_the_priority_moves_the_team_and_unassigns():
    escalated, done = Escalation(raise_priority=True, team_id="vip", unassign=True).applied(
        conversation(priority="normal", assignee_id="ada"))
    assert (escalated.priority, escalated.team_id, escalated.assignee_id) == ("high", "vip", None)
    assert done == [("priority", "high"), ("team", "vip"), ("unassigned", "")]
    assert Escalation(raise_priority=True).applied(conversation(priority="urgent"))[1] == []
    assert Escalation(raise_priority="high").applied(conversation(priority="urgent"))[0].priority == "urgent"
    assert Escalation(raise_priority="urgent").applied(conversation(priority="low"))[0].priority == "urgent"


# ------------------------------------------------------------------ what a change means
def test_a_new_conversation_opens_the_clocks_at_its_creation():
    new = conversation()
    assert happenings(None, new, at(0.1)) == [Happening(Kind.OPENED, at(0))]
    assert happenings(None, conversation(status=Status.RESOLVED), at(0.1)) == []


def test_only_an_operators_outgoing_message_is_a_reply():
    old = conversation()
    reply = {"id": "m2", "type": "outgoing", "at": iso(5)}
    by_operator = dataclasses.replace(old, last_message=reply, waiting_since=None, changed_by="ada")
    automated = dataclasses.replace(old, last_message=reply)  # automation writes without an operator
    echo = dataclasses.replace(old, last_message=reply, waiting_since=None)  # from the platform's own app
    assert [h.kind for h in happenings(old, by_operator, at(6))] == [Kind.REPLIED]
    assert happenings(old, by_operator, at(6))[0].at == at(5)
    assert happenings(old, automated, at(6)) == []
    assert happenings(old, echo, at(6)) == []


def test_status_changes_customer_messages_priority_and_timer_alerts():
    now = at(10)
    answered = conversation(waiting_since=None)
    waits = dataclasses.replace(answered, waiting_since=iso(9))
    assert happenings(answered, waits, now) == [Happening(Kind.CUSTOMER_WAITS, at(9))]

    def kinds(old, **change):
        return [h.kind for h in happenings(old, dataclasses.replace(old, **change), now)]

    opened_ = conversation()
    assert kinds(opened_, status=Status.PENDING) == [Kind.PAUSED]
    assert kinds(opened_, status=Status.SNOOZED) == [Kind.PAUSED]
    assert kinds(conversation(status=Status.SNOOZED), status=Status.OPEN) == [Kind.RESUMED]
    assert kinds(conversation(status=Status.PENDING), status=Status.SNOOZED) == []
    assert kinds(conversation(status=Status.PENDING), status=Status.RESOLVED) == [Kind.RESOLVED]
    assert kinds(conversation(status=Status.RESOLVED), status=Status.OPEN) == [Kind.REOPENED]
    assert kinds(opened_, priority="urgent") == [Kind.RETARGETED]
    assert kinds(opened_, team_id="vip", sla_alert="1:first_response:warning") == [Kind.RETARGETED, Kind.ALERT]
    assert kinds(opened_, tags=["x"], assignee_id="ada") == []


# ------------------------------------------------------------------ clocks
def test_opening_starts_first_response_and_resolution_with_a_warning_at_80_percent_and_a_breach():
    state = opened()
    assert [(c.target, c.seconds, c.running_since) for c in state.clocks] == [(RES, 8 * 3600, iso(0)),
                                                                              (FR, 3600, iso(0))]
    state, version = settle(state, 0, ALWAYS)
    assert version == 1
    assert state.scheduled == (Alert(FR, WARNING, iso(48)), Alert(FR, BREACH, iso(60)),
                               Alert(RES, WARNING, iso(384)), Alert(RES, BREACH, iso(480)))
    assert state.due_at(ALWAYS) == iso(60)


def test_a_conversation_the_business_started_has_no_first_response_clock_until_the_customer_writes():
    state = opened(waiting=False)
    assert [c.target for c in state.clocks] == [RES]
    state = step(state, Kind.CUSTOMER_WAITS, 30).state
    assert [c.target for c in state.clocks] == [RES, FR]


def test_a_reply_in_time_records_a_hit_and_the_timer_moves_on_to_the_resolution_alone():
    state, version = settle(opened(), 0, ALWAYS)
    advanced = step(state, Kind.REPLIED, 20, version=version)
    [outcome] = advanced.stopped
    assert (outcome.target, outcome.hit, outcome.elapsed, outcome.late, outcome.stopped_by) == (
        FR, True, 1200.0, 0.0, "reply")
    assert outcome.to_dict()["spare_seconds"] == 2400.0
    replaced, new_version = settle(advanced.state, version, ALWAYS)
    assert new_version == version + 1
    assert [(a.target, a.kind) for a in replaced.scheduled] == [(RES, WARNING), (RES, BREACH)]


def test_a_late_reply_records_the_miss_and_how_late_it_was():
    advanced = step(opened(), Kind.REPLIED, 74)
    [outcome] = advanced.stopped
    assert (outcome.hit, outcome.late) == (False, 14 * 60)
    assert missed_line(outcome) == "SLA first response breached: 1h target, 14 min late"


def test_next_response_starts_when_a_customer_message_waits_after_a_reply():
    state = step(opened(), Kind.CUSTOMER_WAITS, 5).state  # a second message before any answer: still first response
    assert sorted(c.target for c in state.clocks) == [FR, RES]
    state = step(state, Kind.REPLIED, 10).state
    state = step(state, Kind.CUSTOMER_WAITS, 30).state
    assert {c.target: c.started_at for c in state.clocks} == {RES: iso(0), NR: iso(30)}
    state = step(state, Kind.REPLIED, 40).state
    assert [(o.target, o.elapsed) for o in state.record] == [(FR, 600.0), (NR, 600.0)]


def test_pending_pauses_the_clocks_and_reopening_resumes_them_with_the_time_left():
    state = step(opened(), Kind.PAUSED, 30, status=Status.PENDING).state
    assert all(not c.running for c in state.clocks)
    assert state.due_at(ALWAYS) is None  # no clock runs: nothing is due
    assert schedule_of(state) == ()
    state = step(state, Kind.RESUMED, 200).state  # 170 minutes later
    first = state.clock(FR)
    assert (first.used, first.running_since) == (1800.0, iso(200))
    assert first.due_at(ALWAYS) == iso(230)  # the 30 minutes left
    assert state.clock(RES).due_at(ALWAYS) == iso(650)


def schedule_of(state: SlaState) -> tuple:
    return settle(dataclasses.replace(state, scheduled=()), 0, ALWAYS)[0].scheduled


def test_business_hours_stop_the_clock_overnight_and_over_the_weekend():
    hours = BusinessHours.from_dict({"time_zone": "Europe/Berlin", "week": {
        day: [{"start": "09:00", "end": "17:00"}] for day in ("mon", "tue", "wed", "thu", "fri")}})
    friday_1630_berlin = datetime(2026, 3, 6, 15, 30, tzinfo=UTC)
    policy = SlaPolicy("Hours", {FR: 2 * 3600})
    state = advance(SlaState(), [Happening(Kind.OPENED, friday_1630_berlin)], facts(policy, hours=hours)).state
    state, _ = settle(state, 0, hours)
    # 30 minutes on Friday, 90 on Monday morning: due Monday 10:30 in Berlin; the warning at 96 minutes in
    assert [a.at for a in state.scheduled] == ["2026-03-09T09:06:00.000Z", "2026-03-09T09:30:00.000Z"]
    monday_0915_berlin = datetime(2026, 3, 9, 8, 15, tzinfo=UTC)
    [outcome] = advance(state, [Happening(Kind.REPLIED, monday_0915_berlin)], facts(policy, hours=hours)).stopped
    assert (outcome.elapsed, outcome.hit) == (45 * 60, True)


def test_the_current_timers_alerts_mark_the_clock_and_a_stale_timers_change_nothing():
    state, version = settle(opened(), 0, ALWAYS)
    warned = step(state, Kind.ALERT, 48, alert=f"{version}:first_response:warning", version=version)
    assert [(r.alert.kind, r.alert.target) for r in warned.raised] == [(WARNING, FR)]
    assert (warned.state.status(), warned.state.raised) == (WARNED, f"{version}:first_response:warning")
    # the timer goes on to its breach: the version stays
    assert settle(warned.state, version, ALWAYS)[1] == version

    stale = step(warned.state, Kind.ALERT, 59, alert=f"{version - 1}:first_response:breach", version=version)
    assert (stale.state, stale.raised) == (warned.state, ())

    breached = step(warned.state, Kind.ALERT, 60, alert=f"{version}:first_response:breach", version=version)
    assert breached.state.status() == BREACHED
    assert breached.state.clock(FR).breached_at == iso(60)
    assert breached.state.due_at(ALWAYS) == iso(60)  # stays due (in the past) until answered
    again = step(breached.state, Kind.ALERT, 60, alert=f"{version}:first_response:breach", version=version)
    assert again.raised == ()


def test_an_alert_for_a_clock_that_stopped_or_paused_meanwhile_is_ignored():
    state, version = settle(opened(), 0, ALWAYS)
    replied = step(state, Kind.REPLIED, 47, version=version).state  # answered; the timer's update came after
    late = step(replied, Kind.ALERT, 48, alert=f"{version}:first_response:warning", version=version)
    assert late.raised == () and late.state.status() == NONE
    paused = step(state, Kind.PAUSED, 47, version=version, status=Status.PENDING).state
    assert step(paused, Kind.ALERT, 48, alert=f"{version}:first_response:warning", version=version).raised == ()


def test_resolving_stops_every_clock_and_reopening_starts_a_new_cycle():
    state = step(opened(), Kind.REPLIED, 10).state
    resolved = step(state, Kind.RESOLVED, 100, status=Status.RESOLVED)
    assert [(o.target, o.stopped_by, o.hit) for o in resolved.stopped] == [(RES, "resolve", True)]
    assert resolved.state.clocks == () and resolved.state.due_at(ALWAYS) is None
    reopened = step(resolved.state, Kind.REOPENED, 200).state  # the customer wrote again
    assert reopened.cycle == 2
    assert {c.target: c.started_at for c in reopened.clocks} == {RES: iso(200), NR: iso(200)}


def test_a_new_policy_keeps_the_time_used_and_drops_targets_it_lacks():
    urgent = SlaPolicy("Urgent", {FR: 600}, Match(priorities=("urgent",)))
    state = step(opened(), Kind.RETARGETED, 8, policy=urgent).state
    assert (state.policy, [(c.target, c.seconds) for c in state.clocks]) == ("Urgent", [(FR, 600)])
    [outcome] = step(state, Kind.REPLIED, 12, policy=urgent).stopped
    assert (outcome.policy, outcome.hit, outcome.late) == ("Urgent", False, 120.0)


def test_a_conversation_under_no_policy_has_no_clocks_until_one_applies():
    state = opened(policy=None)
    assert (state.cycle, state.clocks) == (1, ())
    state = step(state, Kind.RETARGETED, 30, policy=STANDARD).state  # an admin added a policy it matches
    assert {c.target: c.started_at for c in state.clocks} == {RES: iso(30), FR: iso(30)}


def test_the_state_survives_being_stored_and_tells_what_was_raised():
    state, version = settle(opened(), 0, ALWAYS)
    warned = step(state, Kind.ALERT, 48, alert=f"{version}:first_response:warning", version=version).state
    stored = SlaState.from_dict(warned.to_dict())
    assert stored == warned
    before, after = conversation(sla=state.to_dict()), conversation(sla=warned.to_dict())
    assert raised_alert(before, after) == (FR, WARNING)
    assert raised_alert(after, after) is None


def test_the_timer_input_chains_the_alerts_with_whole_second_waits():
    alerts = [Alert(FR, WARNING, "2026-03-02T09:00:04.000Z"), Alert(FR, BREACH, "2026-03-02T09:00:05.000Z"),
              Alert(RES, WARNING, "2026-03-02T09:00:07.300Z")]
    now = datetime(2026, 3, 2, 9, 0, 0, 500_000, tzinfo=UTC)
    assert timer_input("t", "c1", 3, alerts, now) == {
        "tenant_id": "t", "conversation_id": "c1", "sla_version": "3",
        "alert": {"seconds": 4, "key": "3:first_response:warning",
                  "next": {"seconds": 1, "key": "3:first_response:breach",
                           "next": {"seconds": 2, "key": "3:resolution:warning", "next": None}}}}
    past = [Alert(FR, BREACH, "2026-03-02T08:00:00.000Z")]
    assert timer_input("t", "c1", 4, past, now)["alert"] == {"seconds": 0, "key": "4:first_response:breach",
                                                              "next": None}


@pytest.mark.parametrize(("seconds", "words"), [
    (5, "5 s"), (59.2, "59 s"), (59.6, "1 min"), (840, "14 min"), (7200, "2h"), (9000, "2h 30 min"), (0, "0 s")])
def test_durations_read_as_people_say_them(seconds, words):
    assert span(seconds) == words


def test_a_conversation_older_than_the_policies_gets_clocks_at_its_next_change():
    state = step(SlaState(), Kind.CUSTOMER_WAITS, 30).state  # it was opened before any policy existed
    assert (state.policy, {c.target: c.started_at for c in state.clocks}) == ("Standard", {RES: iso(30), FR: iso(30)})
