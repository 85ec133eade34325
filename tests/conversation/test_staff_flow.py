"""The grid worker's conversation over the REST channel of the real stack: recognised by the
channel identity the channel reports (here 周小敏, telegram:700001, seeded from
routing/data/grid_staff.yml), the terse patrol report with a photo and a shared location, 格内解决,
and 我的待办 — list, accept, resolve with a reply, escalate with a reason."""
from __future__ import annotations

import uuid

import httpx

from conversation_driver import OPERATOR, Chat, operator_act, ticket

STAFF = {"channel": "telegram", "channel_identity": "telegram:700001"}
STATION = "430104001001-G01-WGZ"
PHOTO = {"attachments": [{"source": "telegram", "kind": "photo", "file_id": "AgADpatrol", "size": 30720,
                          "mime_type": "image/jpeg"}],
         "location": {"latitude": 28.1792, "longitude": 112.9405}}


def _staff_chat(stack) -> Chat:
    return Chat(stack, metadata=STAFF)


def _to_read_back(chat: Chat, text: str, **kw):
    """Describe; answer the only question a worker may get (the other party, for the types that
    need one) until the read-back, which starts with the type in 「」."""
    replies = chat.say(text, **kw)
    for _ in range(2):
        if replies[-1]["text"].startswith("「"):
            return replies
        assert replies[-1]["text"].startswith("涉及哪一方"), chat.transcript
        replies = chat.say("不知道")
    raise AssertionError("no read-back; transcript:\n" + "\n".join(chat.transcript))


def _grid_ticket(stack, text: str) -> str:
    """A resident's ticket, dispatched by the operator to the worker's grid station."""
    body = {"text": f"{text} {uuid.uuid4().hex[:6]}", "channel": "web", "event_type": "sanitation",
            "location_text": "岳麓区岳麓街道桃子湖社区", "reporter": {"channel_identity": f"web:{uuid.uuid4().hex[:8]}"}}
    r = httpx.post(f"{stack.backend.url}/api/tickets", json=body, headers=OPERATOR, timeout=30)
    r.raise_for_status()
    number = r.json()["number"]
    operator_act(stack, number, "dispatch", department_code=STATION, level="grid")
    return number


def test_a_worker_is_greeted_by_name_and_a_resident_is_not(stack):
    assert _staff_chat(stack).texts("你好")[0].startswith("周小敏您好（桃子湖社区第一网格）")
    assert Chat(stack).texts("你好")[0].startswith("您好，这里是12345市民服务热线智能助手")


def test_a_patrol_report_with_photo_and_location_is_filed_without_contact_questions(stack):
    chat = _staff_chat(stack)
    replies = chat.say("桃子湖社区3栋门口的垃圾堆了好几天没人清运，臭气熏天", metadata=PHOTO)
    summary = replies[-1]
    assert len(replies) == 1 and summary["text"].startswith("「环境卫生"), chat.transcript  # straight to the read-back
    assert "联系电话" not in summary["text"] and "匿名" not in summary["text"]
    assert [b["payload"] for b in summary["buttons"]] == ["/affirm", "/resolve_on_spot"]
    done = chat.texts("确认")
    assert done[0].startswith("已上报，工单"), chat.transcript
    t = ticket(stack, chat.slot("ticket_number"))
    assert t["reporter"]["name"] == "周小敏" and t["reporter"]["channel_identity"] == "telegram:700001"
    assert t["attachments"][0]["content_type"] == "image/jpeg"
    assert (t["latitude"], t["longitude"]) == (28.1792, 112.9405)
    assert t["region"]["code"].startswith("430104001001")  # the worker's community, not the district
    assert t["state"] not in ("resolved", "closed")


def test_resolved_on_the_spot_is_filed_and_closed_in_one_step(stack):
    chat = _staff_chat(stack)
    summary = _to_read_back(chat, "桃子湖路口有流动摊贩占道经营，已劝离")[-1]
    assert "已劝离" in summary["text"], chat.transcript
    assert [b["payload"] for b in summary["buttons"]] == ["/resolve_on_spot", "/affirm"]
    done = chat.texts("/resolve_on_spot")
    assert done[0].startswith("已格内解决并办结，工单"), chat.transcript
    t = ticket(stack, chat.slot("ticket_number"))
    assert t["state"] == "closed" and t["resolution"] == "已劝离"
    assert t["department"]["code"] == STATION


def test_on_the_spot_without_a_note_asks_how_it_was_handled(stack):
    chat = _staff_chat(stack)
    _to_read_back(chat, "桃子湖社区第二网格有共享单车乱停乱放，把人行道都堵死了")
    asked = chat.texts("格内解决")
    assert asked[-1].startswith("怎么处置的"), chat.transcript
    done = chat.texts("已联系运维人员把单车全部挪走")
    assert done[0].startswith("已格内解决并办结"), chat.transcript
    assert ticket(stack, chat.slot("ticket_number"))["resolution"] == "已联系运维人员把单车全部挪走"


def test_todo_list_accept_and_resolve_with_a_reply(stack):
    number = _grid_ticket(stack, "桃子湖社区垃圾站周边污水横流")
    chat = _staff_chat(stack)
    listing = chat.say("我的待办")
    assert listing[0]["text"].startswith("我的待办（"), chat.transcript
    assert number in listing[0]["text"]
    accepted = chat.texts(f"接单{number}")
    assert accepted[0].startswith(f"已接单{number}"), chat.transcript
    asked = chat.texts(f"办结{number}")
    assert asked[-1].startswith("办理结果？"), chat.transcript
    done = chat.texts("已组织环卫清理污水并疏通下水道")
    assert done[0].startswith(f"工单{number}已办结"), chat.transcript
    t = ticket(stack, number)
    assert t["state"] == "resolved" and t["resolution"] == "已组织环卫清理污水并疏通下水道"
    assert number not in chat.texts("我的待办")[0]


def test_escalate_to_the_township_with_a_reason(stack):
    number = _grid_ticket(stack, "桃子湖社区整片区域垃圾清运不及时")
    chat = _staff_chat(stack)
    asked = chat.texts(f"上报街道{number}")
    assert asked[-1].startswith("上报街道的原因"), chat.transcript
    done = chat.texts("涉及整个片区的清运合同，网格协调不了")
    assert done[0].startswith(f"工单{number}已上报"), chat.transcript
    t = ticket(stack, number)
    assert t["state"] == "escalated" and t["level"] == "township"


def test_a_resident_cannot_use_the_todo_list(stack):
    assert Chat(stack).texts("我的待办")[0].startswith("这个功能仅供登记的网格员使用")
