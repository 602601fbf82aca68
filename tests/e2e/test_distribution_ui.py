"""In a real browser: an operator takes conversations from the list, with the header button and with the keyboard,
and switches between available and away."""

from __future__ import annotations

import itertools

from playwright.sync_api import expect

from tests.e2e.test_operator_answers_customer import signed_in as sign_in
from tests.integration.helpers import TelegramCustomer, demo_operator, eventually

_chat_ids = itertools.count(5_550_889_001)


def signed_in(browser, stack, email: str):
    """The client signed in as the demo operator ``email``, once its socket is live."""
    page = sign_in(browser, stack, next(p for p in stack.demo["operators"] if p["email"] == email))
    expect(page.locator("#ws-status")).to_have_text("live", timeout=15_000)
    return page


def test_an_operator_takes_conversations_from_the_list_the_header_and_the_keyboard(stack, browser):
    anna = demo_operator(stack, "anna@acme.example")
    names = ["Take-row Tom", "Take-button Tia", "Take-key Ken"]
    for name in names:
        TelegramCustomer(stack, next(_chat_ids), first_name=name).says("Could someone help me?")
    # Lists follow the stream: sign in once they show the three, so the first page has them
    eventually(lambda: set(names) <= {r["contact"]["name"] for r in anna.conversations(assignee="unassigned")})
    page = signed_in(browser, stack, "anna@acme.example")

    # From the list: the row's Take button
    row = page.locator("li.conversation-row", has_text=names[0])
    row.locator(".take-button").click()
    expect(row.locator(".avatar")).to_be_visible(timeout=15_000)
    expect(row.locator(".take-button")).to_have_count(0)

    # From the open conversation: the header's Take button, which then gives way to "Assigned to you"
    page.locator("li.conversation-row", has_text=names[1]).locator(".contact-name").click()
    expect(page.locator("#btn-take")).to_be_visible(timeout=15_000)
    page.click("#btn-take")
    expect(page.locator("#btn-take")).to_be_hidden(timeout=15_000)
    expect(page.locator("#btn-assign")).to_have_text("Assigned to you")

    # With the keyboard: "t" takes the open conversation
    page.locator("li.conversation-row", has_text=names[2]).locator(".contact-name").click()
    expect(page.locator("#btn-take")).to_be_visible(timeout=15_000)
    page.locator("body").press("t")
    expect(page.locator("#btn-assign")).to_have_text("Assigned to you", timeout=15_000)

    eventually(lambda: set(names) <= {r["contact"]["name"] for r in anna.conversations(assignee="me")})
    activity = page.locator("#messages .message.activity")
    expect(activity).to_contain_text("Anna Support took this")


def test_the_availability_switch_goes_away_and_back(stack, browser):
    anna = demo_operator(stack, "anna@acme.example")
    page = signed_in(browser, stack, "anna@acme.example")
    switch = page.locator("#availability-toggle")
    expect(switch).to_have_attribute("data-availability", "available")
    switch.click()
    expect(switch).to_have_attribute("data-availability", "away")
    expect(switch).to_have_text("Away")
    assert anna.get("/v1/me").json()["availability"] == "away"
    switch.click()
    expect(switch).to_have_attribute("data-availability", "available")
    assert anna.get("/v1/me").json()["availability"] == "available"
