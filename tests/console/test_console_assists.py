"""Joint handling (中心吹哨、部门报到) in the console over real HTTP, on SQLite and PostgreSQL: the
协办部门 section of the ticket page and its forms (add, refused duplicate, waive without and with a
reason, answer), the lead's resolve refused while a task is open, the 协办任务 queue (overdue
first, filters, staff scope) and the dashboard figure (the same numbers as GET /api/stats)."""
from __future__ import annotations

import html
import re
from datetime import timedelta
from typing import List, Optional, Tuple

import httpx

from joint_data import LEAD, ZJ, ZJ_NAME, ZRZY, ZRZY_NAME, joint_ticket, make_overdue
from routing.timeutil import utcnow
from test_console_pages import csrf_of, login, new_draft


def flash(page: httpx.Response) -> Optional[Tuple[str, str]]:
    """(kind, text) of the page's one-shot message."""
    m = re.search(r'<div class="flash flash-(\w+)" role="status">([^<]*)</div>', page.text)
    return (m.group(1), html.unescape(m.group(2))) if m else None


def post_back(client: httpx.Client, number: str, path: str, data: dict) -> httpx.Response:
    """Post a form of the ticket page (with the page's CSRF token); the ticket page it goes back to."""
    page = client.get(f"/tickets/{number}")
    assert page.status_code == 200, page.text
    r = client.post(f"/tickets/{number}{path}", data={"csrf": csrf_of(page.text), **data})
    assert r.status_code == 303, (r.status_code, r.text[:500])
    assert r.headers["location"] == f"/tickets/{number}"
    after = client.get(r.headers["location"])
    assert after.status_code == 200
    return after


ANSWER_FORM, WAIVE_FORM = 'class="stack assist-answer"', 'class="stack assist-waive"'


def task_item(page: httpx.Response, code: str) -> str:
    """The HTML of one task in the 协办部门 section."""
    m = re.search(rf'<li class="assist [^"]*" id="assist-{re.escape(code)}".*?</li>', page.text, re.S)
    assert m, f"no task of {code} on the page"
    return html.unescape(m.group(0))


def queue_rows(page: httpx.Response) -> List[Tuple[str, str, bool]]:
    """(ticket, department code, overdue) of each row of the 协办任务 queue, in order."""
    return [(m.group(2), m.group(3), "assist-overdue" in m.group(1)) for m in re.finditer(
        r'<tr class="(assist-row[^"]*)" data-ticket="([^"]+)" data-department="([^"]+)">', page.text)]


def test_ticket_page_section_and_its_forms(server) -> None:  # type: ignore[no-untyped-def]
    number = joint_ticket(server, "console-section")
    op = login(server, "op1")
    page = op.get(f"/tickets/{number}")
    assert page.status_code == 200
    assert 'id="assists"' in page.text and "协办部门" in page.text and 'id="nav-assists"' in page.text
    zj = task_item(page, ZJ)
    assert ZJ_NAME in zj and "待协办" in zj and "协办时限" in zj and "dot-green" in zj and "按事件目录自动发起" in zj
    assert ZRZY_NAME in task_item(page, ZRZY)
    assert "2 个待协办" in page.text
    assert ANSWER_FORM in zj and WAIVE_FORM in zj  # an operator may do both
    # the add form offers active departments; the lead and those already assisting are not selectable
    assert 'id="assist-add-form"' in page.text
    assert re.search(rf'<option value="{ZJ}" disabled>', page.text) and re.search(rf'<option value="{LEAD}" disabled>', page.text)
    assert '<option value="430104-GA" >' in page.text or '<option value="430104-GA">' in page.text
    assert "SLZX" not in re.search(r'<select name="department_code" id="assist-department".*?</select>',
                                   page.text, re.S).group(0)  # no intake desk

    # add a department with a note
    after = post_back(op, number, "/assists", {"department_code": "430104-GA", "note": "现场维持秩序"})
    assert flash(after) == ("ok", "已增加协办部门：长沙市公安局岳麓分局")
    ga = task_item(after, "430104-GA")
    assert "待协办" in ga and "现场维持秩序" in ga and "人工增加" in ga and "坐席小王" in ga
    assert "3 个待协办" in after.text

    # the service's refusals come back as messages on the page
    again = post_back(op, number, "/assists", {"department_code": "430104-GA", "note": "再来一次"})
    assert flash(again) == ("error", "长沙市公安局岳麓分局 已是本工单的协办部门，不能重复增加")
    assert again.text.count('id="assist-430104-GA"') == 1
    lead = post_back(op, number, "/assists", {"department_code": LEAD})
    assert flash(lead) == ("error", "岳麓区岳麓街道综合执法中队 是本工单的主办部门，不能同时作为协办部门")
    none = post_back(op, number, "/assists", {"department_code": ""})
    assert flash(none) == ("error", "请从列表中选择要增加的协办部门")
    desk = post_back(op, number, "/assists", {"department_code": "430104-SLZX"})
    assert flash(desk) == ("error", "受理中心负责受理和派单，不能作为协办部门")
    forged = op.post(f"/tickets/{number}/assists", data={"csrf": "forged", "department_code": "430104-MZ"})
    assert forged.status_code == 403 and "表单已过期" in forged.text

    # waive: a reason is required
    blank = post_back(op, number, "/assists/430104-GA/waive", {"reason": "   "})
    assert flash(blank) == ("error", "免除协办必须填写理由")
    assert "待协办" in task_item(blank, "430104-GA")
    waived = post_back(op, number, "/assists/430104-GA/waive", {"reason": "现场无冲突，无需公安到场"})
    assert flash(waived) == ("ok", "已免除 长沙市公安局岳麓分局 的协办任务")
    ga = task_item(waived, "430104-GA")
    assert "已免除" in ga and "免除理由：现场无冲突，无需公安到场" in ga and "免除于" in ga
    assert ANSWER_FORM not in ga and WAIVE_FORM not in ga  # no forms on a finished task
    twice = post_back(op, number, "/assists/430104-GA/waive", {"reason": "再免除一次"})
    assert flash(twice) == ("error", "长沙市公安局岳麓分局 的协办任务已免除，不能再答复或免除")
    unknown = post_back(op, number, "/assists/430104-MZ/waive", {"reason": "没有这个任务"})
    assert flash(unknown) == ("error", "本工单没有 岳麓区民政局 的协办任务")
    page = op.get(f"/tickets/{number}")
    bad_verb = op.post(f"/tickets/{number}/assists/430104-GA/delete", data={"csrf": csrf_of(page.text)})
    assert bad_verb.status_code == 404 and "未知操作：delete" in bad_verb.text

    # the assisting department answers on the ticket page; it does not get the lead's work
    zj_staff = login(server, "staff_zj")
    page = zj_staff.get(f"/tickets/{number}")
    assert page.status_code == 200 and 'id="assisting-note"' in page.text
    assert 'id="action-form"' not in page.text and 'id="notes"' not in page.text
    assert 'id="assist-add-form"' not in page.text
    assert ANSWER_FORM in task_item(page, ZJ) and WAIVE_FORM not in task_item(page, ZJ)
    assert ANSWER_FORM not in task_item(page, ZRZY)
    empty = post_back(zj_staff, number, f"/assists/{ZJ}/answer", {"reply": ""})
    assert flash(empty) == ("error", "请填写协办答复后再提交")
    other = post_back(zj_staff, number, f"/assists/{ZRZY}/answer", {"reply": "替别人答复"})
    assert flash(other) == ("error", "只有该协办部门或话务坐席可以答复协办任务")
    answered = post_back(zj_staff, number, f"/assists/{ZJ}/answer", {"reply": "已核查：无建设工程规划许可"})
    assert flash(answered) == ("ok", f"已提交 {ZJ_NAME} 的协办答复")
    zj = task_item(answered, ZJ)
    assert "已答复" in zj and "答复：已核查：无建设工程规划许可" in zj and "答复于" in zj
    state = server.client("operator").get(f"/api/tickets/{number}/assists").json()
    assert {t["department"]["code"]: t["state"] for t in state} == {ZJ: "answered", ZRZY: "open", "430104-GA": "waived"}
    # another department sees nothing of it
    assert login(server, "staff_edu").get(f"/tickets/{number}").status_code == 404

    # the history names each step
    history = op.get(f"/tickets/{number}").text
    history = history[history.index('id="history"'):]
    for kind in ("增加协办", "免除协办", "协办答复"):
        assert kind in history, kind
    # a supervisor reads the section, without forms
    sup_page = login(server, "sup1").get(f"/tickets/{number}")
    assert 'id="assists"' in sup_page.text and ANSWER_FORM not in sup_page.text
    assert 'id="assist-add-form"' not in sup_page.text and WAIVE_FORM not in sup_page.text


def test_lead_resolve_refused_while_a_task_is_open(server) -> None:  # type: ignore[no-untyped-def]
    number = joint_ticket(server, "console-resolve")
    lead = login(server, "staff_lead")
    accepted = post_back(lead, number, "/action", {"action": "accept"})
    assert flash(accepted) == ("ok", "已完成：签收")
    assert 'id="resolve-blocked"' in accepted.text and "尚有 2 个协办任务未答复" in accepted.text
    refused = post_back(lead, number, "/action", {"action": "resolve", "reply": "已责令拆除"})
    kind, text = flash(refused)
    assert kind == "error" and text.startswith("还不能办结：协办部门 ")
    assert ZJ_NAME in text and ZRZY_NAME in text and "免除" in text and "/" not in text
    assert 'id="ticket-state">办理中' in refused.text
    # the lead waives one, an operator answers the other: now it may resolve
    assert flash(post_back(lead, number, f"/assists/{ZRZY}/waive", {"reason": "不涉及用地审批"}))[0] == "ok"
    refused = post_back(lead, number, "/action", {"action": "resolve", "reply": "已责令拆除"})
    assert flash(refused)[1] == f"还不能办结：协办部门 {ZJ_NAME} 尚未答复。请待其答复，或在本页「协办部门」中说明理由免除后再办结。"
    op = login(server, "op1")
    assert flash(post_back(op, number, f"/assists/{ZJ}/answer", {"reply": "已核查，属违法建设"}))[0] == "ok"
    done = post_back(lead, number, "/action", {"action": "resolve", "reply": "已责令拆除"})
    assert flash(done) == ("ok", "已完成：办结答复")
    assert 'id="ticket-state">已办结' in done.text and 'id="resolve-blocked"' not in done.text
    # a finished ticket takes no new assisting department
    late = post_back(op, number, "/assists", {"department_code": "430104-GA"})
    assert flash(late) == ("error", "工单已办结，只有在办工单可以增加协办部门")


def test_dispatch_in_the_console_names_the_assisting_departments(server) -> None:  # type: ignore[no-untyped-def]
    with server.client("intake") as intake:
        r = intake.post("/api/tickets", json={
            "text": "岳麓区岳麓街道麓山南路9号院内违章搭建（console-dispatch）", "channel": "hotline",
            "event_type": "illegal_construction", "location_text": "岳麓区岳麓街道麓山南路9号院内",
            "reporter": {"name": "钱七", "channel_identity": "telegram:5550001"}})
        assert r.status_code == 201, r.text
    number = r.json()["number"]
    op = login(server, "op1")
    before = op.get(f"/tickets/{number}")
    assert 'id="assists-empty"' in before.text and 'id="assist-add-form"' in before.text  # may call one in already
    after = post_back(op, number, "/action", {"action": "dispatch"})
    kind, text = flash(after)
    assert kind == "ok" and text.startswith("已完成：派单；协办部门：") and ZJ_NAME in text and ZRZY_NAME in text
    assert f'id="assist-{ZJ}"' in after.text and f'id="assist-{ZRZY}"' in after.text
    # a draft awaiting review has no 协办部门 section (nobody can call anyone in yet)
    draft = new_draft(server, "市民：岳麓区岳麓街道麓山南路8号有人违章加盖（console-draft）")
    assert 'id="assists"' not in op.get(f"/tickets/{draft['number']}").text


def test_assist_queue_overdue_first_filters_and_scope(server) -> None:  # type: ignore[no-untyped-def]
    first = joint_ticket(server, "console-queue-a")
    second = joint_ticket(server, "console-queue-b")
    make_overdue(server, second, ZRZY)  # the later ticket's task is the overdue one
    with server.client("operator") as api:
        assert api.post(f"/api/tickets/{first}/assists/{ZJ}/answer", json={"reply": "已核查"}).status_code == 200
    assert httpx.get(server.base_url + "/assists").status_code == 303  # login first

    op = login(server, "op1")
    page = op.get("/assists")
    assert page.status_code == 200 and "协办任务" in page.text and 'id="assist-table"' in page.text
    assert '<a class="button" href="/assists">清除</a>' in page.text and 'id="assist-department-filter"' in page.text
    rows = queue_rows(page)
    assert rows and rows[0][2], "an overdue task comes first"
    flags = [overdue for _, _, overdue in rows]
    assert flags == sorted(flags, reverse=True), "every overdue task before the others"
    assert rows.index((second, ZRZY, True)) < rows.index((first, ZRZY, False))
    assert (first, ZJ, False) not in rows  # answered: not in the open queue
    row = re.search(rf'<tr class="assist-row assist-overdue" data-ticket="{second}" data-department="{ZRZY}">.*?</tr>',
                    page.text, re.S).group(0)
    assert f'href="/tickets/{second}#assists"' in row and "违法建设" in row and "dot-red" in row and "已超期" in row
    assert ZRZY_NAME in row and "岳麓区岳麓街道综合执法中队" in row
    # the nav badge: open tasks, red while one is overdue
    assert re.search(r'id="nav-assists">\s*协办任务<span class="badge badge-red"', page.text)

    # filters: department, state, overdue only
    by_dept = queue_rows(op.get("/assists", params={"department": ZRZY}))
    assert {d for _, d, _ in by_dept} == {ZRZY} and (first, ZRZY, False) in by_dept and by_dept[0] == (second, ZRZY, True)
    answered = op.get("/assists", params={"state": "answered"})
    assert (first, ZJ, False) in queue_rows(answered) and "已答复" in answered.text
    assert all(d != ZRZY or t not in (first, second) for t, d, _ in queue_rows(answered))
    only_late = queue_rows(op.get("/assists", params={"overdue": "1", "department": ZRZY}))
    assert only_late and all(o for _, _, o in only_late) and (second, ZRZY, True) in only_late
    every = queue_rows(op.get("/assists", params={"state": "all", "department": ZJ}))
    assert (first, ZJ, False) in every and (second, ZJ, False) in every
    assert "没有符合条件的协办任务" in op.get("/assists", params={"department": "NO-SUCH"}).text
    assert queue_rows(op.get("/assists", params={"state": "bogus", "department": ZRZY}))[0] == (second, ZRZY, True)

    # staff: their own department's tasks only, whatever they ask for; no department filter
    staff = login(server, "staff_zj")
    mine = staff.get("/assists", params={"department": ZRZY})
    assert mine.status_code == 200 and 'id="assist-department-filter"' not in mine.text
    assert {d for _, d, _ in queue_rows(mine)} == {ZJ} and (second, ZJ, False) in queue_rows(mine)
    assert (first, ZJ, False) not in queue_rows(mine)  # answered


def test_dashboard_shows_the_assisting_task_figures(server) -> None:  # type: ignore[no-untyped-def]
    number = joint_ticket(server, "console-dashboard")
    make_overdue(server, number, ZJ, days=1)
    since = (utcnow() - timedelta(days=30, minutes=-1)).isoformat()

    def figures(page: httpx.Response) -> Tuple[int, int]:
        return (int(re.search(r'id="kpi-assists-open">(\d+)<', page.text).group(1)),
                int(re.search(r'id="kpi-assists-overdue">(\d+)<', page.text).group(1)))

    sup = login(server, "sup1")
    page = sup.get("/dashboard", params={"days": 30})
    assert page.status_code == 200 and 'id="kpi-assists"' in page.text
    stats = server.client("supervisor").get("/api/stats", params={"from": since}).json()["assist_tasks"]
    assert figures(page) == (stats["open"], stats["overdue"]) and stats["overdue"] >= 1 and stats["open"] >= 2
    table = re.search(r'<table class="tally" id="overdue-by-department">.*?</table>', page.text, re.S).group(0)
    assert ZJ_NAME in table

    staff = login(server, "staff_zj").get("/dashboard", params={"days": 30})
    mine = server.client("staff_zj").get("/api/stats", params={"from": since}).json()["assist_tasks"]
    assert figures(staff) == (mine["open"], mine["overdue"]) and mine["overdue"] >= 1
    assert mine["open"] < stats["open"]  # their own tasks only
