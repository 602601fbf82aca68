"""The contact card's rules: how names, phones and e-mails are searched, what an edit or an event may contain."""

from datetime import UTC, datetime, timedelta

import pytest

from switchboard.domain import clock
from switchboard.domain.contact import (
    MAX_ATTRIBUTES,
    apply_attributes,
    hidden_conversation_id,
    is_hidden_conversation,
    name_words,
    parse_changes,
    parse_event,
    search_query,
)
from switchboard.domain.errors import BadRequest

NOW = datetime(2026, 7, 20, 9, 0, tzinfo=UTC)


def test_a_name_is_searched_by_each_word_in_one_spelling():
    assert name_words("Zoë  O'Brien-SMITH") == ["zoe", "o", "brien", "smith"]
    assert name_words(None) == []


@pytest.mark.parametrize(("text", "kind", "prefix"), [
    ("+44 (7700) 900-123", "phone", "+447700900123"),
    ("447700", "phone", "+447700"),
    (" Ada@Example.ORG ", "email", "ada@example.org"),
    ("ada@", "email", "ada@"),
    ("Lovel", "name", "lovel"),
])
def test_a_query_is_a_phone_an_email_or_a_name(text, kind, prefix):
    query = search_query(text)
    assert (query.kind, query.prefix) == (kind, prefix)


def test_every_word_of_a_name_query_must_start_a_word_of_the_name():
    query = search_query("ada LO")
    assert query.matches("Ada Lovelace") and query.matches("Lord Adam")
    assert not query.matches("Ada Smith")


@pytest.mark.parametrize("text", ["", "   ", None, "12", "x" * 201, "!!!"])
def test_a_query_that_finds_nothing_sensible_is_refused(text):
    with pytest.raises(BadRequest):
        search_query(text)


def test_an_edit_is_normalized():
    changes = parse_changes({"name": "  Ada   Lovelace ", "email": " Ada@Example.ORG", "phone": "+44 7700 900123",
                             "language": "pt-BR", "attributes": {"plan": "gold", "seats": 5, "vip": True,
                                                                 "old": None},
                             "tags": ["VIP", " vip ", "B2B  customer"]})
    assert changes.fields == {"name": "Ada Lovelace", "email": "ada@example.org", "phone": "+447700900123",
                              "language": "pt-BR"}
    assert changes.attributes == {"plan": "gold", "seats": 5, "vip": True, "old": None}
    assert changes.tags == ("vip", "b2b customer")


def test_null_clears_a_field():
    assert parse_changes({"email": None, "phone": None}).fields == {"email": None, "phone": None}


@pytest.mark.parametrize(("body", "says"), [
    ({}, "Nothing to change"),
    ({"nickname": "Ada"}, "Unknown field(s): nickname"),
    ({"email": "not-an-address"}, "is not an e-mail address"),
    ({"email": 42}, "email must be a string"),
    ({"phone": "call me"}, "is not a phone number"),
    ({"phone": "123"}, "is not a phone number"),
    ({"phone": "+1 234 567 890 123 456 78"}, "is not a phone number"),
    ({"language": "english!"}, "is not a language tag"),
    ({"name": "x" * 201}, "name is too long"),
    ({"attributes": ["plan", "gold"]}, "attributes must be an object"),
    ({"attributes": {"1plan": "gold"}}, "is not an attribute name"),
    ({"attributes": {"plan": ["gold"]}}, "must be text, a number, true/false"),
    ({"attributes": {"plan": float("nan")}}, "must be text, a number, true/false"),
    ({"attributes": {"note": "x" * 1001}}, "is too long"),
    ({"tags": "vip"}, "tags must be a list"),
    ({"tags": ["a#b"]}, "may not contain"),
    ({"tags": [f"t{n}" for n in range(21)]}, "at most 20 tags"),
])
def test_a_bad_edit_is_refused_with_a_clear_message(body, says):
    with pytest.raises(BadRequest) as refused:
        parse_changes(body)
    assert says in refused.value.detail


def test_attributes_merge_into_the_card_and_null_removes_one():
    assert apply_attributes({"plan": "silver", "seats": 2}, {"plan": "gold", "seats": None}) == {"plan": "gold"}
    full = {f"k{n}": n for n in range(MAX_ATTRIBUTES)}
    assert apply_attributes(full, {"k0": None, "extra": 1})["extra"] == 1
    with pytest.raises(BadRequest):
        apply_attributes(full, {"one_too_many": 1})


def test_an_event_defaults_to_now_and_keeps_its_details():
    event = parse_event({"type": "page_view", "url": "https://acme.example/pricing", "id": "pv-1",
                         "data": {"referrer": "ad"}}, NOW)
    assert (event.type, event.at, event.event_id, event.url, event.data) == (
        "page_view", clock.iso(NOW), "pv-1", "https://acme.example/pricing", {"referrer": "ad"})
    assert parse_event({"type": "order.paid", "at": "2026-07-20T08:00:00+02:00"}, NOW).at == "2026-07-20T06:00:00.000Z"


@pytest.mark.parametrize(("body", "says"), [
    ({"url": "https://acme.example"}, "type must be"),
    ({"type": "Page View"}, "type must be"),
    ({"type": "page_view", "at": "2026-07-20T08:00:00"}, "with a time zone"),
    ({"type": "page_view", "at": "yesterday"}, "with a time zone"),
    ({"type": "page_view", "at": clock.iso(NOW + timedelta(hours=1))}, "in the future"),
    ({"type": "page_view", "url": "javascript:alert(1)"}, "url must be"),
    ({"type": "page_view", "id": ""}, "id must be"),
    ({"type": "page_view", "data": "x"}, "data must be a JSON object"),
    ({"type": "page_view", "data": {"blob": "x" * 5000}}, "data is too large"),
    ({"type": "page_view", "referrer": "ad"}, "Unknown field(s): referrer"),
])
def test_a_bad_event_is_refused_with_a_clear_message(body, says):
    with pytest.raises(BadRequest) as refused:
        parse_event(body, NOW)
    assert says in refused.value.detail


def test_a_blocked_contacts_conversation_id_is_recognisable():
    assert is_hidden_conversation(hidden_conversation_id("01CONTACT"))
    assert not is_hidden_conversation("01J0CONVERSATION") and not is_hidden_conversation(None)
