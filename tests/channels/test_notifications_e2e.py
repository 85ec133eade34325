"""Back to the resident: ticket state changes in the real routing backend go out through the
notifier of the reporter's channel (PTB to the fake Bot API, the Twilio client to the fake REST
API), and every outcome — also a failure — is a ticket event while the state change stands."""
from __future__ import annotations

from pathlib import Path
from typing import List

import httpx

from channels.optout import OptOutStore
from tests.channels.fakes import wait_for
from tests.channels.helpers import next_id
from tests.channels.testenv import SMS_FROM, ChannelStack


def create(stack: ChannelStack, identity: str, phone: str = None) -> str:
    reporter = {"channel_identity": identity}
    if phone:
        reporter["phone"] = phone
    r = httpx.post(f"{stack.backend.url}/api/tickets", timeout=30, headers={"Authorization": "Bearer dev-intake-token"},
                   json={"text": "岳麓区桃子湖社区楼下烧烤店半夜噪音扰民", "channel": identity.split(":")[0],
                         "event_type": "noise_pollution", "location_text": "岳麓区岳麓街道桃子湖社区",
                         "reporter": reporter})
    assert r.status_code == 201, r.text
    return r.json()["number"]


def act(stack: ChannelStack, number: str, action: str, body: dict = None) -> dict:
    with stack.operator() as client:
        r = client.post(f"/api/tickets/{number}/{action}", json=body or {})
    assert r.status_code == 200, r.text
    return r.json()


def events(stack: ChannelStack, number: str, kinds=("notified", "notify_failed", "notify_skipped")) -> List[dict]:
    with stack.operator() as client:
        r = client.get(f"/api/tickets/{number}/events")
    r.raise_for_status()
    return [e for e in r.json() if e["kind"] in kinds]


def test_telegram_reporter_hears_of_dispatch_and_resolution(channel_stack: ChannelStack):
    chat = next_id()
    number = create(channel_stack, f"telegram:{chat}")
    ticket = act(channel_stack, number, "dispatch")
    assert ticket["state"] == "dispatched"
    sent = wait_for(lambda: channel_stack.telegram.sent("sendMessage", chat), what="dispatch notification")
    assert number in sent[0].params["text"] and ticket["department"]["name"] in sent[0].params["text"]
    act(channel_stack, number, "accept")
    act(channel_stack, number, "resolve", {"reply": "已责令烧烤店23点后停止营业"})
    sent = wait_for(lambda: channel_stack.telegram.sent("sendMessage", chat)[1:], what="resolve notification")
    assert "已责令烧烤店23点后停止营业" in sent[0].params["text"] and "1-5" in sent[0].params["text"]
    recorded = wait_for(lambda: len(events(channel_stack, number)) == 2 and events(channel_stack, number),
                        what="notification events")
    assert [e["kind"] for e in recorded] == ["notified", "notified"]
    assert [e["data"]["action"] for e in recorded] == ["dispatch", "resolve"]
    assert all(e["actor"] == "notifier" and e["data"]["channel"] == "telegram" for e in recorded)
    assert len(channel_stack.telegram.sent("sendMessage", chat)) == 2  # accept notifies nobody


def test_sms_and_voice_reporters_get_an_sms(channel_stack: ChannelStack):
    for prefix in ("sms", "voice"):
        phone = f"+86137{next_id() % 100000000:08d}"
        number = create(channel_stack, f"{prefix}:{phone}", phone)
        act(channel_stack, number, "dispatch")
        (message,) = wait_for(lambda: channel_stack.twilio.sent_to(phone), what=f"{prefix} notification")
        assert message["From"] == SMS_FROM and number in message["Body"]
        (event,) = wait_for(lambda: events(channel_stack, number), what="event")
        assert event["kind"] == "notified" and event["data"]["channel"] == "sms"


def test_a_failing_channel_never_breaks_the_state_change(channel_stack: ChannelStack):
    chat = next_id()
    channel_stack.telegram.fail_chats.add(chat)
    number = create(channel_stack, f"telegram:{chat}")
    assert act(channel_stack, number, "dispatch")["state"] == "dispatched"
    (event,) = wait_for(lambda: events(channel_stack, number), what="failure event")
    assert event["kind"] == "notify_failed" and "blocked" in event["note"]
    with channel_stack.operator() as client:
        assert client.get(f"/api/tickets/{number}").json()["state"] == "dispatched"

    phone = f"+86136{next_id() % 100000000:08d}"
    channel_stack.twilio.fail_numbers.add(phone)
    number = create(channel_stack, f"sms:{phone}", phone)
    assert act(channel_stack, number, "dispatch")["state"] == "dispatched"
    (event,) = wait_for(lambda: events(channel_stack, number), what="twilio failure event")
    assert event["kind"] == "notify_failed" and "21610" in event["note"]


def test_numbers_that_texted_stop_are_not_notified(channel_stack: ChannelStack):
    phone = f"+86135{next_id() % 100000000:08d}"
    OptOutStore(Path(channel_stack.env["SMS_OPTOUT_PATH"])).opt_out(phone)
    number = create(channel_stack, f"sms:{phone}", phone)
    act(channel_stack, number, "dispatch")
    (event,) = wait_for(lambda: events(channel_stack, number), what="skip event")
    assert event["kind"] == "notify_skipped"
    assert channel_stack.twilio.sent_to(phone) == []
