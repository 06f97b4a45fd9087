"""The local stand-ins of the cloud services, each on 127.0.0.1 and never deployed.

    base        serving a stand-in from a daemon thread, and stopping it
    vod         the VOD API 3.0 emulator (vod_rules: request rules, vod_tasks: tasks and media fetching,
                vod_events: completion events pushed or pulled)
    cos         the COS stand-in: COS's XML API with COS signatures checked, objects in moto's S3
    tdmq        TDMQ for CMQ's HTTP data-flow API: queues, topics, receipt handles, long polling
    webhook     a webhook receiver that verifies the relay's signatures and records every delivery

``devstack.stack.LocalStack`` starts them together.
"""
