"""The ticket state machine, as data.

States follow the closed loop 受理 → 分流 → 办理 → 办结 → 回访:

    received → dispatched → in_progress → resolved → closed

plus `returned` (misrouted, back to the dispatcher), `escalated` (moved one level up) and
`merged` (a duplicate folded into another open ticket). `reopen` takes a resolved ticket back to
in_progress when the reporter says the problem is not solved.

`awaiting_review` (待人工审核) is where drafts made from hotline transcripts (routing.triage) wait
for an operator: `confirm` makes them ordinary received tickets (the console can dispatch in the
same step), `merge` folds a draft into the open ticket it duplicates, and `review` sends a
received or returned ticket back to the review queue. A draft is not open yet: no SLA colour,
no escalation, not a duplicate target, no urging.

`TRANSITIONS` is the whole table: an action, the states it may start from and the state it leads
to (`None` = the state does not change: a note on the record). Anything not in the table is
refused with :class:`IllegalTransition`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, FrozenSet, Optional, Tuple

RECEIVED = "received"
DISPATCHED = "dispatched"
IN_PROGRESS = "in_progress"
RESOLVED = "resolved"
CLOSED = "closed"
RETURNED = "returned"
ESCALATED = "escalated"
MERGED = "merged"
AWAITING_REVIEW = "awaiting_review"

STATES: Tuple[str, ...] = (RECEIVED, DISPATCHED, IN_PROGRESS, RESOLVED, CLOSED, RETURNED, ESCALATED, MERGED,
                           AWAITING_REVIEW)
STATE_NAMES: Dict[str, str] = {
    AWAITING_REVIEW: "待人工审核",
    RECEIVED: "已受理",
    DISPATCHED: "已分流",
    IN_PROGRESS: "办理中",
    RESOLVED: "已办结",
    CLOSED: "已回访",
    RETURNED: "已退回",
    ESCALATED: "已升级",
    MERGED: "已合并",
}
# Open = still somebody's work: SLA clock, escalation, dedup and urging apply.
OPEN_STATES: FrozenSet[str] = frozenset({RECEIVED, DISPATCHED, IN_PROGRESS, RETURNED, ESCALATED})
DONE_STATES: FrozenSet[str] = frozenset({RESOLVED, CLOSED})
FINAL_STATES: FrozenSet[str] = frozenset({CLOSED, MERGED})


class IllegalTransition(Exception):
    """An action that the table does not allow from the ticket's current state."""

    def __init__(self, action: str, state: str):
        allowed = TRANSITIONS.get(action)
        self.action = action
        self.state = state
        if allowed is None:
            message = f"未知操作 unknown action: {action}"
        else:
            message = (
                f"工单当前状态为“{STATE_NAMES.get(state, state)}”，不能执行“{allowed.label}”；"
                f"cannot {action} a ticket in state {state} "
                f"(allowed from: {', '.join(sorted(allowed.sources))})"
            )
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Transition:
    action: str
    label: str
    sources: FrozenSet[str]
    target: Optional[str]  # None: the state does not change


def _t(action: str, label: str, sources: Tuple[str, ...], target: Optional[str]) -> Transition:
    return Transition(action, label, frozenset(sources), target)


TRANSITIONS: Dict[str, Transition] = {
    t.action: t
    for t in (
        _t("confirm", "审核确认", (AWAITING_REVIEW,), RECEIVED),
        _t("review", "转人工审核", (RECEIVED, RETURNED), AWAITING_REVIEW),
        _t("dispatch", "分流派单", (RECEIVED, RETURNED, ESCALATED), DISPATCHED),
        _t("accept", "签收", (DISPATCHED, ESCALATED), IN_PROGRESS),
        _t("progress", "办理进展", (IN_PROGRESS,), None),
        _t("return", "退回", (DISPATCHED, IN_PROGRESS, ESCALATED), RETURNED),
        _t("escalate", "升级", (RECEIVED, DISPATCHED, IN_PROGRESS, RETURNED, ESCALATED), ESCALATED),
        _t("resolve", "办结", (IN_PROGRESS,), RESOLVED),
        _t("close", "回访结案", (RESOLVED,), CLOSED),
        _t("rate", "评价", (RESOLVED, CLOSED), CLOSED),
        _t("reopen", "重新办理", (RESOLVED,), IN_PROGRESS),
        _t("merge", "合并", (AWAITING_REVIEW, RECEIVED, DISPATCHED, IN_PROGRESS, RETURNED, ESCALATED), MERGED),
        _t("supplement", "补充材料",
           (AWAITING_REVIEW, RECEIVED, DISPATCHED, IN_PROGRESS, RETURNED, ESCALATED, RESOLVED), None),
        _t("urge", "催办", (RECEIVED, DISPATCHED, IN_PROGRESS, RETURNED, ESCALATED), None),
    )
}
STATE_CHANGING_ACTIONS: Tuple[str, ...] = tuple(a for a, t in TRANSITIONS.items() if t.target is not None)


def next_state(action: str, state: str) -> str:
    """The state after `action` from `state`, or :class:`IllegalTransition`."""
    transition = TRANSITIONS.get(action)
    if transition is None or state not in transition.sources:
        raise IllegalTransition(action, state)
    return transition.target or state


def allowed_actions(state: str) -> Tuple[str, ...]:
    return tuple(a for a, t in TRANSITIONS.items() if state in t.sources)
