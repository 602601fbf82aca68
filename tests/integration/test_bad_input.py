"""Bad input gets the right status and a message a person understands, and loses nothing already accepted."""

from __future__ import annotations

import httpx
import pytest

from tests.integration.helpers import Operator, TelegramCustomer, conversation_of, demo_inbox, demo_operator, eventually


@pytest.fixture
def customer(stack):
    return TelegramCustomer(stack, 770_123_456, first_name="Bad Input Tester")


def test_a_wrong_or_missing_secret_is_401_and_nothing_is_stored(stack, customer):
    owner = demo_operator(stack, "owner@acme.example")
    for secret in ("wrong-secret", ""):
        answer = customer.post(customer.update("let me in"), secret=secret)
        assert answer.status_code == 401
        assert answer.headers["content-type"] == "application/problem+json"
    assert conversation_of(owner, customer.first_name, status="open") is None


def test_malformed_json_is_400(customer):
    answer = customer.post(b'{"update_id": 1, "message": {')
    assert answer.status_code == 400 and "JSON" in answer.json()["detail"]


def test_an_unknown_inbox_is_404(customer):
    answer = customer.post(customer.update("anyone?"), inbox_id="01UNKNOWNINBOX0000000000000")
    assert answer.status_code == 404


def test_an_inbox_of_another_channel_is_404_too(stack, customer):
    widget = demo_inbox(stack, "widget")
    answer = customer.post(customer.update("wrong door"), inbox_id=widget["id"])
    assert answer.status_code == 404


def test_a_body_over_the_limit_is_413(customer):
    update = customer.update("x" * (1_100_000))
    assert customer.post(update).status_code == 413


def test_a_duplicate_delivery_answers_200_and_stores_nothing_new(stack, customer):
    update = customer.update("only once please")
    assert customer.post(update).status_code == 200
    assert customer.post(update).status_code == 200
    owner = demo_operator(stack, "owner@acme.example")
    row = eventually(lambda: conversation_of(owner, customer.first_name))
    texts = [m["text"] for m in owner.conversation(row["id"])["messages"]["items"]]
    assert texts.count("only once please") == 1


def test_an_invalid_or_missing_token_is_401_with_a_problem_document(stack):
    api = httpx.Client(base_url=stack.urls["api"])
    for headers in ({}, {"Authorization": "Bearer not-a-token"}):
        answer = api.get("/v1/conversations", headers=headers)
        assert answer.status_code == 401
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.json()["code"] == "unauthorized"


def test_wrong_password_is_401_with_a_clear_message(stack):
    answer = httpx.post(f"{stack.urls['api']}/v1/auth/login",
                        json={"email": "anna@acme.example", "password": "guess"})
    assert answer.status_code == 401 and answer.json()["detail"] == "Wrong e-mail or password."


def test_another_tenants_conversation_is_404(stack, customer):
    customer.says("tenant A's secret")
    owner = demo_operator(stack, "owner@acme.example")
    row = eventually(lambda: conversation_of(owner, customer.first_name))
    intruder = other_tenant_owner(stack)
    for path in (f"/v1/conversations/{row['id']}", f"/v1/conversations/{row['id']}/messages"):
        answer = intruder.get(path)
        assert answer.status_code == 404 and answer.json()["code"] == "not_found"
    assert intruder.post(f"/v1/conversations/{row['id']}/messages", {"text": "hi"}).status_code == 404
    assert intruder.post(f"/v1/conversations/{row['id']}/resolve").status_code == 404


def test_bad_request_bodies_are_400(stack, customer):
    customer.says("body tests")
    owner = demo_operator(stack, "owner@acme.example")
    row = eventually(lambda: conversation_of(owner, customer.first_name))
    url = f"/v1/conversations/{row['id']}"
    assert owner.post(f"{url}/messages", {"text": "   "}).status_code == 400
    assert owner.post(f"{url}/snooze", {"until": "tomorrow-ish"}).status_code == 400
    assert owner.post(f"{url}/snooze", {"seconds": -5}).status_code == 400
    assert owner.get("/v1/conversations", status="closed").status_code == 400
    assert owner.get("/v1/conversations", limit=1000).status_code == 400
    assert owner.get("/v1/conversations", cursor="%%%").status_code == 400
    raw = owner.http.post(f"{url}/messages", content=b"{not json", headers={"Content-Type": "application/json"})
    assert raw.status_code == 400


def other_tenant_owner(stack) -> Operator:
    """A second workspace, provisioned the way a real one is."""
    from switchboard.wiring import services

    provisioning = services().provisioning
    if not hasattr(stack, "_other_owner"):
        tenant = provisioning.create_tenant("Other Corp")
        provisioning.create_operator(tenant, email="owner@other.example", name="Other Owner",
                                     password="Other-owner-1", role="owner")
        stack._other_owner = ("owner@other.example", "Other-owner-1")
    return Operator(stack, *stack._other_owner)


def test_unknown_ids_are_404_not_500(stack):
    owner = demo_operator(stack, "owner@acme.example")
    assert owner.get("/v1/conversations/01UNKNOWN000000000000000000").status_code == 404
    assert owner.get("/v1/contacts/01UNKNOWN000000000000000000").status_code == 404
    assert owner.post("/v1/conversations/01UNKNOWN000000000000000000/resolve").status_code == 404
