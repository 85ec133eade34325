"""Location resolution to administrative divisions with cpca."""
import pytest

from bot.nlu.locations import resolve_division


@pytest.mark.parametrize("text, adcode, district", [
    ("长沙市雨花区韶山路幸福小区", "430111", "雨花区"),
    ("在成都武侯区玉林北路", "510107", "武侯区"),
    ("杭州西湖区文三路", "330106", "西湖区"),
    ("哈尔滨南岗区", "230103", "南岗区"),
])
def test_named_districts_resolve_to_their_codes(text, adcode, district):
    division = resolve_division(text)
    assert division is not None
    assert (division.adcode, division.district) == (adcode, district)


def test_city_only_resolves_to_the_city_code():
    division = resolve_division("长沙韶山路")
    assert division is not None
    assert division.adcode == "430100" and division.district is None


@pytest.mark.parametrize("text", [
    "韶山路幸福小区",  # a road named after 韶山, not 韶山市
    "A市A3区杜鹃路",  # the anonymised style of the real messages
    "K市K2县",
    "幸福小区东门",
    "",
])
def test_no_division_is_invented(text):
    assert resolve_division(text) is None
