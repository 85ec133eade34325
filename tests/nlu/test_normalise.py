"""The normaliser: what it changes, and that entity offsets survive the changes."""
from bot.nlu.normalise import normalise


def test_traditional_becomes_simplified_and_is_detected():
    result = normalise("我家樓下的燒烤店每天營業到淩晨")
    assert result.text == "我家楼下的烧烤店每天营业到凌晨"
    assert result.is_traditional


def test_simplified_text_is_not_flagged_traditional():
    assert not normalise("我家楼下的烧烤店每天营业到凌晨").is_traditional


def test_full_width_forms_become_half_width():
    assert normalise("ＫＴＶ在３栋，电话１３８００００１２３４！").text == "KTV在3栋,电话13800001234!"


def test_spoken_fillers_are_removed_but_meaningful_words_stay():
    result = normalise("嗯，呃，我跟你讲，那个小区门口就是有人摆摊")
    assert result.text == "那个小区门口就是有人摆摊"


def test_chinese_numerals_before_units_become_digits():
    assert normalise("三楼漏水二十多天了，赔了两千块").text == "3楼漏水20多天了,赔了2000块"


def test_single_yi_is_left_alone():
    assert normalise("一点也不管，一次都没来").text == "一点也不管,一次都没来"


def test_repeated_punctuation_and_blanks_fold():
    assert normalise("太吵了！！！  真的！！").text == "太吵了! 真的!"


def test_empty_and_blank_input():
    assert normalise("").text == ""
    assert normalise("   ").text == ""


def test_entity_span_maps_onto_normalised_text():
    original = "嗯，我住在幸福小區三棟，樓上天天吵"
    result = normalise(original)
    start = original.index("幸福小區三棟")
    new_start, new_end = result.map_span(start, start + len("幸福小區三棟"))
    assert result.text[new_start:new_end] == "幸福小区3栋"


def test_every_original_offset_maps_inside_the_text():
    result = normalise("呃呃，那个那个，欠了我三个月工资一万二千元！！")
    assert len(result.offsets) == len(result.original) + 1
    assert all(0 <= o <= len(result.text) for o in result.offsets)
    assert result.offsets == sorted(result.offsets)


def test_rough_ranges_and_impossible_hours_stay_as_written():
    assert normalise("凌晨一两点还在施工").text == "凌晨一两点还在施工"
    assert normalise("每晚九十点开始，持续三四天，二三十个人").text == "每晚九十点开始,持续三四天,二三十个人"
    assert normalise("十一二岁的孩子").text == "十一二岁的孩子"
    assert normalise("晚上十点到十二点，等了两个小时").text == "晚上10点到12点,等了2个小时"
