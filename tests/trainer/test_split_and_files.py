"""The held-out split and the NLU file reader/writer."""
from trainer.nlu_files import annotated_entities, plain_text, read_examples, write_examples
from trainer.split import split_file


def test_round_trip_keeps_examples_and_markup(tmp_path):
    path = tmp_path / "x.yml"
    write_examples(path, {"noise": ["[楼下KTV](party)太吵", "夜里施工"], "greet": ["你好"]})
    assert read_examples(path) == {"noise": ["[楼下KTV](party)太吵", "夜里施工"], "greet": ["你好"]}


def test_plain_text_and_entities():
    example = "[长沙市雨花区](location)的[万科物业](party:物业公司)不管事"
    assert plain_text(example) == "长沙市雨花区的万科物业不管事"
    assert annotated_entities(example) == [("location", "长沙市雨花区"), ("party", "万科物业")]


def test_split_moves_a_fixed_share_and_is_stable(tmp_path):
    data, heldout = tmp_path / "noise.yml", tmp_path / "heldout" / "noise.yml"
    examples = [f"例子{i}" for i in range(20)]
    write_examples(data, {"noise": examples})
    assert split_file(data, heldout, 5) == 5
    kept, held = read_examples(data)["noise"], read_examples(heldout)["noise"]
    assert len(kept) == 15 and len(held) == 5 and not set(kept) & set(held)
    # running again moves nothing: the held-out set is fixed
    assert split_file(data, heldout, 5) == 0
    assert read_examples(heldout)["noise"] == held
    # the choice depends on the texts only
    write_examples(tmp_path / "again.yml", {"noise": examples})
    split_file(tmp_path / "again.yml", tmp_path / "heldout2.yml", 5)
    assert sorted(read_examples(tmp_path / "heldout2.yml")["noise"]) == sorted(held)
