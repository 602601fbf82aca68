"""In a real browser: the operator opens a customer's contact card from the conversation, edits it, finds the
customer with the search box, blocks them, and the widget disappears for that visitor."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.e2e.test_operator_answers_customer import signed_in
from tests.integration.helpers import TelegramCustomer


def test_an_operator_edits_a_contact_card_and_finds_the_contact_again(stack, browser):
    anna = next(p for p in stack.demo["operators"] if p["email"] == "anna@acme.example")
    TelegramCustomer(stack, 5550778001, first_name="Carded Carla").says("Can I change my plan?")
    operator = signed_in(browser, stack, anna)
    row = operator.locator("li.conversation-row", has_text="Carded Carla")
    expect(row).to_be_visible(timeout=15_000)
    row.click()

    # The card opens from the conversation, with its conversations and timeline
    operator.click("#open-contact")
    panel = operator.locator("#contact-panel")
    expect(panel.locator("#contact-name")).to_have_text("Carded Carla")
    expect(panel.locator("#contact-timeline")).to_contain_text("Can I change my plan?")
    expect(panel.locator("#contact-conversations")).to_contain_text("Can I change my plan?")

    # Editing the phone and an attribute, then a tag and a note
    panel.locator("#contact-field-phone").fill("+49 151 2345 6789")
    panel.locator("#contact-fields-save").click()
    expect(panel.locator("#contact-field-phone")).to_have_value("+4915123456789")  # as the server normalized it
    panel.get_by_role("button", name="Add attribute").click()
    panel.locator(".attribute-key").last.fill("plan")
    panel.locator(".attribute-value").last.fill("gold")
    panel.locator("#contact-attributes-save").click()
    expect(operator.locator("#toasts .toast", has_text="Attributes saved")).to_be_visible()
    panel.locator("#contact-tag-input").fill("VIP")
    panel.locator("#contact-tag-input").press("Enter")
    expect(panel.locator("#contact-tags .chip")).to_have_text(["vip×"])
    panel.locator("#contact-note-text").fill("Wants the yearly plan")
    panel.get_by_role("button", name="Add note").click()
    expect(panel.locator("#contact-notes")).to_contain_text("Wants the yearly plan")
    # A bad e-mail is refused with the server's reason
    panel.locator("#contact-field-email").fill("not-an-address")
    panel.locator("#contact-fields-save").click()
    expect(operator.locator("#toasts .toast.error")).to_contain_text("is not an e-mail address")

    # Blocking shows on the card and in the timeline
    panel.locator("#contact-block").click()
    expect(panel.locator("#contact-blocked")).to_be_visible()
    expect(panel.locator("#contact-timeline")).to_contain_text("contact.blocked")
    panel.locator("#contact-unblock").click()
    expect(panel.locator("#contact-blocked")).to_have_count(0)
    panel.locator(".contact-close").click()
    expect(panel).to_be_hidden()

    # The search box finds her by the phone in another format
    operator.fill("#contact-search", "+49 (151) 2345")
    result = operator.locator("#contact-results .contact-result", has_text="Carded Carla")
    expect(result).to_be_visible()
    result.click()
    expect(panel.locator("#contact-name")).to_have_text("Carded Carla")


def test_a_blocked_visitor_no_longer_sees_the_widget(stack, browser):
    from tests.integration.helpers import conversation_of, demo_operator, eventually

    visitor = browser.new_page()
    visitor.goto(stack.urls["widget"])
    visitor.click("#sb-widget-launcher")
    visitor.fill("#sb-widget-name", "Hidden Hanna")
    visitor.fill("#sb-widget-input", "Hello!")
    visitor.click("#sb-widget-send")
    expect(visitor.locator("#sb-widget-messages .sb-msg.sb-in")).to_contain_text("Hello!")
    expect(visitor.locator("#sb-widget-messages .sb-state")).to_have_count(0)  # sent, not "Sending…"
    visitor.reload()  # a returning visitor sees the widget and the history
    expect(visitor.locator("#sb-widget-launcher")).to_be_visible()
    owner = demo_operator(stack, "owner@acme.example")
    contact_id = eventually(lambda: conversation_of(owner, "Hidden Hanna"))["contact"]["id"]
    assert owner.post(f"/v1/contacts/{contact_id}/block").status_code == 200
    visitor.reload()
    visitor.wait_for_function("window.SwitchboardWidget && window.SwitchboardWidget.blocked === true")
    expect(visitor.locator("#sb-widget-root")).to_be_hidden()
