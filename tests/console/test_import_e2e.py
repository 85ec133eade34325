"""End to end over HTTP: the real backend (`python -m routing`) and a fake NLU server; a folder of
messy transcript files imported with `python -m routing.cli import-transcripts`, the drafts
reviewed through the API into dispatched tickets, the corrections exported for the trainers."""
from __future__ import annotations

import csv
import io
import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, List

import pytest

from console_env import ROOT, TOKENS

NOISE_PLACE = "岳麓区桃子湖社区"


def write_messy_folder(folder: Path, tag: str) -> Dict[str, str]:
    """The files of a realistic batch; returns name → what should happen to it."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "01_labels.txt").write_text(
        f"坐席：您好，12345热线，请问有什么可以帮您？\n市民：嗯嗯嗯，那个那个，{NOISE_PLACE}楼下烧烤店噪音太大了（{tag}）\n"
        "坐席：好的，我们会转交相关部门。\n", encoding="utf-8")
    (folder / "02_gbk.txt").write_bytes(
        f"A：您好，这里是12345热线\nB：长沙某某建筑公司拖欠工资三个月了（{tag}）\nA：好的\n".encode("gbk"))
    (folder / "03_traditional.txt").write_text(f"我們小區的電梯壞了兩個星期了，物業一直不修（{tag}）", encoding="utf-8")
    (folder / "04_calls.json").write_text(json.dumps({"calls": [
        {"call_id": f"J1-{tag}", "phone": "13800000001",
         "turns": [{"speaker": "agent", "text": "您好"}, {"speaker": "customer", "text": f"天心区坡子街停水两天了（{tag}）"}]},
        {"call_id": f"J2-{tag}", "transcript": f"坐席：您好\n市民：河边有人倾倒垃圾（{tag}）"},
        {"call_id": f"J3-{tag}", "recording": "no text here"},
    ]}, ensure_ascii=False), encoding="utf-8")
    (folder / "05_broken.json").write_text('{"turns": [{"speaker": "坐席", "text": "您好"', encoding="utf-8")
    (folder / "06_calls.csv").write_text(
        f"通话编号,来电号码,通话内容\nC1,13800000002,\"坐席：您好\n市民：芙蓉区文艺路街道学校乱收费（{tag}）\"\nC2,,\n",
        encoding="utf-8")
    (folder / "07_broken.csv").write_text(f'text\n"市民：岳麓街道有人占道摆摊（{tag}）"\n"坏行"x,\n"后面"\n',
                                          encoding="utf-8")
    (folder / "08_image.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    (folder / "09_empty.txt").write_text("  \n", encoding="utf-8")
    (folder / "10_again.txt").write_text(f"市民：{NOISE_PLACE}的烧烤店噪音扰民，天天吵到半夜（{tag}）", encoding="utf-8")
    (folder / ".hidden.txt").write_text("市民：不应导入", encoding="utf-8")
    sub = folder / "sub"
    sub.mkdir(exist_ok=True)
    (sub / "11.jsonl").write_text(f'{{"text": "市民：工地晚上施工很吵（{tag}）"}}\n{{"text": broken\n', encoding="utf-8")
    return {}


def run_cli(args: List[str], env: Dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "routing.cli", *args], cwd=ROOT, env={**os.environ, **env},
                          capture_output=True, text=True, timeout=600)


def test_batch_import_over_http_then_review_into_dispatched_tickets(server, tmp_path) -> None:  # type: ignore[no-untyped-def]
    tag = f"{server.backend.name}-batch"
    op = server.client("operator")
    intake = server.client("intake")
    # an open ticket the noise calls repeat
    primary = intake.post("/api/tickets", json={"text": f"{NOISE_PLACE}烧烤店噪音扰民", "channel": "telegram",
                                                 "event_type": "noise_pollution", "location_text": NOISE_PLACE})
    assert primary.status_code == 201, primary.text
    primary_number = primary.json()["number"]

    folder = tmp_path / "batch"
    write_messy_folder(folder, tag)
    result = run_cli(["import-transcripts", str(folder), "--server", server.base_url,
                      "--token", TOKENS["operator"][0], "--json"], {"DATABASE_URL": server.backend.url})
    assert result.returncode == 1, result.stderr  # some files failed, the rest went through
    summary = json.loads(result.stdout)
    assert summary["aborted"] is None and summary["files"] == 11  # the hidden file is skipped
    assert summary["created"] == 9, summary
    reasons = {Path(f["source"].split("#")[0]).name: f["reason"] for f in summary["failures"]}
    assert reasons["05_broken.json"] == "bad_json"
    assert reasons["08_image.png"] == "binary"
    assert reasons["09_empty.txt"] == "empty"
    assert reasons["07_broken.csv"] == "bad_csv"
    assert reasons["11.jsonl"] == "bad_json"
    assert any(f["source"].endswith("04_calls.json#3") and f["reason"] == "no_text" for f in summary["failures"])
    assert any(f["source"].endswith("06_calls.csv#行4") and f["reason"] == "empty" for f in summary["failures"])
    assert summary["by_type"]["noise_pollution"] == 2 and summary["by_type"]["wage_arrears"] == 1
    assert summary["by_type"]["unclassified"] == 1  # the unsure 垃圾 call
    low = [d["source"] for d in summary["low_confidence"]]
    assert any(s.endswith("04_calls.json#2") for s in low)
    dups = {Path(d["source"]).name: d["duplicate_of"] for d in summary["duplicates"]}
    assert dups == {"01_labels.txt": primary_number, "10_again.txt": primary_number}
    assert "[1/" in result.stderr and "→" in result.stderr  # progress

    # the same run, human readable
    text_run = run_cli(["import-transcripts", str(folder / "09_empty.txt"), str(folder / "03_traditional.txt"),
                        "--server", server.base_url, "--token", TOKENS["operator"][0]], {})
    assert text_run.returncode == 1
    assert "按事件类型" in text_run.stdout and "失败 / failures: 1" in text_run.stdout and "文件为空" in text_run.stdout

    drafts = op.get("/api/tickets", params={"state": "awaiting_review", "q": tag, "limit": 200}).json()["items"]
    assert len(drafts) == 10 and all(d["channel"] == "hotline" for d in drafts)  # 9 + the second run's

    # review: correct one type, confirm and dispatch all
    by_text: Dict[str, Any] = {}
    for d in drafts:
        full = op.get(f"/api/review/{d['number']}").json()
        by_text[full["triage"]["caller_text"]] = full
    gbk = next(v for k, v in by_text.items() if "拖欠工资" in k)
    assert gbk["triage"]["turns"][1]["role"] == "caller" and gbk["ticket"]["event_type"] == "wage_arrears"
    gbk_draft = next(d for d in summary["drafts"] if d["source"].endswith("02_gbk.txt"))
    assert any("GB18030" in w for w in gbk_draft["warnings"])  # decoded, and said so
    trad = next(v for k, v in by_text.items() if "電梯" in k)
    assert trad["ticket"]["event_type"] == "property_management" and "电梯" in trad["ticket"]["normalised_text"]
    water = next(v for k, v in by_text.items() if "停水" in k)
    assert water["ticket"]["reporter"]["phone"].endswith("13800000001")

    garbage = next(v for k, v in by_text.items() if "垃圾" in k)
    number = garbage["ticket"]["number"]
    fixed = op.post(f"/api/review/{number}/correct", json={"event_type": "water_pollution", "note": "倾倒进河里"})
    assert fixed.status_code == 200, fixed.text
    assert fixed.json()["candidates"][0]["operator_answer"] == "water_pollution"
    for d in drafts:
        body: Dict[str, Any] = {"dispatch": True}
        view = op.get(f"/api/review/{d['number']}").json()["ticket"]
        if view["department"]["intake_desk"]:
            body["department_code"] = "430104-CGZF"
        r = op.post(f"/api/review/{d['number']}/confirm", json=body)
        assert r.status_code == 200, r.text
        assert r.json()["ticket"]["state"] == "dispatched"
    history = op.get(f"/api/tickets/{number}/events").json()
    kinds = [e["kind"] for e in history if not e["kind"].startswith("notif")]
    assert kinds[-3:] == ["corrected", "confirm", "dispatch"]
    # the duplicates were linked when confirmed
    assert op.get(f"/api/tickets/{primary_number}").json()["duplicate_count"] == 2

    # the trainers' export
    as_json = op.get("/api/training-candidates", params={"field": "event_type"}).json()
    mine = [c for c in as_json if c["ticket_number"] == number]
    assert mine and mine[0]["model_answer"] == "sanitation" and mine[0]["text"].startswith("河边有人倾倒垃圾")
    as_csv = op.get("/api/training-candidates", params={"format": "csv"})
    assert as_csv.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(as_csv.text.lstrip("\ufeff"))))
    assert any(r["ticket_number"] == number and r["operator_answer"] == "water_pollution" for r in rows)
    assert server.client("staff_police").get("/api/training-candidates").status_code == 403


def test_triage_api_and_department_visibility(server) -> None:  # type: ignore[no-untyped-def]
    op = server.client("operator")
    r = op.post("/api/triage", json={"transcript": "坐席：您好\n市民：天心区坡子街楼下烧烤店噪音太大", "source": "api-test"})
    assert r.status_code == 201, r.text
    body = r.json()
    number = body["ticket"]["number"]
    assert body["ticket"]["state"] == "awaiting_review" and body["prediction"]["event_type"] == "noise_pollution"
    assert body["turns"][0]["role"] == "operator"
    dry = op.post("/api/triage", json={"text": "我家停水了", "dry_run": True}).json()
    assert dry["ticket"] is None and dry["prediction"]["event_type"] == "water_supply"

    bad = op.post("/api/triage", json={"transcript": "坐席：您好"})
    assert bad.status_code == 422 and bad.json()["error"] == "no_caller_text"
    assert op.post("/api/triage", json={}).status_code == 422
    assert server.client("staff_police").post("/api/triage", json={"text": "停水"}).status_code == 403

    dept = body["ticket"]["department"]["code"]
    other = "staff_edu" if dept != "430102-JY" else "staff_police"
    assert server.client(other).get(f"/api/review/{number}").status_code == 404
    assert server.client(other).post(f"/api/review/{number}/notes", json={"text": "x"}).status_code == 404
    assert server.client("supervisor").post(f"/api/review/{number}/correct",
                                            json={"event_type": "sanitation"}).status_code == 403
    assert op.post(f"/api/review/{number}/correct", json={}).status_code == 422
    assert op.post(f"/api/review/{number}/correct", json={"event_type": "no_such_type"}).status_code == 422


def test_nlu_down_stops_the_batch_with_a_clear_message(server, tmp_path) -> None:  # type: ignore[no-untyped-def]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]
    folder = tmp_path / "down"
    folder.mkdir()
    (folder / "a.txt").write_text("市民：我家停水了（nlu-down）", encoding="utf-8")
    (folder / "b.txt").write_text("市民：我家停电了（nlu-down）", encoding="utf-8")
    result = run_cli(["import-transcripts", str(folder)], {"DATABASE_URL": server.backend.url,
                                                           "RASA_URL": f"http://127.0.0.1:{dead}"})
    assert result.returncode == 2
    assert "无法连接" in result.stdout and "中止" in result.stdout and "2 个未处理" in result.stdout
    count = server.client("operator").get("/api/tickets", params={"q": "nlu-down"}).json()["total"]
    assert count == 0


def test_direct_import_without_a_running_backend(server, tmp_path) -> None:  # type: ignore[no-untyped-def]
    f = tmp_path / "direct.txt"
    f.write_text("坐席：您好\n市民：芙蓉区文艺路街道学校乱收费（direct-mode）", encoding="utf-8")
    result = run_cli(["import-transcripts", str(f), "--json"], {"DATABASE_URL": server.backend.url,
                                                                "RASA_URL": server.nlu_url})
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["created"] == 1 and summary["by_type"] == {"school_fees": 1}
    listed = server.client("operator").get("/api/tickets", params={"q": "direct-mode"}).json()["items"]
    assert listed and listed[0]["state"] == "awaiting_review"


def test_nlu_down_through_the_api(monkeypatch: pytest.MonkeyPatch, backend, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    from routing.api.app import create_app
    from routing.settings import Settings

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]
    monkeypatch.setenv("RASA_URL", f"http://127.0.0.1:{dead}")
    settings = Settings.from_env({"DATABASE_URL": backend.url, "ROUTING_ESCALATION_INTERVAL": "0",
                                  "ROUTING_ATTACHMENT_DIR": str(tmp_path)})
    with TestClient(create_app(settings)) as client:
        r = client.post("/api/triage", json={"text": "停水了"},
                        headers={"Authorization": f"Bearer {TOKENS['operator'][0]}"})
    assert r.status_code == 503 and r.json()["error"] == "nlu_unavailable" and "无法连接" in r.json()["message"]
