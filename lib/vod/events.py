"""The shape of a VOD event notification (``EventContent``): cheap tests on a dict, used by the trigger
table (``lib.sources``, for a VOD-shaped event only) and by ``lib.vod.completion``.

Only VOD's own event types are taken: the ``EventType`` values the VOD SDK documents for
``EventContent``, or this action's completion (its exact EventType string is unconfirmed, so it is
recognised by its ``CreateAigcAdvancedCustomElementCompleteEvent`` field).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

ACTION = "CreateAigcAdvancedCustomElement"
EVENT_FIELD = "CreateAigcAdvancedCustomElementCompleteEvent"

# EventContent.EventType as documented in tencentcloud-sdk-python-vod (v20180717 models): the enumeration
# (2017 names included), then the types that only the event fields' own descriptions name.
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
        # named only by their fields' descriptions
        "MediaCastStatusChanged",
        "ExtractBlindWatermarkComplete",
        "SceneAigcImageCompleteEvent",
        "ProcessImageAsyncCompleteEvent",
        "CreateAigcAdvancedCustomElementCompleteEvent",
        "CreateAigcCustomVoiceCompleteEvent",
    }
)
# EventContent's event fields, one per type (same source): a VOD event of a type added after that SDK
# release still carries the older fields, set to null, when pulled.
VOD_EVENT_FIELDS = frozenset(
    {
        "FileUploadEvent",
        "ProcedureStateChangeEvent",
        "FileDeleteEvent",
        "PullCompleteEvent",
        "EditMediaCompleteEvent",
        "SplitMediaCompleteEvent",
        "ComposeMediaCompleteEvent",
        "ClipCompleteEvent",
        "TranscodeCompleteEvent",
        "CreateImageSpriteCompleteEvent",
        "ConcatCompleteEvent",
        "SnapshotByTimeOffsetCompleteEvent",
        "WechatPublishCompleteEvent",
        "WechatMiniProgramPublishCompleteEvent",
        "RemoveWatermarkCompleteEvent",
        "RestoreMediaCompleteEvent",
        "RebuildMediaCompleteEvent",
        "ExtractTraceWatermarkCompleteEvent",
        "ExtractCopyRightWatermarkCompleteEvent",
        "ReviewAudioVideoCompleteEvent",
        "ReduceMediaBitrateCompleteEvent",
        "DescribeFileAttributesCompleteEvent",
        "QualityInspectCompleteEvent",
        "QualityEnhanceCompleteEvent",
        "MediaCastStatusChangedEvent",
        "PersistenceCompleteEvent",
        "ComplexAdaptiveDynamicStreamingCompleteEvent",
        "ProcessMediaByMPSCompleteEvent",
        "AigcImageCompleteEvent",
        "AigcVideoCompleteEvent",
        "ExtractBlindWatermarkComplete",
        "SceneAigcImageCompleteEvent",
        "ProcessImageAsyncCompleteEvent",
        "CreateAigcAdvancedCustomElementCompleteEvent",
        "CreateAigcCustomVoiceCompleteEvent",
        "DescribeAigcFaceInfoAsyncCompleteEvent",
        "AigcHunyuan3DCompleteEvent",
    }
)


def is_element_event(content: Mapping[str, Any]) -> bool:
    """True for this action's completion event, whatever its exact EventType string."""
    return isinstance(content.get(EVENT_FIELD), dict) or str(content.get("EventType", "")).startswith(ACTION)


def is_vod_event(content: object) -> bool:
    """A VOD EventContent: an object with an EventType (and, pulled, an EventHandle)."""
    return isinstance(content, dict) and isinstance(content.get("EventType"), str)


def is_vod_event_type(event: dict[str, Any]) -> bool:
    """A VOD EventContent: a documented VOD EventType, this action's completion, or a documented field."""
    return is_vod_event(event) and (
        event["EventType"] in VOD_EVENT_TYPES
        or is_element_event(event)
        or not VOD_EVENT_FIELDS.isdisjoint(event)
    )
