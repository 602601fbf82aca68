"""In a real browser: the counters beside the list tabs follow new conversations live, and the filter controls
narrow the list."""

from __future__ import annotations

import itertools
import re
import uuid

from playwright.sync_api import expect

from tests.e2e.test_operator_answers_customer import signed_in
from tests.integration.helpers import TelegramCustomer, demo_operator, eventually

_chat_ids = itertools.count(883_000_001)


def test_the_tab_counters_follow_a_new_customer_and_the_filters_narrow_the_list(stack, browser, wait_idle):
    anna = next(p for p in stack.demo["operators"] if p["email"] == "anna@acme.example")
    wait_idle()
    page = signed_in(browser, stack, anna)
    expect(page.locator("#ws-status")).to_have_text("live", timeout=15_000)
    unassigned = page.locator("#filter-unassigned .tab-count")
    expect(unassigned).to_have_text(re.compile(r"^\d+$"), timeout=15_000)
    before = int(unassigned.inner_text())

    # When a new customer writes, the Unassigned counter goes up without a reload
    name = f"Filter Fay {uuid.uuid4().hex[:6]}"
    TelegramCustomer(stack, next(_chat_ids), first_name=name).says("Is anyone there?")
    expect(unassigned).to_have_text(str(before + 1), timeout=15_000)

    # And with a tag of its own, the tag filter shows only that conversation
    api = demo_operator(stack, anna["email"])
    row = eventually(lambda: next((r for r in api.conversations(limit=100) if r["contact"]["name"] == name), None))
    label = f"fay-{uuid.uuid4().hex[:6]}"
    assert api.post(f"/v1/conversations/{row['id']}/tags", {"tag": label}).status_code == 200
    page.reload()  # the tag catalogue is read when the list opens
    expect(page.locator("#ws-status")).to_have_text("live", timeout=15_000)
    expect(page.locator(f"select[data-filter='tag'] option[value='{label}']")).to_have_count(1, timeout=15_000)
    page.select_option("select[data-filter='tag']", label)
    rows = page.locator("li.conversation-row")
    expect(rows).to_have_count(1, timeout=15_000)
    expect(rows.first).to_contain_text(name)
    # Unanswered and longest-waiting keep it (the customer still waits); urgent priority does not
    page.check("input[data-filter='unanswered']")
    page.select_option("select[data-filter='sort']", "longest_waiting")
    expect(rows).to_have_count(1, timeout=15_000)
    page.select_option("select[data-filter='priority']", "urgent")
    expect(rows).to_have_count(0, timeout=15_000)
