"""Telegram over real HTTP: Bot API updates into the rasa server's webhook, python-telegram-bot
answering through the fake Bot API, the conversation checked in the tracker."""
from __future__ import annotations

import subprocess
import sys

import pytest

from channels.common import text as channel_text
from routing.catalog import load_catalog
from tests.channels.testenv import TELEGRAM_SECRET, TELEGRAM_TOKEN, ChannelStack
from tests.channels.fakes import wait_for
from tests.channels.helpers import (
    COMPLAINT, next_id, post_update, tg_callback, tg_message, tg_text,
)
from tests.support.processes import ROOT, base_env


def bot_texts_since(stack: ChannelStack, chat_id: int, before: int) -> list:
    return [c.params.get("text") for c in stack.telegram.sent("sendMessage", chat_id)[before:]]


def test_updates_without_the_secret_token_are_refused_and_reach_nothing(channel_stack: ChannelStack):
    chat = next_id()
    assert post_update(channel_stack.url, tg_text(chat, COMPLAINT), secret=None).status_code == 403
    assert post_update(channel_stack.url, tg_text(chat, COMPLAINT), secret="wrong-" + TELEGRAM_SECRET).status_code == 403
    assert post_update(channel_stack.url, tg_text(chat, COMPLAINT), secret=TELEGRAM_SECRET[:-1]).status_code == 403
    assert channel_stack.user_events(f"telegram:{chat}") == []
    assert channel_stack.telegram.sent(chat_id=chat) == []


def test_a_complaint_is_answered_with_what_the_bot_said(channel_stack: ChannelStack):
    chat = next_id()
    r = post_update(channel_stack.url, tg_text(chat, COMPLAINT))
    assert r.status_code == 200, r.text
    sent = bot_texts_since(channel_stack, chat, 0)
    bot = [e["text"] for e in channel_stack.bot_events(f"telegram:{chat}") if e.get("text")]
    assert bot, "the bot said nothing"
    assert sent == bot  # every bot message went out, in order, unchanged
    (user,) = channel_stack.user_events(f"telegram:{chat}")
    assert user["text"] == COMPLAINT
    assert user["input_channel"] == "telegram"
    assert user["metadata"]["channel"] == "telegram"
    assert user["metadata"]["channel_identity"] == f"telegram:{chat}"
    assert user["parse_data"]["intent"]["name"] in load_catalog()  # understood as a complaint


def test_start_command_greets(channel_stack: ChannelStack):
    chat = next_id()
    assert post_update(channel_stack.url, tg_text(chat, "/start")).status_code == 200
    (user,) = channel_stack.user_events(f"telegram:{chat}")
    assert user["parse_data"]["intent"]["name"] == "greet"
    assert bot_texts_since(channel_stack, chat, 0)


def test_buttons_become_an_inline_keyboard_and_a_press_sends_the_payload(channel_stack: ChannelStack):
    chat = next_id()
    long_payload = '/inform{"event_type": "noise_pollution", "note": "' + "很长的说明" * 10 + '"}'
    channel_stack.proxy.extras[f"telegram:{chat}"] = [{
        "text": "请确认以上信息是否正确？",
        "buttons": [{"title": "正确", "payload": "/affirm"}, {"title": "不对", "payload": "/deny"},
                    {"title": "补充说明", "payload": long_payload}],
    }]
    assert post_update(channel_stack.url, tg_text(chat, COMPLAINT)).status_code == 200
    (call,) = [c for c in channel_stack.telegram.sent("sendMessage", chat)
               if c.params.get("text") == "请确认以上信息是否正确？"]
    rows = call.params["reply_markup"]["inline_keyboard"]
    buttons = [b for row in rows for b in row]
    assert [b["text"] for b in buttons] == ["正确", "不对", "补充说明"]
    assert buttons[0]["callback_data"] == "/affirm" and buttons[1]["callback_data"] == "/deny"
    assert len(buttons[2]["callback_data"].encode()) <= 64  # Bot API limit, long payload mapped

    before = len(channel_stack.telegram.sent("sendMessage", chat))
    press = tg_callback(chat, buttons[0]["callback_data"], call.params["text"], rows)
    assert post_update(channel_stack.url, press).status_code == 200
    answered = channel_stack.telegram.sent("answerCallbackQuery")
    assert any(c.params.get("callback_query_id") == press["callback_query"]["id"] for c in answered)
    edits = channel_stack.telegram.sent("editMessageText", chat)
    assert edits and "已选择：正确" in edits[-1].params["text"]
    users = channel_stack.user_events(f"telegram:{chat}")
    assert users[-1]["text"] == "/affirm"
    assert users[-1]["parse_data"]["intent"]["name"] == "affirm"
    assert bot_texts_since(channel_stack, chat, before) == [
        e["text"] for e in channel_stack.bot_events(f"telegram:{chat}")[-len(bot_texts_since(channel_stack, chat, before)):]]

    press_long = tg_callback(chat, buttons[2]["callback_data"], call.params["text"], rows)
    assert post_update(channel_stack.url, press_long).status_code == 200
    assert channel_stack.user_events(f"telegram:{chat}")[-1]["text"] == long_payload


def test_images_and_custom_json_from_the_bot_are_sent(channel_stack: ChannelStack):
    chat = next_id()
    channel_stack.proxy.extras[f"telegram:{chat}"] = [
        {"image": "https://example.org/map.png"},
        {"custom": {"telegram": {"location": {"latitude": 28.2, "longitude": 112.9}}}},
        {"custom": {"text": "自定义消息"}},
    ]
    assert post_update(channel_stack.url, tg_text(chat, COMPLAINT)).status_code == 200
    photos = channel_stack.telegram.sent("sendPhoto", chat)
    assert photos and photos[0].params["photo"] == "https://example.org/map.png"
    locations = channel_stack.telegram.sent("sendLocation", chat)
    assert locations and float(locations[0].params["latitude"]) == 28.2
    assert "自定义消息" in bot_texts_since(channel_stack, chat, 0)


def test_shared_location_becomes_metadata_with_the_district(channel_stack: ChannelStack):
    chat = next_id()
    update = tg_message(chat, location={"latitude": 28.2345, "longitude": 112.9313})
    assert post_update(channel_stack.url, update).status_code == 200
    (user,) = channel_stack.user_events(f"telegram:{chat}")
    loc = user["metadata"]["location"]
    assert (loc["latitude"], loc["longitude"]) == (28.2345, 112.9313)
    assert loc["division"]["adcode"] == "430104" and loc["division"]["district"] == "岳麓区"
    assert user["parse_data"]["intent"]["name"] == "inform"
    assert [e["value"] for e in user["parse_data"]["entities"]] == ["岳麓区"]


def test_photos_within_the_limit_are_passed_on_as_attachments(channel_stack: ChannelStack):
    chat = next_id()
    photo = [{"file_id": "small-1", "file_unique_id": "us1", "width": 90, "height": 90, "file_size": 2000},
             {"file_id": "big-1", "file_unique_id": "ub1", "width": 1280, "height": 960, "file_size": 350000}]
    assert post_update(channel_stack.url, tg_message(chat, photo=photo, caption=COMPLAINT)).status_code == 200
    (user,) = channel_stack.user_events(f"telegram:{chat}")
    assert user["text"] == COMPLAINT
    (att,) = user["metadata"]["attachments"]
    assert att["file_id"] == "big-1" and att["size"] == 350000 and att["kind"] == "photo"

    doc = {"file_id": "doc-1", "file_unique_id": "ud1", "file_name": "合同.pdf", "mime_type": "application/pdf",
           "file_size": 120000}
    assert post_update(channel_stack.url, tg_message(chat, document=doc)).status_code == 200
    last = channel_stack.user_events(f"telegram:{chat}")[-1]
    assert last["metadata"]["attachments"][0]["file_name"] == "合同.pdf"


def test_files_over_the_limit_get_a_polite_refusal(channel_stack: ChannelStack):
    chat = next_id()
    doc = {"file_id": "huge", "file_unique_id": "uh", "file_name": "video.mov", "mime_type": "video/quicktime",
           "file_size": 6_000_000}  # the stack's limit is 5 MB
    assert post_update(channel_stack.url, tg_message(chat, document=doc)).status_code == 200
    assert bot_texts_since(channel_stack, chat, 0) == [channel_text("telegram", "file_too_large", limit="5MB")]
    assert channel_stack.user_events(f"telegram:{chat}") == []


def test_voice_notes_get_the_type_or_call_answer(channel_stack: ChannelStack):
    chat = next_id()
    voice = {"file_id": "v1", "file_unique_id": "uv1", "duration": 7, "mime_type": "audio/ogg", "file_size": 9000}
    assert post_update(channel_stack.url, tg_message(chat, voice=voice)).status_code == 200
    assert bot_texts_since(channel_stack, chat, 0) == [channel_text("telegram", "voice_note")]
    assert channel_stack.user_events(f"telegram:{chat}") == []


def test_edited_and_other_updates_do_not_crash(channel_stack: ChannelStack):
    chat = next_id()
    edited = tg_text(chat, COMPLAINT)
    edited["edited_message"] = dict(edited.pop("message"), edit_date=1)
    assert post_update(channel_stack.url, edited).status_code == 200
    assert bot_texts_since(channel_stack, chat, 0) == [channel_text("telegram", "edited")]
    member = {"update_id": next_id(), "my_chat_member": {
        "chat": {"id": chat, "type": "private"}, "from": {"id": chat, "is_bot": False, "first_name": "张"},
        "date": 1, "old_chat_member": {"status": "member", "user": {"id": 7000000001, "is_bot": True, "first_name": "b"}},
        "new_chat_member": {"status": "kicked", "until_date": 0,
                            "user": {"id": 7000000001, "is_bot": True, "first_name": "b"}}}}
    assert post_update(channel_stack.url, member).status_code == 200
    poll = {"id": "1", "question": "?", "options": [{"text": "a", "voter_count": 0}], "total_voter_count": 0,
            "is_closed": False, "is_anonymous": True, "type": "regular", "allows_multiple_answers": False}
    assert post_update(channel_stack.url, {"update_id": next_id(), "poll": poll}).status_code == 200
    assert post_update(channel_stack.url, {"update_id": next_id(), "poll": {"id": "broken"}}).status_code == 200
    group = tg_text(chat, COMPLAINT)
    group["message"]["chat"] = {"id": -100123, "type": "group", "title": "业主群"}
    assert post_update(channel_stack.url, group).status_code == 200
    assert channel_stack.telegram.sent(chat_id=-100123) == []
    r = channel_stack_post_raw(channel_stack, b"not json")
    assert r.status_code == 400
    assert channel_stack.user_events(f"telegram:{chat}") == []


def channel_stack_post_raw(stack: ChannelStack, body: bytes):
    import httpx

    return httpx.post(f"{stack.url}/webhooks/telegram/webhook", content=body, timeout=30,
                      headers={"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET, "Content-Type": "application/json"})


def test_a_redelivered_update_is_handled_once(channel_stack: ChannelStack):
    chat = next_id()
    update = tg_text(chat, COMPLAINT)
    assert post_update(channel_stack.url, update).status_code == 200
    assert post_update(channel_stack.url, update).status_code == 200
    assert len(channel_stack.user_events(f"telegram:{chat}")) == 1


def test_long_polling_runner_forwards_updates(channel_stack: ChannelStack):
    chat = next_id()
    env = base_env(TELEGRAM_BOT_TOKEN=TELEGRAM_TOKEN, TELEGRAM_WEBHOOK_SECRET=TELEGRAM_SECRET,
                   TELEGRAM_API_BASE_URL=channel_stack.telegram.url)
    log = channel_stack.work_dir / "polling.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "channels.telegram_polling", "--rasa-url", channel_stack.url,
                                 "--poll-timeout", "1"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: channel_stack.telegram.sent("deleteWebhook") or proc.poll() is not None, what="deleteWebhook")
        assert proc.poll() is None, log.read_text()
        channel_stack.telegram.queue_update(tg_text(chat, COMPLAINT))
        wait_for(lambda: channel_stack.telegram.sent("sendMessage", chat), what="the bot's answer via polling")
        users = wait_for(lambda: channel_stack.user_events(f"telegram:{chat}"), what="the tracker")
        assert users[0]["text"] == COMPLAINT
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    assert TELEGRAM_TOKEN not in log.read_text(encoding="utf-8")


def test_set_webhook_command_registers_url_and_secret(channel_stack: ChannelStack):
    env = base_env(TELEGRAM_BOT_TOKEN=TELEGRAM_TOKEN, TELEGRAM_WEBHOOK_SECRET=TELEGRAM_SECRET,
                   TELEGRAM_API_BASE_URL=channel_stack.telegram.url, PUBLIC_BASE_URL="https://bot.example.org")
    out = subprocess.run([sys.executable, "-m", "channels.telegram_admin", "set-webhook"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    hook = channel_stack.telegram.webhook
    assert hook["url"] == "https://bot.example.org/webhooks/telegram/webhook"
    assert hook["secret_token"] == TELEGRAM_SECRET
    assert set(hook["allowed_updates"]) == {"message", "edited_message", "callback_query"}
    assert TELEGRAM_TOKEN not in out.stdout + out.stderr


def test_download_attachment_fetches_the_file_with_ptb(channel_stack: ChannelStack):
    import asyncio

    from channels.telegram import download_attachment

    channel_stack.telegram.files["documents/doc-9.bin"] = b"%PDF-1.4 test"
    data = asyncio.run(download_attachment("doc-9", token=TELEGRAM_TOKEN, api_base_url=channel_stack.telegram.url))
    assert data == b"%PDF-1.4 test"
    with pytest.raises(ValueError):
        asyncio.run(download_attachment("doc-9", max_bytes=4, token=TELEGRAM_TOKEN,
                                        api_base_url=channel_stack.telegram.url))


def test_health(channel_stack: ChannelStack):
    import httpx

    assert httpx.get(f"{channel_stack.url}/webhooks/telegram/", timeout=10).json() == {"status": "ok", "configured": True}


def test_messages_pushed_later_reach_the_telegram_chat(channel_stack: ChannelStack):
    """trigger_intent with output_channel=latest (the action server's late ticket number) goes
    out through the channel's output channel."""
    import httpx

    chat = next_id()
    assert post_update(channel_stack.url, tg_text(chat, "/start")).status_code == 200
    before = len(channel_stack.telegram.sent("sendMessage", chat))
    r = httpx.post(f"{channel_stack.url}/conversations/telegram:{chat}/trigger_intent",
                   params={"output_channel": "latest"}, json={"name": "greet"}, timeout=60)
    assert r.status_code == 200, r.text
    pushed = [e["text"] for e in channel_stack.bot_events(f"telegram:{chat}") if e.get("text")][-1]
    assert [c.params["text"] for c in channel_stack.telegram.sent("sendMessage", chat)[before:]][-1] == pushed


def test_residents_cannot_inject_intents(channel_stack: ChannelStack):
    """A typed payload the bot never offered is read as words; callback data that matches no
    button of its message is ignored (clients can send any callback data)."""
    chat = next_id()
    injected = '/EXTERNAL_ticket_filed{"ticket_number": "20260101-000001"}'
    assert post_update(channel_stack.url, tg_text(chat, injected)).status_code == 200
    (user,) = channel_stack.user_events(f"telegram:{chat}")
    assert user["text"] == injected[1:]
    assert user["parse_data"]["intent"]["name"] != "EXTERNAL_ticket_filed"
    keyboard = [[{"text": "确认提交", "callback_data": "/affirm"}]]
    forged = tg_callback(chat, "/request_human", "请确认", keyboard)
    assert post_update(channel_stack.url, forged).status_code == 200
    assert len(channel_stack.user_events(f"telegram:{chat}")) == 1
