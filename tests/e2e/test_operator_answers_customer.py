"""In a real browser: a customer writes in the simulator, the operator sees it live, replies, the customer gets it."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.integration.helpers import demo_operator


def signed_in(browser, stack, person: dict):
    """The operator client in a new tab, signed in as ``person``."""
    page = browser.new_page()
    page.goto(stack.urls["client"])
    page.fill("#login-email", person["email"])
    page.fill("#login-password", person["password"])
    page.click("#login-submit")
    return page


def test_a_telegram_customer_and_an_operator_talk_through_the_browser(stack, browser):
    anna = next(p for p in stack.demo["operators"] if p["email"] == "anna@acme.example")
    gateway = stack.urls["gateway"]

    # Given Anna signed in to the operator client
    operator = signed_in(browser, stack, anna)
    expect(operator.locator("#ws-status")).to_have_text("live", timeout=15_000)

    # When a Telegram customer writes in the simulator
    customer = browser.new_page()
    customer.goto(f"{gateway}/sim/")
    customer.fill("#sim-chat-id", "5550777001")
    customer.fill("#sim-name", "Browser Bea")
    customer.fill("#sim-text", "My parcel arrived broken")
    customer.click("#sim-send")
    expect(customer.locator("#sim-log .bubble.customer")).to_contain_text("My parcel arrived broken")

    # Then the conversation appears in Anna's list without a reload
    row = operator.locator("li.conversation-row", has_text="Browser Bea")
    expect(row).to_be_visible(timeout=15_000)
    row.click()
    expect(operator.locator("#messages .message.incoming")).to_contain_text("My parcel arrived broken")

    # When she replies
    operator.fill("#reply-text", "Sorry about that! A replacement ships today.")
    operator.click("#reply-send")

    # Then the customer sees the bot's reply, and Anna sees it marked sent
    expect(customer.locator("#sim-log .bubble.bot")).to_contain_text("A replacement ships today.", timeout=15_000)
    outgoing = operator.locator("#messages .message.outgoing", has_text="A replacement ships today.")
    expect(outgoing.locator(".status")).to_have_text(re.compile("sent"), timeout=15_000)

    # And the same conversation, read through the API, agrees
    api = demo_operator(stack, anna["email"])
    rows = [r for r in api.conversations(assignee="me") if r["contact"]["name"] == "Browser Bea"]
    assert rows and rows[0]["unread_count"] == 0


def test_a_widget_visitor_and_an_operator_talk_through_the_browser(stack, browser):
    anna = next(p for p in stack.demo["operators"] if p["email"] == "anna@acme.example")

    visitor = browser.new_page()
    visitor.goto(stack.urls["widget"])
    visitor.click("#sb-widget-launcher")
    if visitor.locator("#sb-widget-name").is_visible():
        visitor.fill("#sb-widget-name", "Widget Wanda")
    visitor.fill("#sb-widget-input", "Do you have this in blue?")
    visitor.click("#sb-widget-send")
    expect(visitor.locator("#sb-widget-messages .sb-msg.sb-in")).to_contain_text("Do you have this in blue?")

    operator = signed_in(browser, stack, anna)
    row = operator.locator("li.conversation-row", has_text="Widget Wanda")
    expect(row).to_be_visible(timeout=15_000)
    row.click()
    operator.fill("#reply-text", "Yes, blue is in stock.")
    operator.click("#reply-send")

    expect(visitor.locator("#sb-widget-messages .sb-msg.sb-out")).to_contain_text("blue is in stock",
                                                                                 timeout=15_000)


def test_a_whatsapp_customer_and_an_operator_talk_through_the_browser(stack, browser):
    anna = next(p for p in stack.demo["operators"] if p["email"] == "anna@acme.example")
    whatsapp = next(i for i in stack.demo["inboxes"] if i["channel"] == "whatsapp")

    customer = browser.new_page()
    customer.goto(f"{stack.urls['gateway']}/sim/")
    customer.select_option("#sim-inbox", value=whatsapp["id"])
    customer.fill("#sim-chat-id", "447700900777")
    customer.fill("#sim-name", "Wanda WhatsApp")
    customer.fill("#sim-text", "Is the blue kettle back in stock?")
    customer.click("#sim-send")
    expect(customer.locator("#sim-log .bubble.customer")).to_contain_text("blue kettle")

    operator = signed_in(browser, stack, anna)
    row = operator.locator("li.conversation-row", has_text="Wanda WhatsApp")
    expect(row).to_be_visible(timeout=15_000)
    expect(row.locator(".channel-badge")).to_have_attribute("data-channel", "whatsapp")
    row.click()
    # The reply box is honest about the platform: WhatsApp's 24-hour window, its text limit
    expect(operator.locator("#reply-hint")).to_contain_text("24 h")
    operator.fill("#reply-text", "Yes, since this morning.")
    operator.click("#reply-send")

    expect(customer.locator("#sim-log .bubble.bot")).to_contain_text("since this morning", timeout=15_000)
    outgoing = operator.locator("#messages .message.outgoing", has_text="since this morning")
    expect(outgoing.locator(".status")).to_have_text(re.compile("sent"), timeout=15_000)


def test_an_email_customer_and_an_operator_talk_through_the_browser(stack, browser):
    anna = next(p for p in stack.demo["operators"] if p["email"] == "anna@acme.example")
    email = next(i for i in stack.demo["inboxes"] if i["channel"] == "email")

    customer = browser.new_page()
    customer.goto(f"{stack.urls['gateway']}/sim/")
    customer.select_option("#sim-inbox", value=email["id"])
    expect(customer.locator("#sim-subject")).to_be_visible()
    customer.fill("#sim-chat-id", "erin.email@example.org")
    customer.fill("#sim-name", "Erin Email")
    customer.fill("#sim-subject", "Invoice for order 1042")
    customer.fill("#sim-text", "Could you send me the invoice again?")
    customer.click("#sim-send")
    expect(customer.locator("#sim-log .bubble.customer")).to_contain_text("invoice again")

    operator = signed_in(browser, stack, anna)
    row = operator.locator("li.conversation-row", has_text="Erin Email")
    expect(row).to_be_visible(timeout=15_000)
    expect(row.locator(".channel-badge")).to_have_attribute("data-channel", "email")
    row.click()
    operator.fill("#reply-text", "Of course, it is on its way.")
    operator.click("#reply-send")

    reply = customer.locator("#sim-log .bubble.bot", has_text="it is on its way")
    expect(reply).to_be_visible(timeout=15_000)
    expect(reply.locator(".subject")).to_have_text("Re: Invoice for order 1042")
    outgoing = operator.locator("#messages .message.outgoing", has_text="it is on its way")
    expect(outgoing.locator(".status")).to_have_text(re.compile("sent"), timeout=15_000)


def test_a_saved_reply_is_inserted_by_its_shortcut_with_the_customers_name(stack, browser):
    anna = next(p for p in stack.demo["operators"] if p["email"] == "anna@acme.example")
    from tests.integration.helpers import TelegramCustomer, demo_operator

    TelegramCustomer(stack, 5550777099, first_name="Shortcut Sara").says("Where is my parcel?")
    demo_operator(stack, anna["email"]).post("/v1/saved-replies", {
        "shortcut": "whereparcel", "text": "Hi {{contact.first_name}}, it is on its way!"})
    operator = signed_in(browser, stack, anna)
    row = operator.locator("li.conversation-row", has_text="Shortcut Sara")
    expect(row).to_be_visible(timeout=15_000)
    row.click()
    operator.locator("#reply-text").press_sequentially("/wherep")
    expect(operator.locator("#saved-replies .saved-reply")).to_contain_text("/whereparcel")
    operator.locator("#reply-text").press("Enter")
    expect(operator.locator("#reply-text")).to_have_value("Hi Shortcut, it is on its way!")


def test_a_colleague_sees_that_someone_is_typing_in_the_same_conversation(stack, browser):
    from tests.integration.helpers import TelegramCustomer

    anna = next(p for p in stack.demo["operators"] if p["email"] == "anna@acme.example")
    owner = next(p for p in stack.demo["operators"] if p["email"] == "owner@acme.example")
    TelegramCustomer(stack, 5550777111, first_name="Presence Pia").says("Anyone?")
    pages = [signed_in(browser, stack, person) for person in (anna, owner)]
    for page in pages:
        row = page.locator("li.conversation-row", has_text="Presence Pia")
        expect(row).to_be_visible(timeout=15_000)
        row.click()
        expect(page.locator("#ws-status")).to_have_text("live", timeout=15_000)
    pages[0].locator("#reply-text").press_sequentially("Let me check")
    expect(pages[1].locator("#conv-presence")).to_have_text("Anna Support is typing…", timeout=10_000)
