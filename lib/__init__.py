"""AIGC Element Relay: the deployed code behind ``handler.py``.

Modules are private to the handler; nothing here is a public library API.
"""
