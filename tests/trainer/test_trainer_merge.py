"""merge: normalised examples in the right file; duplicates, near duplicates, conflicts, held-out
leaks and unknown intents refused; a dry run writes nothing."""
from pathlib import Path

import pytest

from tests.trainer.trainer_fixtures import ENTITY_TYPES, EVENT_CODES, OTHER_INTENTS, make_tree
from trainer.cli import main as cli_main
from trainer.merge import append_examples, key_text, merge_file, normalise_example, plan_merge
from trainer.nlu_files import read_examples
from trainer.prelabel import text_hash
from trainer.review import Row, read_review, write_review


def _plan(layout, rows, **kw):
    return plan_merge(rows, layout, EVENT_CODES, OTHER_INTENTS, ENTITY_TYPES, **kw)


def _kinds(plan):
    return {p.row: p.kind for p in plan.refused}


def test_normalise_example_keeps_annotations_on_the_normalised_text():
    assert normalise_example("嗯那个，[深圳市羅湖區](location)的[酒吧](party)開到淩晨") == \
        "那个,[深圳市罗湖区](location)的[酒吧](party)开到凌晨"
    assert normalise_example("第一行\n第二行") == "第一行,第二行"


def test_each_refusal_kind(tmp_path):
    layout = make_tree(tmp_path)
    rows = [
        Row("ok", "[幸福小区](location)的[物业](party)天天半夜放音乐", "noise_pollution", "keep"),
        Row("dup", "工地半夜三点还在打桩！", "noise_pollution", "keep"),
        Row("near", "楼下酒吧每天晚上唱歌到凌晨两点钟", "noise_pollution", "keep"),
        Row("conflict", "公司欠薪半年了不给结算", "noise_pollution", "keep"),
        Row("leak", "隔壁装修电钻声从早响到晚", "noise_pollution", "keep"),
        Row("unknown", "路灯坏了一个月没人修", "", "change:street_lights"),
        Row("entity", "[王五](person)欠我工资三个月一直拖着", "wage_arrears", "keep"),
        Row("batch", "[幸福小区](location)的物业天天半夜放音乐", "noise_pollution", "keep"),
        Row("bad", "随便什么话", "greet", "maybe"),
        Row("undecided", "还没看过的一句话", "greet", "review"),
        Row("dropped", "不要的一句话", "greet", "drop"),
    ]
    plan = _plan(layout, rows)
    kinds = _kinds(plan)
    assert [a.row for a in plan.accepted] == ["ok"]
    assert kinds == {"dup": "duplicate", "near": "near_duplicate", "conflict": "conflict", "leak": "heldout_leak",
                     "unknown": "unknown_intent", "entity": "unknown_entity", "batch": "batch_duplicate",
                     "bad": "bad_decision"}
    assert plan.undecided == ["undecided"] and plan.dropped == ["dropped"]
    assert plan.accepted[0].path == "nlu_data/events/noise_pollution.yml"


def test_near_conflict_under_another_intent_is_a_conflict(tmp_path):
    layout = make_tree(tmp_path)
    plan = _plan(layout, [Row("x", "老板跑路了工资没发啊", "", "change:noise_pollution")])
    assert _kinds(plan) == {"x": "conflict"}


def test_refused_rows_refuse_the_whole_merge_unless_skip_refused(tmp_path):
    layout = make_tree(tmp_path)
    review = tmp_path / "review.yml"
    write_review(review, [Row("ok", "夜間施工太吵了", "noise_pollution", "keep"),
                          Row("hi", "早上好呀", "", "change:greet"),
                          Row("dup", "你好", "greet", "keep")])
    before = (layout.nlu_dir / "events" / "noise_pollution.yml").read_text(encoding="utf-8")
    plan, written, text = merge_file(review, layout, EVENT_CODES, OTHER_INTENTS, ENTITY_TYPES)
    assert not written and "REFUSED" in text and "row dup: duplicate" in text
    assert (layout.nlu_dir / "events" / "noise_pollution.yml").read_text(encoding="utf-8") == before

    plan, written, text = merge_file(review, layout, EVENT_CODES, OTHER_INTENTS, ENTITY_TYPES, dry_run=True)
    assert not written and "DRY RUN" in text and len(plan.accepted) == 2

    plan, written, _ = merge_file(review, layout, EVENT_CODES, OTHER_INTENTS, ENTITY_TYPES, skip_refused=True)
    assert written
    noise_file = layout.nlu_dir / "events" / "noise_pollution.yml"
    assert read_examples(noise_file)["noise_pollution"][-1] == "夜间施工太吵了"  # normalised
    assert "# hand-written comment" in noise_file.read_text(encoding="utf-8")
    small_talk = read_examples(layout.nlu_dir / "conversation" / "small_talk.yml")
    assert small_talk["greet"][-1] == "早上好呀"
    assert "- regex: phone" in (layout.nlu_dir / "conversation" / "small_talk.yml").read_text(encoding="utf-8")
    assert (layout.reports_dir / "trainer" / "last_merge.json").exists()
    # merging the same file again: everything is a duplicate now
    plan, written, _ = merge_file(review, layout, EVENT_CODES, OTHER_INTENTS, ENTITY_TYPES)
    assert not written and {p.kind for p in plan.refused} == {"duplicate"}


def test_new_intent_file_and_block(tmp_path):
    layout = make_tree(tmp_path)
    path = layout.nlu_dir / "conversation" / "goodbye.yml"
    append_examples(path, "goodbye", ["再见"])
    append_examples(path, "thanks", ["谢谢"])
    append_examples(path, "goodbye", ["拜拜"])
    assert read_examples(path) == {"goodbye": ["再见", "拜拜"], "thanks": ["谢谢"]}


def test_verbatim_real_message_refused(tmp_path):
    layout = make_tree(tmp_path)
    text = "小区门口的垃圾堆了一个星期没人清理"
    row = Row("msg-1", text, "noise_pollution", "keep", source={"kind": "realtext", "text_sha1": text_hash(text)})
    assert _kinds(_plan(layout, [row])) == {"msg-1": "verbatim_realtext"}
    row.text = "我们小区门口垃圾一周没人清"
    assert _kinds(_plan(layout, [row])) == {}
    row.text = text
    assert _plan(layout, [row], allow_realtext=True).accepted


def test_review_file_round_trip_and_errors(tmp_path):
    path = tmp_path / "r.yml"
    write_review(path, [Row("a", "文本[楼下](party)", "greet", model={"intent": "greet", "confidence": 0.5})],
                 model="m.tar.gz")
    header, rows = read_review(path)
    assert header["model"] == "m.tar.gz" and rows[0].text == "文本[楼下](party)" and rows[0].decision == "review"
    assert path.read_text(encoding="utf-8").startswith("# Review file")
    path.write_text("rows:\n- {id: a, text: x}\n- {id: a, text: y}\n", encoding="utf-8")
    with pytest.raises(ValueError, match="twice"):
        read_review(path)


def test_cli_merge_exit_codes(tmp_path, capsys):
    make_tree(tmp_path)
    review = tmp_path / "review.yml"
    write_review(review, [Row("x", "路灯坏了", "", "change:no_such_type")])
    # --root points the CLI at the fixture tree; the catalogue is the project's, so the fixture's
    # event codes are real codes (noise_pollution, wage_arrears) and no_such_type is unknown.
    code = cli_main(["--root", str(tmp_path), "merge", str(review)])
    out = capsys.readouterr().out
    assert code == 1 and "unknown_intent" in out


def test_key_text_ignores_punctuation_and_script():
    assert key_text("夜間施工，太吵了！") == key_text("夜间施工太吵了")


def test_ranking_round_trips_as_a_mapping(tmp_path):
    path = tmp_path / "r.yml"
    write_review(path, [Row("a", "x", ranking=[["noise_pollution", 0.9], ["greet", 0.05]])])
    assert "noise_pollution: 0.9" in path.read_text(encoding="utf-8")
    assert read_review(path)[1][0].ranking == [["noise_pollution", 0.9], ["greet", 0.05]]
