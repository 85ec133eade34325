"""Every path of the conversation over the REST channel of the real stack (rasa server with the
model trained from nlu_data/, action server, routing backend on a fresh SQLite database).

The inputs are ones the model understands reliably; these tests check the dialogue, not the
NLU's quality (that is `make evaluate`)."""
from __future__ import annotations

from conversation_driver import Chat, answer_until_summary, operator_act, resolve, ticket, tickets_of

KTV = "长沙市雨花区韶山路幸福小区楼下的KTV每天晚上唱到凌晨两点，吵得根本睡不着"


def _texts(replies):
    return [m.get("text", "") for m in replies]


def _report_noise(chat: Chat, phone_answer: str = "13812345678"):
    """Describe, answer what is asked, reach the read-back. Returns the read-back message."""
    first = chat.say(KTV)
    assert "「噪音扰民」" in first[0]["text"] and "幸福小区" in first[0]["text"]
    assert "KTV" in first[0]["text"]
    questions = [m["text"] for m in first[1:]]
    assert questions and not any("在哪里" in q for q in questions)  # the place is known
    summary = answer_until_summary(chat, first, 联系电话=phone_answer)
    assert [b["payload"] for b in summary["buttons"]] == ["/affirm", "/deny"]
    assert "时间：" in summary["text"]
    return summary


def test_happy_path_files_a_ticket_with_number_department_and_deadline(stack):
    chat = Chat(stack)
    summary = _report_noise(chat)
    assert "138****5678" in summary["text"]
    done = chat.texts("确认")
    assert done[0].startswith("已为您登记，工单号") and "个工作日" in done[0]
    number = chat.slot("ticket_number")
    assert number and number in done[0]
    t = ticket(stack, number)
    assert t["event_type"] == "noise_pollution" and t["department"]["name"] in done[0]
    assert t["location_text"] == "长沙市雨花区韶山路幸福小区" and t["parties"] == ["KTV"]
    assert t["reporter"]["phone"] == "+8613812345678" and t["reporter"]["channel_identity"] == f"rest:{chat.sender}"
    assert "action_read_back" in chat.actions() and "report_form" in chat.actions()


def test_a_free_text_correction_replaces_just_the_place(stack):
    chat = Chat(stack)
    _report_noise(chat)
    corrected = chat.say("不对，是在幸福小区东门")
    assert corrected[-1]["text"].startswith("我跟您核对一下") and "地点：幸福小区东门" in corrected[-1]["text"]
    assert "KTV" in corrected[-1]["text"] and "时间：" in corrected[-1]["text"]
    chat.say("确认")
    t = ticket(stack, chat.slot("ticket_number"))
    assert t["location_text"] == "幸福小区东门" and t["parties"] == ["KTV"]


def test_an_anonymous_report(stack):
    chat = Chat(stack)
    summary = _report_noise(chat, phone_answer="我要匿名")
    assert "匿名反映" in summary["text"]
    chat.say("确认")
    t = ticket(stack, chat.slot("ticket_number"))
    assert t["reporter"]["anonymous"] is True and t["reporter"]["phone"] is None


def test_two_problems_in_one_message(stack):
    chat = Chat(stack)
    replies = chat.texts("楼上邻居天天装修噪音很大，另外小区门口垃圾也没人清理")
    assert any(r.startswith("您还提到了「") for r in replies)
    main = replies[0].split("「")[1].split("」")[0]
    other = next(r for r in replies if r.startswith("您还提到了「")).split("「")[1].split("」")[0]
    assert main != other


def test_out_of_scope_twice_goes_to_a_human_with_the_transcript(stack):
    chat = Chat(stack)
    first = chat.say("今天天气怎么样")
    assert "受理范围" in first[0]["text"]
    payloads = [b["payload"] for b in first[0]["buttons"]]
    assert len(payloads) == 3 and payloads[-1] == "/request_human" and all(p.startswith("/") for p in payloads)
    second = chat.texts("给我讲个笑话")
    assert any("转人工" in r for r in second) and any("编号" in r for r in second)
    t = ticket(stack, chat.slot("ticket_number"))
    assert t["needs_operator"] is True  # the type, if any, is only the model's guess
    assert "今天天气怎么样" in t["original_text"] and "给我讲个笑话" in t["original_text"]


def test_a_clarifying_button_files_the_earlier_words(stack):
    chat = Chat(stack)
    first = chat.say("今天天气怎么样")
    choice = first[0]["buttons"][0]
    replies = chat.texts(choice["payload"])
    assert replies[0].startswith(f"收到，您反映的是「{choice['title']}」")


def test_asking_for_a_human_in_the_middle_of_a_report(stack):
    chat = Chat(stack)
    chat.say(KTV)
    replies = chat.texts("转人工")
    assert replies[0].startswith("好的，已为您转人工坐席，编号")
    assert chat.tracker()["active_loop"] in ({}, None) or not chat.tracker()["active_loop"].get("name")
    t = ticket(stack, chat.slot("ticket_number"))
    assert t["needs_operator"] is True and KTV in t["original_text"]


def test_an_emergency_gets_the_numbers_first_then_an_urgent_ticket(stack):
    chat = Chat(stack)
    first = chat.texts("我家楼下着火了，有人被困在里面")
    assert "110" in first[0] and "119" in first[0] and "120" in first[0]
    assert "在哪里" in first[-1]
    done = chat.texts("长沙市岳麓区桃子湖社区")
    assert done[0].startswith("紧急工单已登记，工单号")
    t = ticket(stack, chat.slot("ticket_number"))
    assert t["urgent"] is True and t["event_type"] == "emergency"


def test_traditional_writer_gets_traditional_replies(stack):
    chat = Chat(stack)
    replies = chat.texts("我家樓下的燒烤店每天營業到淩晨兩點，油煙很大")
    assert replies[0].startswith("收到，您反映的是「")
    assert "問題" in replies[0] and "问题" not in replies[0]
    simplified = Chat(stack).texts("我家楼下的烧烤店每天营业到凌晨两点，油烟很大")
    assert "问题" in simplified[0]


def test_after_the_ticket_status_urge_reopen_rate_and_add_information(stack):
    chat = Chat(stack)
    _report_noise(chat)
    chat.say("确认")
    number = chat.slot("ticket_number")

    fresh = Chat(stack, sender=chat.sender)  # same resident, later
    status = fresh.texts("我上周反映的噪音问题怎么样了")
    assert status[0].startswith(f"工单{number}「噪音扰民」")
    urged = fresh.texts("催一下")
    assert urged[0].startswith(f"已为您催办工单{number}") and ticket(stack, number)["urge_count"] == 1
    added = fresh.texts("补充一下，昨晚又唱到了三点")
    assert added[0].startswith(f"已把补充内容加到工单{number}")
    asks = fresh.texts("我有照片，可以发给你们吗")
    assert asks[-1].startswith("好的，请直接发送要补充的内容或照片")
    photo = {"attachments": [{"source": "telegram", "kind": "photo", "file_id": "AgADKTV", "size": 20480,
                              "mime_type": "image/jpeg"}]}
    added = fresh.texts("现场照片", metadata=photo)
    assert added[0].startswith(f"已把补充内容加到工单{number}")
    assert [a["content_type"] for a in ticket(stack, number)["attachments"]] == ["image/jpeg"]

    resolve(stack, number, "已责令KTV晚十点后停止营业")
    status = fresh.texts("查一下我的工单")
    assert any("已责令KTV" in r for r in status) and any("满意" in r for r in status)
    reopened = fresh.texts("问题根本没解决")
    assert reopened[0].startswith(f"已为您重新启动办理，工单{number}")
    assert ticket(stack, number)["state"] == "in_progress"

    operator_act(stack, number, "resolve", reply="已现场查封音响设备")
    rated = fresh.texts("非常满意")
    assert rated[0].startswith(f"感谢您的评价！工单{number}")
    t = ticket(stack, number)
    assert t["rating"] == 5 and t["state"] == "closed"
    assert [x["number"] for x in tickets_of(stack, f"rest:{chat.sender}")] == [number]


def test_low_confidence_twice_goes_to_a_human(stack):
    """`/nlu_fallback` is what the FallbackClassifier yields for a message it cannot place."""
    chat = Chat(stack)
    chat.say("你好")
    first = chat.say("/nlu_fallback")
    assert first[0]["text"].startswith("我不太确定您反映的是哪类问题")
    assert [b["payload"] for b in first[0]["buttons"]][-1] == "/request_human"
    second = chat.texts("/nlu_fallback")
    assert second[0].startswith("抱歉，我还是没能理解") and second[1].startswith("好的，已为您转人工坐席，编号")
    t = ticket(stack, chat.slot("ticket_number"))
    assert t["needs_operator"] is True and "你好" in t["original_text"]
