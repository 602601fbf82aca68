"""Names the platforms leave out of their webhooks (Messenger, Instagram, VK), looked up from the stream once
per new contact, so every conversation shows who is writing, whatever the channel."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from ..channels import channel_for
from ..channels.base import Channel
from ..domain.conversation import Conversation
from ..domain.errors import DeliveryFailed
from ..secrets import SecretStore
from ..store.contacts import ContactStore
from ..store.conversations import ConversationStore
from ..store.directory import DirectoryStore
from ..store.writes import ConversationWriter, VersionConflict


class ProfileService:
    def __init__(self, directory: DirectoryStore, secrets: SecretStore, contacts: ContactStore,
                 conversations: ConversationStore, writer: ConversationWriter, api_bases: dict[str, str],
                 channels: Callable[[str], Channel] = channel_for) -> None:
        self._directory = directory
        self._secrets = secrets
        self._contacts = contacts
        self._conversations = conversations
        self._writer = writer
        self._api_bases = api_bases
        self._channels = channels

    def complete(self, conversation: Conversation) -> bool:
        """Fill in the name of a new conversation's contact, if its platform has a profile API. A transient
        failure raises (the stream retries); a refusal leaves the contact unnamed."""
        if conversation.contact_name or not conversation.channel:  # named already, or a partial item: nothing to ask
            return False
        lookup = getattr(self._channels(conversation.channel), "profile", None)
        if lookup is None:
            return False
        inbox = self._directory.inbox(conversation.inbox_id)
        try:
            profile = lookup(conversation.source_id, self._secrets.credentials(inbox),
                             self._api_bases.get(inbox.channel, ""))
        except DeliveryFailed as failure:
            if failure.transient:
                raise
            return False
        if not profile.name:
            return False
        self._contacts.name_if_unnamed(conversation.tenant_id, conversation.contact_id, conversation.inbox_id,
                                       conversation.source_id, profile.name, profile.username)
        self._rename(conversation, profile.name)
        return True

    def _rename(self, conversation: Conversation, name: str) -> None:
        for _ in range(5):
            current = self._conversations.get(conversation.tenant_id, conversation.id)
            if current.contact_name:
                return
            try:
                self._writer.save(current, dataclasses.replace(current, contact_name=name))
                return
            except VersionConflict:
                continue
