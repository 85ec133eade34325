"""Grid staff in the bot: recognition, the terse report, 格内解决, 我的待办 and its commands —
the actions against the real backend (its seeded registry: routing/data/grid_staff.yml)."""
from __future__ import annotations

import asyncio
import uuid
from typing import Any, Dict, Optional

import httpx

from actions import staff as staff_module
from actions.intake import ActionStartReport, ValidateReportForm
from actions.read_back import ActionReadBack
from actions.staff_tasks import (ActionStaffApply, ActionStaffPrepare, ActionStaffTodo,
                                 ValidateStaffTaskForm)
from actions.submit import ActionSubmitReport
from rasa_sdk.executor import CollectingDispatcher
from action_helpers import ent, message, operator_act, operator_get, responses, run, slots_of, tracker

STAFF = {"channel": "telegram", "channel_identity": "telegram:700001"}  # 周小敏, 桃子湖社区第一、第二网格
OTHER_STAFF = {"channel": "telegram", "channel_identity": "telegram:700003"}  # 刘芳, another district
STATION = "430104001001-G01-WGZ"


def staff_profile(backend_url: str, identity: str = STAFF["channel_identity"]) -> Dict[str, Any]:
    r = httpx.get(f"{backend_url}/api/staff/by-identity/{identity}",
                  headers={"Authorization": "Bearer dev-intake-token"}, timeout=30)
    r.raise_for_status()
    return r.json()


def staff_tracker(backend_url: str, msg: Dict[str, Any], meta: Optional[Dict[str, Any]] = None, **slots: Any):
    msg["metadata"] = meta or STAFF
    base = {"staff": staff_profile(backend_url, (meta or STAFF)["channel_identity"]), "staff_checked": True}
    return tracker(msg, slots={**base, **slots})


def grid_ticket(backend_url: str, text: str) -> str:
    """A resident's ticket dispatched to the worker's grid station."""
    body = {"text": f"{text} {uuid.uuid4().hex[:6]}", "channel": "web", "event_type": "sanitation",
            "location_text": "岳麓区岳麓街道桃子湖社区", "reporter": {"channel_identity": f"web:{uuid.uuid4().hex[:8]}"}}
    r = httpx.post(f"{backend_url}/api/tickets", json=body, timeout=30,
                   headers={"Authorization": "Bearer dev-intake-token"})
    r.raise_for_status()
    number = r.json()["number"]
    operator_act(backend_url, number, "dispatch", department_code=STATION, level="grid")
    return number


# ------------------------------------------------------------------ recognition
def test_a_registered_identity_is_recognised_and_remembered(backend_url):
    t = tracker(message("你好", intent="greet", metadata=STAFF))
    found, events = asyncio.run(staff_module.recognise(t))
    assert found["name"] == "周小敏" and found["default_region"] == "430104001001-G01"
    assert slots_of(events) == {"staff": found, "staff_checked": True}
    again = tracker(message("你好", intent="greet", metadata=STAFF), slots=slots_of(events))
    assert asyncio.run(staff_module.recognise(again)) == (found, [])  # asked once per session


def test_a_resident_is_not_staff_and_is_not_asked_again(backend_url):
    t = tracker(message("你好", intent="greet", metadata={"channel": "telegram", "channel_identity": "telegram:1"}))
    found, events = asyncio.run(staff_module.recognise(t))
    assert found is None and slots_of(events) == {"staff": None, "staff_checked": True}


def test_an_identity_declared_through_the_rest_channel_is_not_trusted_by_default(backend_url, monkeypatch):
    """Rasa's REST channel passes the client's metadata: claiming a worker's identity there must
    not make anyone a grid worker (or let them read someone's tickets)."""
    from actions import context

    monkeypatch.delenv("ACTIONS_TRUST_REST_METADATA")
    forged = tracker(message("我的待办", intent="staff_todo", metadata=STAFF), sender="mallory")
    assert context.channel_identity(forged) == "rest:mallory"
    found, _ = asyncio.run(staff_module.recognise(forged))
    assert found is None
    real = tracker(message("我的待办", intent="staff_todo", metadata=STAFF), channel="telegram")
    assert context.channel_identity(real) == "telegram:700001"  # set by our Telegram channel


def test_a_worker_command_with_the_backend_down_is_not_read_as_a_resident(monkeypatch, domain):
    monkeypatch.setenv("ROUTING_URL", "http://127.0.0.1:9")
    t = tracker(message("办结 2 已清理", intent="staff_resolve", metadata=STAFF,
                        ranking=[{"name": "staff_resolve", "confidence": 0.6}, {"name": "reopen", "confidence": 0.35}]))
    msgs, events = run(ActionStaffPrepare(), t, domain)
    assert responses(msgs) == ["utter_backend_unavailable"] and slots_of(events)["staff_action"] is None


def test_a_worker_naming_a_place_in_the_form_keeps_it_for_the_backend_to_place(backend_url, domain):
    msg = message("岳麓区桃子湖社区3栋门口", intent="inform", entities=[ent("location", "岳麓区桃子湖社区3栋门口")],
                  resolution={"adcode": "430104"})
    t = staff_tracker(backend_url, msg, event_type="street_occupation", region_code=None,
                      requested_slot="location")
    out = ValidateReportForm().validate_location("岳麓区桃子湖社区3栋门口", CollectingDispatcher(), t, domain)
    assert out == {"location": "岳麓区桃子湖社区3栋门口"}  # no district code: the backend places it


def test_backend_down_leaves_the_question_open(monkeypatch):
    monkeypatch.setenv("ROUTING_URL", "http://127.0.0.1:9")
    found, events = asyncio.run(staff_module.recognise(tracker(message("你好", intent="greet", metadata=STAFF))))
    assert found is None and events == []


# ------------------------------------------------------------------ the report, terse
def test_a_worker_report_defaults_to_the_grid_and_asks_no_phone(backend_url, domain):
    t = staff_tracker(backend_url, message("路边垃圾堆了好几天没人清", intent="sanitation"))
    msgs, events = run(ActionStartReport(), t, domain)
    slots = slots_of(events)
    assert slots["location"] == "桃子湖社区第一网格" and slots["region_code"] == "430104001001-G01"
    assert msgs == []  # no "收到，您反映的是…" for staff: the read-back says it
    form = tracker(message("x"), slots={**t.slots, **slots})
    required = asyncio.run(ValidateReportForm().required_slots([], CollectingDispatcher(), form, domain))
    assert required == ["location"]  # no time, no phone, no anonymity question


def test_a_named_place_is_left_to_the_backend_not_the_district_code(backend_url, domain):
    msg = message("后湖社区3栋门口有人占道摆摊", intent="street_occupation",
                  entities=[ent("location", "后湖社区3栋门口")], resolution={"adcode": "430104"})
    _, events = run(ActionStartReport(), staff_tracker(backend_url, msg), domain)
    slots = slots_of(events)
    assert slots["location"] == "后湖社区3栋门口" and slots["region_code"] is None


def test_the_read_back_offers_resolving_on_the_spot_first_when_the_report_says_so(backend_url, domain):
    report = "桃子湖路口有流动摊贩占道经营，已劝离"
    t = staff_tracker(backend_url, message("好", intent="affirm"), event_type="street_occupation",
                      report_text=report, location="桃子湖社区第一网格")
    msgs, _ = run(ActionReadBack(), t, domain)
    assert responses(msgs) == ["utter_staff_summary_on_spot"] and msgs[0]["note"] == "已劝离"
    t = staff_tracker(backend_url, message("好", intent="affirm"), event_type="street_occupation",
                      report_text="桃子湖路口有流动摊贩占道经营", location="桃子湖社区第一网格")
    assert responses(run(ActionReadBack(), t, domain)[0]) == ["utter_staff_summary"]


def test_a_confirmed_worker_report_is_theirs_and_placed_in_their_grid(backend_url, domain):
    report = f"桃子湖社区垃圾桶满溢无人清运 {uuid.uuid4().hex[:6]}"
    t = staff_tracker(backend_url, message("确认", intent="affirm"), event_type="sanitation", report_text=report,
                      report_id=uuid.uuid4().hex, location="桃子湖社区第一网格", region_code="430104001001-G01")
    msgs, events = run(ActionSubmitReport(), t, domain)
    assert responses(msgs) == ["utter_staff_reported"]
    ticket = operator_get(backend_url, f"/api/tickets/{slots_of(events)['ticket_number']}")
    assert ticket["region"]["code"] == "430104001001-G01"
    assert ticket["reporter"]["name"] == "周小敏" and ticket["state"] not in ("closed", "resolved")


def test_resolving_on_the_spot_closes_the_ticket_with_the_note(backend_url, domain):
    before = operator_get(backend_url, "/api/stats")["resolved_on_spot"]
    slots = dict(event_type="street_occupation", report_text=f"桃子湖路口摊贩占道 {uuid.uuid4().hex[:6]}",
                 report_id=uuid.uuid4().hex, location="桃子湖社区第一网格", region_code="430104001001-G01",
                 stage="confirm")
    t = staff_tracker(backend_url, message("格内解决，已劝离摊贩", intent="resolve_on_spot"), **slots)
    _, events = run(ActionStaffPrepare(), t, domain)
    prepared = slots_of(events)
    assert prepared["staff_action"] == "on_spot" and prepared["staff_note"] == "已劝离摊贩"
    t = staff_tracker(backend_url, message("格内解决，已劝离摊贩", intent="resolve_on_spot"), **slots, **prepared)
    msgs, events = run(ActionStaffApply(), t, domain)
    assert responses(msgs) == ["utter_staff_on_spot_closed"]
    ticket = operator_get(backend_url, f"/api/tickets/{slots_of(events)['ticket_number']}")
    assert ticket["state"] == "closed" and ticket["resolution"] == "已劝离摊贩"
    assert operator_get(backend_url, "/api/stats")["resolved_on_spot"] == before + 1
    assert slots_of(events)["event_type"] is None and slots_of(events)["staff_action"] is None


def test_the_on_spot_button_asks_for_the_note_when_none_was_written(backend_url, domain):
    t = staff_tracker(backend_url, message("/resolve_on_spot", intent="resolve_on_spot"),
                      event_type="sanitation", report_text="垃圾桶满了")
    prepared = slots_of(run(ActionStaffPrepare(), t, domain)[1])
    assert prepared["staff_action"] == "on_spot" and prepared["staff_note"] is None
    form = staff_tracker(backend_url, message("/resolve_on_spot", intent="resolve_on_spot"), **prepared)
    assert asyncio.run(ValidateStaffTaskForm().required_slots([], CollectingDispatcher(), form, domain)) == ["staff_note"]


def test_on_the_spot_without_a_report_says_what_to_do_first(backend_url, domain):
    msgs, events = run(ActionStaffPrepare(), staff_tracker(backend_url, message("格内解决", intent="resolve_on_spot")),
                       domain)
    assert responses(msgs) == ["utter_staff_no_report"] and slots_of(events)["staff_action"] is None


# ------------------------------------------------------------------ 我的待办
def test_the_todo_list_numbers_the_grid_tickets_with_buttons(backend_url, domain):
    number = grid_ticket(backend_url, "桃子湖社区垃圾站异味")
    msgs, events = run(ActionStaffTodo(), staff_tracker(backend_url, message("我的待办", intent="staff_todo")), domain)
    assert responses(msgs)[0] == "utter_staff_todo"
    listed = slots_of(events)["staff_list"]
    index = listed.index(number) + 1
    assert f"{index}. {number}" in msgs[0]["rows"]
    if index <= 5:
        assert {"title": f"{index}. 接单", "payload": f'/staff_accept{{"ticket_number":"{number}"}}'} in msgs[0]["buttons"]


def test_a_resident_asking_for_the_todo_list_is_told_it_is_for_staff(backend_url, domain):
    t = tracker(message("我的待办", intent="staff_todo", metadata={"channel_identity": "telegram:42"}))
    assert responses(run(ActionStaffTodo(), t, domain)[0]) == ["utter_staff_only"]


def test_a_resident_with_a_staff_command_gets_the_clarifying_question(backend_url, domain):
    msg = message("已经上报了好几次都没人管", intent="staff_escalate", confidence=0.5,
                  ranking=[{"name": "staff_escalate", "confidence": 0.5}, {"name": "sanitation", "confidence": 0.3},
                           {"name": "street_occupation", "confidence": 0.1}])
    msg["metadata"] = {"channel_identity": "telegram:43"}
    msgs, events = run(ActionStaffPrepare(), tracker(msg), domain)
    assert responses(msgs) == ["utter_clarify"] and slots_of(events)["staff_action"] is None


def test_a_resident_reopening_in_words_like_a_command_gets_the_reopen(backend_url, domain):
    msg = message("说是办结了，其实根本没处理", intent="staff_resolve", confidence=0.45,
                  ranking=[{"name": "staff_resolve", "confidence": 0.45}, {"name": "reopen", "confidence": 0.3},
                           {"name": "sanitation", "confidence": 0.1}])
    msg["metadata"] = {"channel_identity": "telegram:44"}
    msgs, _ = run(ActionStaffPrepare(), tracker(msg), domain)
    assert responses(msgs) == ["utter_no_tickets"]  # action_reopen's answer: this resident has no ticket here


def test_resolve_by_list_index_accepts_first_then_resolves(backend_url, domain):
    number = grid_ticket(backend_url, "桃子湖社区路边垃圾")
    t = staff_tracker(backend_url, message("办结 2，已清运", intent="staff_resolve"), staff_list=["x", number])
    prepared = slots_of(run(ActionStaffPrepare(), t, domain)[1])
    assert prepared == {"staff_action": "resolve", "staff_ticket": number, "staff_note": "已清运"}
    t = staff_tracker(backend_url, message("办结 2，已清运", intent="staff_resolve"), **prepared)
    msgs, events = run(ActionStaffApply(), t, domain)
    assert responses(msgs) == ["utter_staff_resolved"]
    ticket = operator_get(backend_url, f"/api/tickets/{number}")
    assert ticket["state"] == "resolved" and ticket["resolution"] == "已清运"
    assert slots_of(events)["ticket_number"] == number


def test_accept_by_button_and_progress_then_refusal_of_a_second_accept(backend_url, domain):
    number = grid_ticket(backend_url, "桃子湖社区垃圾清运")
    payload = f'/staff_accept{{"ticket_number":"{number}"}}'
    t = staff_tracker(backend_url, message(payload, intent="staff_accept", entities=[ent("ticket_number", number)]))
    prepared = slots_of(run(ActionStaffPrepare(), t, domain)[1])
    assert prepared == {"staff_action": "accept", "staff_ticket": number, "staff_note": None}
    apply = staff_tracker(backend_url, message(payload, intent="staff_accept"), **prepared)
    msgs, _ = run(ActionStaffApply(), apply, domain)
    assert responses(msgs) == ["utter_staff_accepted"] and msgs[0]["deadline"]
    msgs, _ = run(ActionStaffApply(), apply, domain)
    assert responses(msgs) == ["utter_staff_refused"] and msgs[0]["state"] == "办理中"
    progress = staff_tracker(backend_url, message(f"进展{number}：已联系环卫", intent="staff_progress"))
    prepared = slots_of(run(ActionStaffPrepare(), progress, domain)[1])
    assert prepared["staff_note"] == "已联系环卫"
    msgs, _ = run(ActionStaffApply(), staff_tracker(backend_url, message("x"), **prepared), domain)
    assert responses(msgs) == ["utter_staff_progress_saved"]
    events = operator_get(backend_url, f"/api/tickets/{number}/events")
    assert events[-1]["actor_role"] == "grid_staff" and events[-1]["note"] == "已联系环卫"


def test_escalation_asks_for_the_reason_then_goes_to_the_township(backend_url, domain):
    number = grid_ticket(backend_url, "桃子湖社区垃圾站")
    t = staff_tracker(backend_url, message(f"上报街道{number}", intent="staff_escalate"))
    prepared = slots_of(run(ActionStaffPrepare(), t, domain)[1])
    assert prepared == {"staff_action": "escalate", "staff_ticket": number, "staff_note": None}
    form = staff_tracker(backend_url, message(f"上报街道{number}", intent="staff_escalate"), **prepared)
    requested = asyncio.run(ValidateStaffTaskForm().next_requested_slot(CollectingDispatcher(), form, domain))
    assert requested["value"] == "staff_note"
    prepared["staff_note"] = "涉及整个片区，网格无法处置"
    msgs, _ = run(ActionStaffApply(), staff_tracker(backend_url, message("x"), **prepared), domain)
    ticket = operator_get(backend_url, f"/api/tickets/{number}")
    assert ticket["state"] == "escalated" and ticket["level"] == "township"
    assert responses(msgs) == ["utter_staff_escalated"] and msgs[0]["department"] == ticket["department"]["name"]


def test_a_ticket_of_another_grid_is_not_theirs(backend_url, domain):
    number = grid_ticket(backend_url, "桃子湖社区垃圾")
    t = staff_tracker(backend_url, message("x"), meta=OTHER_STAFF, staff_action="accept", staff_ticket=number)
    msgs, _ = run(ActionStaffApply(), t, domain)
    assert responses(msgs) == ["utter_staff_not_theirs"]
    assert operator_get(backend_url, f"/api/tickets/{number}")["state"] == "dispatched"


def test_the_form_takes_a_list_index_or_a_number_and_refuses_anything_else(backend_url, domain):
    form = ValidateStaffTaskForm()
    slots = dict(staff_action="accept", requested_slot="staff_ticket", staff_list=["20261123-000001", "20261123-000002"])
    t = staff_tracker(backend_url, message("2"), **slots)
    assert form.extract_staff_ticket(CollectingDispatcher(), t, domain) == {"staff_ticket": "20261123-000002"}
    t = staff_tracker(backend_url, message("不知道是哪一单"), **slots)
    value = form.extract_staff_ticket(CollectingDispatcher(), t, domain)["staff_ticket"]
    dispatcher = CollectingDispatcher()
    assert form.validate_staff_ticket(value, dispatcher, t, domain) == {"staff_ticket": None}
    assert responses(dispatcher.messages) == ["utter_staff_ticket_unknown"]


def test_an_on_spot_report_waits_in_the_outbox_and_is_delivered_to_the_staff_endpoint(
        backend_url, domain, action_env, monkeypatch):
    from actions.backend_client import BackendClient
    from actions.delivery import run_once
    from actions.outbox import Outbox
    from tests.support.processes import free_port

    slots = dict(event_type="street_occupation", report_text=f"桃子湖路口摊贩占道 {uuid.uuid4().hex[:6]}",
                 report_id=uuid.uuid4().hex, location="桃子湖社区第一网格", region_code="430104001001-G01",
                 staff_action="on_spot", staff_note="已劝离摊贩")
    t = staff_tracker(backend_url, message("格内解决，已劝离摊贩", intent="resolve_on_spot"), **slots)
    monkeypatch.setenv("ROUTING_URL", f"http://127.0.0.1:{free_port()}")  # the backend goes away
    msgs, _ = run(ActionStaffApply(), t, domain)
    assert responses(msgs) == ["utter_ticket_queued"]
    outbox = Outbox(action_env)
    (entry,) = outbox.pending()
    assert entry.kind == "staff_report" and entry.payload["identity"] == "telegram:700001"
    assert entry.payload["body"]["resolve_on_spot"] is True and "reporter" not in entry.payload["body"]

    monkeypatch.setenv("ROUTING_URL", backend_url)
    assert run_once(outbox, BackendClient(retries=0), None, base_delay=0) == 1
    ticket = operator_get(backend_url, f"/api/tickets/{outbox.get(entry.key).ticket_number}")
    assert ticket["state"] == "closed" and ticket["reporter"]["name"] == "周小敏"
