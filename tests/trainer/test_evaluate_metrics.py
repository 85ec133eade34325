"""The evaluation's metrics on hand-made predictions."""
import pytest

from trainer.evaluate import Prediction, confused_pairs, entity_scores, intent_scores, threshold_table


def _p(intent, confidence=0.9, entities=()):
    return Prediction(text="", intent=intent, confidence=confidence, entities=list(entities))


def test_entity_scores_match_normalised_surface_text():
    examples = ["[幸福小區](location)的[物业](party)", "[三楼](location)漏水"]
    predictions = [_p("x", entities=[("location", "幸福小区"), ("party", "物业公司")]),
                   _p("x", entities=[("location", "3楼"), ("location", "楼道")])]
    scores = entity_scores(examples, predictions)
    assert scores["location"]["precision"] == pytest.approx(2 / 3)
    assert scores["location"]["recall"] == 1.0
    assert scores["party"]["f1"] == 0.0


def test_intent_scores_and_confusions():
    gold = ["a", "a", "b", "b"]
    predicted = ["a", "b", "b", "b"]
    scores = intent_scores(gold, predicted)
    assert scores["accuracy"] == 0.75
    assert scores["per_intent"]["a"]["recall"] == 0.5
    assert scores["per_intent"]["b"]["precision"] == pytest.approx(2 / 3)
    assert confused_pairs(gold, predicted) == [("a", "b", 1)]


def test_threshold_table_counts_kept_and_caught():
    gold = ["a", "out_of_scope", "b"]
    predictions = [_p("a", 0.9), _p("a", 0.2), _p("a", 0.6)]
    rows = {r["threshold"]: r for r in threshold_table(gold, predictions)}
    assert rows[0.5]["kept_share"] == pytest.approx(2 / 3)
    assert rows[0.5]["accuracy_kept"] == 0.5
    assert rows[0.5]["out_of_scope_caught_by_fallback"] == 1
    assert rows[0.1]["wrong_kept"] == 2
