"""Title, priority, tags, participants, request types, pending, reopen-within-N-days and held automation."""

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from switchboard.domain import clock
from switchboard.domain.conversation import Conversation, OperatorView, Status
from switchboard.domain.errors import BadRequest, Conflict, Forbidden, IllegalTransition, NotFound
from switchboard.domain.settings import Catalogues, Patch, automation_held, catalogue_values, normalize_tag
from switchboard.services.api_keys import ApiCaller
from tests.unit.test_services import deliver, telegram_inbox, update

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def conversation(**fields) -> Conversation:
    base = Conversation(tenant_id="t", id="c", inbox_id="i", contact_id="k", channel="telegram")
    return dataclasses.replace(base, **fields)


def person(demo, email: str) -> OperatorView:
    found = next(p for p in demo["operators"] if p["email"] == email)
    return OperatorView(demo["tenant"]["id"], found["id"], found["role"], team_ids=frozenset(found["team_ids"]),
                        name=found["name"], permissions=frozenset(
                            ["edit_dialog_settings"] if email == "anna@acme.example" else []))


def open_conversation_id(services, demo, chat_id: int = 5550001234) -> str | None:
    identity = services.contacts.identity(demo["tenant"]["id"], telegram_inbox(demo)["id"], str(chat_id))
    return identity.open_conversation_id if identity else None


def lines(services, viewer, conversation_id) -> list[str]:
    page, _ = services.conversation_service.messages(viewer, conversation_id, limit=50, cursor=None)
    return [m.text for m in page if str(m.type) == "activity"]


# ---------------------------------------------------------------- pure rules
def test_tags_have_one_spelling_and_bad_ones_are_refused():
    assert normalize_tag("  Refund   Request ") == "refund request"
    for bad in ("", "   ", 5, "x" * 41, "a#b", "a,b"):
        with pytest.raises(BadRequest):
            normalize_tag(bad)


def test_a_patch_names_each_change_and_takes_the_catalogue_spelling():
    catalogues = Catalogues(reasons=["Late delivery", "Damaged"], components=["Checkout"])
    patch = Patch.parse({"title": "Order 1042", "priority": "high", "request_type": "refund",
                         "reasons": ["damaged", "Damaged"], "components": []})
    new, said = patch.apply(conversation(), catalogues)
    assert (new.title, new.priority, new.request_type, new.reasons) == ("Order 1042", "high", "Refund", ["Damaged"])
    assert said == ["renamed this to “Order 1042”", "set priority to high", "set request type to Refund",
                    "set reasons to Damaged"]
    same, nothing = Patch.parse({"priority": "high"}).apply(new, catalogues)
    assert nothing == [] and same == new


@pytest.mark.parametrize("body, message", [
    ({}, "Give at least one"),
    ({"colour": "red"}, "Unknown field 'colour'"),
    ({"priority": "critical"}, "Unknown priority 'critical'"),
    ({"title": 5}, "title must be a string"),
    ({"reasons": "late"}, "reasons must be a list"),
])
def test_bad_patches_say_what_is_wrong(body, message):
    with pytest.raises(BadRequest, match=message):
        Patch.parse(body)


def test_values_outside_the_catalogue_name_the_choices():
    with pytest.raises(BadRequest, match="choose from: Support, Refund"):
        Patch.parse({"request_type": "Complaint"}).apply(conversation(), Catalogues())
    with pytest.raises(BadRequest, match="none yet"):
        Patch.parse({"components": ["Checkout"]}).apply(conversation(), Catalogues())


def test_a_resolved_conversation_keeps_its_settings():
    with pytest.raises(IllegalTransition, match="reopen it first"):
        Patch.parse({"priority": "low"}).apply(conversation(status=Status.RESOLVED), Catalogues())


def test_catalogues_are_validated():
    assert catalogue_values("reasons", [" Late  delivery ", "Damaged"]) == ["Late delivery", "Damaged"]
    for name, values in (("colours", []), ("reasons", "x"), ("reasons", ["a", "A"]), ("reasons", [""]),
                         ("reasons", ["x" * 61]), ("reasons", ["x"] * 101)):
        with pytest.raises(BadRequest):
            catalogue_values(name, values)


def test_automation_waits_for_people():
    assert automation_held(conversation(), NOW) is None
    assert automation_held(conversation(status=Status.PENDING, assignee_id="anna"), NOW) is None
    assert "handling" in automation_held(conversation(assignee_id="anna"), NOW)
    recently = clock.iso(NOW + timedelta(minutes=3))
    assert "a moment ago" in automation_held(conversation(status=Status.PENDING, operator_active_until=recently), NOW)
    earlier = clock.iso(NOW - timedelta(seconds=1))
    assert automation_held(conversation(status=Status.PENDING, operator_active_until=earlier), NOW) is None
    assert "resolved" in automation_held(conversation(status=Status.RESOLVED), NOW)


# ---------------------------------------------------------------- services on the tables
def test_settings_tags_and_participants_leave_activity_lines(world):
    services, demo = world
    deliver(services, demo, update(1, 1, "My parcel is damaged"))
    conversation_id = open_conversation_id(services, demo)
    anna, boris = person(demo, "anna@acme.example"), person(demo, "boris@acme.example")
    settings = services.conversation_settings
    settings.update(anna, conversation_id, Patch.parse({"priority": "urgent", "request_type": "Refund"}))
    settings.tag(anna, conversation_id, "VIP")
    again = settings.tag(anna, conversation_id, " vip ")  # already there: nothing written
    settings.follow(anna, conversation_id, boris.operator_id)
    assert again.tags == ["vip"]
    assert lines(services, anna, conversation_id) == [
        "Anna Support set priority to urgent; set request type to Refund",
        "Anna Support tagged this “vip”", "Anna Support added Boris Billing"]
    # Boris is in Billing, the conversation in Support: following it lets him see it.
    assert services.conversation_service.get(boris, conversation_id).participants == [boris.operator_id]
    assert settings.tags(anna) == ["vip"]
    settings.untag(anna, conversation_id, "VIP")
    assert settings.tags(anna, "v") == ["vip"]  # the catalogue only grows
    settings.unfollow(boris, conversation_id, boris.operator_id)
    with pytest.raises(NotFound):
        services.conversation_service.get(boris, conversation_id)


def test_a_stale_view_gets_409_and_resolved_conversations_accept_only_notes_and_tags(world):
    services, demo = world
    deliver(services, demo, update(1, 1, "Hello"))
    conversation_id = open_conversation_id(services, demo)
    anna = person(demo, "anna@acme.example")
    current = services.conversation_service.get(anna, conversation_id)
    services.conversation_settings.update(anna, conversation_id, Patch.parse({"title": "First"}), current.version)
    with pytest.raises(Conflict):
        services.conversation_settings.update(anna, conversation_id, Patch.parse({"title": "Second"}),
                                              current.version)
    services.conversation_service.resolve(anna, conversation_id)
    with pytest.raises(IllegalTransition):
        services.conversation_settings.update(anna, conversation_id, Patch.parse({"priority": "low"}))
    with pytest.raises(IllegalTransition):
        services.conversation_service.assign(anna, conversation_id, assignee_id=anna.operator_id)
    with pytest.raises(IllegalTransition):
        services.conversation_settings.follow(anna, conversation_id, anna.operator_id)
    assert services.conversation_settings.tag(anna, conversation_id, "closed-happy").tags == ["closed-happy"]
    services.conversation_service.note(anna, conversation_id, "for the record", None)


def test_only_people_with_the_permission_edit_dialog_settings(world):
    services, demo = world
    anna, boris = person(demo, "anna@acme.example"), person(demo, "boris@acme.example")
    owner = person(demo, "owner@acme.example")
    assert services.conversation_settings.dialog_settings(boris).request_types == ["Support", "Refund"]
    with pytest.raises(Forbidden, match="can edit dialog settings"):
        services.conversation_settings.set_catalogue(boris, "reasons", ["Late delivery"])
    services.conversation_settings.set_catalogue(anna, "reasons", ["Late delivery"])
    services.conversation_settings.set_catalogue(owner, "components", ["Checkout"])
    assert services.conversation_settings.dialog_settings(boris).to_dict() == {
        "request_types": ["Support", "Refund"], "reasons": ["Late delivery"], "components": ["Checkout"]}


def test_a_reply_can_leave_the_conversation_waiting_for_the_customer(world):
    services, demo = world
    deliver(services, demo, update(1, 1, "Which size?"))
    conversation_id = open_conversation_id(services, demo)
    anna = person(demo, "anna@acme.example")
    services.conversation_service.reply(anna, conversation_id, "Could you send a photo?", None, then_pending=True)
    waiting = services.conversation_service.get(anna, conversation_id)
    assert waiting.status is Status.PENDING and waiting.assignee_id == anna.operator_id
    assert waiting.operator_active_until > clock.iso(clock.now())
    assert lines(services, anna, conversation_id)[-1] == "Anna Support set this to pending"
    deliver(services, demo, update(2, 2, "Here it is"))
    assert services.conversation_service.get(anna, conversation_id).status is Status.OPEN
    services.conversation_service.set_pending(anna, conversation_id)
    with pytest.raises(IllegalTransition):
        services.conversation_service.set_pending(anna, conversation_id)


def test_an_inbox_may_reopen_the_last_conversation_within_n_days(world):
    services, demo = world
    owner, anna = person(demo, "owner@acme.example"), person(demo, "anna@acme.example")
    inbox_id = telegram_inbox(demo)["id"]
    deliver(services, demo, update(1, 1, "Hello"))
    first = open_conversation_id(services, demo)
    services.conversation_service.resolve(anna, first)
    deliver(services, demo, update(2, 2, "Without the setting: a new conversation"))
    second = open_conversation_id(services, demo)
    assert second != first
    with pytest.raises(Forbidden):
        services.inbox_settings.update(anna, inbox_id, {"reopen_within_days": 3})
    for bad in ({"reopen_within_days": -1}, {"reopen_within_days": 91}, {"reopen_within_days": "3"}, {"x": 1}):
        with pytest.raises(BadRequest):
            services.inbox_settings.update(owner, inbox_id, bad)
    services.inbox_settings.update(owner, inbox_id, {"reopen_within_days": 3})
    services.conversation_service.resolve(anna, second)
    deliver(services, demo, update(3, 3, "One more thing"))
    assert open_conversation_id(services, demo) == second
    reopened = services.conversation_service.get(anna, second)
    assert reopened.status is Status.OPEN and reopened.last_message["text"] == "One more thing"


def test_an_old_resolve_starts_a_new_conversation_even_with_the_setting(world):
    services, demo = world
    owner, anna = person(demo, "owner@acme.example"), person(demo, "anna@acme.example")
    services.inbox_settings.update(owner, telegram_inbox(demo)["id"], {"reopen_within_days": 1})
    deliver(services, demo, update(1, 1, "Hello"))
    first = open_conversation_id(services, demo)
    services.conversation_service._now = lambda: clock.now() - timedelta(days=2)  # resolved two days ago
    services.conversation_service.resolve(anna, first)
    deliver(services, demo, update(2, 2, "Hello again"))
    assert open_conversation_id(services, demo) not in (None, first)


def test_automated_messages_are_held_while_an_operator_handles_the_conversation(world):
    services, demo = world
    deliver(services, demo, update(1, 1, "Hi"))
    conversation_id = open_conversation_id(services, demo)
    bot = ApiCaller(demo["tenant"]["id"], "key", frozenset({"messages:write"}))
    settings = services.conversation_settings
    sent = settings.automated(bot, conversation_id, "We usually answer within an hour.", "greeting-1")
    assert sent["held"] is False
    anna = person(demo, "anna@acme.example")
    services.conversation_service.assign(anna, conversation_id, assignee_id=anna.operator_id)
    held = settings.automated(bot, conversation_id, "Did that answer your question?", None)
    assert held["held"] is True and "handling" in held["reason"]
    page, _ = services.conversation_service.messages(anna, conversation_id, limit=50, cursor=None)
    kinds = {m.text: (str(m.type), m.author_name) for m in page}
    assert kinds["We usually answer within an hour."] == ("outgoing", "Automation")
    assert kinds["Held automated message (an operator is handling this conversation): "
                 "Did that answer your question?"] == ("note", "Automation")
    with pytest.raises(Conflict):
        settings.automated(bot, conversation_id, "again", "greeting-1")
    with pytest.raises(Forbidden):
        settings.automated(ApiCaller(demo["tenant"]["id"], "key", frozenset()), conversation_id, "x", None)
    with pytest.raises(NotFound):
        settings.automated(ApiCaller("other-tenant", "key", frozenset({"messages:write"})), conversation_id,
                           "x", None)
