"""The console's pages over HTTP (no browser): login, CSRF, roles, queues, search, dashboard, export."""
from __future__ import annotations

import re
import httpx
from console_env import PASSWORD


def login(server, username: str, password: str = PASSWORD) -> httpx.Client:  # type: ignore[no-untyped-def]
    client = httpx.Client(base_url=server.base_url, timeout=60.0)
    page = client.get("/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    r = client.post("/login", data={"username": username, "password": password, "csrf": csrf, "next": "/"})
    assert r.status_code == 303, r.text
    return client


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def new_draft(server, text: str) -> dict:  # type: ignore[no-untyped-def]
    r = server.client("operator").post("/api/triage", json={"transcript": text})
    assert r.status_code == 201, r.text
    return r.json()["ticket"]


def test_login_required_and_bad_logins(server) -> None:  # type: ignore[no-untyped-def]
    anon = httpx.Client(base_url=server.base_url)
    r = anon.get("/queues/all")
    assert r.status_code == 303 and r.headers["location"] == "/login?next=%2Fqueues%2Fall"
    page = anon.get("/login")
    assert page.status_code == 200 and "用户名" in page.text
    token = csrf_of(page.text)
    wrong = anon.post("/login", data={"username": "op1", "password": "nope-nope", "csrf": token})
    assert wrong.status_code == 401 and "用户名或密码错误" in wrong.text
    fresh = httpx.Client(base_url=server.base_url)
    no_csrf = fresh.post("/login", data={"username": "op1", "password": PASSWORD, "csrf": "forged"})
    assert no_csrf.status_code == 400
    ok = anon.post("/login", data={"username": "op1", "password": PASSWORD, "csrf": token, "next": "//evil.example/x"})
    assert ok.status_code == 303 and ok.headers["location"] == "/"
    cookie = ok.cookies.get("console_session")
    assert cookie and "httponly" in ok.headers["set-cookie"].lower()


def test_operator_pages_queues_and_search(server) -> None:  # type: ignore[no-untyped-def]
    ticket = new_draft(server, "坐席：您好\n市民：芙蓉区文艺路街道学校乱收费，我电话13700001234（pages-search）")
    op = login(server, "op1")
    home = op.get("/")
    assert home.status_code == 303 and home.headers["location"] == "/queues/awaiting_review"
    queue = op.get("/queues/awaiting_review")
    assert queue.status_code == 200 and ticket["number"] in queue.text and "待审核" in queue.text
    for q in (ticket["number"], "13700001234", "pages-search"):
        found = op.get("/queues/all", params={"q": q})
        assert ticket["number"] in found.text, q
    filtered = op.get("/queues/awaiting_review", params={"type": "water_supply"})
    assert ticket["number"] not in filtered.text
    assert ticket["number"] in op.get("/queues/awaiting_review", params={"type": "school_fees", "channel": "hotline",
                                                                         "region": "430102"}).text
    for path in ("/queues/to_dispatch", "/queues/returned", "/queues/near_deadline", "/queues/overdue",
                 "/triage/new", "/training", "/dashboard"):
        assert op.get(path).status_code == 200, path
    assert op.get("/queues/nonsense").status_code == 404
    page = op.get(f"/tickets/{ticket['number']}")
    assert page.status_code == 200
    assert '<mark class="ent ent-location"' in page.text and "模型预测" in page.text and "审核草稿" in page.text


def test_review_form_posts_need_the_csrf_token(server) -> None:  # type: ignore[no-untyped-def]
    ticket = new_draft(server, "市民：天心区坡子街停水两天了（csrf）")
    op = login(server, "op1")
    r = op.post(f"/tickets/{ticket['number']}/review", data={"csrf": "forged", "op": "save", "event_type": "sanitation"})
    assert r.status_code == 403
    page = op.get(f"/tickets/{ticket['number']}")
    r = op.post(f"/tickets/{ticket['number']}/review", data={
        "csrf": csrf_of(page.text), "op": "save", "event_type": "sanitation", "location_text": "天心区坡子街",
        "region_code": "", "parties": ""})
    assert r.status_code == 303
    after = op.get(r.headers["location"])
    assert "已保存更正" in after.text and "训练候选" in after.text
    assert "已保存更正" not in op.get(r.headers["location"]).text  # a flash shows once


def test_roles_in_the_console(server) -> None:  # type: ignore[no-untyped-def]
    ticket = new_draft(server, "坐席：您好\n市民：岳麓区桃子湖社区烧烤店噪音扰民（roles）")
    dept = ticket["department"]["code"]
    assert dept == "430104-GA"
    police = login(server, "staff_police")
    edu = login(server, "staff_edu")
    sup = login(server, "sup1")

    assert police.get(f"/tickets/{ticket['number']}").status_code == 200
    denied = edu.get(f"/tickets/{ticket['number']}")
    assert denied.status_code == 404 and "不属于您的部门" in denied.text
    page = edu.get("/queues/all", params={"q": ticket["number"]})
    assert f"/tickets/{ticket['number']}" not in page.text and "没有符合条件的工单" in page.text
    assert edu.get("/queues/awaiting_review").status_code == 404  # not a staff queue
    assert edu.get("/training").status_code == 403 and edu.get("/triage/new").status_code == 403
    assert edu.get("/training/export.csv").status_code == 403

    sup_page = sup.get(f"/tickets/{ticket['number']}")
    assert sup_page.status_code == 200 and 'id="review-form"' not in sup_page.text and 'id="action-form"' not in sup_page.text
    r = sup.post(f"/tickets/{ticket['number']}/review", data={"csrf": csrf_of(sup_page.text), "op": "confirm",
                                                             "event_type": "sanitation"})
    assert r.status_code == 303
    assert "无权" in sup.get(r.headers["location"]).text
    assert server.client("operator").get(f"/api/tickets/{ticket['number']}").json()["state"] == "awaiting_review"
    home = sup.get("/")
    assert home.headers["location"] == "/dashboard"


def test_dashboard_has_the_rates_and_svg_charts(server) -> None:  # type: ignore[no-untyped-def]
    new_draft(server, "市民：天心区坡子街停水（dashboard）")
    sup = login(server, "sup1")
    page = sup.get("/dashboard", params={"days": 90})
    assert page.status_code == 200
    for label in ("办结率", "超期率", "满意度", "三色预警", "受理量走势"):
        assert label in page.text
    assert page.text.count("<svg") >= 3 and "<rect" in page.text
    staff = login(server, "staff_edu")
    assert staff.get("/dashboard").status_code == 200  # their department only


def test_training_export_and_logout(server) -> None:  # type: ignore[no-untyped-def]
    op = login(server, "op1")
    csv_page = op.get("/training/export.csv")
    assert csv_page.status_code == 200 and csv_page.text.startswith("\ufeffid,created_at")
    assert op.get("/training/export.json").headers["content-type"].startswith("application/json")
    page = op.get("/training")
    r = op.post("/logout", data={"csrf": csrf_of(page.text)})
    assert r.status_code == 303
    assert op.get("/training").status_code == 303  # the session is gone


def test_the_pager_links_keep_the_list_filters() -> None:
    from types import SimpleNamespace

    from routing.console.web import env

    pager = env.from_string('{% from "_pager.html" import pager with context %}{{ pager(r, q) }}')
    middle = pager.render(r=SimpleNamespace(page=2, pages=3), q="state=open")
    assert 'href="?state=open&page=1">上一页' in middle and 'href="?state=open&page=3">下一页' in middle
    assert "第 2 / 3 页" in middle
    last = pager.render(r=SimpleNamespace(page=3, pages=3), q="")
    assert 'href="?page=2"' in last and "下一页" not in last
