"""SUBMIT_MODE=queue: relay jobs handed to a queue instead of calling VOD.

    enqueue        hand jobs to TDMQ for CMQ or SQS (SUBMIT_QUEUE_URL), an event's jobs in batches on CMQ
    job_message    the relay-job message written by the enqueueing deployment, read by the draining one,
                   and the rules a drainer holds every job to (check_origin)
    job_signature  relay jobs prove their origin: an HMAC under RELAY_JOB_SECRET
    cmq            TDMQ for CMQ's HTTP data-flow API over requests (send, publish, receive, delete)

Nothing is imported here: each module is imported on its own path.
"""
