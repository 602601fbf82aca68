"""The API channel: a tenant's system posts customers' messages with an API key and receives replies, signed."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import httpx
import pytest

from tests.integration.helpers import conversation_of, demo_operator, eventually


@pytest.fixture(scope="module")
def tenant_system():
    """The tenant's own system: a webhook receiver on 127.0.0.1 that keeps what it is sent."""
    received: list[tuple[dict, bytes]] = []

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((dict(self.headers), body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/switchboard-events", received
    server.shutdown()


@pytest.fixture(scope="module")
def api_inbox(stack, tenant_system):
    from switchboard.wiring import services

    url, _ = tenant_system
    tenant = services().directory.tenant(stack.demo["tenant"]["id"])
    support = next(team for team in services().directory.teams(tenant.id) if team.name == "Support")
    inbox, credentials = services().provisioning.create_inbox(tenant, "api", "Acme CRM", default_team=support,
                                                              extra={"webhook_url": url})
    return inbox, credentials


def test_a_system_posts_a_message_and_receives_the_signed_reply(stack, api_inbox, tenant_system):
    inbox, credentials = api_inbox
    owner = demo_operator(stack, "owner@acme.example")
    key = owner.post("/v1/api-keys", {"name": "CRM", "scopes": ["messages:write"]}).json()["key"]
    system = httpx.Client(base_url=stack.urls["api"], headers={"Authorization": f"Bearer {key}"})
    message = {"contact": {"id": "crm-42", "name": "Dana CRM", "email": "dana@example.org"},
               "text": "Order #77 is stuck", "external_id": "crm-msg-1"}
    first = system.post(f"/v1/inboxes/{inbox.id}/messages", json=message)
    again = system.post(f"/v1/inboxes/{inbox.id}/messages", json=message)
    assert first.status_code == again.status_code == 202
    assert first.json()["stored"] and again.json()["duplicate"]
    row = eventually(lambda: conversation_of(owner, "Dana CRM"))
    assert row["channel"] == "api"
    owner.post(f"/v1/conversations/{row['id']}/messages", {"text": "Unstuck now."})
    _, received = tenant_system
    headers, body = eventually(lambda: received)[-1]
    assert json.loads(body)["text"] == "Unstuck now." and json.loads(body)["contact_id"] == "crm-42"
    timestamp, signature = (part.split("=", 1)[1] for part in headers["X-Switchboard-Signature"].split(","))
    expected = hmac.new(credentials.webhook_secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    assert hmac.compare_digest(signature, expected.hexdigest())


def test_keys_are_checked_scoped_and_revocable(stack, api_inbox):
    inbox, _ = api_inbox
    owner, anna = demo_operator(stack, "owner@acme.example"), demo_operator(stack, "anna@acme.example")
    assert anna.post("/v1/api-keys", {"name": "mine", "scopes": ["messages:write"]}).status_code == 403
    created = owner.post("/v1/api-keys", {"name": "temp", "scopes": ["messages:write"]}).json()
    assert all("key" not in item for item in owner.get("/v1/api-keys").json()["items"])
    url = f"{stack.urls['api']}/v1/inboxes/{inbox.id}/messages"
    body = {"contact": {"id": "c1"}, "text": "hi", "external_id": "x1"}
    assert httpx.post(url, json=body, headers={"Authorization": "Bearer sbk_nope_nope"}).status_code == 401
    assert httpx.post(url, json=body).status_code == 401
    assert owner.http.delete(f"/v1/api-keys/{created['id']}").status_code == 200
    assert httpx.post(url, json=body, headers={"Authorization": f"Bearer {created['key']}"}).status_code == 401


def test_a_key_reaches_only_its_own_tenants_api_inboxes(stack, api_inbox):
    owner = demo_operator(stack, "owner@acme.example")
    key = owner.post("/v1/api-keys", {"name": "CRM 2", "scopes": ["messages:write"]}).json()["key"]
    telegram = next(i for i in stack.demo["inboxes"] if i["channel"] == "telegram")
    answer = httpx.post(f"{stack.urls['api']}/v1/inboxes/{telegram['id']}/messages",
                        json={"contact": {"id": "c1"}, "text": "hi", "external_id": "x2"},
                        headers={"Authorization": f"Bearer {key}"})
    assert answer.status_code == 404
