"""The state machine table: every legal transition, and illegal ones refused."""
from __future__ import annotations

import pytest

from routing import lifecycle
from routing.lifecycle import STATES, TRANSITIONS, IllegalTransition, allowed_actions, next_state

LEGAL = [(t.action, s, t.target or s) for t in TRANSITIONS.values() for s in sorted(t.sources)]
ILLEGAL = [(a, s) for a, t in TRANSITIONS.items() for s in STATES if s not in t.sources]


@pytest.mark.parametrize("action,state,target", LEGAL)
def test_every_legal_transition(action: str, state: str, target: str) -> None:
    assert next_state(action, state) == target


@pytest.mark.parametrize("action,state", ILLEGAL)
def test_every_illegal_transition_is_refused(action: str, state: str) -> None:
    with pytest.raises(IllegalTransition) as info:
        next_state(action, state)
    assert state in info.value.message and action in info.value.message


def test_main_loop() -> None:
    state = lifecycle.RECEIVED
    for action in ("dispatch", "accept", "progress", "resolve", "close"):
        state = next_state(action, state)
    assert state == lifecycle.CLOSED


@pytest.mark.parametrize("action,state", [
    ("resolve", "received"), ("close", "in_progress"), ("rate", "in_progress"), ("reopen", "closed"),
    ("accept", "received"), ("dispatch", "merged"), ("urge", "closed"), ("merge", "resolved"),
])
def test_specific_illegal(action: str, state: str) -> None:
    with pytest.raises(IllegalTransition):
        next_state(action, state)


def test_returned_and_escalated_paths() -> None:
    assert next_state("return", "in_progress") == "returned"
    assert next_state("dispatch", "returned") == "dispatched"
    assert next_state("escalate", "in_progress") == "escalated"
    assert next_state("accept", "escalated") == "in_progress"
    assert next_state("reopen", "resolved") == "in_progress"
    assert next_state("merge", "received") == "merged"


def test_unknown_action() -> None:
    with pytest.raises(IllegalTransition, match="unknown action"):
        next_state("teleport", "received")


def test_nothing_leaves_a_final_state_except_rating() -> None:
    assert allowed_actions("merged") == ()
    assert allowed_actions("closed") == ("rate",)


def test_every_state_is_reachable() -> None:
    reached = {lifecycle.RECEIVED}
    frontier = [lifecycle.RECEIVED]
    while frontier:
        state = frontier.pop()
        for action in allowed_actions(state):
            nxt = next_state(action, state)
            if nxt not in reached:
                reached.add(nxt)
                frontier.append(nxt)
    assert reached == set(STATES)
