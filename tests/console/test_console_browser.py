"""Console flows in a real headless Chromium (Selenium): log in, review a draft, correct its type,
dispatch, see the history; a ticket with assisting departments (协办部门); department staff cannot
open another department's ticket.
Screenshots of the main pages go to reports/screenshots/ (SCREENSHOT_DIR=docs/screenshots refreshes
the copies in the docs; quantised PNGs, small enough to commit).
Runs on SQLite only (the flows are the same on PostgreSQL, covered over HTTP elsewhere)."""
from __future__ import annotations

from pathlib import Path

import pytest

from console_env import PASSWORD, SCREENSHOTS
from demo_data import seed_dashboard
from joint_data import ZJ, ZJ_NAME, ZRZY, ZRZY_NAME, joint_ticket, make_overdue

WAIT = 30  # seconds: a hang guard for page loads, not a speed requirement


def shot(driver, name: str, full: bool = True, width: int = 1366) -> Path:  # type: ignore[no-untyped-def]
    from PIL import Image

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    size = driver.get_window_size()
    if full:
        height = driver.execute_script("return Math.max(document.body.scrollHeight, 600)")
        driver.set_window_size(width, min(int(height) + 20, 2600))
    driver.save_screenshot(str(path))
    driver.set_window_size(size["width"], size["height"])
    image = Image.open(path).convert("RGB")
    image.quantize(colors=64, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(path, optimize=True)
    return path


def wait_for(driver, condition):  # type: ignore[no-untyped-def]
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, WAIT).until(condition)


def login(driver, base: str, username: str, screenshot: bool = False) -> None:  # type: ignore[no-untyped-def]
    from selenium.webdriver.common.by import By

    driver.delete_all_cookies()
    driver.get(base + "/login")
    wait_for(driver, lambda d: d.find_element(By.ID, "username"))
    if screenshot:
        shot(driver, "01-login", full=False)
    driver.find_element(By.ID, "username").send_keys(username)
    driver.find_element(By.ID, "password").send_keys(PASSWORD)
    driver.find_element(By.ID, "login-submit").click()
    wait_for(driver, lambda d: "/login" not in d.current_url)


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_operator_reviews_corrects_and_dispatches_a_draft(backend, server, browser) -> None:  # type: ignore[no-untyped-def]
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    from routing.settings import Settings

    seed_dashboard(backend.factory, Settings.from_env({"DATABASE_URL": backend.url}))
    op_api = server.client("operator")
    r = op_api.post("/api/triage", json={"transcript": (
        "坐席：您好，12345热线，请问有什么可以帮您？\n"
        "市民：嗯嗯，那个那个，岳麓区岳麓街道桃子湖社区门口有人摆摊卖烧烤，噪音又大，还把消防通道堵了\n"
        "坐席：请问是什么时候？\n市民：天天晚上，十点以后\n坐席：好的，我们会尽快转交处理。"), "source": "browser-test"})
    assert r.status_code == 201, r.text
    number = r.json()["ticket"]["number"]
    assert r.json()["ticket"]["event_type"] == "noise_pollution"  # what the (fake) model thought
    base = server.base_url
    d = browser
    d.set_window_size(1366, 900)

    login(d, base, "op1", screenshot=True)
    assert "/queues/awaiting_review" in d.current_url
    wait_for(d, lambda d: d.find_element(By.ID, "queue-table"))
    assert number in d.page_source
    shot(d, "02-queue-awaiting-review")

    d.find_element(By.LINK_TEXT, number).click()
    wait_for(d, lambda d: d.find_element(By.ID, "review-form"))
    assert d.find_element(By.ID, "ticket-state").text == "待人工审核"
    marks = {m.text for m in d.find_elements(By.CSS_SELECTOR, "#transcript mark.ent-location")}
    assert any("桃子湖社区" in m for m in marks)
    assert d.find_element(By.ID, "predicted-type").text == "噪音扰民"
    assert d.find_elements(By.CSS_SELECTOR, "#alternatives li")

    # the operator corrects the type: it is really 占道经营
    Select(d.find_element(By.ID, "event-type")).select_by_value("street_occupation")
    d.find_element(By.ID, "review-note").send_keys("主要是占道，噪音是附带的")
    d.find_element(By.ID, "btn-save").click()
    flash = wait_for(d, lambda d: d.find_element(By.CSS_SELECTOR, ".flash-ok"))
    assert "已保存更正" in flash.text and "训练候选" in flash.text
    assert d.find_element(By.ID, "ticket-type").text == "占道经营与乱摆卖"
    assert d.find_element(By.ID, "candidates").is_displayed()

    # confirm and dispatch in one step
    d.find_element(By.ID, "btn-confirm-dispatch").click()
    wait_for(d, lambda d: d.find_element(By.ID, "ticket-state").text == "已分流")
    history = d.find_element(By.ID, "history").text
    for step in ("创建", "转写分析", "人工更正", "审核确认", "派单"):
        assert step in history, step
    assert "主要是占道" in history and "坐席小王" in history
    shot(d, "03-ticket-dispatched")

    # the correction is a training candidate
    d.get(base + "/training")
    table = wait_for(d, lambda d: d.find_element(By.ID, "candidates-table"))
    assert number in table.text and "占道经营与乱摆卖" in table.text and "噪音扰民" in table.text
    shot(d, "05-training-candidates")

    # a new transcript pasted in the console
    d.get(base + "/triage/new")
    area = wait_for(d, lambda d: d.find_element(By.ID, "transcript-text"))
    area.send_keys("A：您好，这里是12345热线\nB：我們小區電梯壞了兩個星期，物業一直不修\nA：請問是哪個小區？\n"
                   "B：天心區坡子街西湖社區")
    shot(d, "06-triage-paste", full=False)
    d.find_element(By.ID, "triage-submit").click()
    wait_for(d, lambda d: d.find_element(By.ID, "ticket-state").text == "待人工审核")
    pasted = d.find_element(By.ID, "ticket-number").text
    assert d.find_element(By.ID, "predicted-type").text == "物业服务纠纷"
    caller_turns = d.find_elements(By.CSS_SELECTOR, "#transcript li.turn-caller")
    assert len(caller_turns) == 2
    # the model's (Simplified) entity is highlighted in the Traditional transcript
    assert "天心區坡子街" in {m.text for m in d.find_elements(By.CSS_SELECTOR, "#transcript mark.ent-location")}
    d.set_window_size(820, 1180)  # a tablet
    shot(d, "07-ticket-tablet", width=820)
    d.set_window_size(1366, 900)

    d.get(base + "/dashboard")
    wait_for(d, lambda d: d.find_element(By.ID, "kpis"))
    assert "办结率" in d.page_source and len(d.find_elements(By.CSS_SELECTOR, "figure.chart svg")) >= 4
    shot(d, "04-dashboard")

    # joint handling: a ticket with assisting departments, one of them overdue; waive one in the page
    joint = joint_ticket(server, "browser")
    make_overdue(server, joint, ZJ)
    assert op_api.post(f"/api/tickets/{joint}/assists", json={"department_code": "430104-GA",
                                                              "note": "现场维持秩序"}).status_code == 201
    d.get(base + f"/tickets/{joint}")
    section = wait_for(d, lambda d: d.find_element(By.ID, "assists"))
    assert ZJ_NAME in section.text and ZRZY_NAME in section.text and "已超期" in section.text
    assert d.find_elements(By.CSS_SELECTOR, f"#assist-{ZJ} .dot-red")
    waive = d.find_element(By.CSS_SELECTOR, f"#assist-{ZRZY} form.assist-waive")
    waive.find_element(By.NAME, "reason").send_keys("不涉及用地审批")
    waive.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    flash = wait_for(d, lambda d: d.find_element(By.CSS_SELECTOR, ".flash-ok"))
    assert ZRZY_NAME in flash.text and "免除" in flash.text
    assert "不涉及用地审批" in d.find_element(By.ID, f"assist-{ZRZY}").text
    shot(d, "08-ticket-assists")
    d.find_element(By.ID, "nav-assists").click()  # the 协办任务 queue: the overdue task first
    first_row = wait_for(d, lambda d: d.find_element(By.CSS_SELECTOR, "#assist-table tbody tr"))
    assert "assist-overdue" in first_row.get_attribute("class")
    assert d.find_elements(By.CSS_SELECTOR, f'tr.assist-overdue[data-ticket="{joint}"][data-department="{ZJ}"]')
    shot(d, "09-assist-queue")

    # department staff: their own queue, not another department's ticket
    login(d, base, "staff_edu")
    d.get(base + f"/tickets/{number}")
    message = wait_for(d, lambda d: d.find_element(By.ID, "error-message"))
    assert "不属于您的部门" in message.text and number not in d.find_element(By.TAG_NAME, "main").text.replace(
        message.text, "")
    d.get(base + f"/tickets/{pasted}")
    assert "不属于您的部门" in wait_for(d, lambda d: d.find_element(By.ID, "error-message")).text
    d.get(base + "/queues/todo")
    wait_for(d, lambda d: d.find_element(By.TAG_NAME, "main"))
    assert number not in d.page_source
