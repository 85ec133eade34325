"""A whole intake over each channel: the resident reports, answers what the bot asks, confirms
with the channel's own way of choosing (inline button, keypad, SMS digit, web choice), and the
ticket the bot files carries that channel and identity. Then the ticket is dispatched and the
resident hears of it on the same channel.

The driver answers whatever the bot asks (place, other party, time, phone) and presses the
confirming choice when one is offered, so the test follows the conversation as it evolves
instead of hard-coding its steps; it fails if no ticket number comes within a few turns.
"""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Callable, Dict, List, Optional, Tuple

import httpx

from tests.channels.fakes import wait_for
from tests.channels.helpers import (
    COMPLAINT, call_params, next_id, post_update, signed_post, sms_params, tg_callback, tg_text,
)
from tests.channels.testenv import ChannelStack

TICKET = re.compile(r"20\d{6}-\d{6}")
ANSWERS = (
    (r"哪里|地点|位置|在哪", "在岳麓区岳麓街道桃子湖社区"),
    (r"哪一方|对方|商户|公司|涉及", "楼下那家烧烤店"),
    (r"什么时候|时间|几点", "每天晚上十一点以后"),
    (r"电话|联系|手机", "13800001111"),
)
MAX_TURNS = 8
Bot = List[Dict]  # the bot's messages of one turn: {"text", "buttons"}


def answer_for(turn: Bot) -> Tuple[str, object]:
    """("choice", button) for a confirming button, else ("text", an answer to the question)."""
    for message in reversed(turn):
        for button in message.get("buttons") or []:
            if str(button.get("payload", "")).startswith("/affirm"):
                return "choice", button
    question = " ".join(m.get("text") or "" for m in turn[-1:])
    for pattern, reply in ANSWERS:
        if re.search(pattern, question):
            return "text", reply
    return "text", "不知道"


def drive(send_text: Callable[[str], Bot], choose: Callable[[Dict, Bot], Bot]) -> str:
    turn = send_text(COMPLAINT)
    transcript = [("市民", COMPLAINT), *[("bot", m.get("text")) for m in turn]]
    for _ in range(MAX_TURNS):
        found = TICKET.search(" ".join(m.get("text") or "" for m in turn))
        if found:
            return found.group(0)
        kind, value = answer_for(turn)
        turn = choose(value, turn) if kind == "choice" else send_text(value)  # type: ignore[arg-type]
        transcript += [("市民", str(value)), *[("bot", m.get("text")) for m in turn]]
    raise AssertionError("no ticket after %d turns:\n%s" % (MAX_TURNS, "\n".join(f"{w}: {t}" for w, t in transcript)))


def dispatch(stack: ChannelStack, number: str) -> None:
    with stack.operator() as client:
        r = client.post(f"/api/tickets/{number}/dispatch", json={})
    assert r.status_code == 200, r.text


def dispatch_and_expect_sms(stack: ChannelStack, number: str, phone: str, what: str) -> None:
    """Dispatch; the reporter's phone gets an SMS naming the ticket."""
    dispatch(stack, number)
    wait_for(lambda: any(number in m["Body"] for m in stack.twilio.sent_to(phone)), what=what)


# --------------------------------------------------------------------------- Telegram
def test_full_intake_over_telegram(channel_stack: ChannelStack):
    chat = next_id()
    fake = channel_stack.telegram

    def sent_since(before: int) -> Bot:
        out = []
        for call in fake.sent("sendMessage", chat)[before:]:
            markup = call.params.get("reply_markup") or {}
            buttons = [{"title": b["text"], "payload": b.get("callback_data"), "keyboard": markup["inline_keyboard"]}
                       for row in markup.get("inline_keyboard", []) for b in row]
            out.append({"text": call.params.get("text"), "buttons": buttons})
        return out

    def send_text(text: str) -> Bot:
        before = len(fake.sent("sendMessage", chat))
        assert post_update(channel_stack.url, tg_text(chat, text)).status_code == 200
        return sent_since(before)

    def choose(button: Dict, turn: Bot) -> Bot:
        before = len(fake.sent("sendMessage", chat))
        message = next(m for m in turn if button in (m.get("buttons") or []))
        press = tg_callback(chat, button["payload"], message["text"], button["keyboard"])
        assert post_update(channel_stack.url, press).status_code == 200
        return sent_since(before)

    number = drive(send_text, choose)
    filed = channel_stack.ticket(number)
    assert filed["channel"] == "telegram"
    assert filed["reporter"]["channel_identity"] == f"telegram:{chat}"
    dispatch(channel_stack, number)
    wait_for(lambda: any(number in (c.params.get("text") or "") and "办理" in c.params["text"]
                         for c in fake.sent("sendMessage", chat)[-2:]), what="the dispatch notice on Telegram")


# --------------------------------------------------------------------------- SMS
def test_full_intake_over_sms(channel_stack: ChannelStack):
    phone = f"+86138{next_id() % 100000000:08d}"
    hook = "/webhooks/twilio_sms/webhook"

    def messages(response: httpx.Response) -> Bot:
        assert response.status_code == 200, response.text
        return [{"text": m.text} for m in ET.fromstring(response.text).iter("Message")]

    def send_text(text: str) -> Bot:
        return messages(signed_post(channel_stack.url, hook, sms_params(phone, text)))

    def answer_sms(turn: Bot) -> Tuple[str, object]:
        text = "\n".join(m["text"] or "" for m in turn)
        digit = re.search(r"回复(\d)：确认", text)
        return ("text", digit.group(1)) if digit else answer_for(turn)

    turn = send_text(COMPLAINT)
    number: Optional[str] = None
    for _ in range(MAX_TURNS):
        found = TICKET.search(" ".join(m["text"] or "" for m in turn))
        if found:
            number = found.group(0)
            break
        _, value = answer_sms(turn)
        turn = send_text(str(value))
    assert number, "no ticket over SMS"
    filed = channel_stack.ticket(number)
    assert filed["channel"] == "sms"
    assert filed["reporter"]["channel_identity"] == f"sms:{phone}"
    assert filed["reporter"]["phone"] == phone
    dispatch_and_expect_sms(channel_stack, number, phone, "the dispatch notice by SMS")


# --------------------------------------------------------------------------- voice
def test_full_intake_over_the_phone(channel_stack: ChannelStack):
    call = f"CA{next_id():032d}"
    caller = f"+86139{next_id() % 100000000:08d}"
    hook = "/webhooks/twilio_voice/webhook"
    gather = {"event": "gather", "retry": "0"}

    def spoken(response: httpx.Response) -> Bot:
        assert response.status_code == 200, response.text
        return [{"text": s.text} for s in ET.fromstring(response.text).iter("Say")]

    signed_post(channel_stack.url, hook, call_params(call, caller=caller))

    def send_text(text: str) -> Bot:
        return spoken(signed_post(channel_stack.url, hook, call_params(call, caller=caller, SpeechResult=text),
                                  query=gather))

    def answer_call(turn: Bot) -> Tuple[str, str]:
        said = " ".join(m["text"] or "" for m in turn)
        if "确认请按1" in said:
            return "digit", "1"
        return "speech", str(answer_for(turn)[1])

    turn = send_text(COMPLAINT)
    number: Optional[str] = None
    for _ in range(MAX_TURNS):
        found = TICKET.search(" ".join(m["text"] or "" for m in turn))
        if found:
            number = found.group(0)
            break
        kind, value = answer_call(turn)
        if kind == "digit":
            turn = spoken(signed_post(channel_stack.url, hook, call_params(call, caller=caller, Digits=value),
                                      query=gather))
        else:
            turn = send_text(value)
    assert number, "no ticket over the phone"
    filed = channel_stack.ticket(number)
    assert filed["channel"] == "voice"
    assert filed["reporter"]["phone"] == caller
    # the caller hangs up after the ticket: the report is on record, so no draft is left
    with channel_stack.operator() as client:
        before = client.get("/api/tickets", params={"channel": "voice", "limit": 200}).json()["total"]
    r = signed_post(channel_stack.url, "/webhooks/twilio_voice/status", call_params(call, caller=caller,
                                                                                    CallStatus="completed"))
    assert r.status_code == 204
    with channel_stack.operator() as client:
        assert client.get("/api/tickets", params={"channel": "voice", "limit": 200}).json()["total"] == before
    dispatch_and_expect_sms(channel_stack, number, caller, "the dispatch notice by SMS to the caller")


# --------------------------------------------------------------------------- web chat
def test_full_intake_over_the_web_chat(channel_stack: ChannelStack):
    sender = f"webfull-{next_id()}"
    hook = f"{channel_stack.url}/webhooks/webchat/webhook"

    def post(message: str) -> Bot:
        r = httpx.post(hook, json={"sender": sender, "message": message}, timeout=60)
        assert r.status_code == 200, r.text
        return r.json()

    number = drive(post, lambda button, turn: post(button["payload"]))
    filed = channel_stack.ticket(number)
    assert filed["channel"] == "web"
    assert filed["reporter"]["channel_identity"] == f"web:{sender}"
