"""Finding what needs an answer, over HTTP on the local stack: every filter, the access rule in lists and counters,
and counters that follow changes (the reactions consumer keeps the views from the conversations stream)."""

from __future__ import annotations

import dataclasses
import itertools
import uuid
from datetime import timedelta

import pytest

from tests.integration.helpers import TelegramCustomer, eventually

_chat_ids = itertools.count(882_000_001)


@pytest.fixture
def label():
    """A tag of this test's own, so its lists and counts hold only its conversations."""
    return f"flt-{uuid.uuid4().hex[:8]}"


def team(stack, name):
    return next(t["id"] for t in stack.demo["teams"] if t["name"] == name)


def start(stack, owner, name, label=None):
    """Given a Telegram customer ``name`` who writes; the owner tags the conversation with ``label``."""
    customer = TelegramCustomer(stack, next(_chat_ids), first_name=name)
    customer.says(f"Hello, this is {name}")
    row = eventually(lambda: next((r for r in owner.conversations(status="all", limit=100)
                                   if r["contact"]["name"] == name), None))
    if label:
        assert owner.post(f"/v1/conversations/{row['id']}/tags", {"tag": label}).status_code == 200
    return row


def names(operator, **params):
    answer = operator.get("/v1/conversations", limit=100, **params)
    assert answer.status_code == 200, answer.text
    return [row["contact"]["name"] for row in answer.json()["items"]]


def counts(operator, **params):
    answer = operator.get("/v1/conversations/counts", **params)
    assert answer.status_code == 200, answer.text
    return answer.json()


def shows(operator, expected, **params):
    """The list eventually shows exactly ``expected`` (the views follow the stream within moments)."""
    return eventually(lambda: names(operator, **params) == expected, timeout=15)


def sla_due_in(stack, row, minutes):
    """What the SLA work will do: set the conversation's deadline (written in-process, as its timer would)."""
    from switchboard.domain import clock
    from switchboard.store.writes import ConversationWriter
    from switchboard.wiring import services

    current = services().conversations.get(stack.demo["tenant"]["id"], row["id"])
    due = clock.iso(clock.now() + timedelta(minutes=minutes))
    ConversationWriter(services().transactions).save(current, dataclasses.replace(current, sla_due_at=due))


def test_every_filter_finds_its_conversations(stack, owner, boris, label, wait_idle):
    name = label.upper()
    ada = start(stack, owner, f"Ada {name}", label)
    ben = start(stack, owner, f"Ben {name}", label)
    assert owner.post(f"/v1/conversations/{ben['id']}/messages", {"text": "On it"}).status_code == 201  # answered
    cy = start(stack, owner, f"Cy {name}", label)
    dee = start(stack, owner, f"Dee {name}", label)
    assert owner.http.patch(f"/v1/conversations/{ada['id']}", json={"priority": "high"}).status_code == 200
    moved = owner.post(f"/v1/conversations/{ben['id']}/assign", {"team_id": team(stack, "Billing"),
                                                                  "assignee_id": owner.id})
    assert moved.status_code == 200, moved.text
    assert owner.post(f"/v1/conversations/{cy['id']}/assign", {"assignee_id": boris.id}).status_code == 200
    assert owner.http.patch(f"/v1/conversations/{cy['id']}", json={"priority": "urgent"}).status_code == 200
    sla_due_in(stack, cy, 20)
    assert owner.post(f"/v1/conversations/{dee['id']}/resolve").status_code == 200
    wait_idle()

    everyone = [f"Dee {name}", f"Cy {name}", f"Ben {name}", f"Ada {name}"]
    shows(owner, everyone, tag=label, status="all")
    assert names(owner, tag=label) == everyone[1:]  # open by default
    assert names(owner, tag=label, status="resolved") == [f"Dee {name}"]
    assert names(owner, tag=label, assignee="unassigned") == [f"Ada {name}"]
    assert names(owner, tag=label, assignee=boris.id) == [f"Cy {name}"]
    assert names(boris, tag=label, assignee="me") == [f"Cy {name}"]
    assert names(owner, tag=label, assignee="me") == [f"Ben {name}"]
    assert names(owner, tag=label, team=team(stack, "Billing")) == [f"Ben {name}"]
    assert names(owner, tag=label, inbox=ada["inbox_id"], status="all") == everyone
    assert names(owner, tag=label, channel="telegram", status="all") == everyone
    assert names(owner, tag=label, priority="urgent") == [f"Cy {name}"]
    assert names(owner, tag=label, priority="high") == [f"Ada {name}"]
    assert names(owner, tag=label, unanswered="true") == [f"Cy {name}", f"Ada {name}"]
    assert names(owner, tag=label, sort="longest_waiting") == [f"Ada {name}", f"Cy {name}"]
    assert names(owner, tag=label, sort="sla_due", sla_due_within="30") == [f"Cy {name}"]
    assert names(owner, tag=label, sort="sla_due", sla="breached") == []
    assert f"Ada {name}" not in names(owner, untagged="true", status="all")
    assert counts(owner, tag=label)["tags"] == {label: 3}


def test_an_operator_sees_only_their_teams_and_what_they_follow_in_lists_and_counters(
        stack, owner, anna, boris, label, wait_idle):
    name = label.upper()
    billing = start(stack, owner, f"Xena {name}", label)  # moved to Billing: Boris's team, not Anna's
    start(stack, owner, f"Yuri {name}", label)  # Support: Anna's
    borrowed = start(stack, owner, f"Zoe {name}", label)  # Support, but assigned to Boris
    assert owner.post(f"/v1/conversations/{billing['id']}/assign",
                      {"team_id": team(stack, "Billing")}).status_code == 200
    assert owner.post(f"/v1/conversations/{borrowed['id']}/assign", {"assignee_id": boris.id}).status_code == 200
    wait_idle()

    shows(anna, [f"Zoe {name}", f"Yuri {name}"], tag=label)
    shows(boris, [f"Zoe {name}", f"Xena {name}"], tag=label)
    assert counts(anna, tag=label)["tags"] == {label: 2} and counts(boris, tag=label)["tags"] == {label: 2}
    assert counts(owner, tag=label)["tags"] == {label: 3}
    assert anna.get(f"/v1/conversations/{billing['id']}").status_code == 404

    # When Anna is added to follow the Billing conversation, she sees it and counts it
    answer = owner.post(f"/v1/conversations/{billing['id']}/participants", {"operator_id": anna.id})
    assert answer.status_code == 200, answer.text
    shows(anna, [f"Zoe {name}", f"Yuri {name}", f"Xena {name}"], tag=label)
    assert eventually(lambda: counts(anna, tag=label)["tags"] == {label: 3})


def test_counters_follow_assignments_tags_and_resolutions(stack, owner, boris, label, wait_idle):
    row = start(stack, owner, f"Counted {label.upper()}")
    wait_idle()
    before = counts(boris)
    assert counts(boris, tag=label)["tags"] == {label: 0}

    owner.post(f"/v1/conversations/{row['id']}/assign", {"assignee_id": boris.id})
    owner.post(f"/v1/conversations/{row['id']}/tags", {"tag": label})
    after = eventually(lambda: (c := counts(boris, tag=label))["tags"][label] == 1 and c)
    assert after["mine"] == before["mine"] + 1 and after["all"] == before["all"] + 1

    owner.post(f"/v1/conversations/{row['id']}/resolve")
    resolved = eventually(lambda: (c := counts(boris, tag=label))["tags"][label] == 0 and c)
    assert resolved["mine"] == before["mine"] and resolved["statuses"]["resolved"] == before["statuses"][
        "resolved"] + 1


@pytest.mark.parametrize(("path", "params", "says"), [
    ("/v1/conversations", {"sort": "oldest"}, "Unknown sort 'oldest'"),
    ("/v1/conversations", {"colour": "red"}, "Unknown filter 'colour'"),
    ("/v1/conversations", {"status": "closed"}, "Unknown status 'closed'"),
    ("/v1/conversations", {"team": "no-such-team"}, "Unknown team"),
    ("/v1/conversations", {"sla_due_within": "soon"}, "sla_due_within must be a number"),
    ("/v1/conversations/counts", {"status": "closed"}, "Unknown status 'closed'"),
    ("/v1/conversations/counts", {"assignee": "me"}, "Unknown parameter 'assignee'"),
])
def test_unknown_filters_are_a_bad_request_that_says_what_is_allowed(owner, path, params, says):
    answer = owner.get(path, **params)
    assert answer.status_code == 400 and answer.headers["content-type"] == "application/problem+json"
    assert says in answer.json()["detail"]
