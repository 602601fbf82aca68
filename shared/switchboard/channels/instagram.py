"""Instagram Messaging adapter: the same ``messaging[]`` webhooks and Send API as Messenger (``messenger.py``), with
Instagram's object name, account key, error codes and limits."""

from __future__ import annotations

from ..domain.inbound import InboundEvent, Profile
from . import media, meta
from .base import Capabilities, Credentials, OutboundMessage, SendResult, WebhookRequest, WebhookResponse
from .messenger import MAX_QUICK_REPLIES, Platform, parse_messaging, send_messaging
from .meta import Rule

MAX_TEXT = 1000

INSTAGRAM_RULES: dict[tuple[int, int | None], Rule] = {
    # Instagram answers the closed 24-hour window with its own subcode; via Facebook login it may use Messenger's.
    (10, 2534022): Rule("More than 24 hours since the customer wrote; Instagram needs a new message from them "
                        "(or the human agent tag)."),
    (10, 2018278): Rule("More than 24 hours since the customer wrote; Instagram needs a new message from them "
                        "(or the human agent tag)."),
    (551, None): Rule("The customer cannot be reached on Instagram right now (they may have blocked the account or "
                      "restricted their messages).", unreachable=True),
    (100, 2534014): Rule("Instagram does not know this customer any more; their account may have been deleted.",
                         unreachable=True),
    (190, None): Rule("The Instagram access token has expired or was revoked; reconnect the Instagram account in "
                      "the inbox settings."),
}

INSTAGRAM = Platform(name="Instagram", object="instagram", account_key="instagram_account_id",
                     rules=INSTAGRAM_RULES)


class InstagramChannel:
    name = "instagram"

    def profile(self, source_id: str, credentials: Credentials, api_base: str) -> Profile:
        """The customer's name and handle, which Instagram webhooks leave out."""
        data = meta.profile(source_id, "name,username", credentials, api_base)
        name, username = data.get("name"), data.get("username")
        return Profile(name=name if isinstance(name, str) and name else (username or None),
                       username=username if isinstance(username, str) else None)
    # Echoes of our own sends carry no app_id on Instagram, so they arrive as echoes and dedupe on their mid.
    # Images are capped at 8 MB (audio and video at 25 MB); the tighter limit is the one we can promise.
    capabilities = Capabilities(can_edit=False, can_delete=False, read_receipts=True, buttons=MAX_QUICK_REPLIES,
                                max_text_length=MAX_TEXT, reply_window_hours=24, max_attachment_bytes=8 * 1024 * 1024)

    def verify(self, request: WebhookRequest, credentials: Credentials) -> None:
        meta.verify_signature(request, credentials.webhook_secret)

    def handshake(self, request: WebhookRequest, credentials: Credentials) -> WebhookResponse | None:
        return meta.handshake(request, credentials)

    def parse(self, request: WebhookRequest, credentials: Credentials | None = None) -> list[InboundEvent]:
        return parse_messaging(INSTAGRAM, request, credentials)

    def send(self, message: OutboundMessage, credentials: Credentials, api_base: str) -> SendResult:
        return send_messaging(INSTAGRAM, message, credentials, api_base)

    def download(self, ref: str, credentials: Credentials, api_base: str, max_bytes: int) -> media.Download:
        """Fetch a customer's file from the CDN URL its webhook carried."""
        return meta.download_attachment(ref, INSTAGRAM.name, api_base, max_bytes)
