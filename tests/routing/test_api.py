"""The HTTP API over real HTTP (uvicorn in a subprocess), on SQLite and PostgreSQL."""
from __future__ import annotations

import uuid
from typing import Any, Dict

import httpx

from tests.routing.conftest import Server


def _body(**kw: Any) -> Dict[str, Any]:
    tag = uuid.uuid4().hex[:8]
    body: Dict[str, Any] = {
        "text": f"芙蓉区文艺路街道桃花坪社区的学校乱收费，补课费每月两千 {tag}",
        "channel": "telegram",
        "event_type": "school_fees",
        "nlu_confidence": 0.93,
        "location_text": f"芙蓉区文艺路街道桃花坪社区{tag}号",
        "parties": ["某某小学"],
        "reporter": {"name": "李四", "phone": "13912345678", "channel_identity": f"telegram:{tag}"},
    }
    body.update(kw)
    return body


def _create(server: Server, **kw: Any) -> Dict[str, Any]:
    with server.client("intake") as c:
        r = c.post("/api/tickets", json=_body(**kw))
    assert r.status_code == 201, r.text
    return r.json()


def test_health_and_openapi(server: Server) -> None:
    assert httpx.get(server.base_url + "/healthz").json()["status"] == "ok"
    doc = httpx.get(server.base_url + "/api/openapi.json").json()
    assert doc["openapi"].startswith("3.") and "/api/tickets" in doc["paths"]
    assert "/open311/v2/requests.json" in doc["paths"]
    types = {t["code"]: t for t in httpx.get(server.base_url + "/api/event-types").json()}
    assert types["school_fees"]["name"] == "教育乱收费" and types["telecom_fraud"]["deadline"] == {
        "working_days": None, "hours": 24}
    regions = httpx.get(server.base_url + "/api/regions", params={"parent": "430104"}).json()
    assert "430104001" in {r["code"] for r in regions}
    depts = httpx.get(server.base_url + "/api/departments", params={"kind": "教育局", "region": "430104001"}).json()
    assert {d["code"] for d in depts} == {"430100-JY", "430104-JY"}


def test_when_it_happened_is_kept_as_said_and_bounded(server: Server) -> None:
    # another type than the other tests' (their tickets must not become duplicates of these)
    created = _create(server, event_type="noise_pollution", incident_time="每天晚上十点以后")
    assert created["incident_time"] == "每天晚上十点以后"
    assert _create(server, event_type="air_pollution")["incident_time"] is None
    with server.client("intake") as c:
        r = c.post("/api/tickets", json=_body(incident_time="很久" * 101))
    assert r.status_code == 422 and r.json()["error"] == "too_long"


def test_a_guessed_type_goes_to_the_intake_desk_flagged(server: Server) -> None:
    place = dict(region_code="430104", location_text=f"岳麓区麓山南路{uuid.uuid4().hex[:6]}")
    sure = _create(server, event_type="water_pollution", **place)
    guessed = _create(server, event_type="water_pollution", needs_operator=True, **place)
    assert sure["needs_operator"] is False and sure["duplicate_of"] is None
    assert guessed["event_type"] == "water_pollution" and guessed["needs_operator"] is True
    assert guessed["type_guessed"] is True and sure["type_guessed"] is False
    later = _create(server, event_type="water_pollution", **place)
    assert later["duplicate_of"] == sure["number"]  # never linked to the guessed one
    assert guessed["department"]["code"] != sure["department"]["code"]  # the intake desk, not the rule's
    assert guessed["duplicate_of"] is None  # no linking on a guess


def test_full_loop_over_http(server: Server) -> None:
    created = _create(server)
    number = created["number"]
    assert created["department"]["code"] == "430102-JY" and created["state"] == "received"
    assert created["deadline_at"].endswith("+08:00") and created["warning"] == "green"
    with server.client("operator") as op, server.client("staff_edu") as staff, server.client("intake") as bot:
        assert op.post(f"/api/tickets/{number}/dispatch", json={"note": "派教育局"}).status_code == 200
        assert staff.post(f"/api/tickets/{number}/accept").json()["state"] == "in_progress"
        assert staff.post(f"/api/tickets/{number}/progress", json={"note": "已约谈校方"}).status_code == 200
        r = staff.post(f"/api/tickets/{number}/resolve", json={"reply": "已责令退还补课费"})
        assert r.json()["state"] == "resolved"
        proof = {"number": number, "phone_tail": "5678"}
        status = bot.post("/api/reporter/status", json=proof).json()
        assert status["state"] == "resolved" and status["resolution"] == "已责令退还补课费" and status["can_rate"]
        rated = bot.post("/api/reporter/rate", json={**proof, "rating": 5, "comment": "满意"})
        assert rated.status_code == 200 and rated.json()["state"] == "closed"
        events = op.get(f"/api/tickets/{number}/events").json()
    steps = [(e["kind"], e["to_state"]) for e in events]
    assert steps == [("created", "received"), ("routed", "received"), ("dispatch", "dispatched"),
                     ("accept", "in_progress"), ("progress", "in_progress"), ("resolve", "resolved"),
                     ("rate", "closed")]
    assert [e["actor_role"] for e in events][2:] == ["operator", "staff", "staff", "staff", "reporter"]
    assert all(e["at"].endswith("+08:00") for e in events)


def test_illegal_transition_is_409(server: Server) -> None:
    number = _create(server)["number"]
    with server.client("operator") as op:
        r = op.post(f"/api/tickets/{number}/resolve", json={"reply": "x"})
        assert r.status_code == 409 and r.json()["error"] == "illegal_transition"
        assert "cannot resolve" in r.json()["message"] and "不能" in r.json()["message"]
        assert op.post(f"/api/tickets/{number}/fly").status_code == 404
        assert len(op.get(f"/api/tickets/{number}/events").json()) == 2


def test_idempotency(server: Server) -> None:
    body = _body()
    key = {"Idempotency-Key": uuid.uuid4().hex}
    with server.client("intake") as c:
        first = c.post("/api/tickets", json=body, headers=key)
        again = c.post("/api/tickets", json=body, headers=key)
        assert first.status_code == again.status_code == 201
        assert first.json()["number"] == again.json()["number"]
        assert again.headers.get("Idempotent-Replayed") == "true"
        other = c.post("/api/tickets", json={**body, "text": "完全不同的内容"}, headers=key)
        assert other.status_code == 422 and other.json()["error"] == "idempotency_key_reused"
        fresh = c.post("/api/tickets", json=body, headers={"Idempotency-Key": uuid.uuid4().hex})
        assert fresh.json()["number"] != first.json()["number"]
    with server.client("operator") as op:
        found = op.get("/api/tickets", params={"q": body["reporter"]["channel_identity"].split(":")[1]}).json()
        assert found["total"] == 2  # the retry did not create a third ticket


def test_auth(server: Server) -> None:
    url = server.base_url + "/api/tickets"
    r = httpx.get(url)
    assert r.status_code == 401 and r.json()["error"] == "missing_token"
    assert httpx.get(url, headers={"Authorization": "Bearer nope"}).status_code == 401
    assert httpx.get(url, headers={"Authorization": "Basic abc"}).status_code == 401
    with server.client("intake") as bot:
        assert bot.get("/api/tickets").status_code == 403
        assert bot.get("/api/stats").status_code == 403
    with server.client("supervisor") as sup:
        assert sup.get("/api/tickets").status_code == 200
        assert sup.get("/api/stats").status_code == 200
        assert sup.post("/api/tickets", json=_body()).status_code == 403
    with server.client("staff") as staff:
        assert staff.post("/api/tickets", json=_body()).status_code == 403
        assert staff.get("/api/me").json()["department"]["code"] == "430104-CGZF"


def test_department_isolation(server: Server) -> None:
    edu = _create(server)["number"]  # → 430102-JY
    street = _create(server, event_type="street_occupation", text="桃子湖社区门口占道经营",
                     location_text=f"岳麓区岳麓街道桃子湖社区{uuid.uuid4().hex[:6]}")["number"]
    with server.client("operator") as op:
        op.post(f"/api/tickets/{street}/dispatch")
    with server.client("staff_street") as staff:
        listed = {t["number"] for t in staff.get("/api/tickets", params={"limit": 200}).json()["items"]}
        assert street in listed and edu not in listed
        assert staff.get(f"/api/tickets/{edu}").status_code == 404
        assert staff.post(f"/api/tickets/{edu}/accept").status_code == 404
        assert staff.get(f"/api/tickets/{street}").status_code == 200
        assert staff.post(f"/api/tickets/{street}/dispatch").status_code == 403  # not a staff action
        assert staff.post(f"/api/tickets/{street}/accept").status_code == 200
        assert all(t["department"]["code"] == "430104001-ZFZD"
                   for t in staff.get("/api/tickets", params={"limit": 200}).json()["items"])
    with server.client("staff_edu") as other:
        assert other.get(f"/api/tickets/{street}").status_code == 404


def test_reporter_follow_up(server: Server) -> None:
    created = _create(server)
    number, ident = created["number"], created["reporter"]["channel_identity"]
    with server.client("intake") as bot:
        assert bot.post("/api/reporter/status", json={"number": number, "channel_identity": ident}).status_code == 200
        for wrong in ({"channel_identity": "telegram:someone-else"}, {"phone_tail": "0000"}):
            r = bot.post("/api/reporter/status", json={"number": number, **wrong})
            assert r.status_code == 404 and r.json()["error"] == "ticket_not_found"
        assert bot.post("/api/reporter/status", json={"number": number}).status_code == 422
        r = bot.post("/api/reporter/urge", json={"number": number, "channel_identity": ident, "note": "请尽快"})
        assert r.json()["urge_count"] == 1
        r = bot.post("/api/reporter/supplement", json={
            "number": number, "channel_identity": ident, "text": "补充：收费单据照片",
            "attachments": [{"filename": "receipt.jpg", "content_type": "image/jpeg", "size": 1234,
                             "url": "https://files.example/receipt.jpg"}]})
        assert r.status_code == 200
        r = bot.post("/api/reporter/rate", json={"number": number, "channel_identity": ident, "rating": 4})
        assert r.status_code == 409  # not resolved yet
        mine = bot.get("/api/reporter/tickets", params={"channel_identity": ident}).json()
        assert [t["number"] for t in mine] == [number]
        assert bot.get("/api/reporter/tickets", params={"channel_identity": "bad"}).status_code == 422
    with server.client("operator") as op:
        t = op.get(f"/api/tickets/{number}").json()
        assert t["urge_count"] == 1 and t["attachments"][0]["filename"] == "receipt.jpg"
        kinds = [e["kind"] for e in op.get(f"/api/tickets/{number}/events").json()]
        assert kinds[-2:] == ["urge", "supplement"]
        for action, payload in (("dispatch", {}), ("accept", {}), ("resolve", {"reply": "已处理"})):
            assert op.post(f"/api/tickets/{number}/{action}", json=payload).status_code == 200
    with server.client("intake") as bot:
        r = bot.post("/api/reporter/reopen", json={"number": number, "phone_tail": "5678", "note": "没有退钱"})
        assert r.json()["state"] == "in_progress"


def test_duplicates_over_http(server: Server) -> None:
    place = f"天心区坡子街街道西湖社区{uuid.uuid4().hex[:6]}"
    first = _create(server, event_type="sanitation", location_text=place, text="垃圾没人清运")
    second = _create(server, event_type="sanitation", location_text=place, text="垃圾堆了好几天")
    assert second["duplicate_of"] == first["number"]
    with server.client("operator") as op:
        assert op.get(f"/api/tickets/{first['number']}").json()["duplicate_count"] == 1


def test_list_filters_and_search(server: Server) -> None:
    created = _create(server, channel="sms", reporter={"phone": "13700001111"})
    with server.client("operator") as op:
        def numbers(**params: Any) -> set:
            r = op.get("/api/tickets", params={"limit": 200, **params})
            assert r.status_code == 200, r.text
            return {t["number"] for t in r.json()["items"]}

        n = created["number"]
        assert n in numbers(q=n) and n in numbers(q="13700001111") and n in numbers(channel="sms")
        assert n in numbers(state="received", type="school_fees", region="430102", department="430102-JY")
        assert n not in numbers(region="430104") and n not in numbers(overdue=True)
        assert op.get("/api/tickets", params={"state": "sleeping"}).status_code == 422
        assert op.get("/api/tickets", params={"limit": 100000}).status_code == 422
        w = op.get("/api/warnings").json()
        assert {"regions", "tickets", "totals"} <= set(w) and w["totals"]["green"] >= 1
        s = op.get("/api/stats", params={"period": "month"}).json()
        assert s["total"] >= 1 and "completion_rate" in s
        assert op.get("/api/stats", params={"from": "yesterday"}).status_code == 422


def test_bad_input_is_refused_and_changes_nothing(server: Server) -> None:
    with server.client("operator") as op:
        before = op.get("/api/tickets").json()["total"]
    with server.client("intake") as bot:
        cases = [
            (_body(text=""), 422), (_body(text="   "), 422), (_body(text="长" * 2001), 422),
            (_body(text=123), 422), (_body(urgent="yes"), 422), (_body(event_type="alien_landing"), 422),
            (_body(channel="carrier-pigeon"), 422), (_body(latitude=200, longitude=1), 422),
            (_body(unexpected_field=1), 422), (_body(reporter={"name": ["x"]}), 422),
        ]
        for body, status in cases:
            r = bot.post("/api/tickets", json=body)
            assert r.status_code == status, (body, r.text)
            assert set(r.json()) >= {"error", "message"}
        r = bot.post("/api/tickets", content=b"{not json", headers={"Content-Type": "application/json"})
        assert r.status_code == 422
        r = bot.post("/api/tickets", json=_body(text="长" * 60000))  # over the body limit
        assert r.status_code == 413 and r.json()["error"] == "too_large"
        assert bot.post("/api/reporter/rate", json={"number": "x", "phone_tail": "1234", "rating": 9}).status_code == 422
    with server.client("operator") as op:
        assert op.get("/api/tickets/20000101-999999").status_code == 404
        assert op.get("/api/tickets/20000101-999999").json()["error"] == "ticket_not_found"
        assert op.post("/api/tickets/20000101-999999/dispatch").status_code == 404
        assert op.get("/api/tickets").json()["total"] == before
        assert op.get("/api/nowhere").status_code == 404


def test_attachment_upload(server: Server) -> None:
    number = _create(server)["number"]
    with server.client("operator") as op:
        r = op.post(f"/api/tickets/{number}/attachments", files={"file": ("现场.jpg", b"\xff\xd8jpeg-bytes", "image/jpeg")})
        assert r.status_code == 201 and r.json()["size"] == 12 and r.json()["stored"]
        r = op.post(f"/api/tickets/{number}/attachments", files={"file": ("big.bin", b"0" * 60000, "application/octet-stream")})
        assert r.status_code == 413
        assert len(op.get(f"/api/tickets/{number}").json()["attachments"]) == 1


def test_open311_round_trip(server: Server) -> None:
    base = server.base_url + "/open311/v2"
    services = httpx.get(base + "/services.json").json()
    fees = next(s for s in services if s["service_code"] == "school_fees")
    assert fees == {**fees, "service_name": "教育乱收费", "group": "教育文体", "type": "realtime", "metadata": False}
    form = {"api_key": server.tokens["intake"], "service_code": "school_fees",
            "description": "学校强制收取补课费，联系电话13912345678", "address_string": "芙蓉区文艺路街道",
            "lat": "28.19", "long": "113.03", "email": "resident@example.com", "first_name": "三",
            "last_name": "张", "phone": "13912345678"}
    r = httpx.post(base + "/requests.json", data=form)
    assert r.status_code == 201, r.text
    (created,) = r.json()
    rid = created["service_request_id"]
    assert set(created) >= {"service_request_id", "service_notice"}
    (one,) = httpx.get(f"{base}/requests/{rid}.json").json()
    assert one["status"] == "open" and one["service_code"] == "school_fees" and one["agency_responsible"] == "芙蓉区教育局"
    assert one["requested_datetime"].endswith("+08:00") and one["lat"] == 28.19 and one["long"] == 113.03
    everything = r.text + httpx.get(f"{base}/requests/{rid}.json").text + httpx.get(f"{base}/requests.json").text
    for secret in ("13912345678", "resident@example.com", "张 三", "李四", "telegram:"):
        assert secret not in everything  # no reporter identity in the public output
    assert set(one) == {"service_request_id", "status", "status_notes", "service_name", "service_code",
                        "description", "agency_responsible", "service_notice", "requested_datetime",
                        "updated_datetime", "expected_datetime", "address", "address_id", "zipcode",
                        "lat", "long", "media_url"}
    assert "139****5678" in one["description"]
    listed = httpx.get(base + "/requests.json", params={"service_request_id": rid}).json()
    assert [x["service_request_id"] for x in listed] == [rid]
    assert rid in {x["service_request_id"] for x in httpx.get(base + "/requests.json",
                                                               params={"status": "open", "service_code": "school_fees"}).json()}
    assert rid not in {x["service_request_id"] for x in httpx.get(base + "/requests.json", params={"status": "closed"}).json()}
    with server.client("operator") as op:
        for action, payload in (("dispatch", {}), ("accept", {}), ("resolve", {"reply": "已退费"})):
            op.post(f"/api/tickets/{rid}/{action}", json=payload)
    (done,) = httpx.get(f"{base}/requests/{rid}.json").json()
    assert done["status"] == "closed" and done["status_notes"] == "已退费"
    # errors in the GeoReport shape
    missing = httpx.get(f"{base}/requests/19990101-000000.json")
    assert missing.status_code == 404 and missing.json()[0]["code"] == 404 and missing.json()[0]["description"]
    bad_key = httpx.post(base + "/requests.json", data={**form, "api_key": "wrong"})
    assert bad_key.status_code == 403 and bad_key.json()[0]["code"] == 403
    no_key = httpx.post(base + "/requests.json", data={k: v for k, v in form.items() if k != "api_key"})
    assert no_key.status_code == 403
    staff_key = httpx.post(base + "/requests.json", data={**form, "api_key": server.tokens["staff"]})
    assert staff_key.status_code == 403
    unknown = httpx.post(base + "/requests.json", data={**form, "service_code": "ufo"})
    assert unknown.status_code == 404 and unknown.json()[0]["code"] == 404
    no_place = {k: v for k, v in form.items() if k not in ("lat", "long", "address_string")}
    assert httpx.post(base + "/requests.json", data=no_place).json()[0]["code"] == 400
    assert httpx.get(base + "/requests.json", params={"status": "maybe"}).status_code == 400
    assert httpx.get(base + "/requests.json", params={"start_date": "soon"}).json()[0]["code"] == 400
