"""Replies in the resident's script (bot/nlg.py)."""
from __future__ import annotations

import asyncio

from rasa.shared.core.domain import Domain
from rasa.shared.core.events import UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.nlg import ScriptAwareNLG, conversation_script, message_script, to_traditional
from tests.support.processes import ROOT


def _tracker(*texts: str) -> DialogueStateTracker:
    t = DialogueStateTracker("nlg-test", [])
    for text in texts:
        t.update(UserUttered(text, parse_data={"text": text, "original_text": text,
                                               "intent": {"name": "inform", "confidence": 1.0}, "entities": []}))
    return t


def test_scripts_of_messages():
    assert message_script("我家樓下的餐廳每天晚上很吵") == "traditional"
    assert message_script("我家楼下的餐厅每天晚上很吵") == "simplified"
    assert message_script("13812345678") is None and message_script("/affirm") is None
    assert conversation_script(["你好", "我家樓下很吵", "13812345678"]) == "traditional"
    assert conversation_script(["我家樓下很吵", "在学府路"]) == "simplified"  # mixed → Simplified


def test_replies_follow_a_traditional_writer_and_only_them():
    domain = Domain.load(str(ROOT / "bot" / "domain"))
    nlg = ScriptAwareNLG(domain=domain)
    trad = asyncio.run(nlg.generate("utter_summary", _tracker("我家樓下的餐廳每天晚上很吵"), "rest",
                                    event_name="噪音扰民", details="地点：学府路"))
    simp = asyncio.run(nlg.generate("utter_summary", _tracker("我家楼下的餐厅每天晚上很吵"), "rest",
                                    event_name="噪音扰民", details="地点：学府路"))
    assert simp["text"].startswith("我跟您核对一下") and simp["buttons"][0]["title"] == "确认提交"
    assert trad["text"] == to_traditional(simp["text"]) != simp["text"]
    assert "噪音擾民" in trad["text"] and "地點：學府路" in trad["text"] and "沒問題請" in trad["text"]
    assert trad["buttons"][0]["title"] == "確認提交" and trad["buttons"][0]["payload"] == "/affirm"
