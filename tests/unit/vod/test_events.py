"""The event fields of VOD's EventContent are written once in lib (``lib.vod.events.VOD_EVENT_FIELDS``:
lib may not import the SDK's 4 MB models module on a cold start) and read from the SDK's model by the
VOD emulator (which imports nothing from lib): both must be the SDK's list."""

from __future__ import annotations

from devstack.emulators.vod_tasks import event_fields, with_nulls
from lib.vod.events import EVENT_FIELD, VOD_EVENT_FIELDS


def test_lib_knows_every_event_field_the_sdk_declares() -> None:
    assert set(event_fields()) == VOD_EVENT_FIELDS
    assert len(event_fields()) == len(VOD_EVENT_FIELDS) and EVENT_FIELD in VOD_EVENT_FIELDS


def test_the_emulator_pads_an_event_with_every_other_field_as_null() -> None:
    padded = with_nulls({"EventType": "FileUploadEvent", "FileUploadEvent": {"FileId": "1"}})
    assert padded["FileUploadEvent"] == {"FileId": "1"} and padded["EventType"] == "FileUploadEvent"
    assert {name for name, value in padded.items() if value is None} == VOD_EVENT_FIELDS - {"FileUploadEvent"}
