"""The Rasa SDK action server: one module per concern.

- ``settings``        environment (backend URL/token, outbox path, retry policy, rasa URL)
- ``backend_client``  the routing backend's HTTP API (timeouts, retries with backoff, idempotency)
- ``outbox``          the durable local outbox (SQLite) for reports the backend could not take
- ``delivery``        the thread that delivers the outbox and tells the resident the number
- ``context``         who is talking (channel, identity, phone), transcripts, entities, domain texts
- ``filing``          open a ticket now or put it in the outbox — one path for every ticket
- ``report_slots``    what a report holds and what one message fills of it
- ``intake``          the report: start, the form's validation, details given before the problem
- ``read_back``       the read-back and free-text corrections
- ``submit``          the confirmed report → ticket; the delivered-later notification
- ``fallback``        clarifying question with the two likeliest types; hand-off to a human
- ``followup``        status, add information / photo, urge, rate, reopen
- ``staff``, ``greeting``, ``staff_commands``, ``staff_tasks``
                      grid staff: recognition, the greeting, terse commands, 我的待办 and its actions

All user-facing Chinese text is in the domain (bot/domain/*.yml); actions send response names.
"""
from actions.delivery import start_worker_from_env

start_worker_from_env()
