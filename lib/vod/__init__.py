"""The VOD API: what its event notifications look like, the client, and the completion events of the
tasks it starts (its rate limiter is ``lib.tencent_api``'s, shared with TDMQ for CMQ).

    events      the shape of a VOD event notification (``EventContent``): cheap tests on a dict, used by
                the trigger table (``lib.sources``) and by ``completion``
    client      the VOD client through tencentcloud-sdk-python, with our own retries
    completion  VOD's completion events → element.completed (push and pull)

Nothing is imported here: each module is imported on its own path (a COS upload loads the client only).
"""
