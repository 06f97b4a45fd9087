"""AIGC Element Relay: the deployed code behind ``handler.py``.

Modules are private to the handler; nothing here is a public library API. In the order data flows
through them:

    settings, invocation, services   configuration; the invocation's deadline and the bounded retries that
                                     spend it (with_retries); per-invocation clients
    sources/                         the trigger table (TRIGGERS) and its cheap predicates, here; one
                                     adapter per trigger kind: normalise the event, answer in the
                                     trigger's shape (messages: shared; http_triggers: the five HTTP
                                     triggers as one table; uploads: every upload notification parsed,
                                     and the upload loop; cmq_drain: the Timer's drain)
    http/                            the HTTP API every HTTP trigger shares (model, api, routes, vod_routes,
                                     element_list: GET /elements from the receipts' timeline; uploads;
                                     folder_scan: POST /folders/scan; vod_library: VOD's own element
                                     library; counts; console + console_assets/: GET /console;
                                     thumbnails)
    backfill                         the folders already in a bucket → the pipeline, a page at a time,
                                     resumable by a cursor; its command line (python -m lib.backfill)
    assemble                         uploads → element requests by the folder layout (reads storage)
    request_model, callbacks         the element request and its rules, and what it becomes: the
                                     CreateAigcAdvancedCustomElement parameters, the SessionId; per-request
                                     callback URLs
    addresses                        the one rule of which addresses a caller's URL may make us reach
    pipeline                         the middle: submit_request → dispatch (submit now, or enqueue)
    outcomes                         what follows an error, in one place: Outcome, outcome_for, settling
                                     and relaying a failure, guarded, one answer builder per kind of answer
    queue/                           SUBMIT_MODE=queue: relay jobs on TDMQ for CMQ (its data-flow API) or
                                     SQS (enqueue, job_message, job_signature, cmq, sqs)
    submission, element              one submission exactly once: the receipt guard (claim, wait, finish,
                                     release, the facts) around the plain work of one element (resolve →
                                     parameters → VOD → relay), which knows nothing of receipts
    media/                           media references (parsed here) → fetchable URLs and the SessionId's
                                     identity (resolve); VOD's documented media rules checked from headers
                                     by ranged reads (preflight, reads, movie_header)
    receipts                         idempotency records as immutable create-if-absent facts
    element_index, counts            beside the receipts in RECEIPT_BUCKET: which session made each element
                                     (GET /vod/elements); per-state markers counted from a snapshot
    storage/                         COS (qcloud_cos) and S3 (boto3) behind one Storage protocol
    vod/                             the shape of a VOD event (events); the VOD client with our own retries,
                                     within the account's quota (client); VOD's completion events →
                                     element.completed, push and pull (completion)
    tencent_api                      what VOD's and TDMQ for CMQ's error codes mean (transient, the
                                     credentials', the rate limit's), the paced call and its client-side
                                     rate limiter, once for both
    webhook, webhook_client          the signed webhook body and delivery; the WebhookClient seam (requests)
    breakers                         a circuit breaker per webhook destination (the pull cycle's relays)
    jobs, errors, logs               plain values (Upload, SourceInfo, Job), the one exception tree, JSON logs
    threads                          the only thread starters, asked through Services: one call in a
                                     daemon thread (Background), a bounded pool joined on leaving (Pool);
                                     what a warm container builds once, under a lock (warm_cache)
    records                          Record: lib's immutable values, NamedTuple to mypy, cheap to import
"""
