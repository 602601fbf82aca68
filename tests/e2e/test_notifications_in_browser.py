"""In a real browser: a colleague's assignment appears in the bell (and as a browser notification, as preferred),
opens the conversation on click, and the note box autocompletes @mentions."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from tests.integration.helpers import TelegramCustomer, demo_operator, eventually

# The tab is "hidden" (notify.js shows browser notifications only then) and the Notification API records what it is
# asked to show, so the test sees exactly what the operator would.
FAKE_BROWSER_NOTIFICATIONS = """
window.__shown = [];
Object.defineProperty(document, 'hidden', { configurable: true, get: () => true });
window.Notification = class {
  constructor(title, options = {}) { window.__shown.push({ title, body: options.body }); }
  static get permission() { return 'granted'; }
  static requestPermission() { return Promise.resolve('granted'); }
  close() {}
};
"""


@pytest.fixture
def anna_api(stack) -> Iterator:
    """Anna through the API; her notification preferences are back to the defaults afterwards."""
    anna = demo_operator(stack, "anna@acme.example")
    yield anna
    anna.http.put("/v1/me/notification-preferences", json={"preferences": {}})


def test_an_assignment_shows_in_the_bell_and_as_a_browser_notification_and_opens_the_conversation(
        stack, browser, anna_api):
    anna = next(p for p in stack.demo["operators"] if p["email"] == "anna@acme.example")
    sofia = demo_operator(stack, "sofia@acme.example")
    # Anna wants new conversations in the bell only, not as browser notifications
    anna_api.http.put("/v1/me/notification-preferences", json={"preferences": {"new_conversation": ["in_app"]}})

    context = browser.new_context()
    context.add_init_script(FAKE_BROWSER_NOTIFICATIONS)
    page = context.new_page()
    page.goto(stack.urls["client"])
    page.fill("#login-email", anna["email"])
    page.fill("#login-password", anna["password"])
    page.click("#login-submit")
    expect(page.locator("#ws-status")).to_have_text("live", timeout=15_000)

    # When a customer writes, the bell lists the new conversation, without a browser notification
    TelegramCustomer(stack, 5550888001, first_name="Bella Bell").says("Hello there")
    page.click("#notifications-button")
    news = page.locator("#notifications-list .notification", has_text="Bella Bell: Hello there")
    expect(news).to_be_visible(timeout=15_000)
    expect(news).to_have_attribute("data-event", "new_conversation")
    assert not [n for n in page.evaluate("window.__shown") if "Bella Bell" in (n["body"] or "")]
    page.click("#notifications-button")  # closes the list

    # When Sofia assigns it to Anna
    row = eventually(lambda: next((r for r in sofia.conversations() if r["contact"]["name"] == "Bella Bell"), None))
    assert sofia.post(f"/v1/conversations/{row['id']}/assign", {"assignee_id": anna["id"]}).status_code == 200

    # Then a browser notification shows it, and the bell counts and lists it as unread
    title = "Sofia Supervisor assigned you a conversation with Bella Bell"
    expect(page.locator("#notifications-badge")).to_be_visible(timeout=15_000)
    page.wait_for_function("title => window.__shown.some(n => n.title === title)", arg=title, timeout=15_000)
    page.click("#notifications-button")
    item = page.locator("#notifications-list .notification", has_text=title)
    expect(item).to_have_class("notification unread")

    # And clicking it opens the conversation and marks it read
    item.click()
    expect(page.locator("#conv-contact")).to_have_text("Bella Bell")
    page.click("#notifications-button")
    expect(page.locator("#notifications-list .notification", has_text=title)).to_have_class("notification")
    listed = anna_api.get("/v1/notifications", limit=50).json()["items"]
    assert [n["read"] for n in listed if n["title"] == title] == [True]

    # The note box suggests colleagues after "@" and inserts the handle the server understands
    page.keyboard.press("Escape")
    page.check("#note-toggle")
    page.locator("#reply-text").press_sequentially("Could you check this @bor")
    expect(page.locator("#mention-suggestions .mention")).to_contain_text(["@boris"])
    page.locator("#reply-text").press("Enter")
    expect(page.locator("#reply-text")).to_have_value("Could you check this @boris ")
    context.close()


def test_the_preferences_panel_saves_the_operators_choices(stack, browser, anna_api):
    anna = next(p for p in stack.demo["operators"] if p["email"] == "anna@acme.example")
    page = browser.new_page()
    page.goto(stack.urls["client"])
    page.fill("#login-email", anna["email"])
    page.fill("#login-password", anna["password"])
    page.click("#login-submit")
    page.click("#notifications-button")
    page.click("#notification-prefs-button")
    mention_email = page.locator('#notification-prefs-table input[data-event="mention"][data-channel="email"]')
    expect(mention_email).to_be_checked()
    mention_email.uncheck()
    page.click("#notification-prefs-save")
    expect(page.locator("#notification-prefs")).to_be_hidden()
    saved = anna_api.get("/v1/me/notification-preferences").json()["preferences"]
    assert saved["mention"] == ["browser", "in_app"]
    assert saved["assigned"] == ["browser", "email", "in_app"]
    page.close()
