"""Builders for Telegram updates and signed Twilio requests, as the real services send them."""
from __future__ import annotations

import itertools
import time
import xml.etree.ElementTree as ET
from typing import Any, Dict, List, Optional
from urllib.parse import urlencode

import httpx
from twilio.request_validator import RequestValidator

from tests.channels.testenv import PUBLIC_BASE_URL, TELEGRAM_SECRET, TWILIO_TOKEN

_ids = itertools.count(int(time.time()) % 100000 * 1000)

# A complaint the trained model places in the catalogue with high confidence.
COMPLAINT = "我家楼下的烧烤店每天半夜噪音特别大，吵得全楼的人都睡不着觉"


def next_id() -> int:
    return next(_ids)


# --------------------------------------------------------------------------- Telegram
def tg_user(user_id: int) -> Dict[str, Any]:
    return {"id": user_id, "is_bot": False, "first_name": "张", "last_name": "三", "language_code": "zh-hans"}


def tg_message(chat_id: int, **content: Any) -> Dict[str, Any]:
    return {
        "update_id": next_id(),
        "message": {"message_id": next_id(), "date": int(time.time()), "from": tg_user(chat_id),
                    "chat": {"id": chat_id, "type": "private", "first_name": "张"}, **content},
    }


def tg_text(chat_id: int, text: str) -> Dict[str, Any]:
    return tg_message(chat_id, text=text)


def tg_callback(chat_id: int, data: str, message_text: str, keyboard: List[List[Dict[str, Any]]]) -> Dict[str, Any]:
    return {
        "update_id": next_id(),
        "callback_query": {
            "id": str(next_id()), "from": tg_user(chat_id), "chat_instance": "ci-1", "data": data,
            "message": {"message_id": next_id(), "date": int(time.time()),
                        "from": {"id": 7000000001, "is_bot": True, "first_name": "Test bot"},
                        "chat": {"id": chat_id, "type": "private"}, "text": message_text,
                        "reply_markup": {"inline_keyboard": keyboard}},
        },
    }


def post_update(base_url: str, update: Dict[str, Any], secret: Optional[str] = TELEGRAM_SECRET) -> httpx.Response:
    headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret is not None else {}
    return httpx.post(f"{base_url}/webhooks/telegram/webhook", json=update, headers=headers, timeout=60)


# --------------------------------------------------------------------------- Twilio
def signed_post(base_url: str, path: str, params: Dict[str, str], query: Optional[Dict[str, str]] = None,
                token: str = TWILIO_TOKEN, signature: Optional[str] = None) -> httpx.Response:
    """POST form `params` to the rasa server, signed for the public URL Twilio would have used."""
    qs = ("?" + urlencode(query)) if query else ""
    public = f"{PUBLIC_BASE_URL}{path}{qs}"
    sig = signature if signature is not None else RequestValidator(token).compute_signature(public, params)
    return httpx.post(f"{base_url}{path}{qs}", data=params, headers={"X-Twilio-Signature": sig}, timeout=60)


def call_params(call_sid: str, caller: str = "+8613800001111", **extra: str) -> Dict[str, str]:
    params = {"CallSid": call_sid, "AccountSid": "AC" + "7e57" * 8, "From": caller, "Caller": caller,
              "To": "+8673100012345", "Called": "+8673100012345", "CallStatus": "in-progress",
              "Direction": "inbound", "ApiVersion": "2010-04-01"}
    params.update(extra)
    return params


def sms_params(sender: str, body: str, **extra: str) -> Dict[str, str]:
    params = {"MessageSid": f"SM{next_id():032d}", "AccountSid": "AC" + "7e57" * 8, "From": sender,
              "To": "+8673100012345", "Body": body, "NumMedia": "0", "NumSegments": "1", "ApiVersion": "2010-04-01"}
    params.update(extra)
    return params


def twiml(response: httpx.Response) -> ET.Element:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith(("application/xml", "text/xml"))
    return ET.fromstring(response.text)
