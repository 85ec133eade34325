"""Transcript parsing on messy input: labels, fillers, scripts, numerals, formats, encodings."""
from __future__ import annotations

import json

import pytest

from routing.triage.parse import (CALLER, OPERATOR, TranscriptError, decode_bytes, normalised_caller_text,
                                  parse_bytes, parse_document, parse_plain, transcript_from_payload)


def roles(t):  # type: ignore[no-untyped-def]
    return [(turn.speaker, turn.role) for turn in t.turns]


# ---------------------------------------------------------------------------------------- plain text
def test_labelled_transcript_keeps_turns_and_takes_the_callers() -> None:
    t = parse_plain("坐席：您好，12345热线，请问有什么可以帮您？\n市民：我要投诉楼下烧烤店噪音太大\n"
                    "坐席：请问地址？\n市民：岳麓区桃子湖社区三栋", "a.txt")
    assert roles(t) == [("坐席", OPERATOR), ("市民", CALLER), ("坐席", OPERATOR), ("市民", CALLER)]
    assert t.caller_text == "我要投诉楼下烧烤店噪音太大。岳麓区桃子湖社区三栋"
    assert "请问" not in t.caller_text
    assert normalised_caller_text(t).endswith("桃子湖社区3栋")  # Chinese numeral before a unit


def test_half_width_colons_spaces_and_other_label_words() -> None:
    t = parse_plain("话务员 : 您好\n来电人:  我家停水两天了\n接线员：好的", "b.txt")
    assert roles(t) == [("话务员", OPERATOR), ("来电人", CALLER), ("接线员", OPERATOR)]
    assert t.caller_text == "我家停水两天了"


def test_missing_labels_take_the_whole_text_as_the_callers_with_a_warning() -> None:
    t = parse_plain("我们小区的电梯坏了两个星期了\n物业一直不修", "c.txt")
    assert [turn.role for turn in t.turns] == [CALLER]
    assert t.caller_text == "我们小区的电梯坏了两个星期了。物业一直不修"
    assert any("未找到说话人标记" in w for w in t.warnings)


def test_repeated_fillers_are_dropped_for_the_model_and_filler_only_turns_ignored() -> None:
    t = parse_plain("坐席：您好\n市民：嗯嗯嗯嗯，呃，那个那个那个，我跟你讲，工地晚上十一点还在施工\n"
                    "坐席：具体在哪里？\n市民：嗯嗯。\n市民：天心区坡子街", "d.txt")
    assert t.turns[1].text.startswith("嗯嗯嗯嗯")  # the turn itself is kept as said
    assert "嗯嗯。" not in t.caller_text  # a turn of fillers only says nothing
    normal = normalised_caller_text(t)
    assert "嗯" not in normal and "呃" not in normal and "我跟你讲" not in normal and "那个那个" not in normal
    assert "11点" in normal and "天心区坡子街" in normal


def test_traditional_characters_in_labels_and_text() -> None:
    t = parse_plain("話務員：您好\n來電人：我們小區門口有人擺攤，堵住了消防通道", "e.txt")
    assert roles(t) == [("話務員", OPERATOR), ("來電人", CALLER)]
    assert normalised_caller_text(t) == "我们小区门口有人摆摊,堵住了消防通道"


@pytest.mark.parametrize("text,operator", [
    ("A：您好，这里是12345热线\nB：我家楼下工地半夜施工\nA：请问您在哪个位置", "A"),
    ("A：喂？我要投诉，我家楼下天天晚上施工\nB：您好，请问具体地址在哪里？\nA：天心区坡子街", "B"),
    ("说话人1：您好，请问有什么可以帮您\n说话人2：我要举报有人往河里倒垃圾", "说话人1"),
])
def test_unnamed_speakers_are_told_apart_by_what_they_say(text: str, operator: str) -> None:
    t = parse_plain(text, "f.txt")
    assert {turn.speaker for turn in t.turns if turn.role == OPERATOR} == {operator}
    assert all(turn.role == CALLER for turn in t.turns if turn.speaker != operator)


def test_timestamps_brackets_noise_tags_and_continuation_lines() -> None:
    t = parse_plain("[00:00:01] 【客服】您好\n[00:00:04] 【来电人】我家停水了<噪音>两天\n还没有来水 [inaudible]\n"
                    "(00:00:09) 客服：好的", "g.txt")
    assert roles(t) == [("客服", OPERATOR), ("来电人", CALLER), ("客服", OPERATOR)]
    assert t.turns[1].text == "我家停水了两天，还没有来水"


def test_several_speakers_on_one_line() -> None:
    t = parse_plain("坐席：您好 市民：我要反映工资被拖欠三个月了。坐席：哪个公司？市民：长沙某某建筑公司", "h.txt")
    assert roles(t) == [("坐席", OPERATOR), ("市民", CALLER), ("坐席", OPERATOR), ("市民", CALLER)]
    assert t.caller_text == "我要反映工资被拖欠三个月了。长沙某某建筑公司"


def test_header_metadata_and_an_address_line_is_not_a_speaker() -> None:
    t = parse_plain("来电号码：13800138000\n通话编号：C-001\n坐席：您好\n市民：学校乱收费\n市民：地址：芙蓉区文艺路", "i.txt")
    assert t.meta == {"phone": "13800138000", "call_id": "C-001"}
    assert t.turns[-1].text == "地址：芙蓉区文艺路"


def test_operator_only_or_empty_transcripts_are_refused() -> None:
    with pytest.raises(TranscriptError) as info:
        parse_plain("坐席：您好，请问有什么可以帮您？\n坐席：喂？", "j.txt")
    assert info.value.reason == "no_caller_text"
    with pytest.raises(TranscriptError):
        parse_plain("市民：嗯嗯嗯。\n坐席：您好", "k.txt")
    with pytest.raises(TranscriptError):
        parse_document("   \n\n ", "l.txt")


def test_several_transcripts_in_one_text_file() -> None:
    result = parse_document("坐席：您好\n市民：我家停水了\n---\n坐席：您好\n市民：\n===\n我家楼下噪音扰民", "m.txt")
    assert [t.source for t in result.transcripts] == ["m.txt#1", "m.txt#3"]
    assert [e.source for e in result.errors] == ["m.txt#2"]


# ---------------------------------------------------------------------------------------- JSON
def test_json_object_with_turns_and_metadata() -> None:
    doc = {"call_id": "X1", "phone": "13900001111", "turns": [
        {"speaker": "agent", "text": "您好"}, {"speaker": "customer", "text": "我家门口垃圾没人清理"}]}
    result = parse_document(json.dumps(doc, ensure_ascii=False), "n.json", "n.json")
    (t,) = result.transcripts
    assert roles(t) == [("agent", OPERATOR), ("customer", CALLER)]
    assert t.meta["phone"] == "13900001111" and t.meta["call_id"] == "X1"


def test_json_list_of_transcripts_in_several_shapes_with_a_bad_record() -> None:
    doc = {"calls": [
        {"transcript": "坐席：您好\n市民：小区电梯坏了"},
        {"text": "我要反映拖欠工资"},
        {"segments": [{"spk": 0, "text": "您好，请问有什么可以帮您"}, {"spk": 1, "text": "我被骗了两千块"}]},
        {"dialogue": [["坐席", "您好"], ["市民", "路灯坏了"]]},
        {"nothing": "here"},
        "市民：直接一段文本也可以",
    ]}
    result = parse_document(json.dumps(doc, ensure_ascii=False), "o.json", "o.json")
    assert len(result.transcripts) == 5
    assert result.transcripts[2].caller_text == "我被骗了两千块"
    assert [e.source for e in result.errors] == ["o.json#5"] and result.errors[0].reason == "no_text"


def test_json_lines_with_a_broken_line() -> None:
    text = '{"text": "市民：我家停水了"}\n{"text": "broken\n{"text": "市民：噪音扰民"}\n'
    result = parse_document(text, "p.jsonl", "p.jsonl")
    assert len(result.transcripts) == 2
    assert result.errors[0].reason == "bad_json" and result.errors[0].source == "p.jsonl#2"


def test_broken_json_file_is_one_clear_error() -> None:
    with pytest.raises(TranscriptError) as info:
        parse_document('{"turns": [{"speaker": "坐席", "text": "您好"}', "q.json", "q.json")
    assert info.value.reason == "bad_json" and "JSON" in info.value.message


def test_plain_text_that_starts_with_a_bracket_is_not_json() -> None:
    result = parse_document("[坐席] 您好\n[市民] 我家停电了", "r.txt", "r.txt")
    assert result.format == "text" and result.transcripts[0].caller_text == "我家停电了"


def test_api_payloads() -> None:
    t = transcript_from_payload({"turns": [{"speaker": "0", "role": "operator", "text": "您好"},
                                           {"speaker": "1", "role": "caller", "text": "我要投诉"}]})
    assert roles(t) == [("0", OPERATOR), ("1", CALLER)]
    assert transcript_from_payload({"transcript": "没有标签的一段话"}).caller_text == "没有标签的一段话"


# ---------------------------------------------------------------------------------------- CSV
def test_csv_one_transcript_per_row_with_phone_and_an_empty_row() -> None:
    text = "id,来电号码,通话内容\n1,13800000001,\"坐席：您好\n市民：我家停水了\"\n2,13800000002,\n3,,我要投诉噪音\n"
    result = parse_document(text, "s.csv", "s.csv")
    assert [t.caller_text for t in result.transcripts] == ["我家停水了", "我要投诉噪音"]
    assert result.transcripts[0].meta == {"phone": "13800000001", "call_id": "1"}
    assert len(result.errors) == 1 and result.errors[0].reason == "empty"


def test_csv_one_turn_per_row_grouped_by_call() -> None:
    text = ("call_id\tspeaker\ttext\nA\t坐席\t您好\nA\t市民\t学校乱收费\nB\tA\t您好，12345热线\nB\tB\t工资被拖欠\n")
    result = parse_document(text, "t.tsv", "t.tsv")
    assert [t.caller_text for t in result.transcripts] == ["学校乱收费", "工资被拖欠"]
    assert [t.source for t in result.transcripts] == ["t.tsv#A", "t.tsv#B"]


def test_broken_csv_keeps_the_rows_before_the_break_and_says_where() -> None:
    text = 'text\n"市民：我家停水了"\n"市民：噪音扰民"x,\n"市民：后面的行"\n'
    result = parse_document(text, "u.csv", "u.csv")
    assert [t.caller_text for t in result.transcripts] == ["我家停水了"]
    assert result.errors and result.errors[-1].reason == "bad_csv" and "CSV" in result.errors[-1].message


def test_csv_without_a_text_column() -> None:
    with pytest.raises(TranscriptError) as info:
        parse_document("a,b\n1,2\n", "v.csv", "v.csv")
    assert info.value.reason == "bad_csv"


# ---------------------------------------------------------------------------------------- bytes
def test_empty_and_blank_files() -> None:
    for data in (b"", b"  \n\t\n"):
        with pytest.raises(TranscriptError) as info:
            decode_bytes(data)
        assert info.value.reason == "empty"


@pytest.mark.parametrize("data,kind", [
    (b"\x89PNG\r\n\x1a\n" + bytes(range(256)), "PNG"),
    (b"%PDF-1.4 ...", "PDF"),
    (b"PK\x03\x04" + b"\x00" * 20, "ZIP"),
])
def test_known_binary_formats(data: bytes, kind: str) -> None:
    with pytest.raises(TranscriptError) as info:
        decode_bytes(data)
    assert info.value.reason == "binary" and kind in info.value.message


def test_random_binary_with_nul_bytes() -> None:
    import random

    rnd = random.Random(7)
    data = bytes(rnd.randrange(256) for _ in range(2000))
    with pytest.raises(TranscriptError) as info:
        decode_bytes(data)
    assert info.value.reason in ("binary", "bad_encoding")


def test_gbk_and_gb18030_are_decoded_with_a_warning() -> None:
    text = "坐席：您好\n市民：我们小区垃圾三天没人清运了"
    for codec in ("gbk", "gb18030", "gb2312"):
        result = parse_bytes(text.encode(codec), "w.txt", "w.txt")
        (t,) = result.transcripts
        assert result.encoding == "gb18030"
        assert t.caller_text == "我们小区垃圾三天没人清运了"
        assert any("GB18030" in w for w in t.warnings)


def test_utf8_bom_utf16_and_mojibake() -> None:
    text = "市民：我家停电了"
    assert parse_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"), "x.txt").transcripts[0].caller_text == "我家停电了"
    assert parse_bytes(text.encode("utf-16"), "y.txt").transcripts[0].caller_text == "我家停电了"
    assert parse_bytes(text.encode("utf-16-le"), "y2.txt").transcripts[0].caller_text == "我家停电了"
    mojibake = text.encode("utf-8").decode("latin-1").encode("utf-8")  # UTF-8 read as Latin-1 and saved again
    result = parse_bytes(mojibake, "z.txt")
    assert result.transcripts[0].caller_text == "我家停电了"
    assert any("Latin-1" in w for w in result.transcripts[0].warnings)


def test_undecodable_bytes_are_reported() -> None:
    with pytest.raises(TranscriptError) as info:
        decode_bytes(b"abc \x81\x30 def \xff\xff\xff")
    assert info.value.reason == "bad_encoding"
