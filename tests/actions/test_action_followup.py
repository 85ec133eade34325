"""After the ticket: status, add information, urge, rate, reopen — through the backend's reporter
endpoints, with the reporter check."""
from __future__ import annotations

import uuid

from actions.backend_client import BackendClient, idempotency_key
from actions.followup import (ActionAddInformation, ActionRate, ActionReopen, ActionTicketStatus, ActionUrge,
                              ValidateSupplementForm, parse_rating, supplement_content)
from action_helpers import ent, message, operator_act, operator_get, responses, run, slots_of, tracker


def _file(sender: str, event_type: str = "noise_pollution", text: str = "楼下KTV每天唱到凌晨两点") -> str:
    payload = {"text": text, "channel": "web", "event_type": event_type, "location_text": "岳麓区桃子湖社区",
               "reporter": {"channel_identity": f"rest:{sender}", "phone": "13812345678", "anonymous": False}}
    return BackendClient().create_ticket(payload, idempotency_key("test", sender, text))["number"]


def _resolve(url: str, number: str) -> None:
    operator_act(url, number, "dispatch")
    operator_act(url, number, "accept")
    operator_act(url, number, "resolve", reply="已责令KTV晚十点后停止营业")


def test_status_without_a_number_finds_the_ticket_the_message_names(domain, backend_url):
    sender = f"s-{uuid.uuid4().hex[:8]}"
    noise = _file(sender)
    _file(sender, "sanitation", "小区垃圾没人清理")
    msgs, events = run(ActionTicketStatus(), tracker(message("我上周反映的噪音问题怎么样了", intent="ask_status"),
                                                     sender=sender), domain)
    assert responses(msgs) == ["utter_status"]
    assert msgs[0]["number"] == noise and msgs[0]["state"] and msgs[0]["department"]
    assert slots_of(events)["ticket_number"] == noise


def test_status_with_a_number_checks_the_reporter(domain, backend_url):
    sender = f"s-{uuid.uuid4().hex[:8]}"
    number = _file(sender)
    ask = message(f"工单{number}现在什么进度", intent="ask_status", entities=[ent("ticket_number", number)])
    msgs, _ = run(ActionTicketStatus(), tracker(ask, sender=sender), domain)
    assert responses(msgs) == ["utter_status"] and msgs[0]["number"] == number
    # somebody else asking about the same number learns nothing
    msgs, _ = run(ActionTicketStatus(), tracker(ask, sender="someone-else"), domain)
    assert responses(msgs) == ["utter_ticket_not_found"]
    # …unless they give the phone number's last four digits (slot phone of their conversation)
    msgs, _ = run(ActionTicketStatus(), tracker(ask, sender="other-phone", slots={"phone": "13812345678"}), domain)
    assert responses(msgs) == ["utter_status"]


def test_no_tickets_asks_for_the_number(domain, backend_url):
    msgs, _ = run(ActionTicketStatus(), tracker(message("查一下我的工单", intent="ask_status"),
                                                sender=f"new-{uuid.uuid4().hex[:8]}"), domain)
    assert responses(msgs) == ["utter_no_tickets"]


def test_urge_counts(domain, backend_url):
    sender = f"s-{uuid.uuid4().hex[:8]}"
    number = _file(sender)
    msgs, _ = run(ActionUrge(), tracker(message("能不能快点处理", intent="urge"), sender=sender,
                                        slots={"ticket_number": number}), domain)
    assert responses(msgs) == ["utter_urged"] and msgs[0]["count"] == 1
    assert operator_get(backend_url, f"/api/tickets/{number}")["urge_count"] == 1


def test_rating_waits_for_resolution_then_is_recorded_once(domain, backend_url):
    sender = f"s-{uuid.uuid4().hex[:8]}"
    number = _file(sender)
    msgs, _ = run(ActionRate(), tracker(message("非常满意", intent="rate_satisfaction"), sender=sender), domain)
    assert responses(msgs) == ["utter_rate_not_yet"]
    _resolve(backend_url, number)
    msgs, _ = run(ActionTicketStatus(), tracker(message("查一下我的工单", intent="ask_status"), sender=sender), domain)
    assert responses(msgs) == ["utter_status", "utter_status_resolution", "utter_ask_rating"]
    msgs, _ = run(ActionRate(), tracker(message("非常满意", intent="rate_satisfaction"), sender=sender), domain)
    assert responses(msgs) == ["utter_rated"] and msgs[0]["rating"] == 5
    ticket = operator_get(backend_url, f"/api/tickets/{number}")
    assert ticket["rating"] == 5 and ticket["state"] == "closed"
    msgs, _ = run(ActionRate(), tracker(message("满意", intent="rate_satisfaction"), sender=sender,
                                        slots={"ticket_number": number}), domain)
    assert responses(msgs) == ["utter_rate_already"]


def test_reopen_after_resolution(domain, backend_url):
    sender = f"s-{uuid.uuid4().hex[:8]}"
    number = _file(sender)
    msgs, _ = run(ActionReopen(), tracker(message("问题根本没解决", intent="reopen"), sender=sender), domain)
    assert responses(msgs) == ["utter_reopen_still_open"]
    _resolve(backend_url, number)
    msgs, _ = run(ActionReopen(), tracker(message("问题根本没解决", intent="reopen"), sender=sender), domain)
    assert responses(msgs) == ["utter_reopened"]
    ticket = operator_get(backend_url, f"/api/tickets/{number}")
    assert ticket["state"] == "in_progress"


def test_add_information_and_a_photo(domain, backend_url):
    sender = f"s-{uuid.uuid4().hex[:8]}"
    number = _file(sender)
    form = ValidateSupplementForm()
    # "我想补充一点情况" says nothing yet: the form asks
    _, events = run(form, tracker(message("我想补充一点情况", intent="add_information"), sender=sender,
                                  active_loop="supplement_form"), domain)
    assert slots_of(events).get("supplement_text") is None
    # "补充一下，昨晚又开始了" carries its content
    _, events = run(form, tracker(message("补充一下，昨晚又开始了", intent="add_information"), sender=sender,
                                  active_loop="supplement_form"), domain)
    assert slots_of(events)["supplement_text"] == "昨晚又开始了"
    msgs, _ = run(ActionAddInformation(), tracker(message("补充一下，昨晚又开始了", intent="add_information"),
                                                  sender=sender, slots={"supplement_text": "昨晚又开始了"}), domain)
    assert responses(msgs) == ["utter_supplement_added"] and msgs[0]["number"] == number
    # a photo sent through the channel (metadata.attachments)
    photo = {"attachments": [{"source": "telegram", "kind": "photo", "file_id": "AgAD1", "size": 20480,
                              "mime_type": "image/jpeg"}]}
    latest = message("现场照片", intent="inform", metadata=photo)
    _, events = run(form, tracker(latest, sender=sender, active_loop="supplement_form",
                                  slots={"requested_slot": "supplement_text"}), domain)
    filled = slots_of(events)
    assert filled["supplement_text"] == "现场照片" and filled["supplement_files"][0]["content_type"] == "image/jpeg"
    msgs, _ = run(ActionAddInformation(), tracker(latest, sender=sender, slots=filled), domain)
    assert responses(msgs) == ["utter_supplement_added"] and msgs[0]["files"] == 1
    ticket = operator_get(backend_url, f"/api/tickets/{number}")
    assert [a["filename"] for a in ticket["attachments"]] == ["photo-AgAD1"]
    history = operator_get(backend_url, f"/api/tickets/{number}/events")
    assert [e["note"] for e in history if e["kind"] == "supplement"] == ["昨晚又开始了", "现场照片"]


def test_rating_words_and_supplement_openings():
    assert parse_rating("非常满意") == 5 and parse_rating("基本满意") == 4 and parse_rating("不满意") == 2
    assert parse_rating("还行吧，给个3分") == 3 and parse_rating("差评") == 1 and parse_rating("嗯") is None
    assert supplement_content("补充：施工时间是每天晚上十一点以后") == "施工时间是每天晚上十一点以后"
    assert supplement_content("我想补充一点情况") == ""
