"""What the timers cost: Step Functions state transitions per SLA clock and per snooze, counted from the execution
histories on the local stack (every ``…StateEntered`` event is one billed transition), and the price per million
conversations at $0.025 per 1,000 transitions (Standard workflows).

Three conversations of a workspace open around the clock, each driven through the API as operators and customers
drive it, with targets of seconds (first response 3 s, next response 3 s, resolution 8 s):

* answered in time: the customer writes, is answered, writes again, is answered, the conversation is resolved;
* nobody answers: both first response and resolution warn and breach, then it is answered and resolved;
* a snooze of one second that wakes the conversation.

Printed for the record, never asserted.
"""

from __future__ import annotations

import itertools
import time
import uuid
from typing import Any

PRICE_PER_TRANSITION = 0.025 / 1000  # USD, Standard workflows
PASSWORD = "Bench-timers-password-1"
POLICY = {"name": "Bench", "first_response_seconds": 3, "next_response_seconds": 3, "resolution_seconds": 8}
_chat_ids = itertools.count(662_000_001)


def run(stack: Any) -> dict[str, float]:
    from tests.integration.helpers import TelegramCustomer

    operator, inbox = _workspace(stack)
    assert operator.http.put("/v1/sla-policies", json={"policies": [POLICY]}).status_code == 200

    def customer(name: str) -> TelegramCustomer:
        return TelegramCustomer(stack, next(_chat_ids), first_name=name, inbox=inbox)

    answered = _answered_in_time(stack, operator, customer("Bench answered"))
    breached = _nobody_answers(stack, operator, customer("Bench breached"))
    snooze = _snoozed(stack, operator, customer("Bench snoozed"))

    figures: dict[str, float] = {}
    print("Step Functions state transitions (from the execution histories), $0.025 per 1,000:")
    for label, (clocks, counted) in (("SLA, answered in time", answered), ("SLA, warned and breached", breached)):
        executions, transitions = counted
        per_clock = transitions / clocks
        cost = transitions * 1_000_000 * PRICE_PER_TRANSITION
        print(f"  {label}: {clocks} clocks, {executions} executions, {transitions} transitions "
              f"= {per_clock:.1f} per clock; ${cost:,.2f} per million conversations")
        figures[f"{label} transitions per clock"] = per_clock
        figures[f"{label} USD per million conversations"] = cost
    executions, transitions = snooze
    cost = transitions * 1_000_000 * PRICE_PER_TRANSITION
    print(f"  snooze: {executions} execution, {transitions} transitions; ${cost:,.2f} per million snoozes")
    figures["snooze transitions"] = transitions
    return figures


def _workspace(stack: Any) -> tuple[Any, dict]:
    """A tenant of its own (its SLA policy must reach no other conversation) with one owner and a Telegram inbox."""
    from switchboard.wiring import services
    from tests.integration.helpers import Operator

    provisioning = services().provisioning
    tenant = provisioning.create_tenant("Timer bench")
    team = provisioning.create_team(tenant, "Desk")
    inbox, credentials = provisioning.create_inbox(tenant, "telegram", "Telegram", default_team=team)
    email = f"owner.{uuid.uuid4().hex[:8]}@bench.example"
    provisioning.create_operator(tenant, email=email, name="Bench Owner", password=PASSWORD, role="owner",
                                 teams=[team])
    return Operator(stack, email, PASSWORD), {"id": inbox.id, "channel": "telegram",
                                              "webhook_secret": credentials.webhook_secret}


def _answered_in_time(stack: Any, operator: Any, customer: Any) -> tuple[int, tuple[int, int]]:
    conversation_id = _opened(stack, operator, customer)
    _reply(stack, operator, conversation_id)
    customer.says("One more question")
    stack.wait_idle(10)
    _reply(stack, operator, conversation_id)
    _resolve(stack, operator, conversation_id)
    return 3, _counted(stack, f"{conversation_id}-sla-")  # first response, next response, resolution


def _nobody_answers(stack: Any, operator: Any, customer: Any) -> tuple[int, tuple[int, int]]:
    conversation_id = _opened(stack, operator, customer)
    _until(lambda: _sla(operator, conversation_id)["clocks"]
           and all(clock["breached"] for clock in _sla(operator, conversation_id)["clocks"]), timeout=30)
    _reply(stack, operator, conversation_id)
    _resolve(stack, operator, conversation_id)
    return 2, _counted(stack, f"{conversation_id}-sla-")  # first response, resolution


def _snoozed(stack: Any, operator: Any, customer: Any) -> tuple[int, int]:
    conversation_id = _opened(stack, operator, customer)
    assert operator.post(f"/v1/conversations/{conversation_id}/snooze", {"seconds": 1}).status_code == 200
    _until(lambda: operator.conversation(conversation_id)["conversation"]["status"] == "open", timeout=30)
    return _counted(stack, f"{conversation_id}-snooze-", machine="SnoozeStateMachineArn")


def _opened(stack: Any, operator: Any, customer: Any) -> str:
    customer.says("Hello, is anyone there?")
    stack.wait_idle(10)
    row = _until(lambda: next((c for c in operator.conversations(status="all")
                               if c["contact"]["name"] == customer.first_name), None), timeout=30)
    return row["id"]


def _reply(stack: Any, operator: Any, conversation_id: str) -> None:
    answer = operator.post(f"/v1/conversations/{conversation_id}/messages", {"text": "Here to help"})
    assert answer.status_code == 201, answer.text
    stack.wait_idle(10)


def _resolve(stack: Any, operator: Any, conversation_id: str) -> None:
    assert operator.post(f"/v1/conversations/{conversation_id}/resolve").status_code == 200
    stack.wait_idle(10)


def _sla(operator: Any, conversation_id: str) -> dict:
    return operator.get(f"/v1/conversations/{conversation_id}/sla").json()


def _counted(stack: Any, prefix: str, machine: str = "SlaStateMachineArn") -> tuple[int, int]:
    """(executions, state transitions) of the executions named ``prefix…``, once all of them have ended."""
    import boto3

    sfn = boto3.client("stepfunctions")
    arn = stack.outputs[machine]

    def ended() -> list[dict] | None:
        pages = sfn.get_paginator("list_executions").paginate(stateMachineArn=arn)
        mine = [e for page in pages for e in page["executions"] if e["name"].startswith(prefix)]
        return mine if mine and all(e["status"] != "RUNNING" for e in mine) else None

    executions = _until(ended, timeout=30)
    transitions = 0
    for execution in executions:
        pages = sfn.get_paginator("get_execution_history").paginate(executionArn=execution["executionArn"])
        transitions += sum(event["type"].endswith("StateEntered") for page in pages for event in page["events"])
    return len(executions), transitions


def _until(check: Any, timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while not (result := check()):
        if time.monotonic() > deadline:
            raise TimeoutError("the local stack did not get there in time")
        time.sleep(0.1)
    return result
