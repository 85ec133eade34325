"""Clarifying question with the two likeliest types; hand-off to a human with the transcript."""
from __future__ import annotations

import time

from actions.fallback import ActionClarify, ActionHandoff
from action_helpers import message, operator_get, responses, run, slots_of, tracker
from routing.catalog import load_catalog

RANKING = [{"name": "nlu_fallback", "confidence": 0.3}, {"name": "wage_arrears", "confidence": 0.25},
           {"name": "inform", "confidence": 0.2}, {"name": "labour_contract", "confidence": 0.2}]


def _history():
    now = time.time()
    return [
        {"event": "user", "timestamp": now - 30, "text": "老板跑路了", "input_channel": "rest",
         "parse_data": {"text": "老板跑路了", "original_text": "老板跑路了", "intent": {"name": "nlu_fallback"}}},
        {"event": "bot", "timestamp": now - 29, "text": "我不太确定您反映的是哪类问题，是下面哪一种？"},
    ]


def test_unsure_asks_with_the_two_likeliest_types_as_buttons(domain):
    msgs, events = run(ActionClarify(), tracker(message("老板跑路了", intent="nlu_fallback", confidence=0.3,
                                                        ranking=RANKING)), domain)
    catalog = load_catalog()
    assert responses(msgs) == ["utter_clarify"]
    assert (msgs[0]["first_code"], msgs[0]["second_code"]) == ("wage_arrears", "labour_contract")
    assert msgs[0]["first_name"] == catalog["wage_arrears"].name
    slots = slots_of(events)
    assert slots["fallback_count"] == 1.0 and slots["pending_text"] == "老板跑路了"
    button_titles = [b["title"] for b in domain["responses"]["utter_clarify"][0]["buttons"]]
    assert button_titles[:2] == ["{first_name}", "{second_name}"]


def test_the_second_failure_hands_off_to_a_human_with_the_transcript(domain, backend_url):
    t = tracker(message("我也说不清楚", intent="nlu_fallback", confidence=0.2, ranking=RANKING),
                slots={"fallback_count": 1.0, "pending_text": "老板跑路了"}, history=_history())
    msgs, events = run(ActionClarify(), t, domain)
    assert responses(msgs) == ["utter_handoff_after_failures", "utter_handoff"]
    number = slots_of(events)["ticket_number"]
    ticket = operator_get(backend_url, f"/api/tickets/{number}")
    # the likeliest type is kept as a guess for the operator; the intake desk has the ticket
    assert ticket["needs_operator"] is True and ticket["event_type"] == "wage_arrears"
    assert "受理中心" in ticket["department"]["name"]
    assert "老板跑路了" in ticket["original_text"] and "我也说不清楚" in ticket["original_text"]
    assert "我不太确定" in ticket["original_text"]  # the bot's side too
    assert slots_of(events)["fallback_count"] == 0.0


def test_asking_for_a_human_hands_off_at_once(domain, backend_url):
    msgs, events = run(ActionHandoff(), tracker(message("转人工", intent="request_human"),
                                                 history=_history()), domain)
    assert responses(msgs) == ["utter_handoff"]
    ticket = operator_get(backend_url, f"/api/tickets/{slots_of(events)['ticket_number']}")
    assert ticket["needs_operator"] is True and "转人工" in ticket["original_text"]
