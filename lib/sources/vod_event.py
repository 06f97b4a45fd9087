"""A VOD event notification (``EventContent``) delivered to the function as its event: a pushed body
handed over by another component, or a pulled event re-played by hand.

Only VOD's own events are taken: an ``EventType`` the VOD SDK documents for ``EventContent`` (the
enumeration, and the types named by each event field's own text, such as ``SceneAigcImageCompleteEvent``
or ``ProcessImageAsyncCompleteEvent``, which the enumeration lacks), this action's completion
(``lib.vod.completion.is_element_event``), or an event that carries one of ``EventContent``'s documented
event fields (a pulled event carries all of them, the other types' set to ``null``). Such events of other
types are acknowledged and ignored as not ours. Another body with an ``EventType`` (an MPS
``WorkflowTask`` event, say) is refused as of no known kind rather than guessed to be VOD's.
"""

from __future__ import annotations

from typing import Any

from lib.services import Services
from lib.sources.base import family, raise_for_retry
from lib.vod.completion import handle_event, is_element_event, is_vod_event

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


def is_vod_event_type(event: dict[str, Any]) -> bool:
    """A VOD EventContent: a documented VOD EventType, this action's completion, or a documented field."""
    return is_vod_event(event) and (
        event["EventType"] in VOD_EVENT_TYPES
        or is_element_event(event)
        or not VOD_EVENT_FIELDS.isdisjoint(event)
    )


class VodEventNotification:
    name = "vod"

    def matches(self, event: dict[str, Any]) -> bool:
        return family(event) == "vod" and is_vod_event_type(event) and "Type" not in event

    def handle(self, event: dict[str, Any], services: Services) -> dict[str, Any]:
        outcome = handle_event(event, services)
        raise_for_retry(outcome, "the completion could not be relayed yet")
        return outcome.as_dict()
