"""Downloading customers' files: every adapter's ``download`` against one local stand-in for the platforms' APIs and
CDNs (its base URL is the api_base, the only non-platform host ``fetch`` admits), and e-mail parts read back from an
in-memory bucket."""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from switchboard.channels.base import Credentials, WebhookRequest
from switchboard.channels.email import EmailChannel
from switchboard.channels.instagram import InstagramChannel
from switchboard.channels.media import Download, MediaRefused
from switchboard.channels.messenger import MessengerChannel
from switchboard.channels.telegram import TelegramChannel
from switchboard.channels.twilio import TwilioChannel
from switchboard.channels.vk import VkChannel
from switchboard.channels.whatsapp import WhatsAppChannel
from switchboard.domain.errors import BadRequest, DeliveryFailed

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
MAX_BYTES = 64 * 1024
PDF = b"%PDF-1.4\n% a customer's invoice\n" + bytes(range(256)) * 8
FOREIGN = "https://files.attacker.example/stolen.pdf"

TELEGRAM_TOKEN = "8123456789:AAE-fake-token"
TELEGRAM_FILE_ID = "BQACAgIAAxkBAAIBZ2bX-fake-file-id"
WHATSAPP_TOKEN = "EAAG-fake-system-user-token"
WHATSAPP_MEDIA_ID = "1037543291543636"
PHONE_NUMBER_ID = "106540352242922"
TWILIO_ACCOUNT = "AC7d1e5f3a9b2c4d6e8f0a1b3c5d7e9f2a"
TWILIO_TOKEN = "9f8e7d6c5b4a39281706f5e4d3c2b1a0"
TWILIO_MEDIA = (f"/2010-04-01/Accounts/{TWILIO_ACCOUNT}/Messages/MM4a3b2c1d0e9f8a7b6c5d4e3f2a1b0c9d"
                "/Media/ME1f2e3d4c5b6a79880716f5e4d3c2b1a0")
TWILIO_BASIC = "Basic " + base64.b64encode(f"{TWILIO_ACCOUNT}:{TWILIO_TOKEN}".encode()).decode()
BUCKET = "northwind-inbound-mail"


# --- one local stand-in for every platform ------------------------------------------------------------------------


@dataclass(frozen=True)
class Seen:
    method: str
    path: str
    headers: dict[str, str]  # lower-cased names
    body: bytes


@dataclass(frozen=True)
class Route:
    status: int = 200
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()
    declare_length: bool = True  # False: no Content-Length, the body simply runs until the connection closes


@dataclass
class FakePlatform:
    """Answers each path (query included) from its routes and records every request; unknown paths are 404s."""

    base_url: str = ""
    routes: dict[str, Route] = field(default_factory=dict)
    seen: list[Seen] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def serve(self, path: str, body: bytes = b"", *, status: int = 200, declare_length: bool = True,
              **headers: str) -> None:
        names = tuple((name.replace("_", "-"), value) for name, value in headers.items())
        self.routes[path] = Route(status, body, names, declare_length)

    def serve_json(self, path: str, document: dict, status: int = 200) -> None:
        self.serve(path, json.dumps(document).encode(), status=status, Content_Type="application/json")

    def redirect(self, path: str, location: str, status: int = 302) -> None:
        self.serve(path, status=status, Location=location)

    def answer(self, seen: Seen) -> Route:
        with self.lock:
            self.seen.append(seen)
        return self.routes.get(seen.path) or Route(404, b'{"error": "not found"}')

    @property
    def paths(self) -> list[str]:
        return [seen.path for seen in self.seen]


@pytest.fixture
def platform() -> Iterator[FakePlatform]:
    fake = FakePlatform()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            self._answer("GET")

        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            self._answer("POST")

        def _answer(self, method: str) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            headers = {name.lower(): value for name, value in self.headers.items()}
            route = fake.answer(Seen(method, self.path, headers, body))
            self.send_response(route.status)
            for name, value in route.headers:
                self.send_header(name, value)
            if route.declare_length:
                self.send_header("Content-Length", str(len(route.body)))
            self.end_headers()
            try:
                self.wfile.write(route.body)
            except ConnectionError:
                pass  # the client stopped reading, which is what a refused download does

        def log_message(self, *args) -> None:  # keep pytest output clean
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    fake.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield fake
    server.shutdown()
    server.server_close()
    thread.join()


# --- each channel, arranged so that its file ends up served at one path -------------------------------------------


@dataclass(frozen=True)
class Case:
    """How one channel reaches a customer's file: ``arrange`` scripts any metadata call and returns the ref; the
    file itself is then fetched from ``file_path`` on the stand-in."""

    name: str
    channel: object
    credentials: Credentials
    file_path: str
    arrange: Callable[[FakePlatform], str]

    def download(self, platform: FakePlatform, ref: str, max_bytes: int = MAX_BYTES) -> Download:
        return self.channel.download(ref, self.credentials, platform.base_url, max_bytes)  # type: ignore[attr-defined]


def telegram_file(platform: FakePlatform, file_path: str = "documents/file_7.pdf", **extra: object) -> str:
    result = {"file_id": TELEGRAM_FILE_ID, "file_unique_id": "AgADZwEAAm", "file_path": file_path, **extra}
    platform.serve_json(f"/bot{TELEGRAM_TOKEN}/getFile", {"ok": True, "result": result})
    return TELEGRAM_FILE_ID


def whatsapp_media(platform: FakePlatform, **extra: object) -> str:
    info = {"messaging_product": "whatsapp", "url": platform.base_url + WHATSAPP_FILE, "mime_type": "application/pdf",
            "id": WHATSAPP_MEDIA_ID, **extra}
    platform.serve_json(WHATSAPP_LOOKUP, info)
    return WHATSAPP_MEDIA_ID


WHATSAPP_LOOKUP = f"/{WHATSAPP_MEDIA_ID}?phone_number_id={PHONE_NUMBER_ID}"
WHATSAPP_FILE = f"/whatsapp_business/attachments/?mid={WHATSAPP_MEDIA_ID}&ext=1790000000&hash=ATvQ-fake"
MESSENGER_FILE = "/v/t59.2708-21/448123456_n.pdf?_nc_cat=1&oh=00_fake&oe=66F0"
INSTAGRAM_FILE = "/ig_messaging_cdn/?asset_id=17912345678901234&signature=Abc-fake"
VK_FILE = "/c237331/u1234567/docs/d55/4a5b6c7d8e9f/Invoice.pdf?extra=fake"

TELEGRAM = Case("telegram", TelegramChannel(), Credentials(webhook_secret="s", token=TELEGRAM_TOKEN),
                f"/file/bot{TELEGRAM_TOKEN}/documents/file_7.pdf", telegram_file)
WHATSAPP = Case("whatsapp", WhatsAppChannel(),
                Credentials(webhook_secret="s", token=WHATSAPP_TOKEN, extra={"phone_number_id": PHONE_NUMBER_ID}),
                WHATSAPP_FILE, whatsapp_media)
MESSENGER = Case("messenger", MessengerChannel(), Credentials(webhook_secret="s", token="page-token"),
                 MESSENGER_FILE, lambda platform: platform.base_url + MESSENGER_FILE)
INSTAGRAM = Case("instagram", InstagramChannel(), Credentials(webhook_secret="s", token="ig-token"),
                 INSTAGRAM_FILE, lambda platform: platform.base_url + INSTAGRAM_FILE)
VK = Case("vk", VkChannel(), Credentials(webhook_secret="s", token="vk1.a.fake"),
          VK_FILE, lambda platform: platform.base_url + VK_FILE)
TWILIO = Case("twilio", TwilioChannel(),
              Credentials(webhook_secret=TWILIO_TOKEN, extra={"account_sid": TWILIO_ACCOUNT}),
              TWILIO_MEDIA, lambda platform: platform.base_url + TWILIO_MEDIA)

CASES = [TELEGRAM, WHATSAPP, MESSENGER, INSTAGRAM, VK, TWILIO]
URL_CASES = [MESSENGER, INSTAGRAM, VK, TWILIO]  # the ref is the file's own URL


def by_name(cases: list[Case]) -> dict:
    return {"argvalues": cases, "ids": [case.name for case in cases]}


# --- what every channel shares ------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", **by_name(CASES))
def test_a_customer_file_is_downloaded_from_the_platform(platform, case):
    # Given the platform holds the customer's PDF where the ref leads
    ref = case.arrange(platform)
    platform.serve(case.file_path, PDF, Content_Type="application/pdf")
    # When the adapter downloads it
    file = case.download(platform, ref)
    # Then the bytes and their type arrive intact, and the file was fetched exactly once
    assert file.content == PDF
    assert file.mime == "application/pdf"
    assert platform.paths.count(case.file_path) == 1


@pytest.mark.parametrize("case", **by_name(CASES))
def test_a_file_declared_larger_than_the_limit_is_refused(platform, case):
    # Given the platform announces (Content-Length) a file over the channel's limit
    ref = case.arrange(platform)
    platform.serve(case.file_path, PDF, Content_Type="application/pdf")
    # When it is downloaded with a smaller limit
    with pytest.raises(MediaRefused, match="larger than this channel's limit"):
        case.download(platform, ref, max_bytes=1024)


@pytest.mark.parametrize("case", **by_name(CASES))
def test_a_file_that_streams_past_the_limit_is_refused(platform, case):
    # Given the platform sends the file without announcing its size
    ref = case.arrange(platform)
    platform.serve(case.file_path, PDF, declare_length=False, Content_Type="application/pdf")
    # When more than the limit arrives, the download stops and is refused
    with pytest.raises(MediaRefused, match="larger than this channel's limit"):
        case.download(platform, ref, max_bytes=1024)


@pytest.mark.parametrize("case", **by_name(CASES))
def test_a_redirect_off_the_platform_is_not_followed(platform, case):
    # Given the file's address redirects to a host that is not the platform's
    ref = case.arrange(platform)
    platform.redirect(case.file_path, FOREIGN)
    # When it is downloaded, the redirect is refused (the foreign host is never contacted: it does not exist)
    with pytest.raises(MediaRefused, match="redirected the download off its own servers"):
        case.download(platform, ref)


@pytest.mark.parametrize("status", [500, 503, 429])
@pytest.mark.parametrize("case", **by_name(CASES))
def test_a_server_error_or_rate_limit_on_the_file_is_retried(platform, case, status):
    # Given the platform fails to serve the file for now
    ref = case.arrange(platform)
    platform.serve(case.file_path, b"try again later", status=status)
    # When it is downloaded, the failure is transient so the stream retries it
    with pytest.raises(DeliveryFailed) as failure:
        case.download(platform, ref)
    assert failure.value.transient is True
    assert "will retry" in str(failure.value)


@pytest.mark.parametrize("status", [403, 404, 410])
@pytest.mark.parametrize("case", **by_name(CASES))
def test_a_file_the_platform_no_longer_has_is_refused(platform, case, status):
    # Given the file's signed address has expired or the file was deleted
    ref = case.arrange(platform)
    platform.serve(case.file_path, b"gone", status=status)
    # When it is downloaded, the refusal is permanent and says why
    with pytest.raises(MediaRefused, match=f"HTTP {status}"):
        case.download(platform, ref)


@pytest.mark.parametrize("case", **by_name(URL_CASES))
@pytest.mark.parametrize("ref", [
    FOREIGN,
    "https://fbcdn.net.attacker.example/photo.jpg",
    "http://scontent.xx.fbcdn.net/v/photo.jpg",  # the platform's host, but not over https
    "https://user:pass@lookaside.fbsbx.com/file.pdf",
])
def test_a_ref_off_the_platform_is_refused_without_a_request(platform, case, ref):
    # Given a ref that does not point at the platform's own servers
    # When it is downloaded
    with pytest.raises(MediaRefused, match="not on"):
        case.download(platform, ref)
    # Then nothing was requested from anywhere
    assert platform.seen == []


# --- Telegram -------------------------------------------------------------------------------------------------------


def test_telegram_asks_getfile_for_the_path_and_names_the_file_after_it(platform):
    # Given a photo Telegram keeps at photos/file_12.jpg and serves as application/octet-stream
    telegram_file(platform, "photos/file_12.jpg", file_size=len(PDF))
    platform.serve(f"/file/bot{TELEGRAM_TOKEN}/photos/file_12.jpg", PDF, Content_Type="application/octet-stream")
    # When it is downloaded
    file = TELEGRAM.download(platform, TELEGRAM_FILE_ID)
    # Then getFile was asked about this file_id, and the path gives the file its name and type
    assert json.loads(platform.seen[0].body) == {"file_id": TELEGRAM_FILE_ID}
    assert platform.paths == [f"/bot{TELEGRAM_TOKEN}/getFile", f"/file/bot{TELEGRAM_TOKEN}/photos/file_12.jpg"]
    assert file == Download(PDF, "image/jpeg", "file_12.jpg")


def test_telegram_refuses_a_file_over_the_bot_download_limit_before_downloading(platform):
    # Given getFile reports a 25 MB video (the channel itself would take 50 MB)
    telegram_file(platform, "videos/file_3.mp4", file_size=25 * 1024 * 1024)
    # When it is downloaded
    with pytest.raises(MediaRefused, match="up to 20 MB and this one is 25.0 MB"):
        TELEGRAM.download(platform, TELEGRAM_FILE_ID, max_bytes=50 * 1024 * 1024)
    # Then the file itself was never requested
    assert platform.paths == [f"/bot{TELEGRAM_TOKEN}/getFile"]


def test_telegram_refuses_a_file_over_the_channel_limit_by_getfile_size(platform):
    telegram_file(platform, "documents/file_7.pdf", file_size=2 * 1024 * 1024)
    with pytest.raises(MediaRefused, match="larger than this channel's limit"):
        TELEGRAM.download(platform, TELEGRAM_FILE_ID, max_bytes=1024 * 1024)
    assert platform.paths == [f"/bot{TELEGRAM_TOKEN}/getFile"]


def test_telegram_explains_getfile_refusing_a_file_that_is_too_big(platform):
    # Given getFile answers the way Telegram does for files over 20 MB
    platform.serve_json(f"/bot{TELEGRAM_TOKEN}/getFile",
                        {"ok": False, "error_code": 400, "description": "Bad Request: file is too big"}, status=400)
    # When it is downloaded, the operator reads why
    with pytest.raises(MediaRefused, match="up to 20 MB"):
        TELEGRAM.download(platform, TELEGRAM_FILE_ID)


def test_telegram_refuses_an_unknown_file_id(platform):
    platform.serve_json(f"/bot{TELEGRAM_TOKEN}/getFile",
                        {"ok": False, "error_code": 400, "description": "Bad Request: invalid file_id"}, status=400)
    with pytest.raises(MediaRefused, match="invalid file_id"):
        TELEGRAM.download(platform, TELEGRAM_FILE_ID)


@pytest.mark.parametrize("status", [500, 502, 429])
def test_telegram_retries_when_getfile_fails_for_now(platform, status):
    platform.serve_json(f"/bot{TELEGRAM_TOKEN}/getFile",
                        {"ok": False, "error_code": status, "description": "Internal Server Error"}, status=status)
    with pytest.raises(DeliveryFailed) as failure:
        TELEGRAM.download(platform, TELEGRAM_FILE_ID)
    assert failure.value.transient is True


def test_telegram_never_puts_the_bot_token_in_an_error(platform):
    # Given the file download fails after getFile succeeded (the file URL holds the token)
    telegram_file(platform)
    platform.serve(TELEGRAM.file_path, b"", status=404)
    # When it is refused, the reason does not leak the token
    with pytest.raises(MediaRefused) as refused:
        TELEGRAM.download(platform, TELEGRAM_FILE_ID)
    assert TELEGRAM_TOKEN not in str(refused.value)


def test_telegram_without_a_bot_token_refuses_without_a_request(platform):
    with pytest.raises(MediaRefused, match="no bot token"):
        TelegramChannel().download(TELEGRAM_FILE_ID, Credentials(webhook_secret="s"), platform.base_url, MAX_BYTES)
    assert platform.seen == []


# --- WhatsApp -------------------------------------------------------------------------------------------------------


def test_whatsapp_looks_the_media_up_and_fetches_it_with_the_token(platform):
    # Given Graph describes a voice note (checksum included) and the lookaside host serves it
    whatsapp_media(platform, mime_type="audio/ogg", file_size=str(len(PDF)), sha256=hashlib.sha256(PDF).hexdigest())
    platform.serve(WHATSAPP_FILE, PDF, Content_Type="application/octet-stream")
    # When it is downloaded
    file = WHATSAPP.download(platform, WHATSAPP_MEDIA_ID)
    # Then the id was looked up for this number and both calls carried the access token
    assert platform.paths == [WHATSAPP_LOOKUP, WHATSAPP_FILE]
    assert [seen.headers["authorization"] for seen in platform.seen] == [f"Bearer {WHATSAPP_TOKEN}"] * 2
    # And the bytes arrive with the type Graph named
    assert file.content == PDF
    assert file.mime == "audio/ogg"


def test_whatsapp_refuses_a_file_whose_checksum_does_not_match(platform):
    # Given Graph's sha256 is not the hash of what the CDN sends
    whatsapp_media(platform, sha256=hashlib.sha256(b"the original file").hexdigest())
    platform.serve(WHATSAPP_FILE, PDF, Content_Type="application/pdf")
    # When it is downloaded, it is refused rather than stored
    with pytest.raises(MediaRefused, match="SHA-256"):
        WHATSAPP.download(platform, WHATSAPP_MEDIA_ID)


@pytest.mark.parametrize("declared", [2 * MAX_BYTES, str(2 * MAX_BYTES)])
def test_whatsapp_refuses_a_file_over_the_limit_by_its_declared_size(platform, declared):
    # Given Graph says the media is larger than the limit (as a number or, as it often does, a string)
    whatsapp_media(platform, file_size=declared)
    # When it is downloaded, the file itself is never requested
    with pytest.raises(MediaRefused, match="larger than this channel's limit"):
        WHATSAPP.download(platform, WHATSAPP_MEDIA_ID)
    assert platform.paths == [WHATSAPP_LOOKUP]


def test_whatsapp_does_not_send_the_token_to_a_media_url_off_meta(platform):
    # Given Graph's answer names a URL on a foreign host
    whatsapp_media(platform, url=FOREIGN)
    # When it is downloaded, it is refused and only the lookup was made
    with pytest.raises(MediaRefused, match="not on WhatsApp's own servers"):
        WHATSAPP.download(platform, WHATSAPP_MEDIA_ID)
    assert platform.paths == [WHATSAPP_LOOKUP]


def test_whatsapp_refuses_media_graph_no_longer_knows(platform):
    # Given Graph answers the lookup with an error the way it does for expired or unknown media ids
    error = {"message": "Unsupported get request. Object with ID '1037543291543636' does not exist", "code": 100,
             "error_subcode": 33, "type": "GraphMethodException", "fbtrace_id": "AbC"}
    platform.serve_json(WHATSAPP_LOOKUP, {"error": error}, status=400)
    # When it is downloaded, the operator reads Graph's reason
    with pytest.raises(MediaRefused, match="does not exist"):
        WHATSAPP.download(platform, WHATSAPP_MEDIA_ID)


def test_whatsapp_explains_an_expired_token(platform):
    error = {"message": "Error validating access token", "code": 190, "type": "OAuthException"}
    platform.serve_json(WHATSAPP_LOOKUP, {"error": error}, status=401)
    with pytest.raises(MediaRefused, match="access token has expired"):
        WHATSAPP.download(platform, WHATSAPP_MEDIA_ID)


@pytest.mark.parametrize(("status", "error"), [
    (500, {"message": "An unknown error occurred", "code": 1, "type": "OAuthException"}),
    (400, {"message": "Application request limit reached", "code": 4, "type": "OAuthException"}),
    (429, {"message": "Too many calls", "code": 80007, "type": "OAuthException"}),
])
def test_whatsapp_retries_a_lookup_that_fails_for_now(platform, status, error):
    platform.serve_json(WHATSAPP_LOOKUP, {"error": error}, status=status)
    with pytest.raises(DeliveryFailed) as failure:
        WHATSAPP.download(platform, WHATSAPP_MEDIA_ID)
    assert failure.value.transient is True


@pytest.mark.parametrize("ref", ["../me/messages", "1037543291543636?fields=url", "", "1037 5432"])
def test_whatsapp_refuses_a_malformed_media_id_without_a_request(platform, ref):
    with pytest.raises(MediaRefused, match="malformed"):
        WHATSAPP.download(platform, ref)
    assert platform.seen == []


# --- Messenger and Instagram ----------------------------------------------------------------------------------------


def test_messenger_fetches_the_cdn_url_without_a_token_and_names_the_file_from_it(platform):
    # Given a file attachment whose CDN URL ends in its name
    platform.serve(MESSENGER_FILE, PDF, Content_Type="application/pdf")
    # When it is downloaded
    file = MESSENGER.download(platform, platform.base_url + MESSENGER_FILE)
    # Then no credentials went with the request, and the URL's file name names the file
    assert "authorization" not in platform.seen[0].headers
    assert file.name == "448123456_n.pdf"


def test_instagram_prefers_the_name_the_cdn_gives(platform):
    platform.serve(INSTAGRAM_FILE, PDF, Content_Type="image/jpeg", Content_Disposition='inline; filename="story.jpg"')
    file = INSTAGRAM.download(platform, platform.base_url + INSTAGRAM_FILE)
    assert file == Download(PDF, "image/jpeg", "story.jpg")


def test_a_redirect_within_the_platform_is_followed(platform):
    # Given the CDN moves a file to another of its paths
    platform.redirect("/old/photo.jpg", platform.base_url + "/new/photo.jpg")
    platform.serve("/new/photo.jpg", PDF, Content_Type="image/jpeg")
    # When it is downloaded, the redirect is followed
    assert MESSENGER.download(platform, platform.base_url + "/old/photo.jpg").content == PDF
    assert platform.paths == ["/old/photo.jpg", "/new/photo.jpg"]


# --- VK ---------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("ref", ["doc-229876543_457239017", "sticker:163", "userapi.com/photo.jpg"])
def test_vk_refuses_a_ref_that_is_not_a_link(platform, ref):
    # Given a ref with no file behind it (a media id, a sticker number, a bare host)
    # When it is downloaded, the operator reads that there is nothing to fetch
    with pytest.raises(MediaRefused, match="has no downloadable file"):
        VK.download(platform, ref)
    assert platform.seen == []


def test_vk_follows_a_document_link_to_its_storage_host_without_a_token(platform):
    # Given vk.com's document link redirects to the storage path
    platform.redirect("/doc1234567_654321?hash=fake&dl=fake", platform.base_url + VK_FILE)
    platform.serve(VK_FILE, PDF, Content_Type="application/pdf")
    # When it is downloaded
    file = VK.download(platform, platform.base_url + "/doc1234567_654321?hash=fake&dl=fake")
    # Then the file arrives and the community token went nowhere
    assert file.content == PDF
    assert all("authorization" not in seen.headers and "vk1.a.fake" not in seen.path for seen in platform.seen)


# --- Twilio -----------------------------------------------------------------------------------------------------------


def test_twilio_fetches_media_with_basic_auth_and_follows_the_redirect_to_its_cdn(platform):
    # Given Twilio's API answers MediaUrl0 with a redirect to the media CDN, as it does for every file
    cdn = "/mms-cdn/AC7d1e/ME1f2e.jpeg?Expires=1790000300&Signature=fake"
    platform.redirect(TWILIO_MEDIA, platform.base_url + cdn, status=307)
    platform.serve(cdn, PDF, Content_Type="image/jpeg")
    # When it is downloaded
    file = TWILIO.download(platform, platform.base_url + TWILIO_MEDIA)
    # Then the API was asked with the account's credentials (auth token from the webhook secret), and the CDN served it
    assert platform.paths == [TWILIO_MEDIA, cdn]
    assert platform.seen[0].headers["authorization"] == TWILIO_BASIC
    assert file.content == PDF
    assert file.mime == "image/jpeg"


def test_twilio_prefers_the_configured_auth_token(platform):
    platform.serve(TWILIO_MEDIA, PDF, Content_Type="image/png")
    credentials = Credentials(webhook_secret="other", extra={"account_sid": TWILIO_ACCOUNT, "auth_token": TWILIO_TOKEN})
    TwilioChannel().download(platform.base_url + TWILIO_MEDIA, credentials, platform.base_url, MAX_BYTES)
    assert platform.seen[0].headers["authorization"] == TWILIO_BASIC


def test_twilio_sends_its_credentials_only_to_the_api(platform):
    # Given a ref on Twilio's CDN rather than its API (where the credentials belong)
    ref = "https://media.twiliocdn.com/AC7d1e/ME1f2e.jpeg"
    # When it is downloaded, it is refused before any request
    with pytest.raises(MediaRefused, match="not on Twilio's API"):
        TWILIO.download(platform, ref)
    assert platform.seen == []


def test_twilio_without_an_account_sid_refuses_without_a_request(platform):
    with pytest.raises(MediaRefused, match="no Account SID or auth token"):
        TwilioChannel().download(platform.base_url + TWILIO_MEDIA, Credentials(webhook_secret=TWILIO_TOKEN),
                                 platform.base_url, MAX_BYTES)
    assert platform.seen == []


# --- E-mail -----------------------------------------------------------------------------------------------------------


@dataclass
class Bucket:
    """The adapter's ``read_object`` collaborator, in memory."""

    objects: dict[tuple[str, str], bytes] = field(default_factory=dict)
    error: Exception | None = None

    def __call__(self, bucket: str, key: str) -> bytes:
        if self.error is not None:
            raise self.error
        if (bucket, key) not in self.objects:
            raise BadRequest(f"The e-mail is not in S3 (s3://{bucket}/{key}).")
        return self.objects[(bucket, key)]


def received(bucket: Bucket, raw: bytes, key: str = "inbound/0a1b2c3d4e5f"):
    """The InboundMessage the adapter makes of ``raw`` when SES stored it in S3 (parse needs no signature)."""
    bucket.objects[(BUCKET, key)] = raw
    action = {"type": "S3", "bucketName": BUCKET, "objectKey": key}
    notification = {"notificationType": "Received", "receipt": {"action": action},
                    "mail": {"timestamp": "2026-07-27T09:59:58.120Z", "messageId": key.rsplit("/", 1)[-1]}}
    envelope = {"Type": "Notification", "Message": json.dumps(notification)}
    request = WebhookRequest(method="POST", headers={}, query={}, body=json.dumps(envelope).encode(),
                             received_at="2026-07-27T10:00:00.000Z")
    (event,) = EmailChannel(read_object=bucket).parse(request)
    return event


def original_parts(raw: bytes) -> dict[str, bytes]:
    """Each attachment's bytes as the email package decodes them, by file name: what a download must return."""
    message = message_from_bytes(raw, policy=policy.default)
    return {part.get_filename(): part.get_payload(decode=True) for part in message.walk() if part.get_filename()}


def test_email_attachments_are_read_back_from_the_stored_mail():
    # Given an Outlook mail with three attachments, stored by SES and parsed into refs
    raw = (FIXTURES / "email" / "cp1251_attachments.eml").read_bytes()
    bucket = Bucket()
    event = received(bucket, raw)
    expected = original_parts(raw)
    # When each attachment is downloaded by its ref
    channel = EmailChannel(read_object=bucket)
    files = [channel.download(a.ref, Credentials(webhook_secret="s"), "", MAX_BYTES) for a in event.attachments]
    # Then each is its part's decoded bytes, with the name and type parse gave it
    assert [(file.name, file.mime) for file in files] == [(a.name, a.mime) for a in event.attachments]
    assert [file.content for file in files] == [expected[a.name] for a in event.attachments]
    assert files[0].content.startswith(b"%PDF-1.4")


def test_an_inline_image_of_a_stored_mail_can_be_read_back_too():
    raw = (FIXTURES / "email" / "cp1251_attachments.eml").read_bytes()
    bucket = Bucket()
    logo = received(bucket, raw).meta["inline_images"][0]
    file = EmailChannel(read_object=bucket).download(logo["ref"], Credentials(webhook_secret="s"), "", MAX_BYTES)
    assert file == Download(original_parts(raw)["image001.png"], "image/png", "image001.png")


def forwarded_mail() -> bytes:
    inner = EmailMessage()
    inner["Subject"] = "Order 7731 confirmation"
    inner["From"] = "shop@northwind.example"
    inner.set_content("Your order is confirmed.\n")
    outer = EmailMessage()
    outer["From"] = "Anna <anna@customer.example>"
    outer["To"] = "support@northwind.example"
    outer["Subject"] = "Fwd: my order"
    outer["Message-ID"] = "<fwd-1@customer.example>"
    outer.set_content("See the confirmation below.\n")
    outer.add_attachment(inner)
    return outer.as_bytes()


def test_an_attached_message_is_read_back_whole_as_an_eml():
    # Given a mail forwarding another mail as an attachment
    bucket = Bucket()
    (attachment,) = received(bucket, forwarded_mail()).attachments
    # When it is downloaded
    file = EmailChannel(read_object=bucket).download(attachment.ref, Credentials(webhook_secret="s"), "", MAX_BYTES)
    # Then it is the forwarded message itself, named after its subject
    assert file.name == "Order 7731 confirmation.eml"
    assert file.mime == "message/rfc822"
    assert b"Subject: Order 7731 confirmation" in file.content
    assert b"Your order is confirmed." in file.content


def email_download(bucket: Bucket, ref: str, max_bytes: int = MAX_BYTES) -> Download:
    return EmailChannel(read_object=bucket).download(ref, Credentials(webhook_secret="s"), "", max_bytes)


def test_an_attachment_of_a_mail_delivered_inline_is_refused():
    # Given a mail SES delivered inside the notification: nothing of it was stored
    # When one of its attachments is downloaded, the operator reads why not
    with pytest.raises(MediaRefused, match="delivered inline"):
        email_download(Bucket(), "inline#part=6")


def test_an_email_attachment_over_the_limit_is_refused():
    raw = (FIXTURES / "email" / "cp1251_attachments.eml").read_bytes()
    bucket = Bucket()
    pdf = received(bucket, raw).attachments[0]
    with pytest.raises(MediaRefused, match="larger than this channel's limit"):
        email_download(bucket, pdf.ref, max_bytes=pdf.size - 1)


@pytest.mark.parametrize("part", [0, 4, 99])  # the multipart root, the HTML body, past the last part
def test_a_part_that_is_not_an_attachment_is_refused(part):
    raw = (FIXTURES / "email" / "cp1251_attachments.eml").read_bytes()
    bucket = Bucket()
    received(bucket, raw)
    with pytest.raises(MediaRefused, match=f"no attachment at part {part}"):
        email_download(bucket, f"s3://{BUCKET}/inbound/0a1b2c3d4e5f#part={part}")


@pytest.mark.parametrize("ref", ["s3://bucket-only#part=1", "https://example.com/mail#part=1",
                                 f"s3://{BUCKET}/inbound/abc", f"s3://{BUCKET}/inbound/abc#part=x"])
def test_a_ref_that_names_no_stored_mail_part_is_refused(ref):
    bucket = Bucket()
    with pytest.raises(MediaRefused, match="does not name"):
        email_download(bucket, ref)


def test_a_mail_no_longer_in_s3_is_refused():
    with pytest.raises(MediaRefused, match="no longer in S3"):
        email_download(Bucket(), f"s3://{BUCKET}/inbound/deleted#part=6")


def test_a_mail_s3_cannot_serve_right_now_is_retried():
    error = ClientError({"Error": {"Code": "SlowDown", "Message": "Please reduce your request rate."}}, "GetObject")
    with pytest.raises(DeliveryFailed) as failure:
        email_download(Bucket(error=error), f"s3://{BUCKET}/inbound/abc#part=6")
    assert failure.value.transient is True
