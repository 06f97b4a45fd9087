"""A local SCF: the deployment's functions and triggers run on the local stack (never deployed).

config, cron     serverless.yml's functions and triggers; the Timer trigger's cron expressions
async_queue      SCF's async invocation queue: reserved concurrency, overrun and failure retries,
                 the dead-letter log
instances        warm worker processes that run the handler (worker: one of them), reloaded on change
runtime          LocalScf: COS PUTs and Timer ticks become invocations; the Function URL; VOD's mode
history          what happened, as JSON lines (python -m devstack logs reads them)
options          the command-line options stack and serve share
"""
