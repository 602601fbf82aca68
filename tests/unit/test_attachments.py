"""Customers' files are fetched after the message is stored, kept in the bucket, and linked for operators."""

from dataclasses import dataclass, field

import boto3
import pytest

from switchboard.channels.base import Capabilities
from switchboard.channels.media import Download, MediaRefused
from switchboard.domain.errors import DeliveryFailed
from switchboard.services.attachments import AttachmentService
from tests.unit.test_services import deliver, messages, only_conversation, update


@dataclass
class FakePlatformFiles:
    """A channel whose platform hands out files by ref: "ok:<name>" works, "gone" is refused, "flaky" times out."""

    capabilities: Capabilities = field(default_factory=lambda: Capabilities(max_attachment_bytes=1024))
    asked: list = field(default_factory=list)

    def download(self, ref, credentials, api_base, max_bytes):
        self.asked.append((ref, max_bytes))
        if ref == "gone":
            raise MediaRefused("Telegram refused the file download (HTTP 404); it may have expired.")
        if ref == "flaky":
            raise DeliveryFailed("Telegram could not be reached for the file; will retry.", transient=True)
        return Download(b"%PDF-1.7 invoice", "application/pdf", ref.split(":", 1)[1])


@pytest.fixture
def files(world):
    services, demo = world
    boto3.client("s3").create_bucket(Bucket="attachments")
    platform = FakePlatformFiles()
    service = AttachmentService(services.messages, services.directory, services.secrets, boto3.client("s3"),
                                "attachments", {}, channels=lambda name: platform)
    return services, demo, service, platform


def message_with(services, demo, *refs):
    import json

    body = json.loads(update(1, 1, "see attached", chat_id=6060))
    body["message"]["document"] = {"file_id": refs[0], "file_unique_id": "u1", "file_name": "invoice.pdf"}
    deliver(services, demo, json.dumps(body).encode())
    [message] = messages(services, demo, only_conversation(services, demo).id)
    return message


def test_a_file_is_stored_in_the_bucket_and_linked_with_a_presigned_url(files):
    services, demo, service, platform = files
    message = message_with(services, demo, "ok:invoice.pdf")
    assert service.store(message) == 1
    [attachment] = services.messages.get(message.tenant_id, message.conversation_id, message.id).attachments
    assert attachment.size == len(b"%PDF-1.7 invoice") and attachment.mime == "application/pdf"
    stored = boto3.client("s3").get_object(Bucket="attachments", Key=attachment.meta["key"])["Body"].read()
    assert stored == b"%PDF-1.7 invoice"
    assert platform.asked == [("ok:invoice.pdf", 1024)]  # the channel's own size limit
    link = service.link(attachment.meta["key"], attachment.name)
    assert "X-Amz-Signature" in link or "Signature" in link
    # Stored files are not downloaded again when the stream delivers the message a second time
    service.store(services.messages.get(message.tenant_id, message.conversation_id, message.id))
    assert len(platform.asked) == 1


def test_a_refused_file_records_why_and_is_not_retried(files):
    services, demo, service, platform = files
    message = message_with(services, demo, "gone")
    assert service.store(message) == 0
    [attachment] = services.messages.get(message.tenant_id, message.conversation_id, message.id).attachments
    assert "expired" in attachment.meta["error"]
    service.store(services.messages.get(message.tenant_id, message.conversation_id, message.id))
    assert len(platform.asked) == 1


def test_a_transient_failure_raises_so_the_stream_retries(files):
    services, demo, service, _ = files
    with pytest.raises(DeliveryFailed):
        service.store(message_with(services, demo, "flaky"))
