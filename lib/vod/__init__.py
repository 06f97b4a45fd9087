"""The VOD API: the client, its rate limiter, and the completion events of the tasks it starts.

    client      the VOD client through tencentcloud-sdk-python, with our own retries
    ratelimit   the client-side rate limiter (VOD_RATE_LIMIT calls per second per container)
    completion  VOD's completion events → element.completed (push and pull)

Nothing is imported here: each module is imported on its own path.
"""
