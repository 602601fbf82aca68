"""The domain's rules: the status transition table and delivery statuses that never move backwards."""

import pytest

from switchboard.domain.conversation import TRANSITIONS, Action, Status, next_status, sources_for
from switchboard.domain.errors import IllegalTransition
from switchboard.domain.message import DeliveryStatus, advances


@pytest.mark.parametrize(
    ("current", "action", "expected"),
    [
        (Status.OPEN, Action.SNOOZE, Status.SNOOZED),
        (Status.PENDING, Action.SNOOZE, Status.SNOOZED),
        (Status.SNOOZED, Action.SNOOZE, Status.SNOOZED),
        (Status.SNOOZED, Action.WAKE, Status.OPEN),
        (Status.SNOOZED, Action.CUSTOMER_MESSAGE, Status.OPEN),
        (Status.OPEN, Action.RESOLVE, Status.RESOLVED),
        (Status.RESOLVED, Action.REOPEN, Status.OPEN),
    ],
)
def test_allowed_transitions(current, action, expected):
    assert next_status(current, action) is expected


@pytest.mark.parametrize(
    ("current", "action"),
    [
        (Status.RESOLVED, Action.SNOOZE),
        (Status.RESOLVED, Action.RESOLVE),
        (Status.OPEN, Action.UNSNOOZE),
        (Status.OPEN, Action.REOPEN),
        (Status.RESOLVED, Action.CUSTOMER_MESSAGE),
    ],
)
def test_illegal_transitions_are_refused_with_a_reason(current, action):
    with pytest.raises(IllegalTransition) as refused:
        next_status(current, action)
    assert refused.value.status == 409
    assert str(current) in refused.value.detail


def test_every_status_can_reach_resolved_and_back():
    for status in (Status.OPEN, Status.PENDING, Status.SNOOZED):
        assert (status, Action.RESOLVE) in TRANSITIONS
    assert sources_for(Action.REOPEN) == [Status.RESOLVED, Status.PENDING]


def test_delivery_status_only_moves_forward():
    assert advances(DeliveryStatus.PENDING, DeliveryStatus.SENT)
    assert advances(DeliveryStatus.SENT, DeliveryStatus.READ)
    assert not advances(DeliveryStatus.READ, DeliveryStatus.DELIVERED)
    assert not advances(DeliveryStatus.SENT, DeliveryStatus.SENT)


def test_failed_is_final_and_cannot_undo_a_confirmed_delivery():
    assert advances(DeliveryStatus.PENDING, DeliveryStatus.FAILED)
    assert not advances(DeliveryStatus.DELIVERED, DeliveryStatus.FAILED)
    assert not advances(DeliveryStatus.FAILED, DeliveryStatus.SENT)
