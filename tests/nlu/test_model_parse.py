"""The trained pipeline end to end, in process: normaliser, extractors, resolver, classifier.

These check the wiring on unmistakable inputs; the model's quality is measured by
`make evaluate` on the held-out split, not asserted here.
"""
import asyncio

import pytest

from routing.catalog import load_catalog


@pytest.fixture(scope="module")
def parse(nlu_agent):
    def run(text: str) -> dict:
        return asyncio.run(nlu_agent.parse_message(text))

    return run


def _entities(result, kind):
    return [e["value"] for e in result["entities"] if e["entity"] == kind]


def test_traditional_input_is_normalised_and_its_script_reported(parse):
    result = parse("我家樓下的燒烤店每天營業到淩晨兩點，油煙很大")
    assert result["original_text"] == "我家樓下的燒烤店每天營業到淩晨兩點，油煙很大"
    assert result["text"].startswith("我家楼下的烧烤店")
    assert result["script"] == "traditional"
    assert parse("我家楼下的烧烤店油烟很大")["script"] == "simplified"


def test_phone_and_ticket_number_are_extracted_once(parse):
    result = parse("工单20261120-000015还没人处理，我的电话是13812345678")
    assert _entities(result, "ticket_number") == ["20261120-000015"]
    assert _entities(result, "phone") == ["13812345678"]


def test_location_is_resolved_to_an_administrative_division(parse):
    result = parse("长沙市雨花区韶山路幸福小区的垃圾好几天没人清运了")
    assert result["location_resolution"]["adcode"] == "430111"
    assert result["location_resolution"]["district"] == "雨花区"


def test_ranking_is_a_probability_ranking_over_known_intents(parse):
    result = parse("公司拖欠我们三个月工资一直不发")
    ranking = result["intent_ranking"]
    confidences = [r["confidence"] for r in ranking if r["name"] != "nlu_fallback"]
    assert confidences == sorted(confidences, reverse=True)
    assert all(0.0 <= c <= 1.0 for c in confidences)
    known = set(load_catalog().codes) | {"greet", "goodbye", "affirm", "deny", "thanks", "inform",
                                         "stay_anonymous", "ask_status", "add_information", "urge",
                                         "rate_satisfaction", "reopen", "request_human",
                                         "out_of_scope", "nlu_fallback"}
    assert {r["name"] for r in ranking} <= known


@pytest.mark.parametrize("text, intent", [
    ("公司拖欠我们三个月工资一直不发，老板电话也打不通", "wage_arrears"),
    ("着火了！楼道里全是烟，有人被困在五楼", "emergency"),
    ("你好", "greet"),
    ("我楼下的KTV每天晚上唱歌唱到凌晨两点，吵得根本睡不着", "noise_pollution"),
    ("在学校门口的小卖部买的辣条过期了，孩子吃了拉肚子", "food_safety"),
])
def test_unmistakable_messages_rank_their_type_near_the_top(parse, text, intent):
    top = [r["name"] for r in parse(text)["intent_ranking"] if r["name"] != "nlu_fallback"][:3]
    assert intent in top
