"""The invocation's request id and deadline from SCF, Lambda and local contexts."""

from __future__ import annotations

from lib.invocation import LOCAL_TIME_LIMIT_S, Invocation


class LambdaContext:
    aws_request_id = "aws-req-1"
    function_name = "relay"

    def get_remaining_time_in_millis(self) -> int:
        return 12_000


def test_scf_dict_context() -> None:
    """SCF's dict: request_id, and the deadline from time_limit_in_ms counted from the start."""
    inv = Invocation.from_context({"request_id": "scf-1", "time_limit_in_ms": 30000}, now=100.0)
    assert (inv.request_id, inv.deadline) == ("scf-1", 130.0)


def test_lambda_object_context() -> None:
    """Lambda's object: aws_request_id and get_remaining_time_in_millis()."""
    inv = Invocation.from_context(LambdaContext(), now=100.0)
    assert (inv.request_id, inv.deadline, inv.function_name) == ("aws-req-1", 112.0, "relay")


def test_no_context_runs_locally() -> None:
    """None (a local call) gets a generated id and the local time limit."""
    inv = Invocation.from_context(None, now=0.0)
    assert inv.request_id.startswith("local-") and inv.deadline == LOCAL_TIME_LIMIT_S


def test_garbage_context_values_fall_back() -> None:
    """A non-numeric time limit is not trusted."""
    inv = Invocation.from_context({"time_limit_in_ms": "soon"}, now=0.0)
    assert inv.deadline == LOCAL_TIME_LIMIT_S and inv.remaining() >= 0
