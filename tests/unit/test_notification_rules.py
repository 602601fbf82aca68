"""Which operator hears about what: events derived from conversation and message changes, @mentions in notes, and
the channels each operator chose. Pure domain rules, no AWS."""

import dataclasses

import pytest

from switchboard.domain.conversation import Conversation, Status
from switchboard.domain.directory import Operator
from switchboard.domain.errors import BadRequest
from switchboard.domain.message import Message, MessageType
from switchboard.domain.notifications import (
    Channel,
    Event,
    Preferences,
    address,
    conversation_occurrences,
    mention_handles,
    mentioned,
    message_occurrences,
    parse_preferences,
)

T = "tenant-1"
SUPPORT, BILLING = "team-support", "team-billing"
OWNER = Operator(T, "op-owner", "owner@acme.example", "Olivia Owner", "owner", [SUPPORT, BILLING])
ANNA = Operator(T, "op-anna", "anna@acme.example", "Anna Support", "operator", [SUPPORT])
BORIS = Operator(T, "op-boris", "boris@acme.example", "Boris Billing", "operator", [BILLING])
SOFIA = Operator(T, "op-sofia", "sofia@acme.example", "Sofia Supervisor", "supervisor", [SUPPORT, BILLING])
ADMIN = Operator(T, "op-adam", "adam@acme.example", "Adam Admin", "admin", [])  # sees everything, in no team
TEAM = [OWNER, ANNA, BORIS, SOFIA, ADMIN]
NAMES = {o.id: o.name for o in TEAM} | {SUPPORT: "Support", BILLING: "Billing"}


def conversation(**fields) -> Conversation:
    defaults = dict(tenant_id=T, id="conv-1", inbox_id="inbox-tg", contact_id="contact-1", channel="telegram",
                    team_id=SUPPORT, contact_name="Ada", version=1,
                    last_message={"text": "My parcel is late", "type": "incoming"})
    return Conversation(**(defaults | fields))


def message(kind: MessageType = MessageType.INCOMING, text: str = "Hello?", author: str | None = "contact-1",
            **fields) -> Message:
    author_name = next((o.name for o in TEAM if o.id == author), None)
    return Message(T, "conv-1", fields.pop("id", "msg-1"), kind, "2026-07-20T09:00:00.000Z", text=text,
                   author_id=author, author_name=author_name, **fields)


def notified(occurrences) -> dict[str, Event]:
    return {n.recipient_id: n.event for n in address(occurrences, TEAM, NAMES)}


def changed(old: Conversation, **fields) -> Conversation:
    return dataclasses.replace(old, version=old.version + 1, **fields)


# ------------------------------------------------------------------ new conversation in my teams
def test_a_new_conversation_tells_the_members_of_its_team_and_not_admins_outside_it():
    new = conversation()
    assert notified(conversation_occurrences(None, new)) == {
        OWNER.id: Event.NEW_CONVERSATION, ANNA.id: Event.NEW_CONVERSATION, SOFIA.id: Event.NEW_CONVERSATION}


def test_a_conversation_without_a_team_tells_nobody_it_is_new():
    assert notified(conversation_occurrences(None, conversation(team_id=None))) == {}


def test_a_transfer_to_another_team_tells_that_team_but_not_the_operator_who_moved_it():
    old = conversation()
    new = changed(old, team_id=BILLING, changed_by=SOFIA.id)
    assert notified(conversation_occurrences(old, new)) == {OWNER.id: Event.NEW_CONVERSATION,
                                                            BORIS.id: Event.NEW_CONVERSATION}


def test_the_new_conversation_text_names_the_team_and_the_customer():
    [note] = [n for n in address(conversation_occurrences(None, conversation()), TEAM, NAMES)
              if n.recipient_id == ANNA.id]
    assert (note.title, note.body) == ("New conversation in Support", "Ada: My parcel is late")


# ------------------------------------------------------------------ assigned to me
def test_assignment_by_a_colleague_tells_the_new_assignee_only():
    old = conversation()
    new = changed(old, assignee_id=ANNA.id, changed_by=SOFIA.id)
    [note] = address(conversation_occurrences(old, new), TEAM, NAMES)
    assert (note.recipient_id, note.event, note.actor_id) == (ANNA.id, Event.ASSIGNED, SOFIA.id)
    assert note.title == "Sofia Supervisor assigned you a conversation with Ada"


def test_taking_a_conversation_yourself_tells_nobody():
    old = conversation()
    assert notified(conversation_occurrences(old, changed(old, assignee_id=ANNA.id, changed_by=ANNA.id))) == {}


def test_assignment_by_automation_tells_the_assignee():
    old = conversation()
    assert notified(conversation_occurrences(old, changed(old, assignee_id=ANNA.id))) == {ANNA.id: Event.ASSIGNED}
    # Outside the team, but being its assignee is what lets Boris see it
    assert notified(conversation_occurrences(old, changed(old, assignee_id=BORIS.id))) == {BORIS.id: Event.ASSIGNED}


def test_a_new_conversation_assigned_at_once_is_an_assignment_for_its_assignee_and_news_for_the_rest():
    new = conversation(assignee_id=ANNA.id)
    found = notified(conversation_occurrences(None, new))
    assert found[ANNA.id] is Event.ASSIGNED
    assert found[OWNER.id] is found[SOFIA.id] is Event.NEW_CONVERSATION


def test_unassigning_or_other_changes_tell_nobody():
    old = conversation(assignee_id=ANNA.id)
    assert conversation_occurrences(old, changed(old, assignee_id=None, changed_by=SOFIA.id)) == []
    assert conversation_occurrences(old, changed(old, title="Broken parcel", changed_by=SOFIA.id)) == []


# ------------------------------------------------------------------ snooze woke
def test_the_snooze_timer_waking_a_conversation_tells_its_assignee():
    old = conversation(assignee_id=ANNA.id, status=Status.SNOOZED, snoozed_until="2026-07-20T10:00:00.000Z")
    new = changed(old, status=Status.OPEN, snoozed_until=None, woke_at="2026-07-20T10:00:00.000Z")
    assert notified(conversation_occurrences(old, new)) == {ANNA.id: Event.SNOOZE_WOKE}


def test_a_customer_or_an_operator_waking_it_is_not_a_snooze_wake():
    old = conversation(assignee_id=ANNA.id, status=Status.SNOOZED, woke_at="2026-07-19T10:00:00.000Z")
    assert conversation_occurrences(old, changed(old, status=Status.OPEN)) == []
    assert conversation_occurrences(old, changed(old, status=Status.OPEN, changed_by=ANNA.id)) == []


# ------------------------------------------------------------------ new message in my conversations
def test_a_customer_message_tells_the_assignee_and_the_participants():
    conv = conversation(assignee_id=ANNA.id, participants=[SOFIA.id])
    assert notified(message_occurrences(message(), conv)) == {ANNA.id: Event.NEW_MESSAGE,
                                                              SOFIA.id: Event.NEW_MESSAGE}


def test_a_message_in_an_unassigned_conversation_tells_nobody():
    assert notified(message_occurrences(message(), conversation())) == {}


def test_a_colleagues_reply_tells_the_assignee_but_never_its_author():
    conv = conversation(assignee_id=ANNA.id, participants=[SOFIA.id])
    reply = message(MessageType.OUTGOING, "On its way", author=SOFIA.id)
    [note] = address(message_occurrences(reply, conv), TEAM, NAMES)
    assert (note.recipient_id, note.title, note.body) == (ANNA.id, "Sofia Supervisor replied to Ada", "On its way")


def test_activity_lines_and_automated_messages_tell_nobody():
    conv = conversation(assignee_id=ANNA.id)
    assert message_occurrences(message(MessageType.ACTIVITY, "Sofia assigned this to Anna", author=None), conv) == []
    assert message_occurrences(message(MessageType.OUTGOING, "We got your message", author=None), conv) == []


# ------------------------------------------------------------------ mentions
@pytest.mark.parametrize(("text", "handles"), [
    ("@anna can you check?", ("anna",)),
    ("Ask @Anna.", ("anna",)),
    ("(@boris) and @sofia, @anna!", ("boris", "sofia", "anna")),
    ("@anna @ANNA again", ("anna",)),
    ("@anna.k has the dotted local part", ("anna.k",)),
    ("Write to ada@example.org or anna@acme.example", ()),
    ("Just an @ sign, and @@anna", ()),
    ("@Анна посмотри", ("анна",)),
])
def test_mention_syntax(text, handles):
    assert mention_handles(text) == handles


def test_a_handle_names_an_operator_by_e_mail_local_part_or_first_name_in_any_case():
    assert mentioned(["anna"], TEAM) == [ANNA]
    assert mentioned(["BORIS"], TEAM) == [BORIS]
    assert mentioned(["olivia", "owner"], TEAM) == [OWNER]  # both are Olivia: told once


def test_an_ambiguous_or_unknown_handle_names_nobody():
    anna_smith = Operator(T, "op-asmith", "asmith@acme.example", "Anna Smith")
    assert mentioned(["anna"], [*TEAM, anna_smith]) == []
    assert mentioned(["asmith"], [*TEAM, anna_smith]) == [anna_smith]
    assert mentioned(["nobody"], TEAM) == []


def test_a_note_mentioning_a_colleague_tells_them_once_as_a_mention():
    conv = conversation(assignee_id=ANNA.id)
    note = message(MessageType.NOTE, "@anna can you check?", author=SOFIA.id)
    [told] = address(message_occurrences(note, conv), TEAM, NAMES)
    assert (told.recipient_id, told.event, told.title) == (ANNA.id, Event.MENTION, "Sofia Supervisor mentioned you")
    assert told.body == "@anna can you check?"


def test_a_note_mentioning_someone_else_is_still_news_for_the_assignee():
    conv = conversation(assignee_id=ANNA.id)
    note = message(MessageType.NOTE, "@olivia please approve the refund", author=SOFIA.id)
    assert notified(message_occurrences(note, conv)) == {OWNER.id: Event.MENTION, ANNA.id: Event.NEW_MESSAGE}


def test_mentions_reach_only_operators_who_may_see_the_conversation_and_never_the_author():
    note = message(MessageType.NOTE, "@boris @anna have a look", author=ANNA.id)
    assert notified(message_occurrences(note, conversation())) == {}  # Boris is not in Support; Anna wrote it


# ------------------------------------------------------------------ idempotency keys
def test_keys_are_the_same_when_the_stream_delivers_a_change_again_and_differ_per_recipient():
    conv = conversation(assignee_id=ANNA.id, participants=[SOFIA.id])
    first = address(message_occurrences(message(), conv), TEAM, NAMES)
    again = address(message_occurrences(message(), conv), TEAM, NAMES)
    assert [n.key for n in first] == [n.key for n in again]
    assert len({n.key for n in first}) == 2
    assert address(message_occurrences(message(id="msg-2"), conv), TEAM, NAMES)[0].key not in {n.key for n in first}


# ------------------------------------------------------------------ preferences
def test_defaults_mail_only_what_is_personal_and_rare():
    defaults = Preferences()
    assert defaults.channels(Event.MENTION) == defaults.channels(Event.ASSIGNED) == frozenset(Channel)
    assert defaults.channels(Event.NEW_MESSAGE) == {Channel.IN_APP, Channel.BROWSER}
    assert Channel.EMAIL not in defaults.channels(Event.NEW_CONVERSATION)


def test_chosen_channels_replace_the_default_of_that_event_only():
    chosen = parse_preferences({"new_message": ["in_app"], "mention": []})
    assert chosen.channels(Event.NEW_MESSAGE) == {Channel.IN_APP}
    assert chosen.channels(Event.MENTION) == frozenset()
    assert chosen.channels(Event.ASSIGNED) == frozenset(Channel)
    assert chosen.to_dict()["new_message"] == ["in_app"]
    assert chosen.chosen_dict() == {"new_message": ["in_app"], "mention": []}


@pytest.mark.parametrize("body", [
    {"new_mesage": ["in_app"]}, {"mention": ["sms"]}, {"mention": "email"}, ["mention"], None,
])
def test_unknown_events_or_channels_are_refused(body):
    with pytest.raises(BadRequest):
        parse_preferences(body)


def test_stored_choices_of_an_event_no_longer_known_are_ignored():
    stored = Preferences.from_stored({"retired_event": ["email"], "mention": ["in_app", "pager"]})
    assert stored.chosen == {Event.MENTION: frozenset({Channel.IN_APP})}
