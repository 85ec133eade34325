from bot.components.entity_merger import merge_entities


def _entity(kind, start, end, extractor):
    return {"entity": kind, "start": start, "end": end, "value": "x", "extractor": extractor}


def test_regex_wins_over_crf_on_the_same_span():
    merged = merge_entities([
        _entity("ticket_number", 3, 18, "CRFEntityExtractor"),
        _entity("ticket_number", 3, 18, "RegexEntityExtractor"),
    ])
    assert [e["extractor"] for e in merged] == ["RegexEntityExtractor"]


def test_longer_span_wins_among_overlaps_of_one_type():
    merged = merge_entities([
        _entity("location", 0, 4, "CRFEntityExtractor"),
        _entity("location", 0, 8, "CRFEntityExtractor"),
    ])
    assert [(e["start"], e["end"]) for e in merged] == [(0, 8)]


def test_different_types_and_disjoint_spans_are_kept_in_order():
    merged = merge_entities([
        _entity("party", 10, 14, "CRFEntityExtractor"),
        _entity("location", 0, 4, "CRFEntityExtractor"),
        _entity("location", 2, 6, "RegexEntityExtractor"),
        _entity("phone", 20, 31, "RegexEntityExtractor"),
    ])
    assert [(e["entity"], e["start"]) for e in merged] == [("location", 2), ("party", 10), ("phone", 20)]
