"""ONE end-to-end check on real Rasa models: two tiny NLU models (a small pipeline: jieba, char
n-grams, our TF-IDF classifier; no CRF) trained on a fixture set, evaluated on a fixture
held-out split with trainer.evaluate, compared: the model trained on deliberately damaged labels
is BLOCKED, the one trained on clean data passes against itself."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from trainer.compare import compare_reports, evaluate_cached

ROOT = Path(__file__).resolve().parents[2]

CONFIG = """recipe: default.v1
language: zh
assistant_id: trainer-test
pipeline:
  - name: JiebaTokenizer
  - name: CountVectorsFeaturizer
    analyzer: char_wb
    min_ngram: 1
    max_ngram: 2
  - name: bot.components.tfidf_intent_classifier.TfidfIntentClassifier
    calibration_folds: 3
policies: []
"""

NOISE = ["楼下酒吧每天晚上唱歌到凌晨", "工地半夜还在打桩太吵了", "广场舞音响震得窗户响", "隔壁装修电钻声从早到晚",
         "商场空调外机整夜轰隆响", "KTV唱到两三点睡不着", "工厂机器二十四小时响个不停", "夜间施工噪音太大",
         "楼上天天半夜蹦迪吵死了", "货车凌晨卸货喇叭声很吵", "烧烤摊划拳喧哗到深夜", "练鼓的声音太吵了"]
WAGE = ["包工头拖欠我们三个月工资", "公司欠薪半年不给结算", "老板跑路了工资没发", "饭店老板欠我两个月工钱",
        "工地干完活不给钱", "工厂拖欠工人工资", "辞职后公司扣着工资不发", "讨薪被老板推出来",
        "加班费一直不给算", "年底了工程款和工资都没结", "劳务公司欠我们血汗钱", "试用期工资至今没发"]
GREET = ["你好", "您好", "在吗", "你好啊", "喂你好", "早上好", "晚上好", "哈喽", "有人吗", "您好在吗", "嗨", "你好呀"]
HELDOUT = {"noise_pollution": ["半夜工地打桩吵得睡不着", "楼下酒吧音乐太吵", "广场舞太吵了"],
           "wage_arrears": ["老板拖欠工资不给", "公司三个月没发工资", "包工头欠薪跑了"],
           "greet": ["你好呀在吗", "您好", "喂，有人吗"]}


def _nlu(path: Path, data):
    lines = ['version: "3.1"', "nlu:"]
    for intent, examples in data.items():
        lines += [f"- intent: {intent}", "  examples: |"] + [f"    - {e}" for e in examples]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _train(tmp: Path, name: str, data) -> subprocess.Popen:
    _nlu(tmp / name / "nlu.yml", data)
    # each training its own Rasa cache: two processes creating one cache database at once race
    # ("table cache_entry already exists")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "2",
           "RASA_CACHE_DIRECTORY": str(tmp / name / ".rasa-cache")}
    return subprocess.Popen([sys.executable, "-m", "rasa", "train", "nlu", "--config", str(tmp / "config.yml"),
                             "--nlu", str(tmp / name / "nlu.yml"), "--out", str(tmp / "models"),
                             "--fixed-model-name", name], cwd=tmp, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


@pytest.mark.timeout(600)
def test_damaged_candidate_trained_for_real_is_blocked(tmp_path):
    (tmp_path / "config.yml").write_text(CONFIG, encoding="utf-8")
    _nlu(tmp_path / "heldout" / "events.yml", HELDOUT)
    clean = {"noise_pollution": NOISE, "wage_arrears": WAGE, "greet": GREET}
    # The damage: most wage-arrears examples filed under noise_pollution.
    damaged = {"noise_pollution": NOISE + WAGE[:9], "wage_arrears": WAGE[9:] + ["工资", "欠薪"], "greet": GREET}
    jobs = {"current": _train(tmp_path, "current", clean), "candidate": _train(tmp_path, "candidate", damaged)}
    for name, job in jobs.items():
        out, _ = job.communicate(timeout=500)
        assert job.returncode == 0, out[-3000:]
    models = {name: tmp_path / "models" / f"{name}.tar.gz" for name in jobs}
    cache = tmp_path / "eval"
    current = evaluate_cached(models["current"], cache, tmp_path / "heldout", realtext=False)
    candidate = evaluate_cached(models["candidate"], cache, tmp_path / "heldout", realtext=False)
    assert current["heldout"]["intent"]["macro_f1"] > candidate["heldout"]["intent"]["macro_f1"]
    result = compare_reports(current, candidate)
    assert result["verdict"] == "BLOCK"
    assert any("wage_arrears" in b for b in result["blocking"])
    assert any(c["gold"] == "wage_arrears" and c["predicted"] == "noise_pollution" for c in result["newly_confused"])
    assert compare_reports(current, current)["verdict"] == "PASS"
    # cached: a second evaluation reads the report instead of parsing again
    assert evaluate_cached(models["current"], cache, tmp_path / "heldout", realtext=False) == current
