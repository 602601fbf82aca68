"""Telegram adapter: webhook authentication, Update parsing, and sendMessage delivery against a local fake Bot API."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from switchboard.channels.base import Credentials, OutboundMessage, WebhookRequest
from switchboard.channels.telegram import TelegramChannel, answer_callback, split_text
from switchboard.domain.errors import BadRequest, DeliveryFailed, Unauthorized
from switchboard.domain.inbound import ButtonPressed, InboundMessage, MessageEdited, Profile, ReachabilityChanged
from switchboard.domain.message import Attachment, AttachmentKind
from tests.support.fake_telegram import FakeBotApi

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "telegram"
RECEIVED_AT = "2026-09-21T18:00:00.000Z"
SECRET = "nw-hook_secret-01"
TOKEN = "8123456789:AAE-fake-token"
CREDENTIALS = Credentials(webhook_secret=SECRET, token=TOKEN)
SOREN = Profile(name="Søren Ålund", username="soren_a", language="da")
channel = TelegramChannel()


def body_of(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def update_of(name: str) -> dict:
    return json.loads(body_of(name))


def webhook(body: bytes | dict, secret: str | None = SECRET) -> WebhookRequest:
    raw = json.dumps(body).encode() if isinstance(body, dict) else body
    headers = {"content-type": "application/json"}
    if secret is not None:
        headers["x-telegram-bot-api-secret-token"] = secret
    return WebhookRequest(method="POST", headers=headers, query={}, body=raw, received_at=RECEIVED_AT)


def parse_one(body: bytes | dict):
    events = channel.parse(webhook(body))
    assert len(events) == 1, events
    return events[0]


# --- verify / handshake ----------------------------------------------------------------------------------------


def test_the_configured_secret_is_accepted():
    # Given a webhook carrying the inbox's secret token
    request = webhook(body_of("text.json"))
    # When / Then it verifies without complaint
    assert channel.verify(request, CREDENTIALS) is None


@pytest.mark.parametrize("secret", ["wrong-secret", "", SECRET + "x", SECRET.upper()])
def test_a_wrong_secret_is_unauthorized(secret):
    # Given a webhook with some other secret token
    request = webhook(body_of("text.json"), secret=secret)
    # When / Then it is rejected with a reason a human can read
    with pytest.raises(Unauthorized, match="does not match"):
        channel.verify(request, CREDENTIALS)


def test_a_missing_secret_header_is_unauthorized():
    request = webhook(body_of("text.json"), secret=None)
    with pytest.raises(Unauthorized, match="no X-Telegram-Bot-Api-Secret-Token header"):
        channel.verify(request, CREDENTIALS)


def test_an_inbox_without_a_secret_trusts_nothing():
    # Given an inbox whose secret was never set, and a request without the header either
    request = webhook(body_of("text.json"), secret="")
    # When / Then an empty secret does not "match" an empty header
    with pytest.raises(Unauthorized, match="no webhook secret configured"):
        channel.verify(request, Credentials(webhook_secret="", token=TOKEN))


def test_verify_does_not_look_at_the_body():
    # Given an authentic request whose body is garbage
    request = webhook(b"\xff not json at all", secret=SECRET)
    # When / Then authentication alone decides, before any parsing
    channel.verify(request, CREDENTIALS)


def test_there_is_no_handshake():
    assert channel.handshake(webhook(b"", secret=None), CREDENTIALS) is None


# --- parse: malformed bodies -----------------------------------------------------------------------------------


@pytest.mark.parametrize("body", [b"{not json", b"", b'{"update_id": 1,', b"\xff\xfe"])
def test_malformed_json_is_a_bad_request(body):
    with pytest.raises(BadRequest, match="not valid JSON"):
        channel.parse(webhook(body))


@pytest.mark.parametrize("body", [b"[1, 2]", b'"update"', b"null", b"42"])
def test_json_that_is_not_an_object_is_a_bad_request(body):
    with pytest.raises(BadRequest, match="must be a JSON object"):
        channel.parse(webhook(body))


@pytest.mark.parametrize("update", [{}, {"update_id": "731200001"}, {"update_id": True}, {"update_id": None}])
def test_an_update_without_an_integer_update_id_is_a_bad_request(update):
    with pytest.raises(BadRequest, match="update_id"):
        channel.parse(webhook(update))


def test_a_message_without_a_chat_is_a_bad_request():
    update = update_of("text.json")
    del update["message"]["chat"]
    with pytest.raises(BadRequest, match=r"message\.chat"):
        channel.parse(webhook(update))


# --- parse: messages -------------------------------------------------------------------------------------------


def test_a_private_text_message():
    # Given a plain text message in a private chat (non-ASCII sent as \u escapes, as Telegram does)
    # When it is parsed
    event = parse_one(body_of("text.json"))
    # Then it is one inbound message from the customer, keyed by chat and message id
    assert event == InboundMessage(
        source_id="5550001234",
        external_id="5550001234:7001",
        sent_at="2026-09-21T14:13:20.000Z",
        profile=SOREN,
        text="Hej! Min ordre #NW-2231 er ikke kommet \U0001f641 Kan I tjekke?",
    )


def test_a_photo_becomes_one_image_of_the_largest_size_with_the_caption_as_text():
    # Given a photo delivered as four PhotoSize variants
    event = parse_one(body_of("photo_caption.json"))
    # Then only the largest variant is kept, and the caption is the text
    assert event.text == "Kassen var knust ved levering \U0001f4e6"
    assert event.attachments == (
        Attachment(
            kind=AttachmentKind.IMAGE,
            ref="AgACAgIAAxkBAAIbWWbxNwABq9lHn3aC2yXz1Vd0kZ4cAALt3jEby",
            size=154006,
            meta={"width": 1280, "height": 960, "file_unique_id": "AQAD7d4xG-y"},
        ),
    )


def test_photo_sizes_of_equal_area_are_told_apart_by_file_size():
    # Given two variants with the same dimensions, listed larger file first
    update = update_of("photo_caption.json")
    update["message"]["photo"] = [
        {"file_id": "big", "file_unique_id": "u1", "file_size": 900, "width": 640, "height": 480},
        {"file_id": "small", "file_unique_id": "u2", "file_size": 300, "width": 640, "height": 480},
    ]
    # Then the heavier (better quality) one wins
    assert parse_one(update).attachments[0].ref == "big"


def test_a_document_is_one_file_and_its_thumbnail_is_not_an_attachment():
    event = parse_one(body_of("document.json"))
    assert event.text == ""
    assert event.attachments == (
        Attachment(
            kind=AttachmentKind.FILE,
            ref="BQACAgIAAxkBAAIbWmbxN5D3aHPlZ1aW2Bb8N0ZKkQeEAAI",
            name="faktura_NW-2231.pdf",
            mime="application/pdf",
            size=58341,
            meta={"file_unique_id": "AgADlFYAAkQeE"},
        ),
    )


def test_a_voice_note():
    (attachment,) = parse_one(body_of("voice.json")).attachments
    assert attachment.kind is AttachmentKind.VOICE
    assert (attachment.ref, attachment.mime, attachment.size) == ("AwACAgIAAxkBAAIbW2bxN9JvoiceMsg", "audio/ogg", 21877)
    assert attachment.meta["duration"] == 7


def test_a_sticker_keeps_its_emoji_and_set():
    (attachment,) = parse_one(body_of("sticker.json")).attachments
    assert attachment.kind is AttachmentKind.STICKER
    assert attachment.ref == "CAACAgIAAxkBAAIbXGbxOBstickerfile"
    assert attachment.mime == "image/webp"
    assert attachment.meta["emoji"] == "\U0001f44d"
    assert attachment.meta["set_name"] == "NorthwindFriends"


@pytest.mark.parametrize(
    ("is_animated", "is_video", "mime"),
    [(True, False, "application/x-tgsticker"), (False, True, "video/webm"), (False, False, "image/webp")],
)
def test_the_sticker_format_decides_its_mime_type(is_animated, is_video, mime):
    update = update_of("sticker.json")
    update["message"]["sticker"].update(is_animated=is_animated, is_video=is_video)
    assert parse_one(update).attachments[0].mime == mime


def test_a_location():
    event = parse_one(body_of("location.json"))
    assert event.attachments == (
        Attachment(kind=AttachmentKind.LOCATION, meta={"latitude": 55.676098, "longitude": 12.568337}),
    )


def test_a_venue_is_one_location_with_its_title_and_address():
    # Given a venue, which Telegram sends with a ``location`` key as well
    (attachment,) = parse_one(body_of("venue.json")).attachments
    # Then it is a single location carrying the place's name
    assert attachment.kind is AttachmentKind.LOCATION
    assert attachment.meta == {
        "latitude": 55.673457,
        "longitude": 12.565431,
        "title": "Northwind Pickup Point",
        "address": "Vesterbrogade 3, København",
    }


def test_an_animation_is_one_video_even_though_it_also_carries_a_document():
    (attachment,) = parse_one(body_of("animation.json")).attachments
    assert attachment.kind is AttachmentKind.VIDEO
    assert (attachment.name, attachment.mime, attachment.size) == ("unboxing.gif.mp4", "video/mp4", 190232)
    assert attachment.meta["animation"] is True


def test_a_shared_contact_is_an_attachment_and_not_the_senders_profile():
    # Given the customer shares someone else's contact card
    event = parse_one(body_of("contact.json"))
    # Then the card is an attachment and the profile is still the customer's
    assert event.profile == SOREN
    assert event.attachments == (
        Attachment(
            kind=AttachmentKind.CONTACT,
            name="Ida Ålund",
            meta={"phone_number": "+4520304050", "first_name": "Ida", "last_name": "Ålund", "user_id": 7788990011},
        ),
    )


def test_a_reply_points_at_the_original_in_the_same_chat():
    event = parse_one(body_of("reply.json"))
    assert event.reply_to_external_id == "5550001234:7008"
    assert event.text == "Her er den \u2014 se ovenfor"


def test_a_reply_inside_a_forum_topic_to_the_topic_itself_is_not_a_reply():
    # Given a topic message, which Telegram links to the topic's creation message
    update = update_of("group.json")
    update["message"]["is_topic_message"] = True
    update["message"]["reply_to_message"] = {"message_id": 3, "chat": {"id": -1002233445566}, "date": 1,
                                             "forum_topic_created": {"name": "Orders", "icon_color": 7322096}}
    # Then it is not shown as a reply to anything
    assert parse_one(update).reply_to_external_id is None


def test_a_forwarded_message_names_its_original_sender():
    event = parse_one(body_of("forward.json"))
    assert event.forwarded_from == "Marta Kowalska"
    assert event.text == "Vi har ikke modtaget betalingen endnu."


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"forward_origin": {"type": "hidden_user", "sender_user_name": "Jonas B.", "date": 1}}, "Jonas B."),
        (
            {"forward_origin": {"type": "chat", "date": 1,
                                "sender_chat": {"id": -1001, "title": "Acme", "type": "group"}}},
            "Acme",
        ),
        (
            {
                "forward_origin": {
                    "type": "channel", "date": 1, "message_id": 88, "author_signature": "Eva",
                    "chat": {"id": -1002, "title": "Northwind News", "type": "channel"},
                }
            },
            "Northwind News (Eva)",
        ),
        ({"forward_from": {"id": 1, "is_bot": False, "first_name": "Lars"}, "forward_date": 1}, "Lars"),
        ({"forward_sender_name": "Private Person", "forward_date": 1}, "Private Person"),
        ({"forward_from_chat": {"id": -1003, "title": "Deals", "type": "channel"}, "forward_date": 1}, "Deals"),
    ],
)
def test_every_kind_of_forward_origin_gets_a_display_name(fields, expected):
    update = update_of("text.json")
    update["message"].update(fields)
    assert parse_one(update).forwarded_from == expected


def test_a_group_message_belongs_to_the_group_and_names_its_author():
    # Given a message in a supergroup the bot is a member of
    event = parse_one(body_of("group.json"))
    # Then the group is the conversation and the member is the author
    assert event.source_id == "-1002233445566"
    assert event.external_id == "-1002233445566:412"
    assert event.profile == Profile(name="Northwind Wholesale × Ops", username="northwind_ops")
    assert event.author_name == "Marta Kowalska"
    assert event.text == "Who can confirm Thursday's pallet count?"


def test_a_channel_post_is_signed_by_its_author():
    update = {
        "update_id": 731200030,
        "channel_post": {
            "message_id": 55, "date": 1790000000, "author_signature": "Eva",
            "sender_chat": {"id": -1009876543210, "title": "Northwind News", "type": "channel"},
            "chat": {"id": -1009876543210, "title": "Northwind News", "type": "channel"},
            "text": "Warehouse closed Friday.",
        },
    }
    event = parse_one(update)
    assert (event.source_id, event.external_id) == ("-1009876543210", "-1009876543210:55")
    assert (event.profile.name, event.author_name) == ("Northwind News", "Eva")


def test_ids_beyond_32_bits_are_kept_exactly():
    # Given ids near the 52-bit limit Telegram documents
    update = update_of("text.json")
    update["update_id"] = 2**40 + 7
    update["message"]["chat"]["id"] = -(2**52) + 1
    update["message"]["message_id"] = 2**33 + 5
    # Then none of them is truncated or turned into a float
    event = parse_one(json.dumps(update).encode())
    assert event.source_id == "-4503599627370495"
    assert event.external_id == "-4503599627370495:8589934597"


def test_an_edit_is_a_message_edited_event():
    event = parse_one(body_of("edited_message.json"))
    assert event == MessageEdited(
        source_id="5550001234",
        external_id="5550001234:7001",
        edited_at="2026-09-21T14:20:20.000Z",
        profile=SOREN,
        text="Hej! Min ordre #NW-2231 er stadig ikke kommet \U0001f641",
        sent_at="2026-09-21T14:13:20.000Z",
    )


def test_a_poll_is_shown_as_unsupported_rather_than_dropped():
    event = parse_one(body_of("poll.json"))
    assert isinstance(event, InboundMessage)
    assert event.external_id == "5550001234:7016"
    assert event.text == "unsupported message type: poll"
    assert event.meta == {"unsupported": "poll"}


def test_a_dice_roll_is_shown_as_unsupported():
    update = update_of("text.json")
    del update["message"]["text"]
    update["message"]["dice"] = {"emoji": "\U0001f3b2", "value": 4}
    event = parse_one(update)
    assert (event.text, event.meta) == ("unsupported message type: dice", {"unsupported": "dice"})


def test_a_service_message_is_ignored():
    # Given the "bot was added to the group" service message
    events = channel.parse(webhook(body_of("new_chat_members.json")))
    # Then nothing is stored
    assert events == []


# --- parse: other update types ---------------------------------------------------------------------------------


def test_a_button_press_is_recorded_at_receipt_time():
    # Given a tap on the satisfaction prompt's inline button
    event = parse_one(body_of("callback_query.json"))
    # Then it is a button event, idempotent on the callback id, timed by our receipt (it has no date of its own)
    assert event == ButtonPressed(
        source_id="5550001234",
        event_id="5930177231449912876",
        data="csat:good:NW-2231",
        at=RECEIVED_AT,
        on_external_id="5550001234:7020",
        profile=SOREN,
    )


def test_a_button_press_on_an_inline_message_falls_back_to_the_sender():
    update = update_of("callback_query.json")
    del update["callback_query"]["message"]
    update["callback_query"]["inline_message_id"] = "AgAAAN8-inline"
    event = parse_one(update)
    assert (event.source_id, event.on_external_id) == ("5550001234", None)


def test_blocking_the_bot_makes_the_customer_unreachable():
    event = parse_one(body_of("my_chat_member_blocked.json"))
    assert event == ReachabilityChanged(
        source_id="5550001234", reachable=False, at="2026-09-21T16:13:20.000Z", profile=SOREN
    )


def test_unblocking_the_bot_makes_the_customer_reachable_again():
    event = parse_one(body_of("my_chat_member_unblocked.json"))
    assert event == ReachabilityChanged(
        source_id="5550001234", reachable=True, at="2026-09-21T16:14:20.000Z", profile=SOREN
    )


def test_membership_changes_in_groups_are_ignored():
    update = update_of("my_chat_member_blocked.json")
    update["my_chat_member"]["chat"] = {"id": -1002233445566, "title": "Ops", "type": "supergroup"}
    assert channel.parse(webhook(update)) == []


@pytest.mark.parametrize(
    "update",
    [
        update_of("unknown_update.json"),
        {"update_id": 1, "inline_query": {"id": "9", "from": {"id": 1, "is_bot": False, "first_name": "A"},
                                          "query": "x", "offset": ""}},
        {"update_id": 2, "chat_join_request": {"chat": {"id": -1, "type": "supergroup"}, "date": 1}},
    ],
)
def test_update_types_we_do_not_handle_are_acknowledged_and_ignored(update):
    assert channel.parse(webhook(update)) == []


# --- send: a fake Bot API on 127.0.0.1 --------------------------------------------------------------------------


def outbound(text: str = "Vi kigger på det nu.", **fields) -> OutboundMessage:
    return OutboundMessage(source_id="5550001234", text=text, message_id="msg-01", **fields)


def failure_for(bot_api: FakeBotApi, status: int, body: dict | bytes) -> DeliveryFailed:
    bot_api.answer(status, body)
    with pytest.raises(DeliveryFailed) as caught:
        channel.send(outbound(), CREDENTIALS, bot_api.base_url)
    return caught.value


def test_send_posts_the_text_to_send_message(bot_api):
    # When a reply is sent
    result = channel.send(outbound(), CREDENTIALS, bot_api.base_url)
    # Then the Bot API got exactly one sendMessage for that chat, and the platform id is chat:message
    assert bot_api.calls == [(f"/bot{TOKEN}/sendMessage", {"chat_id": "5550001234", "text": "Vi kigger på det nu."})]
    assert result.external_id == "5550001234:9001"


def test_send_quotes_the_message_it_answers_and_attaches_buttons(bot_api):
    message = outbound(reply_to_external_id="5550001234:7009", buttons=(("\U0001f44d Yes", "csat:good"),
                                                                          ("\U0001f44e No", "csat:bad")))
    channel.send(message, CREDENTIALS, bot_api.base_url)
    (_path, payload), = bot_api.calls
    assert payload["reply_parameters"] == {"message_id": 7009, "allow_sending_without_reply": True}
    assert payload["reply_markup"] == {"inline_keyboard": [[
        {"text": "\U0001f44d Yes", "callback_data": "csat:good"},
        {"text": "\U0001f44e No", "callback_data": "csat:bad"},
    ]]}


def test_a_rate_limit_is_transient_and_says_when_to_retry(bot_api):
    error = failure_for(bot_api, 429, {"ok": False, "error_code": 429,
                                       "description": "Too Many Requests: retry after 17",
                                       "parameters": {"retry_after": 17}})
    assert (error.transient, error.retry_after, error.unreachable) == (True, 17.0, False)
    assert "rate-limiting" in error.detail


def test_a_blocked_bot_is_permanent_and_marks_the_customer_unreachable(bot_api):
    error = failure_for(bot_api, 403, {"ok": False, "error_code": 403,
                                       "description": "Forbidden: bot was blocked by the user"})
    assert (error.transient, error.unreachable) == (False, True)
    assert error.detail == "The customer blocked the bot; they can no longer receive messages here."


def test_an_unknown_chat_is_permanent_and_says_so(bot_api):
    error = failure_for(bot_api, 400, {"ok": False, "error_code": 400, "description": "Bad Request: chat not found"})
    assert (error.transient, error.unreachable) == (False, False)
    assert "chat not found" in error.detail


def test_a_rejected_token_points_at_the_inbox_settings_without_leaking_it(bot_api):
    error = failure_for(bot_api, 401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
    assert error.transient is False
    assert error.detail == "The bot token was rejected by Telegram (check the inbox settings)."
    assert TOKEN not in error.detail


def test_other_client_errors_are_permanent_with_telegrams_description(bot_api):
    error = failure_for(bot_api, 400, {"ok": False, "error_code": 400,
                                       "description": "Bad Request: message text is empty"})
    assert error.transient is False
    assert "Bad Request: message text is empty" in error.detail


def test_a_server_error_is_transient(bot_api):
    error = failure_for(bot_api, 500, {"ok": False, "error_code": 500, "description": "Internal Server Error"})
    assert (error.transient, error.unreachable) == (True, False)


def test_a_gateway_error_page_that_is_not_json_is_transient(bot_api):
    error = failure_for(bot_api, 502, b"<html><body>502 Bad Gateway</body></html>")
    assert error.transient is True


def test_an_unreachable_api_is_transient():
    # Given a local port that nothing listens on
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # When / Then the network failure is retried later
    with pytest.raises(DeliveryFailed) as caught:
        channel.send(outbound(), CREDENTIALS, f"http://127.0.0.1:{port}")
    assert caught.value.transient is True
    assert TOKEN not in caught.value.detail


def test_an_inbox_without_a_token_fails_permanently_without_calling_telegram(bot_api):
    with pytest.raises(DeliveryFailed, match="no bot token") as caught:
        channel.send(outbound(), Credentials(webhook_secret=SECRET), bot_api.base_url)
    assert caught.value.transient is False
    assert bot_api.calls == []


def test_a_long_reply_is_split_into_several_messages(bot_api):
    # Given a 5000-character answer made of lines, replying to a customer message and carrying buttons
    text = "\n".join(f"{n:04d} " + "x" * 44 for n in range(100))[:5000]
    message = outbound(text, reply_to_external_id="5550001234:7009", buttons=(("Done", "done"),))
    # When it is sent
    result = channel.send(message, CREDENTIALS, bot_api.base_url)
    # Then two sendMessage calls carry it, cut at a line break, and the first one identifies the reply
    assert len(bot_api.calls) == 2
    first, second = (payload for _path, payload in bot_api.calls)
    assert len(first["text"]) <= 4096 and first["text"].endswith("x")
    assert first["text"] + "\n" + second["text"] == text
    assert "reply_parameters" in first and "reply_parameters" not in second
    assert "reply_markup" not in first and "reply_markup" in second
    assert result.external_id == "5550001234:9001"


def test_split_text_falls_back_to_spaces_and_then_hard_cuts():
    assert split_text("aaaa bbbb cccc", limit=10) == ["aaaa bbbb", "cccc"]
    assert split_text("abcdefghijkl", limit=5) == ["abcde", "fghij", "kl"]
    assert split_text("short", limit=10) == ["short"]


def test_split_text_counts_emoji_as_telegram_does():
    # Given characters outside the BMP, which count as two UTF-16 units towards the limit
    chunks = split_text("\U0001f600" * 6, limit=8)
    assert chunks == ["\U0001f600" * 4, "\U0001f600" * 2]


def test_answer_callback_stops_the_button_spinner(bot_api):
    bot_api.answer(200, {"ok": True, "result": True})
    answer_callback("5930177231449912876", CREDENTIALS, bot_api.base_url, text="Tak!")
    assert bot_api.calls == [
        (f"/bot{TOKEN}/answerCallbackQuery", {"callback_query_id": "5930177231449912876", "text": "Tak!"})
    ]


def test_answer_callback_reports_failure(bot_api):
    too_old = "Bad Request: query is too old and response timeout expired or query ID is invalid"
    bot_api.answer(400, {"ok": False, "error_code": 400, "description": too_old})
    with pytest.raises(DeliveryFailed, match="query is too old") as caught:
        channel.answer_button("5930177231449912876", "5550001234", CREDENTIALS, bot_api.base_url)
    assert caught.value.transient is False


def test_files_are_sent_by_url_with_the_method_of_their_kind(bot_api):
    from switchboard.channels.base import OutboundAttachment

    files = (OutboundAttachment(kind="image", url="https://files.example/p.jpg"),
             OutboundAttachment(kind="file", url="https://files.example/invoice.pdf", name="invoice.pdf"))
    channel.send(outbound(text="Here you go", attachments=files), CREDENTIALS, bot_api.base_url)
    assert [(path.rsplit("/", 1)[-1], sorted(payload)) for path, payload in bot_api.calls] == [
        ("sendMessage", ["chat_id", "text"]),
        ("sendPhoto", ["chat_id", "photo"]),
        ("sendDocument", ["chat_id", "document"]),
    ]
    assert bot_api.calls[2][1]["document"] == "https://files.example/invoice.pdf"
