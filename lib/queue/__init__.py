"""SUBMIT_MODE=queue: relay jobs handed to a queue instead of calling VOD.

    enqueue      hand jobs to TDMQ for CMQ or SQS (SUBMIT_QUEUE_URL)
    job_message  the relay-job message written by the enqueueing deployment, read by the draining one
    cmq          TDMQ for CMQ through tencentcloud-sdk-python-common (PublishCmqMsg, SendCmqMsg)

Nothing is imported here: each module is imported on its own path.
"""
