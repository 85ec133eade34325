"""A fake rasa server for the console tests: `POST /model/parse` answers deterministically from
keyword rules, in the shape of the real one (intent, intent_ranking, entities with offsets on the
normalised text, original_text, location_resolution). No model, no TensorFlow.

Run it by hand for a demo: `python tests/console/fake_nlu.py --port 5005`.
"""
from __future__ import annotations

import json
import re
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bot.nlu.normalise import normalise  # noqa: E402

# (keywords, intent, confidence): the first rule with a keyword in the text wins.
RULES: List[Tuple[Tuple[str, ...], str, float]] = [
    (("着火", "火灾", "冒烟"), "emergency", 0.97),
    (("噪音", "噪声", "太吵", "吵得"), "noise_pollution", 0.91),
    (("占道", "摆摊", "摊贩"), "street_occupation", 0.88),
    (("拖欠工资", "欠薪", "工资被拖欠", "不发工资", "拖欠"), "wage_arrears", 0.93),
    (("停水", "没水", "水压"), "water_supply", 0.86),
    (("电梯", "物业"), "property_management", 0.84),
    (("乱收费", "补课费"), "school_fees", 0.8),
    (("施工", "工地"), "construction_nuisance", 0.62),
    (("垃圾", "倾倒"), "sanitation", 0.44),  # deliberately unsure: low confidence
]
LOCATIONS = ("岳麓区岳麓街道桃子湖社区", "岳麓区桃子湖社区", "桃子湖社区", "岳麓街道", "天心区坡子街", "坡子街街道",
             "坡子街", "芙蓉区文艺路街道", "文艺路街道", "桃花坪社区", "芙蓉区朝阳街社区", "朝阳街社区", "岳麓区", "天心区",
             "芙蓉区", "河西", "湘江边")
PARTIES = ("烧烤店", "物业公司", "物业", "建筑公司", "长沙某某建筑公司", "流动摊贩", "摊贩", "开发商", "学校")
ADCODES = {"岳麓": ("430104", "岳麓区"), "天心": ("430103", "天心区"), "芙蓉": ("430102", "芙蓉区")}
PHONE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")


def _spans(text: str, words: Tuple[str, ...], kind: str) -> List[Dict[str, Any]]:
    found: List[Dict[str, Any]] = []
    for word in sorted(words, key=len, reverse=True):
        for m in re.finditer(re.escape(word), text):
            if any(m.start() < e["end"] and e["start"] < m.end() for e in found):
                continue
            found.append({"entity": kind, "start": m.start(), "end": m.end(), "value": word,
                          "extractor": "FakeExtractor", "confidence_entity": 0.9})
    return found


def parse(text: str) -> Dict[str, Any]:
    norm = normalise(text).text
    intent, confidence = "nlu_fallback", 0.3
    ranking: List[Dict[str, Any]] = []
    for words, name, conf in RULES:
        if any(w in norm for w in words):
            intent, confidence = name, conf
            break
    if intent == "nlu_fallback":
        ranking = [{"name": "nlu_fallback", "confidence": 0.3}, {"name": "consumer_rights", "confidence": 0.22},
                   {"name": "public_order", "confidence": 0.12}]
    else:
        ranking = [{"name": intent, "confidence": confidence}]
        others = [r for r in RULES if r[1] != intent][:3]
        rest = 1.0 - confidence
        for i, (_, name, _) in enumerate(others):
            ranking.append({"name": name, "confidence": round(rest / (2 ** (i + 1)), 4)})
    entities = _spans(norm, LOCATIONS, "location") + _spans(norm, PARTIES, "party")
    for m in PHONE.finditer(norm):
        entities.append({"entity": "phone", "start": m.start(), "end": m.end(), "value": m.group(),
                         "extractor": "RegexEntityExtractor"})
    entities.sort(key=lambda e: e["start"])
    resolution = None
    for key, (code, district) in ADCODES.items():
        if key in norm:
            resolution = {"adcode": code, "province": "湖南省", "city": "长沙市", "district": district, "rest": ""}
            for e in entities:
                if e["entity"] == "location" and key in e["value"]:
                    e["division"] = resolution
            break
    return {"text": norm, "intent": {"name": intent, "confidence": confidence}, "intent_ranking": ranking,
            "entities": entities, "original_text": text, "script": "simplified", "location_resolution": resolution}


class Handler(BaseHTTPRequestHandler):
    def _send(self, status: int, body: Any) -> None:
        raw = json.dumps(body, ensure_ascii=False).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def do_GET(self) -> None:  # noqa: N802
        self._send(200, {"version": "fake", "status": "ok"})

    def do_POST(self) -> None:  # noqa: N802
        if self.path.split("?")[0] != "/model/parse":
            self._send(404, {"error": "not found"})
            return
        length = int(self.headers.get("Content-Length") or 0)
        try:
            body = json.loads(self.rfile.read(length).decode("utf-8"))
            text = body["text"]
        except (ValueError, KeyError, TypeError):
            self._send(400, {"error": "bad request"})
            return
        self.server.calls.append(text)  # type: ignore[attr-defined]
        self._send(200, parse(text))

    def log_message(self, *args: Any) -> None:
        pass


class FakeNLU:
    def __init__(self, port: int = 0):
        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.calls = []  # type: ignore[attr-defined]
        self.thread: Optional[threading.Thread] = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    @property
    def calls(self) -> List[str]:
        return self.server.calls  # type: ignore[attr-defined]

    def start(self) -> "FakeNLU":
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=5005)
    port = ap.parse_args().port
    fake = FakeNLU(port)
    print(f"fake NLU on {fake.url}", flush=True)
    fake.server.serve_forever()
