"""Browser test: an operator sets priority, tags and "wait for customer" from the details pane."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.e2e.test_operator_answers_customer import signed_in
from tests.integration.helpers import TelegramCustomer


def test_an_operator_sets_priority_and_tags_and_waits_for_the_customer(stack, browser):
    anna = next(p for p in stack.demo["operators"] if p["email"] == "anna@acme.example")
    TelegramCustomer(stack, 5550888011, first_name="Tagged Tom").says("The zipper broke after a week")

    operator = signed_in(browser, stack, anna)
    operator.set_viewport_size({"width": 1400, "height": 900})  # the details pane shows on wide screens
    row = operator.locator("li.conversation-row", has_text="Tagged Tom")
    expect(row).to_be_visible(timeout=15_000)
    row.click()

    settings = operator.locator("#conv-settings")
    expect(settings).to_be_visible()
    settings.locator("#setting-priority").select_option("urgent")
    expect(operator.locator("#messages")).to_contain_text("set priority to urgent", timeout=10_000)
    settings.locator("#setting-tag").fill("Warranty")
    settings.locator("#setting-tag").press("Enter")
    expect(settings.locator(".chip[data-tag='warranty']")).to_be_visible(timeout=10_000)
    expect(operator.locator("#messages")).to_contain_text("tagged this “warranty”")
    expect(row.locator(".row-tag")).to_have_text("warranty", timeout=10_000)  # the list row shows its tags

    settings.locator("#btn-pending").click()
    expect(operator.locator("#conv-status")).to_have_text("pending", timeout=10_000)
    expect(settings.locator("#setting-priority")).to_have_value("urgent")
