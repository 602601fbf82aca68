"""VK adapter: Callback API authentication and confirmation, event parsing, and messages.send against a local fake."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from switchboard.channels.base import Credentials, OutboundAttachment, OutboundMessage, WebhookRequest
from switchboard.channels.vk import ACK, VkChannel, answer_callback, random_id_for
from switchboard.domain.errors import BadRequest, DeliveryFailed, Unauthorized
from switchboard.domain.inbound import ButtonPressed, InboundMessage, MessageEdited, Profile, ReachabilityChanged
from switchboard.domain.message import Attachment, AttachmentKind
from tests.support.fake_vk import FakeVkApi

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "vk"
RECEIVED_AT = "2026-09-01T12:00:00.000Z"
SECRET = "vk-secret-7f3a"
TOKEN = "vk1.a.community-token-fake"
GROUP_ID = "218812345"
CONFIRMATION = "5f1e9c2b"
CREDENTIALS = Credentials(webhook_secret=SECRET, token=TOKEN,
                          extra={"group_id": GROUP_ID, "confirmation_code": CONFIRMATION})
CUSTOMER = "184009321"
channel = VkChannel()
# The fake API fixture, until tests/conftest.py lists tests.support.fake_vk in pytest_plugins.


def body_of(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def event_of(name: str) -> dict:
    return json.loads(body_of(name))


def webhook(body: bytes | dict, method: str = "POST") -> WebhookRequest:
    raw = json.dumps(body, ensure_ascii=False).encode() if isinstance(body, dict) else body
    return WebhookRequest(method=method, headers={"content-type": "application/json"}, query={}, body=raw,
                          received_at=RECEIVED_AT, public_url="https://inbox.example.com/webhooks/vk/inbox-1")


def parse_one(body: bytes | dict):
    events = channel.parse(webhook(body))
    assert len(events) == 1, events
    return events[0]


# --- verify ----------------------------------------------------------------------------------------------------


def test_the_configured_secret_is_accepted():
    # Given an event carrying the inbox's secret key for the inbox's community
    request = webhook(body_of("message_new_text.json"))
    # When / Then it verifies without complaint
    assert channel.verify(request, CREDENTIALS) is None


@pytest.mark.parametrize("secret", ["wrong-secret", SECRET + "x", SECRET.upper(), ""])
def test_a_wrong_secret_is_unauthorized(secret):
    # Given an event with some other secret key
    event = event_of("message_new_text.json")
    event["secret"] = secret
    # When / Then it is rejected with a reason a human can read
    with pytest.raises(Unauthorized, match="secret"):
        channel.verify(webhook(event), CREDENTIALS)


def test_a_missing_secret_is_unauthorized():
    event = event_of("message_new_text.json")
    del event["secret"]
    with pytest.raises(Unauthorized, match="has no 'secret'"):
        channel.verify(webhook(event), CREDENTIALS)


def test_an_inbox_without_a_secret_trusts_nothing():
    # Given an inbox whose secret was never set, and an event without one either
    event = event_of("message_new_text.json")
    event["secret"] = ""
    # When / Then an empty secret does not "match" an empty secret
    with pytest.raises(Unauthorized, match="no secret key configured"):
        channel.verify(webhook(event), Credentials(webhook_secret="", token=TOKEN))


def test_an_event_for_another_community_is_unauthorized():
    # Given the right secret but another community's group_id (one secret reused across communities)
    event = event_of("message_new_text.json")
    event["group_id"] = 999
    # When / Then it is rejected
    with pytest.raises(Unauthorized, match="another community"):
        channel.verify(webhook(event), CREDENTIALS)


def test_the_community_is_not_checked_when_none_is_configured():
    event = event_of("message_new_text.json")
    event["group_id"] = 999
    channel.verify(webhook(event), Credentials(webhook_secret=SECRET, token=TOKEN))


@pytest.mark.parametrize("body", [b"{not json", b"", b"\xff\xfe", b"[1, 2]", b'{"secret": "vk-secret-7f3a"}'])
def test_a_malformed_body_is_a_bad_request_even_for_verify(body):
    # VK puts its secret in the JSON body, so a body that is not an event cannot be authenticated at all
    with pytest.raises(BadRequest):
        channel.verify(webhook(body), CREDENTIALS)


# --- confirmation handshake and acknowledgement ----------------------------------------------------------------


def test_the_confirmation_event_is_answered_with_the_code_as_plain_text():
    # Given the confirmation event VK sends when the server address is saved
    request = webhook(body_of("confirmation.json"))
    # When the handshake runs
    answer = channel.handshake(request, CREDENTIALS)
    # Then the answer is exactly the confirmation string, as text/plain
    assert (answer.status, answer.body, answer.content_type) == (200, CONFIRMATION, "text/plain")


def test_a_confirmation_with_a_wrong_secret_is_unauthorized():
    event = event_of("confirmation.json")
    event["secret"] = "wrong-secret"
    with pytest.raises(Unauthorized):
        channel.handshake(webhook(event), CREDENTIALS)


def test_a_confirmation_for_another_community_is_unauthorized():
    event = event_of("confirmation.json")
    event["group_id"] = 1
    with pytest.raises(Unauthorized, match="another community"):
        channel.handshake(webhook(event), CREDENTIALS)


def test_a_confirmation_without_a_configured_code_says_what_is_missing():
    credentials = Credentials(webhook_secret=SECRET, token=TOKEN, extra={"group_id": GROUP_ID})
    with pytest.raises(BadRequest, match="no confirmation code configured"):
        channel.handshake(webhook(body_of("confirmation.json")), credentials)


@pytest.mark.parametrize(("body", "method"), [
    (b"", "GET"), (b"{not json", "POST"), (body_of("message_new_text.json"), "POST"),
])
def test_anything_but_a_confirmation_is_no_handshake(body, method):
    assert channel.handshake(webhook(body, method=method), CREDENTIALS) is None


def test_accepted_events_are_acknowledged_with_a_bare_ok():
    assert channel.acknowledgement() == ACK
    assert (ACK.status, ACK.body, ACK.content_type) == (200, "ok", "text/plain")


def test_confirmation_parses_to_nothing():
    assert channel.parse(webhook(body_of("confirmation.json"))) == []


# --- parse: malformed ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("body", [b"{not json", b"", b"\xff\xfe", b'{"type": "message_new",'])
def test_malformed_json_is_a_bad_request(body):
    with pytest.raises(BadRequest, match="not valid JSON"):
        channel.parse(webhook(body))


@pytest.mark.parametrize("body", [b"[1, 2]", b'"event"', b"null"])
def test_json_that_is_not_an_object_is_a_bad_request(body):
    with pytest.raises(BadRequest, match="must be a JSON object"):
        channel.parse(webhook(body))


def test_an_event_without_a_type_is_a_bad_request():
    with pytest.raises(BadRequest, match="'type'"):
        channel.parse(webhook({"group_id": 1, "object": {}}))


def test_a_message_without_a_peer_is_a_bad_request():
    event = event_of("message_new_text.json")
    del event["object"]["message"]["peer_id"]
    with pytest.raises(BadRequest, match=r"message\.peer_id"):
        channel.parse(webhook(event))


def test_a_message_event_without_an_object_is_a_bad_request():
    event = event_of("message_new_text.json")
    event["object"] = "oops"
    with pytest.raises(BadRequest, match=r"message_new\.object"):
        channel.parse(webhook(event))


# --- parse: message_new ----------------------------------------------------------------------------------------


def test_a_private_text_message():
    # Given a message_new (API 5.199 shape: object.message + object.client_info) in a private dialog
    # When it is parsed
    event = parse_one(body_of("message_new_text.json"))
    # Then it is one inbound message keyed by peer and conversation message id, with no name (VK sends none)
    assert event == InboundMessage(
        source_id=CUSTOMER,
        external_id=f"{CUSTOMER}:311",
        sent_at="2026-09-01T09:00:00.000Z",
        profile=Profile(),
        text="Добрый день! Посылка ПВ-4471 так и не пришла, трек не обновляется уже неделю 📦",
        meta={"vk_user_id": 184009321, "event_id": "5d2f8a7c6b5e4d3c2b1a09f8e7d6c5b4a3928170"},
    )


def test_the_pre_5_103_shape_with_the_message_directly_in_object_is_understood():
    event = event_of("message_new_text.json")
    event["object"] = event["object"]["message"]
    assert parse_one(event).external_id == f"{CUSTOMER}:311"


def test_without_a_conversation_message_id_the_message_id_is_the_external_id():
    event = event_of("message_new_text.json")
    del event["object"]["message"]["conversation_message_id"]
    assert parse_one(event).external_id == "96012"


def test_a_message_with_no_id_at_all_is_a_bad_request():
    event = event_of("message_new_text.json")
    event["object"]["message"].update(conversation_message_id=0, id=0)
    with pytest.raises(BadRequest, match="neither a conversation_message_id nor an id"):
        channel.parse(webhook(event))


def test_a_photo_becomes_one_image_of_the_largest_size():
    # Given a photo listed in five sizes, the largest not last
    event = parse_one(body_of("message_new_photo.json"))
    # Then only the 960×1280 one is kept, with the id messages.send would accept to re-send it
    assert event.text == "Вот так выглядела коробка"
    assert event.attachments == (
        Attachment(
            kind=AttachmentKind.IMAGE,
            ref="https://sun9-12.userapi.com/impg/z/abc.jpg?size=960x1280",
            meta={"width": 960, "height": 1280, "vk_id": "photo184009321_457240101_d41c7a9e02bb"},
        ),
    )


def test_old_photo_sizes_without_dimensions_are_ranked_by_their_letter():
    event = event_of("message_new_photo.json")
    photo = event["object"]["message"]["attachments"][0]["photo"]
    photo["sizes"] = [{"type": "x", "url": "https://x", "width": 0, "height": 0},
                      {"type": "w", "url": "https://w", "width": 0, "height": 0},
                      {"type": "m", "url": "https://m", "width": 0, "height": 0}]
    assert parse_one(event).attachments[0].ref == "https://w"


def test_a_photo_without_usable_sizes_is_dropped():
    event = event_of("message_new_photo.json")
    event["object"]["message"]["attachments"][0]["photo"]["sizes"] = []
    assert parse_one(event).attachments == ()


def test_a_document_is_a_file_with_its_title_size_and_type():
    (attachment,) = parse_one(body_of("message_new_doc.json")).attachments
    assert attachment == Attachment(
        kind=AttachmentKind.FILE,
        ref="https://vk.com/doc184009321_671234567?hash=9a8b7c&dl=GQ2TAMJYGQ3DCMQ:1788253320:abc&api=1&no_preview=1",
        name="чек_ПВ-4471.pdf",
        mime="application/pdf",
        size=84213,
        meta={"ext": "pdf", "vk_id": "doc184009321_671234567_f00dbabe1234"},
    )


def test_a_voice_message_keeps_its_transcript():
    (attachment,) = parse_one(body_of("message_new_voice.json")).attachments
    assert attachment.kind is AttachmentKind.VOICE
    assert (attachment.ref, attachment.mime) == (
        "https://psv4.userapi.com/c236331/u184009321/audiomsg/d1/5b7a1e.ogg", "audio/ogg")
    assert attachment.meta == {"duration": 9, "transcript": "перезвоните мне пожалуйста",
                               "vk_id": "audio_message184009321_671234600_0a1b2c3d4e5f"}


def test_a_sticker_is_its_largest_image():
    (attachment,) = parse_one(body_of("message_new_sticker.json")).attachments
    assert attachment == Attachment(kind=AttachmentKind.STICKER, ref="https://vk.com/sticker/1-9046-512",
                                    mime="image/png", meta={"sticker_id": 9046, "product_id": 279})


def test_a_video_links_to_vk_and_a_link_attachment_lands_in_the_text():
    # Given a video (VK gives no file, only its player) and a link attachment whose URL is not in the text
    event = parse_one(body_of("message_new_video_link.json"))
    # Then the video is an attachment with a link to open it, and the URL is appended to the text
    assert event.attachments == (
        Attachment(kind=AttachmentKind.VIDEO, name="распаковка.mp4",
                   meta={"duration": 34, "width": 720, "height": 1280, "vk_id": "video184009321_456239017_77aa66bb55cc",
                         "url": "https://vk.com/video184009321_456239017"}),
    )
    assert event.text == "Видео распаковки\nhttps://track.example.ru/?code=PV4471"


def test_a_link_already_in_the_text_is_not_repeated():
    event = event_of("message_new_video_link.json")
    event["object"]["message"]["text"] = "см. https://track.example.ru/?code=PV4471"
    assert parse_one(event).text == "см. https://track.example.ru/?code=PV4471"


def test_a_shared_wall_post_becomes_a_link():
    event = parse_one(body_of("message_new_wall.json"))
    assert (event.text, event.attachments) == ("https://vk.com/wall-218812345_1842", ())


def test_a_location_is_an_attachment_with_the_place():
    (attachment,) = parse_one(body_of("message_new_geo.json")).attachments
    assert attachment == Attachment(
        kind=AttachmentKind.LOCATION, name="Невский проспект, 28",
        meta={"latitude": 59.93428, "longitude": 30.335099, "title": "Невский проспект, 28",
              "city": "Санкт-Петербург", "country": "Россия"},
    )


@pytest.mark.parametrize(("attachment", "kind", "ref"), [
    ({"type": "audio", "audio": {"id": 1, "owner_id": 2, "artist": "Кино", "title": "Звезда", "duration": 200,
                                 "url": "https://cs1.vkuseraudio.net/a.mp3"}},
     AttachmentKind.AUDIO, "https://cs1.vkuseraudio.net/a.mp3"),
    ({"type": "graffiti", "graffiti": {"id": 3, "owner_id": 2, "url": "https://vk.com/g.png", "width": 720,
                                       "height": 720}}, AttachmentKind.IMAGE, "https://vk.com/g.png"),
    ({"type": "doc", "doc": {"id": 4, "owner_id": 2, "title": "cat.gif", "ext": "gif", "type": 3, "size": 10,
                             "url": "https://vk.com/doc2_4"}}, AttachmentKind.IMAGE, "https://vk.com/doc2_4"),
])
def test_other_media_kinds(attachment, kind, ref):
    event = event_of("message_new_text.json")
    event["object"]["message"]["attachments"] = [attachment]
    (parsed,) = parse_one(event).attachments
    assert (parsed.kind, parsed.ref) == (kind, ref)


def test_a_reply_points_at_the_quoted_message_in_the_same_dialog():
    event = parse_one(body_of("message_new_reply.json"))
    assert (event.text, event.reply_to_external_id) == ("А когда именно?", f"{CUSTOMER}:305")


def test_a_forward_names_its_author_and_keeps_the_forwarded_texts():
    # Given a bare forward of two messages from another user (no text of its own)
    event = parse_one(body_of("message_new_forward.json"))
    # Then the author is named as VK names users, the forwarded texts are the text, and each is kept in meta
    assert event.forwarded_from == "id552201337"
    assert event.text == "Курьер будет завтра с 10 до 14\nНомер накладной 1234-5678"
    assert event.meta["forwarded"] == [
        {"from": "id552201337", "text": "Курьер будет завтра с 10 до 14", "date": "2026-08-30T09:00:00.000Z"},
        {"from": "id552201337", "text": "Номер накладной 1234-5678", "date": "2026-08-30T09:01:40.000Z"},
    ]


def test_a_forward_with_a_comment_keeps_the_comment_as_text_and_collects_forwarded_media():
    event = event_of("message_new_forward.json")
    message = event["object"]["message"]
    message["text"] = "Смотрите, что мне написали"
    message["fwd_messages"][0]["attachments"] = event_of("message_new_photo.json")["object"]["message"]["attachments"]
    parsed = parse_one(event)
    assert parsed.text == "Смотрите, что мне написали"
    assert [a.kind for a in parsed.attachments] == [AttachmentKind.IMAGE]


def test_a_forward_from_a_community_is_named_as_a_club():
    event = event_of("message_new_forward.json")
    event["object"]["message"]["fwd_messages"][0]["from_id"] = -5550001
    assert parse_one(event).forwarded_from == "club5550001"


def test_a_group_chat_message_is_keyed_by_conversation_message_id_and_names_its_author():
    # Given a message in a group chat, where bots see id 0
    event = parse_one(body_of("message_new_chat.json"))
    # Then the chat is the conversation and the member is the author
    assert (event.source_id, event.external_id) == ("2000000004", "2000000004:1207")
    assert event.author_name == "id552201337"
    assert event.meta["vk_user_id"] == 552201337


def test_an_unsupported_attachment_alone_is_shown_as_unsupported():
    event = parse_one(body_of("message_new_poll.json"))
    assert event.text == "unsupported message type: poll"
    assert event.meta["unsupported"] == ["poll"]


def test_an_unsupported_attachment_next_to_text_keeps_the_text():
    event = event_of("message_new_poll.json")
    event["object"]["message"]["text"] = "Проголосуйте"
    parsed = parse_one(event)
    assert (parsed.text, parsed.meta["unsupported"]) == ("Проголосуйте", ["poll"])


def test_a_malformed_attachment_is_counted_as_unsupported():
    event = event_of("message_new_text.json")
    event["object"]["message"]["attachments"] = [{"type": "photo"}, "junk"]
    assert parse_one(event).meta["unsupported"] == ["photo", "unknown"]


# --- parse: echoes, edits, buttons, reachability ---------------------------------------------------------------


def test_our_own_reply_comes_back_as_an_echo_with_its_random_id():
    # Given a message_reply for a message the service sent through messages.send
    event = parse_one(body_of("message_reply.json"))
    # Then it is an echo, and its random_id is the one we derived from our message id
    assert isinstance(event, InboundMessage)
    assert event.echo is True
    assert (event.source_id, event.external_id) == (CUSTOMER, f"{CUSTOMER}:322")
    assert event.text == "Проверяем, ответим в течение часа."
    assert event.meta["random_id"] == random_id_for("01JD2M3X7Q9V6T4R2N8P5K1H0G")


def test_a_reply_written_in_vks_own_interface_is_an_echo_naming_the_admin():
    event = parse_one(body_of("message_reply_admin.json"))
    assert event.echo is True
    assert event.meta["admin_author_id"] == 38201744
    assert event.meta["random_id"] == 918273645


def test_an_edit_is_a_message_edited_event():
    event = parse_one(body_of("message_edit.json"))
    assert event == MessageEdited(
        source_id=CUSTOMER,
        external_id=f"{CUSTOMER}:311",
        edited_at="2026-09-01T09:01:30.000Z",
        text="Добрый день! Посылка ПВ-4471 так и не пришла, трек стоит уже неделю 📦",
        sent_at="2026-09-01T09:00:00.000Z",
    )


def test_an_edit_without_update_time_is_dated_at_receipt():
    event = event_of("message_edit.json")
    del event["object"]["update_time"]
    assert parse_one(event).edited_at == RECEIVED_AT


def test_an_edit_of_the_communitys_own_message_is_ignored():
    event = event_of("message_edit.json")
    event["object"].update(out=1, from_id=-218812345)
    assert channel.parse(webhook(event)) == []


def test_a_csat_button_press():
    # Given a tap on a callback button whose payload carries a CSAT rating
    event = parse_one(body_of("message_event_csat.json"))
    # Then it is a button event in the csat:<rating>:<subject> form, idempotent on VK's event id
    assert event == ButtonPressed(
        source_id=CUSTOMER,
        event_id="3159dc190b1f",
        data="csat:5:conv-01JD2K",
        at=RECEIVED_AT,
        on_external_id=f"{CUSTOMER}:324",
    )


@pytest.mark.parametrize(("payload", "data"), [
    ({"data": "reopen"}, "reopen"),
    ({"command": "start", "n": 1}, '{"command":"start","n":1}'),
    ("plain", "plain"),
    (None, "null"),
])
def test_other_button_payloads(payload, data):
    event = event_of("message_event_csat.json")
    event["object"]["payload"] = payload
    assert parse_one(event).data == data


def test_a_button_on_a_conversation_keyboard_has_no_message():
    event = event_of("message_event_csat.json")
    del event["object"]["conversation_message_id"]
    assert parse_one(event).on_external_id is None


def test_a_button_event_without_an_event_id_is_a_bad_request():
    event = event_of("message_event_csat.json")
    del event["object"]["event_id"]
    with pytest.raises(BadRequest, match="event_id"):
        channel.parse(webhook(event))


def test_allowing_messages_makes_the_customer_reachable():
    assert parse_one(body_of("message_allow.json")) == ReachabilityChanged(
        source_id=CUSTOMER, reachable=True, at=RECEIVED_AT)


def test_denying_messages_makes_the_customer_unreachable():
    assert parse_one(body_of("message_deny.json")) == ReachabilityChanged(
        source_id=CUSTOMER, reachable=False, at=RECEIVED_AT)


@pytest.mark.parametrize("name", ["message_typing_state.json", "group_join.json", "group_leave.json",
                                  "wall_post_new.json"])
def test_events_we_do_not_handle_are_acknowledged_and_ignored(name):
    assert channel.parse(webhook(body_of(name))) == []


# --- send: a fake VK API on 127.0.0.1 --------------------------------------------------------------------------


def outbound(text: str = "Проверяем, ответим в течение часа.", **fields) -> OutboundMessage:
    return OutboundMessage(source_id=CUSTOMER, text=text, message_id="01JD2M3X7Q9V6T4R2N8P5K1H0G", **fields)


def failure_for(vk_api: FakeVkApi, code: int, message: str) -> DeliveryFailed:
    vk_api.error(code, message)
    with pytest.raises(DeliveryFailed) as caught:
        channel.send(outbound(), CREDENTIALS, vk_api.base_url)
    return caught.value


def test_send_posts_the_text_with_the_token_in_the_body(vk_api):
    # When a reply is sent
    result = channel.send(outbound(), CREDENTIALS, vk_api.base_url)
    # Then messages.send got the peer, text, a deterministic random_id and the token — in the body, not the URL
    ((method, form, query),) = vk_api.calls
    assert method == "messages.send" and query == ""
    assert form == {"peer_ids": CUSTOMER, "random_id": str(random_id_for("01JD2M3X7Q9V6T4R2N8P5K1H0G")),
                    "message": "Проверяем, ответим в течение часа.", "v": "5.199", "access_token": TOKEN}
    # And the result is keyed like the webhooks' messages
    assert result.external_id == f"{CUSTOMER}:1501"


def test_random_id_is_a_stable_positive_31_bit_number():
    ids = {random_id_for(f"msg-{n}") for n in range(200)}
    assert all(0 < value < 2**31 for value in ids)
    assert random_id_for("msg-1") == random_id_for("msg-1")
    assert len(ids) == 200


def test_a_retried_send_is_delivered_once(vk_api):
    # Given a reply whose first attempt reached VK but whose answer was lost
    first = channel.send(outbound(), CREDENTIALS, vk_api.base_url)
    # When the delivery is retried with the same message id
    second = channel.send(outbound(), CREDENTIALS, vk_api.base_url)
    # Then VK saw the same random_id twice and the customer got one message
    assert vk_api.calls[0][1]["random_id"] == vk_api.calls[1][1]["random_id"]
    assert len(vk_api.delivered) == 1
    assert first == second


def test_buttons_become_an_inline_keyboard_of_callback_buttons(vk_api):
    # Given a CSAT prompt with three buttons and one plain button
    buttons = (("😞 Плохо", "csat:1:conv-01JD2K"), ("😐 Нормально", "csat:3:conv-01JD2K"),
               ("😊 Отлично", "csat:5:conv-01JD2K"), ("Открыть заново", "reopen"))
    channel.send(outbound("Оцените, пожалуйста, помощь", buttons=buttons), CREDENTIALS, vk_api.base_url)
    # Then the keyboard is inline, three per row, with CSAT payloads the parser turns back into csat:<n>:<subject>
    keyboard = json.loads(vk_api.calls[0][1]["keyboard"])
    assert keyboard["inline"] is True
    assert [len(row) for row in keyboard["buttons"]] == [3, 1]
    first = keyboard["buttons"][0][0]["action"]
    assert first == {"type": "callback", "label": "😞 Плохо", "payload": '{"csat":1,"subject":"conv-01JD2K"}'}
    assert json.loads(keyboard["buttons"][1][0]["action"]["payload"]) == {"data": "reopen"}


@pytest.mark.parametrize("data", ["csat:4:conv-01JD2K", "reopen"])
def test_button_data_round_trips_through_a_press(vk_api, data):
    channel.send(outbound(buttons=(("Label", data),)), CREDENTIALS, vk_api.base_url)
    payload = json.loads(json.loads(vk_api.calls[0][1]["keyboard"])["buttons"][0][0]["action"]["payload"])
    event = event_of("message_event_csat.json")
    event["object"]["payload"] = payload
    assert parse_one(event).data == data


def test_long_button_labels_are_shortened_to_vks_limit(vk_api):
    channel.send(outbound(buttons=(("Я" * 60, "x"),)), CREDENTIALS, vk_api.base_url)
    label = json.loads(vk_api.calls[0][1]["keyboard"])["buttons"][0][0]["action"]["label"]
    assert len(label) == 40 and label.endswith("…")


def test_button_data_too_long_for_vk_fails_without_calling_vk(vk_api):
    with pytest.raises(DeliveryFailed, match="too long for VK") as caught:
        channel.send(outbound(buttons=(("Label", "x" * 300),)), CREDENTIALS, vk_api.base_url)
    assert caught.value.transient is False
    assert vk_api.calls == []


def test_a_reply_quotes_the_original_through_forward(vk_api):
    channel.send(outbound(reply_to_external_id=f"{CUSTOMER}:319"), CREDENTIALS, vk_api.base_url)
    form = vk_api.calls[0][1]
    assert json.loads(form["forward"]) == {"peer_id": 184009321, "conversation_message_ids": [319], "is_reply": 1}
    assert "reply_to" not in form


def test_a_reply_to_a_plain_message_id_uses_reply_to(vk_api):
    channel.send(outbound(reply_to_external_id="96020"), CREDENTIALS, vk_api.base_url)
    form = vk_api.calls[0][1]
    assert form["reply_to"] == "96020" and "forward" not in form


def test_vk_media_references_are_sent_as_attachments(vk_api):
    attachments = (OutboundAttachment(kind="image", url="photo-218812345_457239017_ab12cd"),
                   OutboundAttachment(kind="file", url="doc184009321_671234567"))
    channel.send(outbound(attachments=attachments), CREDENTIALS, vk_api.base_url)
    assert vk_api.calls[0][1]["attachment"] == "photo-218812345_457239017_ab12cd,doc184009321_671234567"


def test_files_not_uploaded_to_vk_fail_permanently_without_calling_vk(vk_api):
    attachments = (OutboundAttachment(kind="image", url="https://files.example.com/signed/box.jpg?X-Amz=1"),)
    with pytest.raises(DeliveryFailed, match="uploaded to VK first") as caught:
        channel.send(outbound(attachments=attachments), CREDENTIALS, vk_api.base_url)
    assert caught.value.transient is False
    assert vk_api.calls == []


def test_a_plain_message_id_answer_is_used_as_is(vk_api):
    vk_api.answer(200, {"response": 96030})
    assert channel.send(outbound(), CREDENTIALS, vk_api.base_url).external_id == "96030"


@pytest.mark.parametrize(("code", "fragment"), [
    (901, "has not allowed messages from the community"),
    (900, "blacklisted the community"),
    (902, "privacy settings"),
])
def test_a_customer_who_cannot_be_written_to_is_permanent_and_unreachable(vk_api, code, fragment):
    error = failure_for(vk_api, code, "Can't send messages")
    assert (error.transient, error.unreachable) == (False, True)
    assert fragment in error.detail


def test_a_refusal_for_the_one_peer_inside_the_result_is_mapped_the_same_way(vk_api):
    # Given VK's peer_ids answer, which reports a per-peer refusal inside the result
    vk_api.answer(200, {"response": [{"peer_id": 184009321, "error": {
        "code": 901, "description": "Can't send messages for users without permission"}}]})
    # Then it is the same permanent, unreachable failure
    with pytest.raises(DeliveryFailed) as caught:
        channel.send(outbound(), CREDENTIALS, vk_api.base_url)
    assert (caught.value.transient, caught.value.unreachable) == (False, True)


@pytest.mark.parametrize(("code", "retry_after"), [(6, 1.0), (9, None), (10, None)])
def test_rate_limits_and_server_errors_are_transient(vk_api, code, retry_after):
    error = failure_for(vk_api, code, "Too many requests per second")
    assert (error.transient, error.retry_after, error.unreachable) == (True, retry_after, False)


def test_a_rejected_token_points_at_the_inbox_settings_without_leaking_it(vk_api):
    error = failure_for(vk_api, 5, "User authorization failed: invalid access_token (4).")
    assert error.transient is False
    assert error.detail == "VK rejected the community token (check the inbox settings)."
    assert TOKEN not in error.detail


def test_a_too_long_message_is_permanent(vk_api):
    error = failure_for(vk_api, 914, "Message is too long")
    assert error.transient is False and "too long" in error.detail


def test_other_errors_are_permanent_with_vks_description(vk_api):
    error = failure_for(vk_api, 100, "One of the parameters specified was missing or invalid: peer_ids")
    assert error.transient is False
    assert error.detail == ("VK refused the message: One of the parameters specified was missing or invalid: "
                            "peer_ids (error 100).")


def test_a_gateway_error_page_is_transient(vk_api):
    vk_api.answer(502, b"<html>502 Bad Gateway</html>")
    with pytest.raises(DeliveryFailed) as caught:
        channel.send(outbound(), CREDENTIALS, vk_api.base_url)
    assert caught.value.transient is True


def test_an_unreadable_success_is_permanent(vk_api):
    vk_api.answer(200, b"<html>maintenance</html>")
    with pytest.raises(DeliveryFailed, match="unreadable") as caught:
        channel.send(outbound(), CREDENTIALS, vk_api.base_url)
    assert caught.value.transient is False


def test_an_unreachable_api_is_transient_and_does_not_leak_the_token():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(DeliveryFailed) as caught:
        channel.send(outbound(), CREDENTIALS, f"http://127.0.0.1:{port}")
    assert caught.value.transient is True
    assert TOKEN not in caught.value.detail


def test_an_inbox_without_a_token_fails_permanently_without_calling_vk(vk_api):
    with pytest.raises(DeliveryFailed, match="no community token") as caught:
        channel.send(outbound(), Credentials(webhook_secret=SECRET), vk_api.base_url)
    assert caught.value.transient is False
    assert vk_api.calls == []


def test_answer_callback_stops_the_button_spinner(vk_api):
    answer_callback("3159dc190b1f", CUSTOMER, CREDENTIALS, vk_api.base_url, text="Спасибо!")
    ((method, form, _query),) = vk_api.calls
    assert method == "messages.sendMessageEventAnswer"
    assert form["event_id"] == "3159dc190b1f"
    assert (form["peer_id"], form["user_id"]) == (CUSTOMER, CUSTOMER)
    assert json.loads(form["event_data"]) == {"type": "show_snackbar", "text": "Спасибо!"}


def test_answer_callback_reports_failure(vk_api):
    vk_api.error(100, "One of the parameters specified was missing or invalid: event_id is expired")
    with pytest.raises(DeliveryFailed, match="event_id is expired"):
        channel.answer_button("3159dc190b1f", CUSTOMER, CREDENTIALS, vk_api.base_url)
