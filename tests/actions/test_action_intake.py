"""The report: start, the form's validation, read-back, correction, the ticket."""
from __future__ import annotations

import asyncio

from actions.intake import ANONYMOUS, ActionStartReport, ValidateReportForm
from actions.read_back import ActionCorrectReport, ActionReadBack
from actions.submit import ActionSubmitReport
from rasa_sdk.executor import CollectingDispatcher
from routing.catalog import load_catalog
from action_helpers import (ent, message, operator_get, responses, run, slots_of, tracker)

NOISE = "长沙市雨花区韶山路幸福小区楼下的KTV每天晚上唱到凌晨两点，吵得根本睡不着"
NOISE_MSG = dict(text=NOISE, intent="noise_pollution",
                 entities=[ent("location", "长沙市雨花区韶山路幸福小区"), ent("party", "KTV")],
                 resolution={"adcode": "430111", "province": "湖南省", "city": "长沙市", "district": "雨花区"})


def _report_slots(**extra):
    base = {"event_type": "noise_pollution", "event_confidence": 0.97, "report_text": NOISE,
            "report_normalised": NOISE, "report_id": "r-1", "location": "长沙市雨花区韶山路幸福小区",
            "region_code": "430111", "party": "KTV", "phone": "13812345678", "anonymous": False,
            "urgent": False}
    base.update(extra)
    return base


def test_start_report_says_what_it_understood_and_keeps_what_the_message_gave(domain):
    msgs, events = run(ActionStartReport(), tracker(message(**NOISE_MSG)), domain)
    slots = slots_of(events)
    noise = load_catalog()["noise_pollution"]
    assert slots["event_type"] == "noise_pollution"
    assert slots["location"] == "长沙市雨花区韶山路幸福小区" and slots["region_code"] == "430111"
    assert slots["party"] == "KTV" and slots["report_text"] == NOISE
    assert slots["requested_slot"] is None and slots["stage"] is None
    assert msgs[0]["response"] == "utter_report_understood"
    assert msgs[0]["event_name"] == noise.name and msgs[0]["department"] == noise.department
    assert "幸福小区" in msgs[0]["details"] and "KTV" in msgs[0]["details"]


def test_a_button_press_after_a_clarifying_question_files_the_earlier_text(domain):
    t = tracker(message("/wage_arrears", intent="wage_arrears", confidence=1.0),
                slots={"pending_text": "老板三个月没给钱了", "pending_entities": [ent("party", "老板")],
                       "fallback_count": 1.0})
    _, events = run(ActionStartReport(), t, domain)
    slots = slots_of(events)
    assert slots["report_text"] == "老板三个月没给钱了"
    assert slots["party"] == "老板" and slots["fallback_count"] == 0.0 and slots["pending_text"] is None


def test_two_problems_in_one_message_are_both_named(domain):
    msg = message("楼上邻居天天装修噪音很大，另外小区门口垃圾也没人清理", intent="sanitation", confidence=0.85,
                  ranking=[{"name": "sanitation", "confidence": 0.85},
                           {"name": "neighbour_dispute", "confidence": 0.14}])
    msgs, events = run(ActionStartReport(), tracker(msg), domain)
    other = [m for m in msgs if m["response"] == "utter_other_issue"]
    assert other and other[0]["other"] == load_catalog()["neighbour_dispute"].name
    assert slots_of(events)["other_issues"] == ["neighbour_dispute"]


def _required(slots, domain):
    form = ValidateReportForm()
    return asyncio.run(form.required_slots(["location", "party", "incident_time", "phone"],
                                           CollectingDispatcher(), tracker(message("x"), slots=slots), domain))


def test_the_form_asks_only_what_the_type_needs(domain):
    catalog = load_catalog()
    with_party = next(t for t in catalog if t.needs_party and not t.needs_time)
    with_time = next(t for t in catalog if t.needs_time and not t.needs_party)
    neither = next(t for t in catalog if not t.needs_time and not t.needs_party and not t.emergency)
    assert _required({"event_type": with_party.code}, domain) == ["location", "party", "phone"]
    assert _required({"event_type": with_time.code}, domain) == ["location", "incident_time", "phone"]
    assert _required({"event_type": neither.code, "anonymous": True}, domain) == ["location"]
    assert _required({"event_type": "emergency"}, domain) == ["location"]


def _form_turn(domain, latest, slots):
    return run(ValidateReportForm(), tracker(latest, slots=slots, active_loop="report_form"), domain)


def test_a_free_text_place_is_accepted_when_asked_for(domain):
    slots = {"event_type": "noise_pollution", "requested_slot": "location"}
    msgs, events = _form_turn(domain, message("就在我家楼下那个路口", intent="inform"), slots)
    out = slots_of(events)
    assert out["location"] == "就在我家楼下那个路口"
    assert out["requested_slot"] == "party"  # noise needs the other party (and the time)


def test_a_no_instead_of_a_place_asks_again(domain):
    slots = {"event_type": "noise_pollution", "requested_slot": "location"}
    msgs, events = _form_turn(domain, message("不知道", intent="deny"), slots)
    assert slots_of(events)["location"] is None
    assert responses(msgs) == ["utter_location_unclear"]


def test_phone_is_checked_and_anonymity_is_always_possible(domain):
    slots = {"event_type": "sanitation", "location": "幸福小区", "requested_slot": "phone"}
    msgs, events = _form_turn(domain, message("一二三", intent="inform"), slots)
    assert slots_of(events)["phone"] is None and responses(msgs) == ["utter_phone_invalid"]

    msgs, events = _form_turn(domain, message("电话是13812345678", intent="inform",
                                              entities=[ent("phone", "13812345678")]), slots)
    assert slots_of(events)["phone"] == "13812345678" and slots_of(events)["requested_slot"] is None

    msgs, events = _form_turn(domain, message("我要匿名", intent="stay_anonymous"), slots)
    out = slots_of(events)
    assert out["anonymous"] is True and out["phone"] is None and out["requested_slot"] is None
    assert ANONYMOUS not in str(out.values())
    assert responses(msgs) == ["utter_anonymous_ok"]


def test_a_request_for_a_human_is_not_taken_as_an_answer(domain):
    slots = {"event_type": "noise_pollution", "requested_slot": "location"}
    _, events = _form_turn(domain, message("转人工", intent="request_human"), slots)
    assert "location" not in slots_of(events)


def test_the_read_back_lists_every_part_and_waits_for_confirmation(domain):
    msgs, events = run(ActionReadBack(), tracker(message("13812345678", intent="inform"),
                                                 slots=_report_slots()), domain)
    assert responses(msgs) == ["utter_summary"]
    details = msgs[0]["details"]
    assert "幸福小区" in details and "KTV" in details and "138****5678" in details
    assert slots_of(events) == {"stage": "confirm"}


def test_a_correction_replaces_only_the_place(domain):
    latest = message("不对，是在幸福小区东门", intent="inform", entities=[ent("location", "幸福小区东门")])
    msgs, events = run(ActionCorrectReport(), tracker(latest, slots=_report_slots(stage="confirm")), domain)
    changed = slots_of(events)
    assert changed["location"] == "幸福小区东门"
    assert set(changed) <= {"location", "region_code", "stage"}
    assert responses(msgs) == ["utter_summary"] and "幸福小区东门" in msgs[0]["details"]
    assert "KTV" in msgs[0]["details"]


def test_a_bare_no_asks_what_to_change(domain):
    msgs, events = run(ActionCorrectReport(), tracker(message("不对", intent="deny"),
                                                      slots=_report_slots(stage="confirm")), domain)
    assert responses(msgs) == ["utter_ask_correction"] and slots_of(events) == {"stage": "confirm"}


def test_a_confirmed_report_becomes_a_real_ticket_once(domain, backend_url):
    t = tracker(message("确认", intent="affirm"), slots=_report_slots(incident_time="每天晚上"))
    msgs, events = run(ActionSubmitReport(), t, domain)
    assert responses(msgs) == ["utter_ticket_filed"]
    number = slots_of(events)["ticket_number"]
    assert msgs[0]["number"] == number and msgs[0]["department"]
    assert "个工作日" in msgs[0]["deadline"]
    ticket = operator_get(backend_url, f"/api/tickets/{number}")
    assert ticket["event_type"] == "noise_pollution" and ticket["channel"] == "web"
    assert ticket["location_text"] == "长沙市雨花区韶山路幸福小区" and ticket["parties"] == ["KTV"]
    assert ticket["original_text"] == NOISE and ticket["incident_time"] == "每天晚上"
    assert ticket["reporter"]["phone"] == "+8613812345678"
    assert ticket["reporter"]["channel_identity"] == f"rest:{t.sender_id}"
    # the same report confirmed again (a retry, a double tap) does not open a second ticket
    again = tracker(message("确认", intent="affirm"), slots=_report_slots(incident_time="每天晚上"),
                    sender=t.sender_id)
    msgs2, events2 = run(ActionSubmitReport(), again, domain)
    assert slots_of(events2)["ticket_number"] == number


def test_an_anonymous_report_keeps_no_phone(domain, backend_url):
    t = tracker(message("确认", intent="affirm"), slots=_report_slots(phone=None, anonymous=True, report_id="r-anon"))
    _, events = run(ActionSubmitReport(), t, domain)
    ticket = operator_get(backend_url, f"/api/tickets/{slots_of(events)['ticket_number']}")
    assert ticket["reporter"]["anonymous"] is True and ticket["reporter"]["phone"] is None


def test_an_emergency_is_filed_urgent_without_a_read_back(domain, backend_url):
    slots = {"event_type": "emergency", "report_text": "我家楼下着火了，有人被困在里面", "report_id": "r-fire",
             "location": "岳麓区桃子湖社区", "urgent": True}
    msgs, events = run(ActionReadBack(), tracker(message("岳麓区桃子湖社区", intent="inform"), slots=slots), domain)
    assert responses(msgs)[0] == "utter_emergency_ticket_filed"
    ticket = operator_get(backend_url, f"/api/tickets/{slots_of(events)['ticket_number']}")
    assert ticket["urgent"] is True and ticket["event_type"] == "emergency"
    assert "小时" in msgs[0]["deadline"]


def test_in_the_read_back_stage_a_message_with_a_type_corrects_but_an_emergency_starts_over(domain):
    slots = _report_slots(stage="confirm")
    latest = message("不是噪音，是油烟太大了", intent="air_pollution", confidence=0.95)
    msgs, events = run(ActionStartReport(), tracker(latest, slots=slots), domain)
    changed = slots_of(events)
    assert changed["event_type"] == "air_pollution" and changed["stage"] is None and msgs == []
    assert "location" not in changed  # the rest of the report stays
    fire = message("着火了，快来人", intent="emergency", confidence=1.0)
    _, events = run(ActionStartReport(), tracker(fire, slots=slots), domain)
    fresh = slots_of(events)
    assert fresh["event_type"] == "emergency" and fresh["urgent"] is True and fresh["location"] is None


def test_a_phone_number_given_when_asked_the_time_fills_the_phone_only(domain):
    slots = {"event_type": "noise_pollution", "location": "幸福小区", "party": "KTV", "requested_slot": "incident_time"}
    _, events = _form_turn(domain, message("13812345678", intent="inform", entities=[ent("phone", "13812345678")]),
                           slots)
    out = slots_of(events)
    assert out["phone"] == "13812345678" and "incident_time" not in out
    assert out["requested_slot"] == "incident_time"


def test_details_before_the_problem_are_kept_for_the_report(domain):
    from actions.intake import ActionKeepContext

    first = message("在幸福小区", intent="inform", entities=[ent("location", "幸福小区")])
    msgs, events = run(ActionKeepContext(), tracker(first), domain)
    kept = slots_of(events)
    assert responses(msgs) == ["utter_ask_problem"] and kept["pending_text"] == "在幸福小区"
    second = message("楼下KTV每天晚上唱到两点", intent="noise_pollution", entities=[ent("party", "KTV")])
    _, events = run(ActionStartReport(), tracker(second, slots=kept), domain)
    report = slots_of(events)
    assert report["location"] == "幸福小区" and report["party"] == "KTV"
    assert report["report_text"] == "在幸福小区\n楼下KTV每天晚上唱到两点" and report["pending_text"] is None


def test_a_location_and_a_photo_shared_before_the_problem_travel_with_the_report(domain):
    from actions.intake import ActionKeepContext

    shared = message('/inform{"location": "岳麓区"}', intent="inform", entities=[ent("location", "岳麓区")],
                     metadata={"location": {"latitude": 28.18, "longitude": 112.94}})
    msgs, events = run(ActionKeepContext(), tracker(shared), domain)
    kept = slots_of(events)
    assert responses(msgs) == ["utter_ask_problem"] and "pending_text" not in kept  # a payload is not words
    photo = message("/inform", intent="inform", metadata={"attachments": [
        {"source": "telegram", "kind": "photo", "file_id": "AgAD1", "size": 1024, "mime_type": "image/jpeg"}]})
    _, events = run(ActionKeepContext(), tracker(photo, slots=kept), domain)
    kept.update(slots_of(events))
    assert kept["pending_coordinates"] == {"latitude": 28.18, "longitude": 112.94}
    described = message("路边井盖丢了", intent="municipal_facilities", metadata={"attachments": [
        {"source": "telegram", "kind": "photo", "file_id": "AgAD2", "size": 2048, "mime_type": "image/jpeg"}]})
    _, events = run(ActionStartReport(), tracker(described, slots=kept), domain)
    report = slots_of(events)
    assert report["location"] == "岳麓区" and report["coordinates"] == {"latitude": 28.18, "longitude": 112.94}
    assert [a["url"] for a in report["attachments"]] == ["telegram:AgAD1", "telegram:AgAD2"]
    assert report["pending_attachments"] is None and report["pending_coordinates"] is None


def test_a_report_the_backend_refuses_goes_to_a_person_instead_of_being_lost(domain, backend_url):
    report = _report_slots(event_type="alien_landing", report_id="r-refused",
                           attachments=[{"filename": "p.jpg", "content_type": "image/jpeg", "size": 10}])
    msgs, events = run(ActionSubmitReport(), tracker(message("确认", intent="affirm"), slots=report), domain)
    assert responses(msgs) == ["utter_handoff_after_rejection"]
    ticket = operator_get(backend_url, f"/api/tickets/{slots_of(events)['ticket_number']}")
    assert ticket["needs_operator"] is True and ticket["event_type"] is None  # not a catalogue type: no guess
    assert ticket["location_text"] == "长沙市雨花区韶山路幸福小区" and len(ticket["attachments"]) == 1


def test_a_bare_number_answers_the_phone_question_whatever_the_intent(domain):
    """The NLU once took "13800001111" for request_human: the number must still be the answer."""
    form = ValidateReportForm()
    slots = {"event_type": "noise_pollution", "requested_slot": "phone"}
    t = tracker(message("13800001111", intent="request_human", confidence=0.6,
                        entities=[ent("phone", "13800001111")]), slots=slots)
    assert form.extract_phone(CollectingDispatcher(), t, domain) == {"phone": "13800001111"}
    asking = tracker(message("转人工，电话13800001111", intent="request_human", entities=[ent("phone", "13800001111")]),
                     slots=slots)
    assert form.extract_phone(CollectingDispatcher(), asking, domain) == {}  # a real request for a human
