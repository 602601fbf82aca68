"""Saved replies: /shortcut search, Ctrl+1…9 order, variables, shared versus personal."""

import pytest

from switchboard.domain.conversation import OperatorView
from switchboard.domain.errors import BadRequest, Conflict, Forbidden, NotFound
from switchboard.domain.saved_replies import person_values, render
from tests.unit.test_services import deliver, only_conversation, update


def people(demo):
    owner, anna, boris = demo["operators"][:3]
    as_view = lambda person, role: OperatorView(demo["tenant"]["id"], person["id"], role,  # noqa: E731
                                                team_ids=frozenset(person["team_ids"]), name=person["name"])
    return as_view(owner, "owner"), as_view(anna, "operator"), as_view(boris, "operator")


def test_variables_are_filled_and_unknown_ones_stay_visible():
    values = {"contact": person_values("Ada Lovelace"), "operator": person_values("Anna Support")}
    assert render("Hi {{contact.first_name}}, {{operator.name}} here. {{order.id}}", values) == (
        "Hi Ada, Anna Support here. {{order.id}}")


def test_shared_and_personal_replies_search_order_and_hotkeys(world):
    services, demo = world
    owner, anna, boris = people(demo)
    replies = services.saved_replies
    replies.create(owner, shortcut="/delivery", text="Your parcel ships today.", personal=False, position=1)
    replies.create(owner, shortcut="refund", text="Refunds take 3 days.", title="Refund policy", personal=False)
    replies.create(anna, shortcut="hello", text="Hi {{contact.first_name}}!", position=0)
    for n in range(9):
        replies.create(boris, shortcut=f"b{n}", text="Billing")
    listed = replies.list(anna)
    assert [(r["shortcut"], r["hotkey"]) for r in listed] == [("hello", 1), ("delivery", 2), ("refund", 3)]
    assert [r["shortcut"] for r in replies.list(anna, "/del")] == ["delivery"]
    assert [r["shortcut"] for r in replies.list(anna, "policy")] == ["refund"]
    assert [r["hotkey"] for r in replies.list(boris)][-1] is None  # eleven replies: the last two have no hotkey


def test_a_reply_is_rendered_for_a_conversation(world):
    services, demo = world
    owner, anna, _ = people(demo)
    deliver(services, demo, update(1, 1, "hi", chat_id=9191))
    conversation = only_conversation(services, demo)
    created = services.saved_replies.create(anna, shortcut="hello", text="Hi {{contact.first_name}}, "
                                                                          "{{operator.first_name}} here.")
    rendered = services.saved_replies.rendered(anna, conversation.id, created["id"])
    assert rendered["text"] == "Hi Ada, Anna here."


def test_rules_duplicates_permissions_and_privacy(world):
    services, demo = world
    owner, anna, boris = people(demo)
    replies = services.saved_replies
    with pytest.raises(Forbidden):
        replies.create(anna, shortcut="shared", text="x", personal=False)
    mine = replies.create(anna, shortcut="mine", text="x")
    with pytest.raises(Conflict):
        replies.create(anna, shortcut="/mine", text="y")
    replies.create(boris, shortcut="mine", text="Boris's own")  # another scope: no clash
    with pytest.raises(BadRequest):
        replies.create(anna, shortcut="no spaces allowed", text="x")
    with pytest.raises(NotFound):
        replies.delete(boris, mine["id"])  # another operator's personal reply is invisible to him
    replies.delete(anna, mine["id"])
    assert [r["shortcut"] for r in replies.list(anna)] == []
