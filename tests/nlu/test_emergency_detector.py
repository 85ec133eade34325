import pytest

from bot.components.emergency_detector import emergency_phrase
from bot.nlu.normalise import normalise


@pytest.mark.parametrize("text", [
    "着火了着火了，地下车库电动车烧起来了",
    "救命，有人打我",
    "天然气管道破了，呲呲地漏气",
    "有人拿刀砍人",
    "我朋友说要自杀，现在联系不上",
    "有个小孩掉进水塘里了",
    "家里老人突然晕倒了，叫不醒",
    "著火了，快派人來",  # Traditional, normalised first
])
def test_emergencies_are_recognised(text):
    assert emergency_phrase(normalise(text).text)


@pytest.mark.parametrize("text", [
    "P2P平台不让提现，这是我的救命钱",
    "楼道里堆满杂物，万一着火怎么办",
    "消防通道被私家车堵住了",
    "物业不作为，我们被困扰了很久",
    "楼下烧烤店油烟很大",
    "楼梯口全堆着床垫被子，就一个楼梯，万一着火了……",
    "防溺水要家访签字，反诈要统计家长安装APP",
])
def test_hazards_and_figures_of_speech_are_not_emergencies(text):
    assert emergency_phrase(normalise(text).text) is None
