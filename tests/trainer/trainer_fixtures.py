"""Small NLU trees and hand-made evaluation reports for the trainer-loop tests."""
from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Optional

from trainer.evaluate import Prediction
from trainer.merge import Layout

EVENTS = {
    "noise_pollution": ["楼下酒吧每天晚上唱歌到凌晨两点", "工地[半夜三点](time)还在打桩", "广场舞的音响震得窗户嗡嗡响"],
    "wage_arrears": ["[包工头](party)拖欠我们三个月工资", "公司欠薪半年了不给结算", "老板跑路了工资没发"],
}
CONVERSATION = {"greet": ["你好", "您好，在吗"]}
HELDOUT = {"noise_pollution": ["隔壁装修电钻声从早响到晚"], "wage_arrears": ["饭店老板欠我两个月工钱不给"]}


def make_tree(root: Path) -> Layout:
    """nlu_data/{events,conversation}, nlu_eval/heldout/events and a jieba_dict, with a comment
    in one file (merge must keep it)."""
    layout = Layout.of(root)
    for intent, examples in EVENTS.items():
        path = layout.nlu_dir / "events" / f"{intent}.yml"
        path.parent.mkdir(parents=True, exist_ok=True)
        body = "\n".join(f"    - {e}" for e in examples)
        path.write_text(f'version: "3.1"\nnlu:\n# hand-written comment\n- intent: {intent}\n  examples: |\n{body}\n',
                        encoding="utf-8")
    conv = layout.nlu_dir / "conversation" / "small_talk.yml"
    conv.parent.mkdir(parents=True, exist_ok=True)
    conv.write_text('version: "3.1"\nnlu:\n- intent: greet\n  examples: |\n'
                    + "".join(f"    - {e}\n" for e in CONVERSATION["greet"])
                    + "- regex: phone\n  examples: |\n    - 1[3-9][0-9]{9}\n", encoding="utf-8")
    for intent, examples in HELDOUT.items():
        path = layout.heldout_dir / "events" / f"{intent}.yml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f'version: "3.1"\nnlu:\n- intent: {intent}\n  examples: |\n'
                        + "".join(f"    - {e}\n" for e in examples), encoding="utf-8")
    jieba = layout.nlu_dir / "jieba_dict" / "words.txt"
    jieba.parent.mkdir(parents=True, exist_ok=True)
    jieba.write_text("包工头 3000 n\n", encoding="utf-8")
    return layout


EVENT_CODES = set(EVENTS)
OTHER_INTENTS = {"greet", "goodbye"}
ENTITY_TYPES = {"location", "party", "time"}


def report(per_intent_f1: Dict[str, float], entity_f1: Optional[Dict[str, float]] = None,
           predictions: Optional[List[Dict]] = None, model: str = "m.tar.gz") -> Dict:
    """An evaluation report (trainer.evaluate's shape) with the given F1s."""
    per_intent = {k: {"precision": v, "recall": v, "f1": v, "support": 10} for k, v in per_intent_f1.items()}
    macro = sum(per_intent_f1.values()) / len(per_intent_f1)
    return {
        "model": model,
        "heldout": {
            "examples": 10 * len(per_intent_f1),
            "intent": {"accuracy": macro, "macro_f1": macro, "per_intent": per_intent},
            "entities": {k: {"precision": v, "recall": v, "f1": v, "support": 20}
                         for k, v in (entity_f1 or {"location": 0.8, "party": 0.7}).items()},
            "confused_pairs": [],
            "predictions": predictions or [],
        },
    }


def fake_predict(answers: Dict[str, str], default: str = "noise_pollution", confidence: float = 0.6):
    """A predictor: the intent whose keyword occurs in the text, with a fixed ranking."""
    def predict(texts):
        out = []
        for text in texts:
            intent = next((i for k, i in answers.items() if k in text), default)
            conf = 0.2 if intent == "unsure" else confidence
            ranking = [(intent, conf), ("wage_arrears", 0.1), ("greet", 0.05)]
            out.append(Prediction(text=text, intent=intent, confidence=conf, entities=[], ranking=ranking))
        return out
    return predict
