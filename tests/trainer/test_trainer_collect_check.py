"""collect against a fake routing backend (the JSON shapes of routing/triage/api.py), the data
report, the jieba suggestions, the routing-rule checks and prelabel."""
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import pytest

from tests.trainer.trainer_fixtures import fake_predict, make_tree
from trainer.catalog_check import routing_rule_problems
from trainer.check import data_report, load_jieba, vocabulary_candidates, write_data_report
from trainer.cli import main as cli_main
from trainer.collect import BackendClient, BackendError, annotate, collect
from trainer.prelabel import prelabel, read_messages
from trainer.review import read_review

CANDIDATES = [
    {"id": 3, "created_at": "2026-11-20T10:00:00+08:00", "ticket_number": "20261120-000001", "field": "event_type",
     "text": "楼下星光酒吧天天半夜放音乐", "model_answer": "public_order", "model_confidence": 0.41,
     "operator_answer": "noise_pollution", "actor": "op1", "actor_role": "operator", "superseded_at": None, "extra": {}},
    {"id": 4, "created_at": "2026-11-20T10:01:00+08:00", "ticket_number": "20261120-000001", "field": "party",
     "text": "楼下星光酒吧天天半夜放音乐", "model_answer": [], "model_confidence": None,
     "operator_answer": ["星光酒吧"], "actor": "op1", "actor_role": "operator", "superseded_at": None, "extra": {}},
    {"id": 5, "created_at": "2026-11-20T11:00:00+08:00", "ticket_number": "20261120-000002", "field": "location",
     "text": "幸福小区门口\n垃圾堆了一个星期", "model_answer": {"text": None, "region": None}, "model_confidence": None,
     "operator_answer": {"text": "幸福小区", "region": "430104001"}, "actor": "op2", "actor_role": "operator",
     "superseded_at": None, "extra": {}},
    {"id": 2, "created_at": "2026-11-19T11:00:00+08:00", "ticket_number": "20261119-000009", "field": "event_type",
     "text": "旧的", "model_answer": "a", "model_confidence": 0.3, "operator_answer": "b", "actor": "op2",
     "actor_role": "operator", "superseded_at": "2026-11-19T12:00:00+08:00", "extra": {}},
]
TICKETS = {
    "20261120-000001": {"number": "20261120-000001", "event_type": "noise_pollution", "original_text": "楼下星光酒吧天天半夜放音乐",
                        "nlu_confidence": 0.41},
    "20261120-000002": {"number": "20261120-000002", "event_type": "sanitation", "original_text": "幸福小区门口垃圾堆了一个星期",
                        "nlu_confidence": 0.7},
    "20261121-000003": {"number": "20261121-000003", "event_type": "wage_arrears", "original_text": "老板欠薪 unsure",
                        "nlu_confidence": 0.9},
    "20261121-000004": {"number": "20261121-000004", "event_type": "wage_arrears", "original_text": "工资没发",
                        "nlu_confidence": 0.95},
}


class FakeBackend:
    def __init__(self, token="good"):
        self.seen = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                url = urlparse(self.path)
                fake.seen.append(self.path)
                if self.headers.get("Authorization") != f"Bearer {token}":
                    return self._send(403, {"error": "forbidden"})
                query = parse_qs(url.query)
                if url.path == "/api/training-candidates":
                    assert query.get("format") == ["json"]
                    return self._send(200, CANDIDATES)
                if url.path == "/api/tickets":
                    items = [{"number": n} for n in reversed(sorted(TICKETS))]
                    offset, limit = int(query["offset"][0]), int(query["limit"][0])
                    return self._send(200, {"items": items[offset:offset + limit], "total": len(items)})
                number = url.path.rsplit("/", 1)[-1]
                if number in TICKETS:
                    return self._send(200, TICKETS[number])
                return self._send(404, {"error": "not found"})

            def _send(self, status, body):
                data = json.dumps(body, ensure_ascii=False).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def backend():
    fake = FakeBackend()
    yield fake
    fake.close()


def test_collect_groups_candidates_annotates_and_adds_uncertain_tickets(backend):
    predict = fake_predict({"酒吧": "public_order", "unsure": "unsure", "垃圾": "sanitation"}, default="wage_arrears")
    result = collect(BackendClient(backend.url, "good"), predict, uncertain=1)
    assert result.candidates == 2 and result.uncertain == 1
    bar, rubbish, unsure = result.rows
    assert bar.text == "楼下[星光酒吧](party)天天半夜放音乐"
    assert bar.proposed == "noise_pollution" and bar.model == {"intent": "public_order", "confidence": 0.6}
    assert bar.source["candidates"] == [3, 4] and bar.decision == "review"
    assert rubbish.text == "[幸福小区](location)门口，垃圾堆了一个星期"
    assert rubbish.proposed == "sanitation"  # no type correction: the ticket's current type
    assert unsure.id == "ticket-20261121-000003" and unsure.model["confidence"] == 0.2
    assert unsure.ranking[0] == ["unsure", 0.2]


def test_collect_without_model_keeps_recorded_answers_and_cli_writes_review_file(backend, tmp_path, monkeypatch):
    monkeypatch.setenv("TRAINER_ROUTING_TOKEN", "good")
    out = tmp_path / "review.yml"
    assert cli_main(["--root", str(tmp_path), "collect", "--url", backend.url, "--no-model", "--out", str(out)]) == 0
    header, rows = read_review(out)
    assert header["backend"] == backend.url
    assert rows[0].model == {"intent": "public_order", "confidence": 0.41, "recorded": True}


def test_collect_with_a_token_that_may_not_read(backend):
    with pytest.raises(BackendError, match="operator's or a supervisor's"):
        collect(BackendClient(backend.url, "intake"))


def test_annotate_skips_already_annotated_text():
    assert annotate("[物业](party)说物业不管", "物业", "party") == "[物业](party)说[物业](party)不管"
    assert annotate("没有", "物业", "party") == "没有"


def test_data_report_and_vocabulary(tmp_path):
    layout = make_tree(tmp_path)
    merged = ["[星光酒吧](party)半夜放音乐", "星光酒吧又在放音乐", "星光酒吧的低音炮", "[包工头](party)欠薪"]
    report = write_data_report(layout, {"catalogue": []}, tmp_path / "reports" / "data", merged=merged,
                               jieba_dir=layout.nlu_dir / "jieba_dict")
    assert report["per_intent"]["noise_pollution"] == {"train": 3, "heldout": 1}
    assert report["imbalance"] == {"largest": ["noise_pollution", 3], "smallest": ["greet", 2], "ratio": 1.5}
    assert report["entities"] == {"party": 1, "time": 1}
    words = [c["word"] for c in report["jieba_candidates"]]
    assert "星光酒吧" in words and "包工头" not in words  # 包工头 is in the fixture dictionary
    assert "星光酒吧 2000 n" in (tmp_path / "reports" / "data" / "jieba_candidates.txt").read_text(encoding="utf-8")
    assert "# Data report" in (tmp_path / "reports" / "data" / "data_report.md").read_text(encoding="utf-8")


def test_vocabulary_ignores_known_words():
    tokenizer = load_jieba(None)
    assert vocabulary_candidates(["我们小区", "我们小区"], tokenizer) == []


def test_routing_rule_problems(tmp_path):
    rules = tmp_path / "rules.yml"
    rules.write_text("rules:\n- {key: a, event_type: noise, kind: 公安局}\n"
                     "- {key: b, event_type: nope, department: X-1}\n- {key: c, event_type: '*'}\n", encoding="utf-8")
    problems = routing_rule_problems(rules, {"noise"}, {"X-2"}, {"公安局"})
    assert any("'b': event type 'nope'" in p for p in problems)
    assert any("'b': department code 'X-1'" in p for p in problems)
    assert any("'c': names neither" in p for p in problems)
    assert not any("'a'" in p for p in problems)


def test_prelabel_proposes_confident_top_types(tmp_path):
    csv_path = tmp_path / "messages.csv"
    csv_path.write_text("id,title,detail\n1,工资,老板欠薪三个月\n2,噪音,楼下酒吧太吵\n3,问题,unsure 不知道\n", encoding="utf-8")
    rows = read_messages(csv_path)
    rows = prelabel(rows, fake_predict({"欠薪": "wage_arrears", "unsure": "unsure"}), min_confidence=0.25)
    by_id = {r.id: r for r in rows}
    assert by_id["msg-1"].proposed == "wage_arrears" and by_id["msg-1"].text == "工资，老板欠薪三个月"
    assert by_id["msg-3"].proposed == "" and rows[-1].id == "msg-3"  # unsure rows last
    assert len(by_id["msg-2"].ranking) == 3 and by_id["msg-2"].source["kind"] == "realtext"


def test_prelabel_leaves_out_the_real_text_dev_set(tmp_path):
    from trainer.prelabel import dev_ids

    dev = dev_ids()
    assert len(dev) == 400  # nlu_eval/realtext_domain_labels.csv
    one = sorted(dev)[0]
    csv_path = tmp_path / "messages.csv"
    csv_path.write_text(f"id,title,detail\n{one},工资,老板欠薪三个月\nnot-dev,噪音,楼下酒吧太吵\n", encoding="utf-8")
    assert [r.id for r in read_messages(csv_path, exclude=dev)] == ["msg-not-dev"]
    assert len(read_messages(csv_path)) == 2


def test_check_on_the_project_data_without_rasa(tmp_path, capsys):
    """The shipped data passes the catalogue checks and gets a data report."""
    assert cli_main(["check", "--no-rasa", "--out", str(tmp_path)]) == 0
    report = json.loads((tmp_path / "data_report.json").read_text(encoding="utf-8"))
    assert report["intents"] >= 40 and report["imbalance"]["ratio"] >= 1
    assert report["entities"]["location"] > 0
