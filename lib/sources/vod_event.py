"""A VOD event notification (``EventContent``) delivered to the function as its event: a pushed body
handed over by another component, or a pulled event re-played by hand.

Only VOD's own event types are taken: the ``EventType`` values the VOD SDK documents for
``EventContent`` (below), or this action's completion (``lib.vod.completion.is_element_event``: its exact
EventType string is unconfirmed). Another body with an ``EventType`` (an MPS ``WorkflowTask`` event,
say) is refused as of no known kind rather than guessed to be VOD's.
"""

from __future__ import annotations

from typing import Any

from lib.services import Services
from lib.sources.base import family, raise_for_retry
from lib.vod.completion import handle_event, is_element_event, is_vod_event

# EventContent.EventType as documented in tencentcloud-sdk-python-vod (v20180717 models), 2017 names
# included. AIGC element completions are recognised by their field, whatever their EventType.
VOD_EVENT_TYPES = frozenset(
    {
        "NewFileUpload",
        "ProcedureStateChanged",
        "FileDeleted",
        "RestoreMediaComplete",
        "PullComplete",
        "EditMediaComplete",
        "SplitMediaComplete",
        "ComposeMediaComplete",
        "WechatMiniProgramPublishComplete",
        "WechatPublishComplete",
        "RemoveWatermark",
        "RebuildMediaComplete",
        "ReviewAudioVideoComplete",
        "ExtractTraceWatermarkComplete",
        "ExtractCopyRightWatermarkComplete",
        "DescribeFileAttributesComplete",
        "QualityInspectComplete",
        "QualityEnhanceComplete",
        "PersistenceComplete",
        "ComplexAdaptiveDynamicStreamingComplete",
        "ProcessMediaByMPSComplete",
        "AigcImageTaskComplete",
        "AigcVideoTaskComplete",
        "AigcHunyuan3DTaskComplete",
        "DescribeAigcFaceInfoAsyncComplete",
        "TranscodeComplete",
        "ConcatComplete",
        "ClipComplete",
        "CreateImageSpriteComplete",
        "CreateSnapshotByTimeOffsetComplete",
    }
)


def is_vod_event_type(event: dict[str, Any]) -> bool:
    """A VOD EventContent: a documented VOD EventType, or this action's completion."""
    return is_vod_event(event) and (event["EventType"] in VOD_EVENT_TYPES or is_element_event(event))


class VodEventNotification:
    name = "vod"

    def matches(self, event: dict[str, Any]) -> bool:
        return family(event) == "vod" and is_vod_event_type(event) and "Type" not in event

    def handle(self, event: dict[str, Any], services: Services) -> dict[str, Any]:
        outcome = handle_event(event, services)
        raise_for_retry(outcome, "the completion could not be relayed yet")
        return outcome.as_dict()
