"""The HTTP API: one router for every HTTP trigger (SCF Function URL and API Gateway, AWS REST and HTTP
APIs, Lambda function URLs).

    model       HttpRequest and HttpResponse, the trigger-neutral request and answer
    api         authentication, routing, and the mapping of errors and outcomes to HTTP statuses
    routes      /elements, /elements/from-folder, /elements/{session_id}, /tasks/{task_id}, /health
    vod_routes  /vod/events (VOD's pushed completions) and /vod/pull

The source adapters (``lib/sources/*``) turn their trigger's event into an ``HttpRequest`` and the
``HttpResponse`` back into their trigger's answer; this package depends on the pipeline, never on them.
"""
