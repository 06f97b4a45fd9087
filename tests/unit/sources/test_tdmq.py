"""The TDMQ (Pulsar) adapter (``lib.sources.tdmq``): one CloudEvents message per invocation."""

from __future__ import annotations

import json

from lib.sources.tdmq import TdmqMessages
from tests.source_cases import matching, run, sample


def test_its_sample_is_taken_by_this_adapter_only() -> None:
    event = sample("tdmq/request.json")
    assert matching(event) == ["tdmq"]
    assert not TdmqMessages().matches({**event, "type": "connector:ckafka"})
    assert not TdmqMessages().matches({**event, "data": "text"})


def test_the_message_is_submitted_with_the_queue_region() -> None:
    event = sample("tdmq/request.json")
    outcome = run(event)
    [job] = outcome.jobs
    assert job.request.name == json.loads(event["data"]["msgBody"])["name"]
    assert (job.source.kind, job.source.region) == ("queue", "ap-guangzhou")
    assert job.source.storage_region is None  # the queue's region says nothing about storage
    assert [r["status"] for r in outcome.result["records"]] == ["submitted"]


def test_a_message_without_id_or_region_is_still_handled() -> None:
    event = sample("tdmq/request.json")
    del event["data"]["msgId"]
    del event["region"]
    outcome = run(event)
    [job] = outcome.jobs
    assert job.source.region is None
