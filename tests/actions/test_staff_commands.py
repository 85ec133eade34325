"""Taking a grid worker's terse command apart: ticket number, list index, the note."""
from __future__ import annotations

import pytest

from actions.staff_commands import Command, list_index, on_spot_sentence, parse, pick

N = "20261123-000012"


@pytest.mark.parametrize("text, expected", [
    ("接单", Command(None, None, None)),
    ("接单2", Command(None, 2, None)),
    ("第二单接了", Command(None, 2, None)),
    (f"接单 {N}", Command(N, None, None)),
    (f"进展{N}：已联系物业，明天上午清理", Command(N, None, "已联系物业，明天上午清理")),
    ("已办结，回复：路灯已修复", Command(None, None, "路灯已修复")),
    ("办结 2 已清理", Command(None, 2, "已清理")),
    ("办结第3单，已修复", Command(None, 3, "已修复")),
    ("这单处理完了，垃圾已清运", Command(None, None, "垃圾已清运")),
    ("办结，路灯已处理好", Command(None, None, "路灯已处理好")),  # 路灯 keeps the clause a note
    ("网格解决不了，申请上报", Command(None, None, None)),  # no reason given: the form asks
    ("上报街道 2 原因：涉及违建需执法", Command(None, 2, "涉及违建需执法")),
    ("格内解决，已劝离占道摊贩", Command(None, None, "已劝离占道摊贩")),
    ("当场处理好了", Command(None, None, None)),
    ("更新一下处理情况，正在协调", Command(None, None, "正在协调")),
    ("我已经把垃圾全部处理完了", Command(None, None, "我已经把垃圾全部处理完了")),
    ("已辦結，回覆：路燈已修復", Command(None, None, "路灯已修复")),  # Traditional
    ("办结 2，与20261120-000003是同一问题，已处理", Command(None, 2, "与20261120-000003是同一问题，已处理")),
    (f"{N} 办结，已清理", Command(N, None, "已清理")),
    ("", Command(None, None, None)),
])
def test_parse(text, expected):
    assert parse(text) == expected


def test_list_index_and_pick():
    assert [list_index(t) for t in ("2", "第二单", "3号", "十", "0", "99", "两")] == [2, 2, 3, 10, None, None, None]
    assert pick(["a", "b"], 2) == "b" and pick(["a"], 2) is None and pick([], None) is None


def test_on_spot_sentence_takes_the_clause_and_what_follows():
    assert on_spot_sentence("桃子湖路口有人乱摆摊，已劝离，摊贩已离开") == "已劝离，摊贩已离开"
    assert on_spot_sentence("当场处置") == "当场处置"
    assert on_spot_sentence("路口有人乱摆摊") is None


@pytest.mark.parametrize("text, command", [
    ("办结 3 已清运", True), (f"接单{N}", True), ("上报街道，原因：涉及违建", True), ("第二单接了", True),
    ("已联系运维人员把单车全部挪走", False), ("垃圾已清运完毕", False), ("正在协调物业", False),
])
def test_a_note_is_not_taken_for_a_command(text, command):
    from actions.staff_commands import looks_like_command

    assert looks_like_command(text) is command
