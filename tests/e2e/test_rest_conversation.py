"""The three processes of `make run` over real HTTP: rasa server, action server, backend."""
import uuid

import httpx

from routing.catalog import load_catalog


def _say(stack, sender: str, text: str) -> list:
    response = httpx.post(f"{stack.rasa.url}/webhooks/rest/webhook",
                          json={"sender": sender, "message": text}, timeout=60)
    response.raise_for_status()
    return [m.get("text", "") for m in response.json()]


def test_model_parse_over_http_returns_normalised_text_and_entities(stack):
    response = httpx.post(f"{stack.rasa.url}/model/parse",
                          json={"text": "我的電話是１３８１２３４５６７８"}, timeout=60)
    assert response.status_code == 200
    result = response.json()
    assert result["text"] == "我的电话是13812345678"
    assert [e["value"] for e in result["entities"] if e["entity"] == "phone"] == ["13812345678"]


def test_greeting_is_answered_in_chinese(stack):
    replies = _say(stack, f"t-{uuid.uuid4().hex}", "你好")
    assert replies and "12345" in replies[0]


def test_a_complaint_is_acknowledged_with_its_type_and_department(stack):
    replies = _say(stack, f"t-{uuid.uuid4().hex}",
                   "长沙市雨花区韶山路幸福小区楼下的KTV每天晚上唱到凌晨两点，吵得根本睡不着")
    types = {t.name: t for t in load_catalog()}
    first = replies[0]
    assert first.startswith("收到，您反映的是「")
    name = first.split("「")[1].split("」")[0]
    assert name in types and types[name].department in first
    assert "幸福小区" in first
    assert len(replies) >= 2  # …and asks for what is missing


def test_a_report_over_rest_becomes_a_real_ticket_in_the_backend(stack):
    sender = f"t-{uuid.uuid4().hex}"
    replies = _say(stack, sender, "岳麓区桃子湖社区的鑫达建筑劳务公司拖欠我们三个月工资了")
    answers = {"在哪里": "岳麓区桃子湖社区", "哪一方": "鑫达建筑劳务公司", "联系电话": "13900001111"}
    for _ in range(4):  # answer whatever the form still asks
        if replies[-1].startswith("我跟您核对一下"):
            break
        replies = _say(stack, sender, next(v for k, v in answers.items() if k in replies[-1]))
    assert replies[-1].startswith("我跟您核对一下")
    done = _say(stack, sender, "确认")
    assert done[0].startswith("已为您登记，工单号")
    number = done[0].split("工单号")[1].split("。")[0]
    operator = {"Authorization": "Bearer dev-operator-token"}
    ticket = httpx.get(f"{stack.backend.url}/api/tickets/{number}", headers=operator, timeout=30).json()
    assert ticket["event_type"] == "wage_arrears" and ticket["state"] == "received"
    # the place as the model cut it reaches the ticket (where the cut falls is the NLU's quality,
    # measured by `make evaluate`, not asserted here)
    assert "鑫达建筑劳务公司" in ticket["parties"][0] and ticket["location_text"].startswith("岳麓区")
    assert ticket["reporter"] == {"anonymous": False, "name": None, "phone": "+8613900001111", "email": None,
                                  "channel_identity": f"rest:{sender}"}
    assert ticket["department"]["name"] in done[0]
    events = httpx.get(f"{stack.backend.url}/api/tickets/{number}/events", headers=operator, timeout=30).json()
    assert [e["kind"] for e in events][:2] == ["created", "routed"]


def test_empty_and_oversized_messages_do_not_break_the_server(stack):
    sender = f"t-{uuid.uuid4().hex}"
    assert httpx.post(f"{stack.rasa.url}/webhooks/rest/webhook", json={"sender": sender, "message": ""},
                      timeout=60).status_code in (200, 400)
    _say(stack, sender, "吵" * 20000)
    assert _say(stack, sender, "你好")  # still answering afterwards
