"""Customers' files: fetched from their platform after the message is stored (from the stream, never inside the
webhook), kept in the attachments bucket, and shown to operators through short-lived pre-signed links."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from typing import Any

from ..channels import channel_for
from ..channels.base import Channel
from ..channels.media import MediaRefused
from ..domain.errors import BadRequest, DeliveryFailed
from ..domain.ids import ulid
from ..domain.message import Attachment, Message
from ..secrets import SecretStore
from ..store.directory import DirectoryStore
from ..store.messages import MessageStore

LINK_SECONDS = 3600
UPLOAD_SECONDS = 900


class AttachmentService:
    def __init__(self, messages: MessageStore, directory: DirectoryStore, secrets: SecretStore, s3: Any,
                 bucket: str, api_bases: dict[str, str], channels: Callable[[str], Channel] = channel_for) -> None:
        self._messages = messages
        self._directory = directory
        self._secrets = secrets
        self._s3 = s3
        self._bucket = bucket
        self._api_bases = api_bases
        self._channels = channels

    def store(self, message: Message) -> int:
        """Download every attachment not yet kept; returns how many were stored. A refused file records why;
        a transient failure raises, so the stream delivers the message again and the download is retried."""
        pending = [index for index, attachment in enumerate(message.attachments) if _needs_download(attachment)]
        if not pending or not message.inbox_id:
            return 0
        inbox = self._directory.inbox(message.inbox_id)
        channel = self._channels(inbox.channel)
        download = getattr(channel, "download", None)
        if download is None:
            return 0
        credentials = self._secrets.credentials(inbox)
        attachments = list(message.attachments)
        for index in pending:
            attachments[index] = self._keep(message, index, attachments[index], lambda ref: download(
                ref, credentials, self._api_bases.get(inbox.channel, ""), channel.capabilities.max_attachment_bytes))
        self._messages.set_attachments(message, attachments)
        return sum(1 for index in pending if "key" in attachments[index].meta)

    def upload(self, prefix: str, name: object, mime: object, size: object, max_bytes: int) -> dict:
        """A pre-signed PUT for an operator's file, under ``prefix`` (the conversation's uploads), size-checked."""
        if not isinstance(name, str) or not name.strip():
            raise BadRequest("Give the file's name.")
        if not isinstance(size, int) or size <= 0:
            raise BadRequest("Give the file's size in bytes.")
        if size > max_bytes:
            raise BadRequest(f"The file is larger than this channel accepts ({size // 1024} KB > "
                             f"{max_bytes // 1024} KB).")
        content_type = mime if isinstance(mime, str) and "/" in mime else "application/octet-stream"
        key = f"{prefix}{ulid()}-{_safe_name(name)}"
        url = self._s3.generate_presigned_url(
            "put_object", Params={"Bucket": self._bucket, "Key": key, "ContentType": content_type},
            ExpiresIn=UPLOAD_SECONDS)
        return {"upload_url": url, "key": key, "headers": {"Content-Type": content_type},
                "attachment": {"key": key, "name": name.strip()[:200], "mime": content_type, "size": size}}

    def link(self, key: str, name: str | None = None) -> str:
        """A pre-signed GET for an operator's browser, valid for an hour."""
        params = {"Bucket": self._bucket, "Key": key}
        if name:
            params["ResponseContentDisposition"] = f'attachment; filename="{_safe_name(name)}"'
        return self._s3.generate_presigned_url("get_object", Params=params, ExpiresIn=LINK_SECONDS)

    def _keep(self, message: Message, index: int, attachment: Attachment,
              fetch: Callable[[str], Any]) -> Attachment:
        try:
            file = fetch(attachment.ref)
        except MediaRefused as refused:
            return dataclasses.replace(attachment, meta={**attachment.meta, "error": str(refused)})
        except DeliveryFailed as failure:
            if failure.transient:
                raise  # the stream delivers the message again and the download is retried
            return dataclasses.replace(attachment, meta={**attachment.meta, "error": failure.detail})
        name = attachment.name or file.name
        key = f"{message.tenant_id}/{message.conversation_id}/{message.id}/{index}-{_safe_name(name or 'file')}"
        mime = attachment.mime or file.mime or "application/octet-stream"
        self._s3.put_object(Bucket=self._bucket, Key=key, Body=file.content, ContentType=mime)
        # The platform's declared size stays what operators see; the stored copy's length is kept beside it.
        return dataclasses.replace(attachment, name=name, mime=mime, size=attachment.size or len(file.content),
                                   meta={**attachment.meta, "key": key, "stored_bytes": len(file.content)})


def _needs_download(attachment: Attachment) -> bool:
    return bool(attachment.ref) and "key" not in attachment.meta and "error" not in attachment.meta


def _safe_name(name: str) -> str:
    """A file name safe in an S3 key and a Content-Disposition header."""
    cleaned = re.sub(r"[^\w.\-]+", "_", name, flags=re.ASCII).strip("._")
    return cleaned[:120] or "file"
