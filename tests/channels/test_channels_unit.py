"""Unit tests of the channels' pure logic: SMS segments, keywords, choices, TwiML, drafts,
Telegram keyboards and payloads, geography, log redaction."""
from __future__ import annotations

import logging
import xml.etree.ElementTree as ET

import pytest

from channels import logsafe
from channels.common import digit_choices, is_yes_no, last_bot_message, last_bot_turn, public_url, text
from channels.geo import nearest_district
from channels.sms_segments import GSM7, UCS2, analyse, segments, split_message
from channels.telegram import CALLBACK_DATA_BYTES, CallbackPayloads, chat_id_of, keyboard_for, split_text
from channels.twilio_common import caller_number, slot_value
from channels.twilio_sms import keyword, reply_texts
from channels.twilio_voice import (
    TwimlBuilder, VoiceSettings, choice_prompt, draft_body, said_something, spoken_lines, transcript,
    wants_anonymity,
)

YES_NO = [{"title": "是", "payload": "/affirm"}, {"title": "否", "payload": "/deny"}]


# --------------------------------------------------------------------------- SMS segments
@pytest.mark.parametrize("body, encoding, units, count", [
    ("", GSM7, 0, 0),
    ("a" * 160, GSM7, 160, 1),
    ("a" * 161, GSM7, 161, 2),
    ("a" * 306, GSM7, 306, 2),
    ("a" * 307, GSM7, 307, 3),
    ("中" * 70, UCS2, 70, 1),
    ("中" * 71, UCS2, 71, 2),
    ("中" * 134, UCS2, 134, 2),
    ("中" * 135, UCS2, 135, 3),
    ("a" * 69 + "中", UCS2, 70, 1),           # one Chinese character makes the whole text UCS-2
    ("{" * 80, GSM7, 160, 1),                 # extension characters cost two septets
    ("{" * 81, GSM7, 162, 2),
    ("😀" * 35, UCS2, 70, 1),                 # outside the BMP: two UTF-16 units each
    ("😀" * 36, UCS2, 72, 2),
    ("ASCII but `backtick`", UCS2, 20, 1),    # ` is not in the GSM alphabet
])
def test_segment_rules(body, encoding, units, count):
    info = analyse(body)
    assert (info.encoding, info.units, info.segments) == (encoding, units, count)


def test_segments_never_split_a_character():
    parts = segments("中" * 66 + "😀" + "中" * 10)
    assert parts[0] == "中" * 66  # the emoji (2 units) does not fit in the 67th unit
    assert parts[1].startswith("😀")
    gsm = segments("a" * 152 + "{" + "b" * 10)
    assert gsm[0] == "a" * 152 and gsm[1].startswith("{")


@pytest.mark.parametrize("max_segments", [1, 2, 3])
def test_split_message_fits_and_loses_nothing(max_segments):
    body = ("您反映的噪音问题已交由岳麓区城管局办理。" * 3 + "如有疑问请拨打12345，我们将在五个工作日内答复您！") * 4
    chunks = split_message(body, max_segments)
    assert "".join(chunks) == body
    for chunk in chunks:
        assert analyse(chunk).segments <= max_segments
    # cut after sentence ends where possible
    assert all(c[-1] in "。！，" for c in chunks[:-1])


def test_split_message_short_and_ascii():
    assert split_message("  好的  ") == ["好的"]
    assert split_message("") == []
    body = "Your ticket has been received. " * 10
    chunks = split_message(body, 1)
    assert all(len(c) <= 160 for c in chunks) and len(chunks) == 2


def test_split_without_break_points_cuts_at_the_budget():
    chunks = split_message("中" * 150, 1)
    assert [len(c) for c in chunks] == [70, 70, 10]


# --------------------------------------------------------------------------- SMS keywords, replies
@pytest.mark.parametrize("body, expected", [
    ("STOP", "stop"), ("stop", "stop"), (" Stop. ", "stop"), ("退订", "stop"), ("TD", "stop"),
    ("UNSUBSCRIBE", "stop"), ("START", "start"), ("订阅", "start"), ("HELP", "help"), ("帮助", "help"),
    ("请帮助我", None), ("停止施工", None), ("stop the noise", None), ("1", None),
])
def test_keywords(body, expected):
    assert keyword(body) == expected


def test_reply_texts_number_buttons_and_keep_links():
    out = reply_texts([
        {"text": "请选择：", "buttons": [{"title": "噪音", "payload": "/a"}, {"title": "油烟", "payload": "/b"}]},
        {"image": "https://example.org/x.png"},
        {"custom": {"sms": {"text": "短信专用"}}},
        {"custom": {"other": 1}},
    ])
    assert out == ["请选择：\n回复1：噪音\n回复2：油烟", "https://example.org/x.png", "短信专用"]


# --------------------------------------------------------------------------- choices
def test_yes_no_and_digit_choices():
    assert is_yes_no(YES_NO)
    assert not is_yes_no(list(reversed(YES_NO)))
    assert not is_yes_no([{"title": "a", "payload": "/affirm"}])
    assert is_yes_no([{"title": "是", "payload": '/affirm{"x": 1}'}, {"title": "否", "payload": "/deny"}])
    menu = [{"title": str(i), "payload": f"/p{i}"} for i in range(12)]
    choices = digit_choices(menu)
    assert list(choices) == [str(d) for d in range(1, 10)]  # 0 is kept for the operator
    assert choices["1"]["payload"] == "/p0"


def test_last_bot_message_and_turn():
    events = [{"event": "bot", "text": "你好", "data": {}},
              {"event": "user", "text": "x"},
              {"event": "bot", "text": "对吗？", "data": {"buttons": YES_NO}},
              {"event": "action", "name": "action_listen"}]
    assert last_bot_message(events) == {"text": "对吗？", "buttons": YES_NO}
    assert last_bot_turn(events) == [{"text": "对吗？", "buttons": YES_NO}]
    assert last_bot_message([]) is None


def test_public_url_rebuilds_the_signed_url():
    assert public_url("https://bot.example.org/", "/webhooks/x/webhook", "a=1&b=2") == \
        "https://bot.example.org/webhooks/x/webhook?a=1&b=2"
    assert public_url("https://bot.example.org/prefix", "/webhooks/x", "") == "https://bot.example.org/prefix/webhooks/x"
    assert public_url(None, "/x") is None


def test_texts_come_from_the_data_file():
    assert text("voice", "yes_no") == "确认请按1，否认请按2。"
    assert "12345" in text("telegram", "voice_note")


# --------------------------------------------------------------------------- voice
def _builder(**kw) -> TwimlBuilder:
    settings = VoiceSettings(auth_token="t", public_base_url="https://p.example.org", hints=("噪声污染", "岳麓区"), **kw)
    return TwimlBuilder(settings, lambda q: "https://p.example.org/webhooks/twilio_voice/webhook?" +
                        "&".join(f"{k}={v}" for k, v in q.items()))


def test_gather_twiml():
    root = ET.fromstring(_builder().gather(["您好。", "请问在哪里？"], retry=1, buttons=YES_NO, offer_human=True))
    gather = root.find("Gather")
    assert gather.get("input") == "speech dtmf" and gather.get("language") == "zh-CN"
    assert gather.get("hints") == "噪声污染,岳麓区"
    assert gather.get("numDigits") == "1" and gather.get("speechTimeout") == "auto"
    assert gather.get("action").endswith("event=gather&retry=1")
    assert [s.text for s in gather.iter("Say")] == ["您好。", "请问在哪里？", "确认请按1，否认请按2。", "如需人工服务，请按0。"]
    assert {s.get("voice") for s in gather.iter("Say")} == {"Polly.Zhiyu"}
    assert root.find("Redirect").text.endswith("event=silence&retry=2")


def test_transfer_with_and_without_an_operator_number():
    root = ET.fromstring(_builder(operator_number="+8673112345").transfer())
    assert root.find("Dial").text == "+8673112345"
    root = ET.fromstring(_builder().transfer())
    assert root.find("Dial") is None and root.find("Hangup") is not None
    assert root.find("Say").text == text("voice", "no_operator")


def test_choice_prompt_reads_menus():
    assert choice_prompt(YES_NO) == "确认请按1，否认请按2。"
    assert choice_prompt([{"title": "噪音", "payload": "/a"}, {"title": "油烟", "payload": "/b"},
                          {"title": "其他", "payload": "/c"}]) == "噪音请按1。油烟请按2。其他请按3。"
    assert choice_prompt([]) is None


def test_spoken_lines_and_custom_controls():
    lines, buttons, flags = spoken_lines([{"text": "a"}, {"text": "b", "buttons": YES_NO},
                                          {"image": "https://x/y.png"}, {"custom": {"voice": {"text": "c", "hangup": True}}}])
    assert lines == ["a", "b", "c"] and buttons == YES_NO and flags == {"hangup": True, "transfer": False}


EVENTS = [
    {"event": "user", "text": "/greet", "parse_data": {"intent": {"name": "greet", "confidence": 1}}, "metadata": {}},
    {"event": "bot", "text": "您好，请说说您遇到的问题。"},
    {"event": "user", "text": "楼下烧烤店半夜噪音太大", "metadata": {},
     "parse_data": {"intent": {"name": "noise_pollution", "confidence": 0.87},
                    "entities": [{"entity": "location", "value": "岳麓区桃子湖社区"}]}},
    {"event": "bot", "text": "收到。请问您的联系电话？"},
    {"event": "user", "text": "/affirm", "metadata": {"voice": {"input": "dtmf", "digit": "1"}},
     "parse_data": {"intent": {"name": "affirm", "confidence": 1}}},
]


def test_transcript_and_draft():
    assert transcript(EVENTS).splitlines() == [
        "机器人：您好，请说说您遇到的问题。", "市民：楼下烧烤店半夜噪音太大", "机器人：收到。请问您的联系电话？", "市民：（按键 1）"]
    body = draft_body(EVENTS, "+8613800001111", anonymous=False)
    # the guess is kept as the type; needs_operator sends it to the intake desk to be confirmed
    assert body["channel"] == "voice" and body["event_type"] == "noise_pollution" and body["needs_operator"] is True
    assert body["text"].splitlines()[0] == text("voice", "draft_header")
    assert "系统初判：" in body["text"].splitlines()[1] and "0.87" in body["text"]
    assert body["location_text"] == "岳麓区桃子湖社区"
    assert body["reporter"] == {"phone": "+8613800001111", "channel_identity": "voice:+8613800001111",
                                "anonymous": False}
    assert draft_body(EVENTS, "+8613800001111", anonymous=True)["reporter"] == {"anonymous": True}
    assert "reporter" not in draft_body(EVENTS, None, anonymous=False)


def test_said_something_and_anonymity():
    assert said_something(EVENTS)
    assert not said_something(EVENTS[:2])
    assert not wants_anonymity(EVENTS, "anonymous")
    assert wants_anonymity(EVENTS + [{"event": "user", "text": "我不想留名字",
                                      "parse_data": {"intent": {"name": "stay_anonymous"}}}], "anonymous")
    assert wants_anonymity(EVENTS + [{"event": "slot", "name": "anonymous", "value": True}], "anonymous")
    assert slot_value([{"event": "slot", "name": "n", "value": 1}, {"event": "session_started"}], "n") is None


@pytest.mark.parametrize("raw, expected", [
    ("+8613800001111", "+8613800001111"), ("8613800001111", "+8613800001111"), ("+266696687", None),
    ("anonymous", None), ("Restricted", None), ("", None), (None, None), ("client:alice", None),
])
def test_caller_number(raw, expected):
    assert caller_number(raw) == expected


# --------------------------------------------------------------------------- Telegram
def test_callback_payloads_fit_the_bot_api_limit():
    payloads = CallbackPayloads(capacity=2)
    assert payloads.data_for("/affirm") == "/affirm"
    long = '/inform{"note": "' + "很长" * 30 + '"}'
    key = payloads.data_for(long)
    assert len(key.encode()) <= CALLBACK_DATA_BYTES and payloads.payload_for(key) == long
    assert payloads.payload_for("/affirm") == "/affirm"
    payloads.data_for(long + "1")
    payloads.data_for(long + "2")
    assert payloads.payload_for(key) is None  # evicted: the channel falls back to the title


def test_keyboard_layout():
    short = keyboard_for(YES_NO, CallbackPayloads())
    assert [[b.text for b in row] for row in short.inline_keyboard] == [["是", "否"]]
    long = keyboard_for([{"title": "这是一个很长很长的选项", "payload": "/a"}, {"title": "b", "payload": "/b"}],
                        CallbackPayloads())
    assert len(long.inline_keyboard) == 2
    link = keyboard_for([{"title": "查看", "type": "web_url", "url": "https://example.org"}], CallbackPayloads())
    assert link.inline_keyboard[0][0].url == "https://example.org"


def test_telegram_helpers():
    assert chat_id_of("telegram:12345") == 12345 and chat_id_of("-100987") == -100987
    parts = split_text("行\n" * 3000)
    assert all(len(p) <= 4096 for p in parts) and "".join(parts).count("行") == 3000


# --------------------------------------------------------------------------- geography
def test_nearest_district():
    d = nearest_district(28.2345, 112.9313)
    assert (d.adcode, d.province, d.city, d.district) == ("430104", "湖南省", "长沙市", "岳麓区")
    assert nearest_district(51.5, -0.12) is None
    assert nearest_district(200, 0) is None


# --------------------------------------------------------------------------- log redaction
def test_redaction_of_known_secrets_and_patterns():
    logsafe.register_secret("s3cr3t-value-for-test")
    assert logsafe.redact("token s3cr3t-value-for-test!") == "token [REDACTED]!"
    url = "POST https://api.telegram.org/bot123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsawq/sendMessage"
    assert "AAHdq" not in logsafe.redact(url)
    assert logsafe.redact("Authorization: Bearer abc.def") == "Authorization: Bearer [REDACTED]"
    assert logsafe.redact("https://AC123:tok@api.twilio.com/x") == "https://[REDACTED]@api.twilio.com/x"
    assert logsafe.redact("secret_token=xyz&a=1") == "secret_token=[REDACTED]&a=1"
    assert logsafe.register_secret("abc") is None and logsafe.redact("abc") == "abc"  # too short to redact


def test_log_records_are_redacted_whatever_the_handler(caplog):
    logsafe.register_secret("another-secret-1234")
    logsafe.install()
    logger = logging.getLogger("tests.channels.redaction")
    with caplog.at_level(logging.INFO, logger="tests.channels.redaction"):
        logger.info("calling %s", "https://x/botanother-secret-1234/getMe")
        try:
            raise RuntimeError("The token `another-secret-1234` was rejected")
        except RuntimeError:
            logger.exception("failed")
    assert "another-secret-1234" not in caplog.text
    assert caplog.text.count("[REDACTED]") >= 2


# --------------------------------------------------------------------------- voice: slow replies
def test_a_slow_bot_gets_a_please_wait_and_the_answer_on_the_next_request():
    """Twilio waits 15 s at most: past VOICE_REPLY_TIMEOUT the caller hears 请稍等 and Twilio is
    redirected back (event=wait) for the answer, which kept being computed meanwhile."""
    import asyncio
    from types import SimpleNamespace

    from channels.twilio_voice import TwilioVoiceInput

    async def scenario():
        release = asyncio.Event()

        async def slow_bot(message):
            await release.wait()  # the bot cannot answer before the test says so
            await message.output_channel.send_response(message.sender_id, {"text": "收到，请问具体在哪里？"})

        channel = TwilioVoiceInput(VoiceSettings(auth_token="t", public_base_url="https://p.example.org",
                                                 reply_timeout=0.01))
        builder = _builder()
        params = {"CallSid": ["CA1"], "From": ["+8613800001111"], "SpeechResult": ["楼下噪音"]}

        def request(**args):
            return SimpleNamespace(args=args, app=SimpleNamespace(ctx=SimpleNamespace(agent=None)))

        first = ET.fromstring(await channel.turn(request(event="gather", retry="0"), params, builder, slow_bot))
        assert [s.text for s in first.iter("Say")] == [text("voice", "please_wait")]
        assert first.find("Redirect").text.endswith("event=wait&retry=0")
        release.set()
        channel.s.reply_timeout = 60  # a hang guard now: the answer is ready
        second = ET.fromstring(await channel.turn(request(event="wait", retry="0"), {"CallSid": ["CA1"]}, builder,
                                                  slow_bot))
        assert [s.text for s in second.find("Gather").iter("Say")] == ["收到，请问具体在哪里？"]
        assert channel.pending == {}

    asyncio.run(scenario())


def test_report_on_record_by_slot_or_response():
    from channels.twilio_voice import report_on_record

    settings = VoiceSettings()
    assert not report_on_record(EVENTS, settings)
    assert report_on_record(EVENTS + [{"event": "slot", "name": "ticket_number", "value": "20261123-000001"}], settings)
    queued = {"event": "bot", "text": "您的反映已经记录下来了。", "metadata": {"utter_action": "utter_ticket_queued"}}
    assert report_on_record(EVENTS + [queued], settings)


def test_payloads_only_when_offered():
    from channels.common import guard_payload, offered_payloads

    events = [{"event": "bot", "text": "对吗？", "data": {"buttons": YES_NO}}, {"event": "user", "text": "x"}]
    offered = offered_payloads(events)
    assert offered == {"/affirm", "/deny"}
    assert guard_payload("/affirm", offered) == "/affirm"
    assert guard_payload('/EXTERNAL_ticket_filed{"ticket_number": "20260101-000001"}', offered) == \
        'EXTERNAL_ticket_filed{"ticket_number": "20260101-000001"}'
    assert guard_payload("/request_human", set()) == "request_human"
    assert guard_payload("楼下/门口很吵", set()) == "楼下/门口很吵"
    assert guard_payload("/ 12", set()) == "/ 12"


def test_the_rest_channel_cannot_be_told_it_is_another_channel():
    from types import SimpleNamespace

    from channels.rest import RestInput

    forged = SimpleNamespace(json={"sender": "700001", "message": "我的待办", "input_channel": "telegram"})
    assert RestInput()._extract_input_channel(forged) == "rest"
