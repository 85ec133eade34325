"""Drafts from transcripts, review, corrections → training candidates (SQLite and PostgreSQL)."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from fake_nlu import parse as fake_parse
from routing import lifecycle
from routing.auth import Actor
from routing.errors import Conflict, Forbidden, NotFound
from routing.escalation import overdue_numbers
from routing.lifecycle import IllegalTransition
from routing.models import Department
from routing.service import NewTicket, TicketService
from routing.settings import Settings
from routing.timeutil import utcnow
from routing.triage.candidates import query_candidates, to_csv
from routing.triage.nlu import parse_response
from routing.triage.parse import parse_plain
from routing.triage.review import ReviewService
from routing.triage.service import TriageService

OPERATOR = Actor(name="坐席甲", role="operator")
SUPERVISOR = Actor(name="督办", role="supervisor")
INTAKE = Actor(name="bot", role="intake")
NOISE = "坐席：您好，12345热线\n市民：嗯嗯，岳麓区桃子湖社区楼下烧烤店噪音太大了，我的电话13912345678\n坐席：好的"


def staff(db: Session, code: str) -> Actor:
    dept = db.execute(select(Department).where(Department.code == code)).scalar_one()
    return Actor(name=f"staff@{code}", role="staff", department_id=dept.id)


def draft(db: Session, settings: Settings, text: str = NOISE, now=None, source: str = "t.txt"):  # type: ignore[no-untyped-def]
    transcript = parse_plain(text, source)
    service = TriageService(db, settings, nlu=None, threshold=0.5)
    parse = parse_response(fake_parse(transcript.caller_text), transcript.caller_text)
    return service.create_draft(OPERATOR, transcript, parse, source=source, now=now)


def test_a_transcript_becomes_a_draft_awaiting_review(db: Session, settings: Settings) -> None:
    result = draft(db, settings)
    t, record, p = result.ticket, result.record, result.prediction
    assert t.state == lifecycle.AWAITING_REVIEW and t.channel == "hotline"
    assert t.event_type == "noise_pollution" and t.nlu_confidence == pytest.approx(0.91)
    assert t.location_text == "岳麓区桃子湖社区" and t.region.code == "430104001001"
    assert t.parties == ["烧烤店"] and t.reporter.phone.endswith("13912345678")
    assert t.original_text.startswith("嗯嗯") and "嗯" not in t.normalised_text
    assert record.turns[0]["role"] == "operator" and record.predicted_type == "noise_pollution"
    assert not p.low_confidence and p.alternatives and all(a["code"] != "noise_pollution" for a in p.alternatives)
    kinds = [(e.kind, e.to_state) for e in t.events]
    assert kinds == [("created", "awaiting_review"), ("routed", "awaiting_review"), ("triaged", "awaiting_review")]
    # a draft is not open: no escalation, no SLA colour
    assert t.number not in overdue_numbers(db, utcnow() + timedelta(days=400))


def test_low_confidence_and_out_of_scope_leave_the_type_to_the_operator(db: Session, settings: Settings) -> None:
    unsure = draft(db, settings, "市民：河边有人倾倒垃圾").prediction
    assert unsure.low_confidence and unsure.event_type is None and unsure.suggested_type == "sanitation"
    unknown = draft(db, settings, "市民：你们几点下班").ticket
    assert unknown.event_type is None and unknown.needs_operator and unknown.department.intake_desk
    record = unknown.triage
    assert record.low_confidence and record.predicted_type == "consumer_rights"  # best catalogue guess, flagged


def test_duplicate_is_found_at_triage_and_linked_on_confirm(db: Session, settings: Settings) -> None:
    now = utcnow()
    primary = TicketService(db, settings).create(INTAKE, NewTicket(
        text="朝阳街社区工地夜间施工", channel="telegram", event_type="construction_nuisance",
        location_text="芙蓉区朝阳街社区"), now=now - timedelta(hours=2))
    result = draft(db, settings, "坐席：您好\n市民：芙蓉区朝阳街社区的工地半夜还在施工", now=now)
    t = result.ticket
    assert result.prediction.duplicate_of == primary.number and t.duplicate_of is None
    assert primary.duplicate_count == 0
    ReviewService(db, settings).confirm(OPERATOR, t.number, now=now)
    db.refresh(primary)
    assert t.state == lifecycle.RECEIVED and t.duplicate_of.number == primary.number
    assert primary.duplicate_count == 1 and t.department_id == primary.department_id
    assert [e.kind for e in t.events][-2:] == ["duplicate_of", "confirm"]


def test_corrections_become_training_candidates(db: Session, settings: Settings) -> None:
    t = draft(db, settings).ticket
    review = ReviewService(db, settings)
    old_dept, old_deadline = t.department.code, t.deadline_at
    _, written = review.correct(OPERATOR, t.number, event_type="street_occupation", note="其实是占道经营")
    (cand,) = written
    assert (cand.field, cand.model_answer, cand.operator_answer) == ("event_type", "noise_pollution", "street_occupation")
    assert cand.text.startswith("嗯嗯") and cand.actor == "坐席甲" and cand.model_confidence == pytest.approx(0.91)
    assert cand.extra["intent_ranking"][0]["name"] == "noise_pollution"
    assert t.department.code != old_dept and t.deadline_at != old_deadline  # re-routed before dispatch
    event = t.events[-1]
    assert event.kind == "corrected" and event.note == "其实是占道经营"
    assert event.data["changes"]["event_type"] == {"from": "noise_pollution", "to": "street_occupation"}

    # a second correction supersedes the first; going back to the model's answer leaves none active
    _, (second,) = review.correct(OPERATOR, t.number, event_type="sanitation")
    db.refresh(cand)
    assert cand.superseded_at is not None and second.superseded_at is None
    _, none = review.correct(OPERATOR, t.number, event_type="noise_pollution")
    assert none == []
    active, _ = query_candidates(db, "event_type")
    assert all(c.ticket_id != t.id for c in active)
    everything, _ = query_candidates(db, "event_type", include_superseded=True)
    assert len([c for c in everything if c.ticket_id == t.id]) == 2


def test_location_and_party_corrections(db: Session, settings: Settings) -> None:
    t = draft(db, settings).ticket
    review = ReviewService(db, settings)
    _, written = review.correct(OPERATOR, t.number, location_text="天心区坡子街西湖社区", parties=["某某烧烤", "物业"])
    by_field = {c.field: c for c in written}
    assert set(by_field) == {"location", "party"}
    assert by_field["location"].model_answer == {"text": "岳麓区桃子湖社区", "region": "430104001001"}
    assert by_field["location"].operator_answer["region"].startswith("430103")
    assert by_field["party"].operator_answer == ["某某烧烤", "物业"]
    assert t.region.code.startswith("430103")
    # the same values again: nothing changes, nothing recorded
    before = len(t.events)
    _, again = review.correct(OPERATOR, t.number, location_text="天心区坡子街西湖社区", parties="物业\n某某烧烤")
    assert again == [] and len(t.events) == before
    csv_text = to_csv(written)
    assert csv_text.startswith("\ufeffid,created_at,ticket_number,field") and "某某烧烤" in csv_text


def test_a_bot_ticket_correction_compares_with_what_it_was_created_with(db: Session, settings: Settings) -> None:
    t = TicketService(db, settings).create(INTAKE, NewTicket(
        text="学校要求交补课费", channel="telegram", event_type="school_management", nlu_confidence=0.55,
        location_text="芙蓉区文艺路街道"))
    review = ReviewService(db, settings)
    _, (c1,) = review.correct(OPERATOR, t.number, event_type="school_fees")
    assert (c1.model_answer, c1.operator_answer, c1.model_confidence) == ("school_management", "school_fees", 0.55)
    _, (c2,) = review.correct(OPERATOR, t.number, event_type="school_admission")
    assert c2.model_answer == "school_management"  # still the bot's answer, not the first correction


def test_who_may_review(db: Session, settings: Settings) -> None:
    t = draft(db, settings).ticket
    review = ReviewService(db, settings)
    police = staff(db, "430104-GA")
    for actor in (SUPERVISOR, police, INTAKE):
        with pytest.raises(Forbidden):
            review.correct(actor, t.number, event_type="sanitation")
        with pytest.raises(Forbidden):
            review.confirm(actor, t.number)
    with pytest.raises(Forbidden):
        review.add_note(SUPERVISOR, t.number, "看看")
    review.add_note(police, t.number, "我们会跟进")  # the routed department's staff
    with pytest.raises(NotFound):
        review.add_note(staff(db, "430102-JY"), t.number, "不是我们的")
    assert t.events[-1].kind == "note" and t.events[-1].actor == "staff@430104-GA"


def test_confirm_and_dispatch_and_the_review_transitions(db: Session, settings: Settings) -> None:
    review = ReviewService(db, settings)
    t = draft(db, settings).ticket
    with pytest.raises(IllegalTransition):
        review.act(OPERATOR, t.number, "dispatch", {})  # a draft is confirmed first
    review.confirm(OPERATOR, t.number, dispatch=True, department_code="430104-CGZF")
    assert t.state == lifecycle.DISPATCHED and t.department.code == "430104-CGZF"
    assert [e.kind for e in t.events][-2:] == ["confirm", "dispatch"]
    with pytest.raises(IllegalTransition):
        review.confirm(OPERATOR, t.number)

    other = TicketService(db, settings).create(INTAKE, NewTicket(text="噪音", channel="sms"))
    review.act(OPERATOR, other.number, "review", {"note": "需要核实"})
    assert other.state == lifecycle.AWAITING_REVIEW

    dup = draft(db, settings).ticket
    review.act(OPERATOR, dup.number, "merge", {"into": t.number})
    assert dup.state == lifecycle.MERGED and dup.merged_into.number == t.number


def test_final_tickets_are_not_corrected(db: Session, settings: Settings) -> None:
    review = ReviewService(db, settings)
    target = draft(db, settings).ticket
    review.confirm(OPERATOR, target.number)
    t = draft(db, settings).ticket
    review.act(OPERATOR, t.number, "merge", {"into": target.number})
    with pytest.raises(Conflict):
        review.correct(OPERATOR, t.number, event_type="sanitation")


def test_one_new_migration_on_top_of_the_initial_one(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from alembic.script import ScriptDirectory

    from routing.migrate import alembic_config, downgrade, upgrade

    script = ScriptDirectory.from_config(alembic_config())
    heads = script.get_heads()
    assert len(heads) == 1
    ours = script.get_revision("0002_console")
    assert ours.down_revision == "0001"
    url = f"sqlite:///{tmp_path / 'm.db'}"
    upgrade(url)
    downgrade(url, "0001")
    upgrade(url)
