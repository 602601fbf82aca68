"""The contact card on the real tables (in-process moto): edit, search, notes, access, timeline with API events,
and blocking ("hide chat") — kept messages that open nothing and reach nobody — without a third DynamoDB call."""

import pytest

from switchboard.channels.widget import visitor_token
from switchboard.domain import clock
from switchboard.domain.contact import is_hidden_conversation
from switchboard.domain.conversation import OperatorView
from switchboard.domain.errors import BadRequest, ContactBlocked, Forbidden, NotFound
from switchboard.domain.inbound import InboundMessage, Profile
from switchboard.services.api_keys import ApiCaller
from switchboard.services.fanout import FanoutService
from switchboard.store.streams import Change
from tests.bench.ingest import counting_dynamodb_calls


def inbox_of(services, demo, channel):
    return services.directory.inbox(next(i["id"] for i in demo["inboxes"] if i["channel"] == channel))


def write(services, inbox, source_id: str, text: str, **profile):
    now = clock.iso(clock.now())
    event = InboundMessage(source_id=source_id, external_id=f"{source_id}:{text}", sent_at=now, text=text,
                           profile=Profile(**profile))
    return services.ingest.handle(inbox, [event], now)


def viewer(demo, email: str) -> OperatorView:
    person = next(p for p in demo["operators"] if p["email"] == email)
    return OperatorView(demo["tenant"]["id"], person["id"], person["role"], team_ids=frozenset(person["team_ids"]),
                        name=person["name"])


def owner(demo) -> OperatorView:
    return viewer(demo, "owner@acme.example")


def contact_of(services, demo, inbox, source_id):
    return services.contacts.identity(demo["tenant"]["id"], inbox.id, source_id).contact_id


def open_conversations(services, demo):
    items, _ = services.conversation_service.list(owner(demo), status="open", assignee=None, limit=50, cursor=None)
    return items


def timeline(services, demo, contact_id, who=None, limit=50, cursor=None):
    return services.contact_timeline.page(who or owner(demo), contact_id, limit=limit, cursor=cursor)


@pytest.fixture
def ada(world):
    """Given Ada wrote from Telegram."""
    services, demo = world
    telegram = inbox_of(services, demo, "telegram")
    write(services, telegram, "1001", "Hello, my order is late", name="Ada Lovelace")
    return contact_of(services, demo, telegram, "1001")


# ------------------------------------------------------------------ edit and search
def test_an_edit_changes_the_card_its_search_keys_and_its_conversations(world, ada):
    services, demo = world
    card = services.contact_service.edit(owner(demo), ada, {
        "name": "Augusta Ada King", "email": "ADA@Example.org", "phone": "+44 (7700) 900-123", "language": "en",
        "attributes": {"plan": "gold", "customer_id": "C-42", "seats": 3}, "tags": ["VIP", "b2b"]})
    contact = card["contact"]
    assert (contact.name, contact.email, contact.phone, contact.language) == (
        "Augusta Ada King", "ada@example.org", "+447700900123", "en")
    assert contact.attributes == {"plan": "gold", "customer_id": "C-42", "seats": 3}
    assert contact.tags == ["vip", "b2b"]
    assert [c.contact_name for c in card["conversations"]] == ["Augusta Ada King"]

    def found(text):
        return [c.contact_id for c in services.contact_service.search(owner(demo), text, limit=10, cursor=None)[0]]

    assert found("augusta") == found("KING") == found("ada k") == [ada]
    assert found("lovelace") == []  # the old name no longer finds her
    assert found("+44 7700 900123") == found("447700900") == found("ada@example") == [ada]
    # Attributes merge, null removes one; clearing the e-mail removes its search key
    card = services.contact_service.edit(owner(demo), ada, {"attributes": {"seats": None, "plan": "platinum"},
                                                            "email": None})
    assert card["contact"].attributes == {"plan": "platinum", "customer_id": "C-42"}
    assert found("ada@example") == []


def test_a_bad_edit_changes_nothing(world, ada):
    services, demo = world
    with pytest.raises(BadRequest):
        services.contact_service.edit(owner(demo), ada, {"name": "Ada", "phone": "not a phone"})
    assert services.contact_service.card(owner(demo), ada)["contact"].name == "Ada Lovelace"


def test_an_edited_email_becomes_a_merge_suggestion_and_stops_being_one(world, ada):
    services, demo = world
    widget = inbox_of(services, demo, "widget")
    write(services, widget, "visitor-7", "hi from the site", name="A. L.", email="ada@example.org")
    other = contact_of(services, demo, widget, "visitor-7")
    services.contact_service.edit(owner(demo), ada, {"email": "ada@example.org"})
    assert [s["id"] for s in services.contact_service.card(owner(demo), ada)["merge_suggestions"]] == [other]
    services.contact_service.edit(owner(demo), ada, {"email": "countess@example.org"})
    assert services.contact_service.card(owner(demo), ada)["merge_suggestions"] == []


def test_search_by_name_is_by_word_prefix_any_case_and_pages_with_a_cursor(world):
    services, demo = world
    telegram = inbox_of(services, demo, "telegram")
    for number, name in enumerate(["Pat Alpha", "pat Beta", "Patricia Gamma", "Paula Delta"]):
        write(services, telegram, f"20{number}", "hi", name=name)
    seen, cursor = [], None
    for _ in range(10):
        page, cursor = services.contact_service.search(owner(demo), "PAT", limit=1, cursor=cursor)
        seen += [c.name for c in page]
        if cursor is None:
            break
    assert sorted(seen) == ["Pat Alpha", "Patricia Gamma", "pat Beta"]
    with pytest.raises(BadRequest):  # a cursor only resumes the search it came from
        services.contact_service.search(owner(demo), "paula", limit=1,
                                        cursor=services.contact_service.search(owner(demo), "pat", limit=1,
                                                                               cursor=None)[1])


def test_a_contact_is_found_once_even_when_several_of_its_words_match(world):
    services, demo = world
    write(services, inbox_of(services, demo, "telegram"), "300", "hi", name="Anna Annabel Ann")
    page, cursor = services.contact_service.search(owner(demo), "ann", limit=10, cursor=None)
    assert [c.name for c in page] == ["Anna Annabel Ann"] and cursor is None


# ------------------------------------------------------------------ access
def test_a_contact_is_visible_only_to_who_may_see_one_of_its_conversations(world, ada):
    services, demo = world
    anna, boris, sofia = (viewer(demo, email) for email in
                          ("anna@acme.example", "boris@acme.example", "sofia@acme.example"))
    assert services.contact_service.card(anna, ada)["contact"].contact_id == ada  # Support's conversation
    assert services.contact_service.card(sofia, ada)["contact"].contact_id == ada  # supervisors see all
    for action in (lambda: services.contact_service.card(boris, ada),
                   lambda: services.contact_service.edit(boris, ada, {"name": "Mallory"}),
                   lambda: services.contact_service.set_blocked(boris, ada, True),
                   lambda: services.contact_service.add_note(boris, ada, "peeking"),
                   lambda: timeline(services, demo, ada, who=boris)):
        with pytest.raises(NotFound):
            action()
    assert services.contact_service.search(boris, "ada", limit=10, cursor=None)[0] == []
    with pytest.raises(NotFound):  # another tenant's owner finds nothing either
        services.contact_service.card(OperatorView("another-tenant", "x", "owner"), ada)
    # Once Billing has one of her conversations, Boris sees her
    billing = next(t["id"] for t in demo["teams"] if t["name"] == "Billing")
    [conversation] = open_conversations(services, demo)
    services.conversation_service.assign(owner(demo), conversation.id, assignee_id=None, team_id=billing)
    assert [c.contact_id for c in services.contact_service.search(boris, "ada", limit=10, cursor=None)[0]] == [ada]


# ------------------------------------------------------------------ notes
def test_notes_about_the_contact_are_on_its_card_newest_first(world, ada):
    services, demo = world
    services.contact_service.add_note(owner(demo), ada, "Prefers e-mail")
    services.contact_service.add_note(viewer(demo, "anna@acme.example"), ada, "  Called about invoice 7  ")
    notes = services.contact_service.card(owner(demo), ada)["notes"]
    assert [(n.text, n.author_name) for n in notes] == [("Called about invoice 7", "Anna Support"),
                                                         ("Prefers e-mail", "Olivia Owner")]
    with pytest.raises(BadRequest):
        services.contact_service.add_note(owner(demo), ada, "   ")


# ------------------------------------------------------------------ block
def test_a_blocked_contacts_messages_are_kept_but_open_nothing_and_reach_no_socket(world, ada):
    services, demo = world
    telegram, whatsapp = inbox_of(services, demo, "telegram"), inbox_of(services, demo, "whatsapp")
    [conversation] = open_conversations(services, demo)
    services.conversation_service.resolve(owner(demo), conversation.id)
    card = services.contact_service.set_blocked(owner(demo), ada, True)
    assert card["contact"].blocked
    # When she writes again
    result = write(services, telegram, "1001", "Why do you ignore me?")
    assert (result.stored, result.hidden) == (1, 1)
    # Then no conversation opened, and the message is in her timeline only
    assert open_conversations(services, demo) == []
    [newest, *_] = timeline(services, demo, ada).entries
    assert newest.text == "Why do you ignore me?" and is_hidden_conversation(newest.conversation_id)
    # And the stream's change of it is posted to no operator, while a normal message is
    services.connections.add_operator("conn-owner", tenant_id=demo["tenant"]["id"], operator_id=owner(demo).operator_id,
                                      role="owner", team_ids=[], inbox_ids=[], at=clock.iso(clock.now()))
    posted = []
    fanout = FanoutService(services.connections, services.conversations, lambda cid, data: posted.append(cid) or True,
                           services.directory.names)
    assert fanout.publish([Change("messages", "INSERT", newest, None, {})]) == 0
    write(services, whatsapp, "4915100000", "I am someone else")
    [other] = open_conversations(services, demo)
    normal = services.messages.page(demo["tenant"]["id"], other.id, limit=1, cursor=None)[0][0]
    assert fanout.publish([Change("messages", "INSERT", normal, None, {})]) == 1 and posted == ["conn-owner"]
    # Once unblocked, her next message opens a conversation as usual
    services.contact_service.set_blocked(owner(demo), ada, False)
    write(services, telegram, "1001", "Hello again")
    assert [c.last_message["text"] for c in open_conversations(services, demo) if c.contact_id == ada] == [
        "Hello again"]


def test_blocking_holds_on_every_channel_and_unblocking_opens_conversations_again(world, ada):
    services, demo = world
    telegram, twilio = inbox_of(services, demo, "telegram"), inbox_of(services, demo, "twilio")
    write(services, twilio, "+15550001", "sms from someone")  # another contact, merged into Ada below
    services.contact_service.merge(owner(demo), ada, contact_of(services, demo, twilio, "+15550001"))
    before = {c.id: (c.last_message, c.unread_count, c.last_activity_at) for c in open_conversations(services, demo)}
    assert len(before) == 2
    services.contact_service.set_blocked(owner(demo), ada, True)
    write(services, telegram, "1001", "blocked on telegram")
    write(services, twilio, "+15550001", "blocked by sms")
    after = {c.id: (c.last_message, c.unread_count, c.last_activity_at) for c in open_conversations(services, demo)}
    assert after == before  # her open conversations did not move, nor count the messages as unread
    hidden = [e.text for e in timeline(services, demo, ada).entries if is_hidden_conversation(
        getattr(e, "conversation_id", None))]
    assert sorted(hidden) == ["blocked by sms", "blocked on telegram"]
    # Unblocking: the next message lands in the open conversation as usual
    assert not services.contact_service.set_blocked(owner(demo), ada, False)["contact"].blocked
    write(services, telegram, "1001", "thanks for unblocking")
    [telegram_conversation] = [c for c in open_conversations(services, demo) if c.channel == "telegram"]
    assert telegram_conversation.id in before and telegram_conversation.last_message["text"] == "thanks for unblocking"


def test_a_blocked_widget_visitor_gets_a_hidden_widget_and_no_socket(world):
    services, demo = world
    widget = inbox_of(services, demo, "widget")
    write(services, widget, "visitor-1", "hello", name="Vic Visitor")
    contact = contact_of(services, demo, widget, "visitor-1")
    credentials = services.secrets.credentials(widget)
    query = {"inbox_id": widget.id, "visitor_id": "visitor-1",
             "visitor_token": visitor_token(credentials, "visitor-1")}
    assert '"hidden"' not in services.widget.history(widget, credentials, query).body
    services.realtime.connect("visitor-conn-1", query)
    services.contact_service.set_blocked(owner(demo), contact, True)
    answer = services.widget.history(widget, credentials, query)
    assert answer.status == 200 and answer.body == '{"messages": [], "hidden": true}'
    with pytest.raises(ContactBlocked):
        services.realtime.connect("visitor-conn-2", query)
    services.contact_service.set_blocked(owner(demo), contact, False)
    services.realtime.connect("visitor-conn-3", query)
    assert "hello" in services.widget.history(widget, credentials, query).body


def test_a_merge_into_a_blocked_contact_blocks_the_identities_it_brings(world, ada):
    services, demo = world
    whatsapp = inbox_of(services, demo, "whatsapp")
    write(services, whatsapp, "4915100001", "hi", name="Ada on WhatsApp")
    services.contact_service.set_blocked(owner(demo), ada, True)
    services.contact_service.merge(owner(demo), ada, contact_of(services, demo, whatsapp, "4915100001"))
    assert services.contacts.identity(demo["tenant"]["id"], whatsapp.id, "4915100001").blocked
    before = {c.id for c in open_conversations(services, demo)}
    assert write(services, whatsapp, "4915100001", "still me").hidden == 1
    assert {c.id for c in open_conversations(services, demo)} == before


def test_ingest_makes_two_dynamodb_calls_per_message_blocked_or_not(world):
    services, demo = world
    telegram = inbox_of(services, demo, "telegram")
    write(services, telegram, "5000", "warm-up")  # a warm Lambda: directory data (e.g. routing rules) is cached
    with counting_dynamodb_calls() as new_contact:
        write(services, telegram, "5001", "first", name="Counted Carl")
    with counting_dynamodb_calls() as open_conversation:
        write(services, telegram, "5001", "second")
    services.contact_service.set_blocked(owner(demo), contact_of(services, demo, telegram, "5001"), True)
    with counting_dynamodb_calls() as blocked:
        assert write(services, telegram, "5001", "third").hidden == 1
    for counts in (new_contact, open_conversation, blocked):
        assert dict(counts) == {"GetItem": 1, "TransactWriteItems": 1}


# ------------------------------------------------------------------ timeline and API events
def test_the_timeline_has_messages_status_changes_and_api_events_newest_first_in_pages(world, ada):
    services, demo = world
    [conversation] = open_conversations(services, demo)
    caller = ApiCaller(demo["tenant"]["id"], "key-1", frozenset({"contacts:write"}))
    first = services.contact_timeline.record(caller, ada, {"type": "page_view", "url": "https://acme.example/a",
                                                           "id": "pv-1"})
    again = services.contact_timeline.record(caller, ada, {"type": "page_view", "url": "https://acme.example/a",
                                                           "id": "pv-1"})
    assert not first["duplicate"] and again == {**first, "duplicate": True}
    services.conversation_service.resolve(owner(demo), conversation.id)
    services.contact_timeline.record(caller, ada, {"type": "order.paid", "data": {"total": 42}})
    entries = timeline(services, demo, ada).entries
    described = [getattr(e, "type", None) if hasattr(e, "url") else str(e.type) for e in entries]
    assert described == ["order.paid", "activity", "page_view", "incoming"]
    assert entries[1].text == "Olivia Owner resolved this"
    # Paged with a cursor, the pages together are the whole timeline, in order, without repeats
    ids, cursor = [], None
    for _ in range(10):
        page = timeline(services, demo, ada, limit=2, cursor=cursor)
        ids += [e.id for e in page.entries]
        cursor = page.cursor
        if cursor is None:
            break
    assert ids == [e.id for e in entries]
    with pytest.raises(BadRequest):
        timeline(services, demo, ada, cursor="bm90LWEtY3Vyc29y")


def test_an_event_needs_the_scope_and_a_contact_of_the_keys_tenant(world, ada):
    services, demo = world
    messages_only = ApiCaller(demo["tenant"]["id"], "key-2", frozenset({"messages:write"}))
    with pytest.raises(Forbidden):
        services.contact_timeline.record(messages_only, ada, {"type": "page_view"})
    stranger = ApiCaller("another-tenant", "key-3", frozenset({"contacts:write"}))
    with pytest.raises(NotFound):
        services.contact_timeline.record(stranger, ada, {"type": "page_view"})


def test_events_and_hidden_messages_of_a_merged_contact_stay_in_the_timeline(world, ada):
    services, demo = world
    whatsapp = inbox_of(services, demo, "whatsapp")
    write(services, whatsapp, "4915100002", "hi", name="Other Ada")
    other = contact_of(services, demo, whatsapp, "4915100002")
    caller = ApiCaller(demo["tenant"]["id"], "key-1", frozenset({"contacts:write"}))
    services.contact_timeline.record(caller, other, {"type": "signup"})
    services.contact_service.add_note(owner(demo), other, "VIP on WhatsApp")
    services.contact_service.merge(owner(demo), ada, other)
    services.contact_timeline.record(caller, other, {"type": "page_view"})  # lands on the kept contact
    kinds = [e.type for e in timeline(services, demo, ada).entries if hasattr(e, "url")]
    assert kinds == ["page_view", "signup"]
    assert [n.text for n in services.contact_service.card(owner(demo), ada)["notes"]] == ["VIP on WhatsApp"]
