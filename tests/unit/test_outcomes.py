"""Settling and guarding in ``lib.outcomes``: a missing credential stops a submission before it starts,
and only a configuration failure becomes a retry.
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest

import lib.outcomes as outcomes
from lib.errors import ConfigError, InputError, RetryLaterError, StorageError
from lib.outcomes import Outcome, batch_item_failures
from tests.unit.test_pipeline import CREDENTIALS, QUEUE, services


def test_config_problem_in_queue_mode_only_for_the_submitting_deployment() -> None:
    enqueuing = services(**QUEUE)
    assert outcomes.config_problem(enqueuing) is None  # enqueuing calls no VOD
    problem = outcomes.config_problem(enqueuing, submitting=True)
    assert isinstance(problem, ConfigError)
    assert outcomes.config_problem(services(**QUEUE, **CREDENTIALS), submitting=True) is None
    assert isinstance(outcomes.config_problem(services()), ConfigError)


@pytest.mark.parametrize(
    ("outcome", "status"),
    [
        (Outcome("failed", "s", error=ConfigError("no key")), "retry"),
        (Outcome("failed", "s", error=InputError("bad")), "failed"),
        (Outcome("failed", "s", error=StorageError("gone")), "failed"),
        (Outcome("submitted", "s", task_id="t"), "submitted"),
    ],
)
def test_guarded_turns_only_config_failures_into_retries(outcome: Outcome, status: str) -> None:
    guarded = outcomes.guarded(lambda: outcome, services(**CREDENTIALS))
    assert guarded.status == status
    assert guarded.error is outcome.error
    assert guarded.session_id == "s"


def test_guarded_does_not_run_the_step_without_credentials() -> None:
    ran: list[bool] = []

    def step() -> Outcome:
        ran.append(True)
        return Outcome("submitted", "s")

    guarded = outcomes.guarded(step, services())
    assert guarded.status == "retry" and isinstance(guarded.error, ConfigError) and ran == []


def failed_ids(items: Sequence[tuple[str | None, str | None, bool]]) -> list[str]:
    return [f["itemIdentifier"] for f in batch_item_failures(items)["batchItemFailures"]]


def test_a_broken_fifo_group_keeps_its_order() -> None:
    items = [("a", "g1", False), ("b", "g1", True), ("c", "g2", False), ("d", "g1", False), ("e", None, True)]
    assert failed_ids(items) == ["b", "d", "e"]


def test_a_failed_message_without_an_id_fails_the_batch() -> None:
    with pytest.raises(RetryLaterError):
        failed_ids([(None, None, True)])
    assert failed_ids([(None, None, False)]) == []
