"""Instagram Messaging adapter: ``instagram`` webhooks (DMs, shares, story mentions and replies, echoes, unsends,
reactions, postbacks, seen receipts) and Send API calls against a local fake Graph API."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from switchboard.channels.base import Credentials, OutboundAttachment, OutboundMessage, WebhookRequest
from switchboard.channels.instagram import InstagramChannel
from switchboard.domain.errors import DeliveryFailed
from switchboard.domain.inbound import (
    ButtonPressed,
    DeliveryReceipt,
    InboundMessage,
    MessageDeleted,
    ReactionChanged,
)
from switchboard.domain.message import Attachment, AttachmentKind
from tests.support.fake_graph import FakeGraphApi

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "instagram"
RECEIVED_AT = "2026-09-21T18:00:00.000Z"
IG_ACCOUNT_ID = "17841400000000001"
IGSID = "1357924680135792"
TOKEN = "IGAA-instagram-token"
CREDENTIALS = Credentials(webhook_secret="meta-app-secret-01", token=TOKEN,
                          extra={"instagram_account_id": IG_ACCOUNT_ID, "app_id": "3141592653589793"})
MID = ("aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQxNDAwMDAwMDAwMDE6MzQwMjgyMzY2ODQxNzEwMzAxMjQ0Mjc2MDE3NDA3MjA0NTQ1"
       "NDE2OjMyMDAwMDAwMDAwMDAwMDAw")
CDN = "https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id="
channel = InstagramChannel()


def body_of(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def request(body: bytes | dict) -> WebhookRequest:
    raw = json.dumps(body).encode() if isinstance(body, dict) else body
    return WebhookRequest(method="POST", headers={"content-type": "application/json"}, query={}, body=raw,
                          received_at=RECEIVED_AT)


def parse(body: bytes | dict, credentials: Credentials | None = None) -> list:
    return channel.parse(request(body), credentials)


def parse_one(body: bytes | dict, credentials: Credentials | None = None):
    events = parse(body, credentials)
    assert len(events) == 1, events
    return events[0]


def test_capabilities_are_messengers_with_instagrams_text_limit():
    caps = channel.capabilities
    assert (channel.name, caps.can_edit, caps.can_delete, caps.read_receipts) == ("instagram", False, False, True)
    assert (caps.buttons, caps.max_text_length, caps.reply_window_hours) == (13, 1000, 24)


# --- messages --------------------------------------------------------------------------------------------------


def test_a_direct_message_is_keyed_by_the_instagram_scoped_id_and_its_long_mid():
    # Given a DM whose flag emoji is two regional-indicator code points (four UTF-16 units, escaped)
    event = parse_one(body_of("text.json"))
    # Then the text is intact and the mid is stored verbatim
    assert event == InboundMessage(source_id=IGSID, external_id=MID + "01", sent_at="2026-09-21T14:13:20.456Z",
                                   text="hei! sender dere til Norge? \U0001f1f3\U0001f1f4")
    assert len(event.external_id) > 100


def test_an_image():
    event = parse_one(body_of("image.json"))
    assert event.attachments == (
        Attachment(kind=AttachmentKind.IMAGE, ref=CDN + "18000000000000001&signature=AbCd"),
    )


def test_a_story_mention_shows_the_story_and_keeps_it_in_meta():
    event = parse_one(body_of("story_mention.json"))
    url = CDN + "18000000000000002&signature=EfGh"
    assert (event.text, event.attachments) == (url, ())
    assert event.meta == {"shared": [{"type": "story_mention", "url": url}]}


def test_a_story_reply_keeps_the_story_in_meta_and_replies_to_no_message():
    event = parse_one(body_of("story_reply.json"))
    assert event.text == "Er denne i str. M? \U0001f60d"
    assert event.reply_to_external_id is None
    assert event.meta == {"story_reply": {"id": "18000000000000003",
                                          "url": CDN + "18000000000000003&signature=IjKl"}}


def test_a_shared_post_is_a_link():
    event = parse_one(body_of("share.json"))
    assert event.text == CDN + "18000000000000004&signature=MnOp"
    assert event.meta["shared"][0]["type"] == "share"


def test_a_shared_reel_is_a_video_that_says_it_was_shared():
    (attachment,) = parse_one(body_of("reel.json")).attachments
    assert attachment == Attachment(kind=AttachmentKind.VIDEO, ref=CDN + "18000000000000005&signature=QrSt",
                                    name="Høstkolleksjonen er her \U0001f342",
                                    meta={"shared": "ig_reel", "reel_video_id": "18000000000000005"})


def test_an_unsupported_message_is_shown_as_such():
    event = parse_one(body_of("unsupported.json"))
    assert (event.external_id, event.text) == (MID + "08", "unsupported message type: unknown")


def test_a_csat_quick_reply_is_a_message_and_a_rating():
    message, pressed = parse(body_of("quick_reply.json"))
    assert message.text == "\U0001f61e Dårlig"
    assert pressed == ButtonPressed(source_id=IGSID, event_id=MID + "10", data="csat:1:conv-01J9B1C2D3",
                                    at="2026-09-21T14:13:33.456Z")


# --- echoes, unsends, reactions, postbacks, seen ---------------------------------------------------------------


def test_an_echo_without_an_app_id_is_kept_even_with_credentials():
    # Given an echo (Instagram sends none with an app_id, so ours cannot be told apart here)
    event = parse_one(body_of("echo.json"), CREDENTIALS)
    # Then it is an echo in the customer's conversation; the store dedupes our own by mid
    assert event == InboundMessage(source_id=IGSID, external_id=MID + "07", sent_at="2026-09-21T14:13:26.456Z",
                                   text="Hei Ingrid! Ja, vi sender til hele Norge.", echo=True)


def test_an_echo_carrying_our_app_id_is_ignored():
    webhook = json.loads(body_of("echo.json"))
    webhook["entry"][0]["messaging"][0]["message"]["app_id"] = 3141592653589793
    assert parse(webhook, CREDENTIALS) == []


def test_an_unsent_message_is_deleted():
    assert parse_one(body_of("deleted.json")) == MessageDeleted(source_id=IGSID, external_id=MID + "04",
                                                                at="2026-09-21T14:13:27.456Z")


def test_a_reaction_and_its_removal():
    reacted = parse_one(body_of("reaction.json"))
    removed = parse_one(body_of("unreact.json"))
    assert isinstance(reacted, ReactionChanged)
    assert (reacted.external_id, reacted.emoji, removed.emoji) == (MID + "07", "\u2764\ufe0f", None)


def test_a_reaction_without_an_emoji_falls_back_to_its_name():
    webhook = json.loads(body_of("reaction.json"))
    del webhook["entry"][0]["messaging"][0]["reaction"]["emoji"]
    assert parse_one(webhook).emoji == "love"


def test_a_postback_from_an_icebreaker():
    pressed, message = parse(body_of("postback.json"))
    assert (pressed.event_id, pressed.data) == (MID + "09", "TRACK_ORDER")
    assert (message.text, message.meta["button_kind"]) == ("Spor pakken min", "postback")


def test_seen_names_the_message_that_was_read():
    # Given Instagram's read receipt, which names one message instead of a watermark
    event = parse_one(body_of("seen.json"))
    # Then it is an ordinary receipt for that mid
    assert event == DeliveryReceipt(external_id=MID + "07", status="read", at="2026-09-21T14:13:32.456Z",
                                    source_id=IGSID)


def test_with_credentials_other_instagram_accounts_are_left_to_their_inboxes():
    other = Credentials(webhook_secret="s", extra={"instagram_account_id": "17841499999999999"})
    assert parse(body_of("text.json"), other) == []
    assert len(parse(body_of("text.json"), CREDENTIALS)) == 1


# --- send: a fake Graph API on 127.0.0.1 ------------------------------------------------------------------------


def outbound(text: str = "Ja, vi sender til hele Norge!", **fields) -> OutboundMessage:
    return OutboundMessage(source_id=IGSID, text=text, message_id="msg-01", **fields)


def failure_for(graph_api: FakeGraphApi) -> DeliveryFailed:
    with pytest.raises(DeliveryFailed) as caught:
        channel.send(outbound(), CREDENTIALS, graph_api.base_url)
    assert TOKEN not in caught.value.detail
    return caught.value


def test_send_posts_the_text_to_the_send_api(graph_api):
    result = channel.send(outbound(), CREDENTIALS, graph_api.base_url)
    (call,) = graph_api.calls
    assert (call.path, call.headers["authorization"]) == ("/v21.0/me/messages", f"Bearer {TOKEN}")
    assert call.payload == {"recipient": {"id": IGSID}, "messaging_type": "RESPONSE",
                            "message": {"text": "Ja, vi sender til hele Norge!"}}
    assert result.external_id == "m_FAKE0001"


def test_csat_buttons_are_rendered_as_quick_replies(graph_api):
    buttons = (("\U0001f600 Bra", "csat:3:conv-1"), ("\U0001f610 Ok", "csat:2:conv-1"),
               ("\U0001f61e Dårlig", "csat:1:conv-1"))
    channel.send(outbound("Hvor fornøyd var du?", buttons=buttons), CREDENTIALS, graph_api.base_url)
    quick_replies = graph_api.payloads[0]["message"]["quick_replies"]
    assert [(q["content_type"], q["title"], q["payload"]) for q in quick_replies] == [
        ("text", "\U0001f600 Bra", "csat:3:conv-1"), ("text", "\U0001f610 Ok", "csat:2:conv-1"),
        ("text", "\U0001f61e Dårlig", "csat:1:conv-1")]


def test_an_image_is_sent_by_link(graph_api):
    image = OutboundAttachment(kind="image", url="https://files.example/presigned/size-chart.png")
    channel.send(outbound("Her er størrelsestabellen", attachments=(image,)), CREDENTIALS, graph_api.base_url)
    attachment, text = graph_api.payloads
    assert attachment["message"]["attachment"] == {"type": "image", "payload": {"url": image.url,
                                                                                "is_reusable": False}}
    assert text["message"] == {"text": "Her er størrelsestabellen"}


@pytest.mark.parametrize("subcode", [2534022, 2018278])
def test_outside_the_24_hour_window_the_failure_says_so(graph_api, subcode):
    graph_api.fail(400, 10, "This message is sent outside of allowed window.", subcode=subcode)
    error = failure_for(graph_api)
    assert (error.transient, error.unreachable) == (False, False)
    assert error.detail.startswith("More than 24 hours since the customer wrote; Instagram needs")


def test_an_unavailable_customer_is_unreachable(graph_api):
    graph_api.fail(400, 551, "This person isn't available right now.")
    assert failure_for(graph_api).unreachable is True


@pytest.mark.parametrize("code", [4, 613, 32])
def test_rate_limits_are_transient(graph_api, code):
    graph_api.fail(400, code, "Application request limit reached")
    assert failure_for(graph_api).transient is True


def test_an_expired_token_asks_to_reconnect_the_account(graph_api):
    graph_api.fail(400, 190, "Error validating access token")
    assert failure_for(graph_api).detail == ("The Instagram access token has expired or was revoked; reconnect the "
                                             "Instagram account in the inbox settings.")


def test_a_server_error_is_transient(graph_api):
    graph_api.fail(500, 2, "An unexpected error has occurred. Please retry your request later.")
    assert failure_for(graph_api).transient is True
