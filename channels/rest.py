"""The REST channel (POST /webhooks/rest/webhook {"sender", "message", "metadata"}) for `make
shell`-style tools and the tests.

Rasa's own RestInput takes the input channel from the request body ("input_channel"), so a client
could call itself "telegram" and have its declared channel identity believed (actions.context
trusts identities only from our own channels). This one always says "rest"; the metadata the
client sends is passed on, and the action server ignores a channel identity in it unless
ACTIONS_TRUST_REST_METADATA is set (tests).
"""
from __future__ import annotations

from typing import Text

from rasa.core.channels.rest import RestInput as RasaRestInput
from sanic.request import Request


class RestInput(RasaRestInput):
    def _extract_input_channel(self, req: Request) -> Text:
        return self.name()
