"""Slack: the /friction command, the modal, the message shortcut, App Home, triage buttons and DMs.

One bolt ``AsyncApp`` per FastAPI app (built from Settings, never a module global), mounted at
``POST /slack/events``. Every listener calls ``ack()`` first; the report is written to the inbox after.
"""
