"""Twilio SMS over real HTTP: signed requests, TwiML <Message> replies split by segment rules,
STOP / HELP keywords."""
from __future__ import annotations

from pathlib import Path

from channels.common import text as channel_text
from channels.optout import OptOutStore
from channels.sms_segments import analyse
from tests.channels.helpers import COMPLAINT, next_id, signed_post, sms_params, twiml
from tests.channels.testenv import ChannelStack

HOOK = "/webhooks/twilio_sms/webhook"


def number() -> str:
    return f"+86139{next_id() % 100000000:08d}"


def messages(root) -> list:
    return [m.text for m in root.iter("Message")]


def test_forged_sms_gets_403_and_reaches_nothing(channel_stack: ChannelStack):
    sender = number()
    assert signed_post(channel_stack.url, HOOK, sms_params(sender, COMPLAINT), signature="").status_code == 403
    assert signed_post(channel_stack.url, HOOK, sms_params(sender, COMPLAINT), token="forged").status_code == 403
    assert signed_post(channel_stack.url, HOOK, sms_params(sender, "退订"), signature="abc=").status_code == 403
    assert channel_stack.user_events(f"sms:{sender}") == []
    assert not OptOutStore(Path(channel_stack.env["SMS_OPTOUT_PATH"])).is_opted_out(sender)


def test_a_complaint_by_sms_is_answered_in_segments_that_fit(channel_stack: ChannelStack):
    sender = number()
    long_reply = "您的诉求我们已经收到。" + "我们会尽快联系相关部门，核实情况后在规定时限内给您答复，请保持电话畅通。" * 4
    channel_stack.proxy.extras[f"sms:{sender}"] = [{"text": long_reply}]
    root = twiml(signed_post(channel_stack.url, HOOK, sms_params(sender, COMPLAINT)))
    sent = messages(root)
    (user,) = channel_stack.user_events(f"sms:{sender}")
    assert user["text"] == COMPLAINT
    assert user["metadata"]["channel"] == "sms" and user["metadata"]["phone"] == sender
    assert user["metadata"]["channel_identity"] == f"sms:{sender}"
    bot = [e["text"] for e in channel_stack.bot_events(f"sms:{sender}")]
    assert "".join(sent).replace("\n", "") == "".join(bot).replace("\n", "")  # nothing lost or added
    for body in sent:  # SMS_MAX_SEGMENTS=2 in the stack: at most 134 UCS-2 units each
        info = analyse(body)
        assert info.encoding == "UCS-2" and info.segments <= 2, (body, info)
    assert len(sent) > len(bot)  # the long reply really was split


def test_stop_start_and_help_keywords(channel_stack: ChannelStack):
    sender = number()
    store = OptOutStore(Path(channel_stack.env["SMS_OPTOUT_PATH"]))
    assert messages(twiml(signed_post(channel_stack.url, HOOK, sms_params(sender, "STOP")))) == [channel_text("sms", "stop")]
    assert store.is_opted_out(sender)
    assert messages(twiml(signed_post(channel_stack.url, HOOK, sms_params(sender, "订阅")))) == [channel_text("sms", "start")]
    assert not store.is_opted_out(sender)
    assert messages(twiml(signed_post(channel_stack.url, HOOK, sms_params(sender, " 退订 ")))) == [channel_text("sms", "stop")]
    assert store.is_opted_out(sender)
    help_text = channel_text("sms", "help")
    assert messages(twiml(signed_post(channel_stack.url, HOOK, sms_params(sender, "帮助")))) == [help_text]
    assert messages(twiml(signed_post(channel_stack.url, HOOK, sms_params(sender, "help")))) == [help_text]
    assert channel_stack.user_events(f"sms:{sender}") == []  # keywords never reach the conversation


def test_buttons_become_numbered_choices(channel_stack: ChannelStack):
    from channels.common import last_turn_choices

    sender = number()
    channel_stack.proxy.extras[f"sms:{sender}"] = [{"text": "请确认：", "buttons": [
        {"title": "确认提交", "payload": "/affirm"}, {"title": "重新填写", "payload": "/deny"}]}]
    root = twiml(signed_post(channel_stack.url, HOOK, sms_params(sender, COMPLAINT)))
    assert "请确认：\n回复1：确认提交\n回复2：重新填写" in messages(root)
    # a lone digit answers the last menu of the bot's last turn (ours, or one the bot added after it)
    menu = last_turn_choices(channel_stack.tracker(f"sms:{sender}")["events"])
    twiml(signed_post(channel_stack.url, HOOK, sms_params(sender, "2")))
    last = channel_stack.user_events(f"sms:{sender}")[-1]
    assert last["text"] == menu["buttons"][1]["payload"]
    assert last["metadata"]["sms_choice"] is True


def test_mms_media_become_attachments(channel_stack: ChannelStack):
    sender = number()
    media = "https://api.twilio.com/2010-04-01/Accounts/AC/Messages/MM1/Media/ME1"
    twiml(signed_post(channel_stack.url, HOOK, sms_params(sender, COMPLAINT, NumMedia="1", MediaUrl0=media,
                                                          MediaContentType0="image/jpeg")))
    (user,) = channel_stack.user_events(f"sms:{sender}")
    assert user["metadata"]["attachments"] == [{"source": "twilio", "kind": "mms", "url": media,
                                                "mime_type": "image/jpeg"}]


def test_messages_pushed_later_go_out_through_the_twilio_rest_api(channel_stack: ChannelStack):
    """rasa's trigger_intent with output_channel=latest (how the action server announces a ticket
    number delivered later) reaches an SMS resident through the REST client."""
    import httpx

    from tests.channels.fakes import wait_for
    from tests.channels.testenv import SMS_FROM

    sender = number()
    twiml(signed_post(channel_stack.url, HOOK, sms_params(sender, "你好")))
    before = len(channel_stack.bot_events(f"sms:{sender}"))
    r = httpx.post(f"{channel_stack.url}/conversations/sms:{sender}/trigger_intent",
                   params={"output_channel": "latest"}, json={"name": "greet"}, timeout=60)
    assert r.status_code == 200, r.text
    pushed = [e["text"] for e in channel_stack.bot_events(f"sms:{sender}")[before:] if e.get("text")]
    assert pushed
    squash = lambda t: "".join(t.split())  # noqa: E731
    wait_for(lambda: squash("".join(m["Body"] for m in channel_stack.twilio.sent_to(sender))) == squash("".join(pushed)),
             what="the pushed SMS")
    assert all(m["From"] == SMS_FROM for m in channel_stack.twilio.sent_to(sender))


def test_typed_payloads_are_read_as_words(channel_stack: ChannelStack):
    sender = number()
    twiml(signed_post(channel_stack.url, HOOK, sms_params(sender, '/EXTERNAL_ticket_filed{"ticket_number": "1"}')))
    (user,) = channel_stack.user_events(f"sms:{sender}")
    assert not user["text"].startswith("/")
    assert user["parse_data"]["intent"]["name"] != "EXTERNAL_ticket_filed"
