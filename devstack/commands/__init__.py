"""The commands of ``python -m devstack``, one module each with a ``register(subparsers)`` function.

    demo            the whole life of an element on the local stack
    invoke          run ``handler.main_handler`` once with an event
    generate_event  sample trigger events with your bucket and keys
    serve           ``handler.main_handler`` behind a local HTTP server
    stack           the local stand-ins on their own, in the foreground

``package`` is ``devstack.packaging.build``.
"""
