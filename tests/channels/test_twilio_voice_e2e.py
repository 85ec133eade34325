"""Twilio voice over real HTTP: requests signed with twilio's RequestValidator for the public URL,
TwiML parsed and checked, the conversation in the tracker, drafts in the routing backend."""
from __future__ import annotations

import re
from typing import List
from urllib.parse import parse_qs, urlparse

from channels.common import text as channel_text
from routing.catalog import load_catalog
from tests.channels.helpers import COMPLAINT, call_params, next_id, signed_post, twiml
from tests.channels.testenv import PUBLIC_BASE_URL, TWILIO_TOKEN, ChannelStack

HOOK = "/webhooks/twilio_voice/webhook"
STATUS = "/webhooks/twilio_voice/status"


def sid() -> str:
    return f"CA{next_id():032d}"


def says(root) -> List[str]:
    return [e.text for e in root.iter("Say")]


def gather_of(root):
    (gather,) = root.findall("Gather")
    return gather


def query_of(url: str) -> dict:
    return {k: v[0] for k, v in parse_qs(urlparse(url).query).items()}


def check_speech(root) -> None:
    """Every <Say> is Mandarin with the configured voice."""
    for say in root.iter("Say"):
        assert say.get("language") == "zh-CN"
        assert say.get("voice") == "Polly.Zhiyu"


def test_forged_requests_get_403_and_reach_nothing(channel_stack: ChannelStack):
    call = sid()
    params = call_params(call, SpeechResult=COMPLAINT)
    # no signature, a signature with the wrong token, a signature for the internal URL instead of
    # the public one, a parameter changed after signing
    assert signed_post(channel_stack.url, HOOK, params, signature="").status_code == 403
    assert signed_post(channel_stack.url, HOOK, params, token="not-" + TWILIO_TOKEN).status_code == 403
    from twilio.request_validator import RequestValidator

    internal = RequestValidator(TWILIO_TOKEN).compute_signature(f"{channel_stack.url}{HOOK}", params)
    assert signed_post(channel_stack.url, HOOK, params, signature=internal).status_code == 403
    good = RequestValidator(TWILIO_TOKEN).compute_signature(f"{PUBLIC_BASE_URL}{HOOK}", params)
    tampered = dict(params, SpeechResult="我要投诉邻居")
    assert signed_post(channel_stack.url, HOOK, tampered, signature=good).status_code == 403
    assert signed_post(channel_stack.url, STATUS, dict(params, CallStatus="completed"),
                       signature=good).status_code == 403
    assert channel_stack.user_events(call) == []
    # and the same request, correctly signed, is accepted
    assert signed_post(channel_stack.url, HOOK, params, signature=good).status_code == 200


def test_call_start_gathers_mandarin_speech_with_hints(channel_stack: ChannelStack):
    call = sid()
    root = twiml(signed_post(channel_stack.url, HOOK, call_params(call)))
    assert root.tag == "Response"
    gather = gather_of(root)
    assert gather.get("input") == "speech dtmf"
    assert gather.get("language") == "zh-CN"
    assert gather.get("method") == "POST"
    assert gather.get("action").startswith(f"{PUBLIC_BASE_URL}{HOOK}?")
    assert query_of(gather.get("action")) == {"event": "gather", "retry": "0"}
    assert gather.get("actionOnEmptyResult") == "true"
    hints = gather.get("hints").split(",")
    assert {t.name for t in load_catalog()} <= set(hints)
    assert {"岳麓区", "长沙市"} <= set(hints)
    check_speech(root)
    bot = [e["text"] for e in channel_stack.bot_events(call)]
    assert bot and says(gather) == bot
    (user,) = channel_stack.user_events(call)
    assert user["parse_data"]["intent"]["name"] == "greet"
    assert user["metadata"]["phone"] == "+8613800001111"
    assert user["metadata"]["channel_identity"] == "voice:+8613800001111"
    assert user["metadata"]["channel"] == "voice"


def test_speech_goes_to_the_conversation_and_the_reply_is_spoken(channel_stack: ChannelStack):
    call = sid()
    signed_post(channel_stack.url, HOOK, call_params(call))
    root = twiml(signed_post(channel_stack.url, HOOK, call_params(call, SpeechResult=COMPLAINT, Confidence="0.91"),
                             query={"event": "gather", "retry": "0"}))
    users = channel_stack.user_events(call)
    assert users[-1]["text"] == COMPLAINT
    assert users[-1]["metadata"]["voice"] == {"input": "speech", "confidence": 0.91}
    turn = [e["text"] for e in channel_stack.tracker(call)["events"]
            if e.get("event") == "bot" and e["timestamp"] > users[-1]["timestamp"]]
    assert turn and says(gather_of(root)) == turn
    check_speech(root)


def test_yes_no_questions_take_keypad_answers(channel_stack: ChannelStack):
    from channels.common import is_yes_no, last_turn_choices
    from channels.twilio_voice import choice_prompt

    call = sid()
    signed_post(channel_stack.url, HOOK, call_params(call))  # the greeting turn (its own action call)
    channel_stack.proxy.extras[call] = [{"text": "您反映的是噪音问题，对吗？",
                                         "buttons": [{"title": "对", "payload": "/affirm"},
                                                     {"title": "不对", "payload": "/deny"}]}]
    root = twiml(signed_post(channel_stack.url, HOOK, call_params(call, SpeechResult=COMPLAINT),
                             query={"event": "gather", "retry": "0"}))
    gather = gather_of(root)
    assert gather.get("numDigits") == "1"
    assert "您反映的是噪音问题，对吗？" in says(gather)
    # the keypad menu read out is the last one the bot offered in this turn (ours is yes/no; the
    # bot may add its own read-back after it)
    menu = last_turn_choices(channel_stack.tracker(call)["events"])
    assert says(gather)[-1] == choice_prompt(menu["buttons"])
    if is_yes_no(menu["buttons"]):
        assert says(gather)[-1] == "确认请按1，否认请按2。"
    root = twiml(signed_post(channel_stack.url, HOOK, call_params(call, Digits="1"),
                             query={"event": "gather", "retry": "0"}))
    last = channel_stack.user_events(call)[-1]
    assert last["text"] == menu["buttons"][0]["payload"]
    assert last["metadata"]["voice"] == {"input": "dtmf", "digit": "1"}
    check_speech(root)


def test_silence_is_reprompted_then_a_person_offered_then_transferred(channel_stack: ChannelStack):
    call = sid()
    start = twiml(signed_post(channel_stack.url, HOOK, call_params(call)))
    question = says(gather_of(start))[-1]
    events_before = len(channel_stack.tracker(call)["events"])
    retry = "0"
    for round_ in (1, 2, 3):
        root = twiml(signed_post(channel_stack.url, HOOK, call_params(call), query={"event": "gather", "retry": retry}))
        gather = gather_of(root)
        lines = says(gather)
        assert lines[0] == channel_text("voice", "no_match")
        assert question in lines  # the last question is asked again
        assert (channel_text("voice", "offer_human") in lines) == (round_ == 3)
        retry = query_of(gather.get("action"))["retry"]
        assert retry == str(round_)
        check_speech(root)
    root = twiml(signed_post(channel_stack.url, HOOK, call_params(call), query={"event": "gather", "retry": retry}))
    assert [e.tag for e in root] == ["Say", "Dial"]
    assert root.find("Dial").text == "+8673112345"
    assert says(root) == [channel_text("voice", "transfer")]
    # silence never reached the conversation
    assert len(channel_stack.tracker(call)["events"]) == events_before


def test_zero_asks_for_a_person_and_bad_keys_are_reprompted(channel_stack: ChannelStack):
    call = sid()
    signed_post(channel_stack.url, HOOK, call_params(call))
    root = twiml(signed_post(channel_stack.url, HOOK, call_params(call, Digits="7"),
                             query={"event": "gather", "retry": "0"}))
    assert says(gather_of(root))[0] == channel_text("voice", "invalid_digit")
    root = twiml(signed_post(channel_stack.url, HOOK, call_params(call, Digits="0"),
                             query={"event": "gather", "retry": "0"}))
    assert root.find("Dial") is not None
    assert len(channel_stack.user_events(call)) == 1  # only the call start


def _voice_tickets(stack: ChannelStack) -> list:
    with stack.operator() as client:
        r = client.get("/api/tickets", params={"channel": "voice", "limit": 200})
        r.raise_for_status()
        return r.json()["items"]


def _drafts_with(stack: ChannelStack, fragment: str) -> list:
    with stack.operator() as client:
        r = client.get("/api/tickets", params={"channel": "voice", "q": fragment})
        r.raise_for_status()
        return [stack.ticket(s["number"]) for s in r.json()["items"]]


def test_hang_up_mid_intake_leaves_a_draft_for_an_operator(channel_stack: ChannelStack):
    call = sid()
    caller = "+8613800002222"
    marker = f"编号{next_id()}"
    signed_post(channel_stack.url, HOOK, call_params(call, caller=caller))
    signed_post(channel_stack.url, HOOK, call_params(call, caller=caller, SpeechResult=COMPLAINT + marker),
                query={"event": "gather", "retry": "0"})
    for _ in range(2):  # Twilio may repeat a status callback: one draft only
        r = signed_post(channel_stack.url, STATUS, call_params(call, caller=caller, CallStatus="completed",
                                                               CallDuration="42"))
        assert r.status_code == 204
    (draft,) = _drafts_with(channel_stack, marker)
    assert draft["needs_operator"] is True
    assert draft["state"] == "received"
    assert draft["original_text"].startswith(channel_text("voice", "draft_header"))
    assert f"{channel_text('voice', 'draft_caller')}：{COMPLAINT}{marker}" in draft["original_text"]
    guess = re.search(r"系统初判：(\S+)（置信度 0\.\d\d）", draft["original_text"])
    assert guess and guess.group(1) in {t.name for t in load_catalog()}
    assert draft["reporter"]["phone"] == caller
    assert draft["reporter"]["channel_identity"] == f"voice:{caller}"


def test_withheld_caller_id_leaves_an_anonymous_draft(channel_stack: ChannelStack):
    call = sid()
    marker = f"编号{next_id()}"
    signed_post(channel_stack.url, HOOK, call_params(call, caller="+266696687"))
    signed_post(channel_stack.url, HOOK, call_params(call, caller="+266696687", SpeechResult=COMPLAINT + marker),
                query={"event": "gather", "retry": "0"})
    meta = channel_stack.user_events(call)[-1]["metadata"]
    assert "phone" not in meta and "channel_identity" not in meta and meta["caller_id_withheld"] is True
    signed_post(channel_stack.url, STATUS, call_params(call, caller="+266696687", CallStatus="completed"))
    (draft,) = _drafts_with(channel_stack, marker)
    assert not (draft.get("reporter") or {}).get("phone")


def test_a_call_without_words_leaves_no_draft(channel_stack: ChannelStack):
    call = sid()
    before = len(_voice_tickets(channel_stack))
    signed_post(channel_stack.url, HOOK, call_params(call))
    r = signed_post(channel_stack.url, STATUS, call_params(call, CallStatus="completed"))
    assert r.status_code == 204
    assert len(_voice_tickets(channel_stack)) == before


def test_asking_for_a_person_transfers_the_call(channel_stack: ChannelStack):
    call = sid()
    signed_post(channel_stack.url, HOOK, call_params(call))
    root = twiml(signed_post(channel_stack.url, HOOK, call_params(call, SpeechResult="我要转人工客服"),
                             query={"event": "gather", "retry": "0"}))
    assert channel_stack.user_events(call)[-1]["parse_data"]["intent"]["name"] == "request_human"
    assert [e.tag for e in root][-1] == "Dial" and root.find("Dial").text == "+8673112345"
    bot = [e["text"] for e in channel_stack.bot_events(call)][1:]
    assert says(root) == bot  # the bot's answer is spoken before the transfer
