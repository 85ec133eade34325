"""The event catalogue: its loader, and the checks that catalogue, NLU data and domain agree."""
from collections import Counter

import pytest

from bot.catalog_sync import main as catalog_sync_main
from routing.catalog import LEVELS, CatalogError, load_catalog, parse_catalog
from trainer.catalog_check import check_project, find_problems, taxonomy_domains

ENTRY = """
  - code: noise
    name: 噪音
    domain: 环境保护
    department: 生态环境局
    level: township
    deadline: {working_days: 5}
    urgent: false
"""


def test_shipped_catalogue_is_big_and_wide_enough():
    catalog = load_catalog()
    assert len(catalog) >= 40
    required = {"城乡建设", "环境保护", "交通运输", "教育文体", "劳动和社会保障", "商贸旅游",
                "卫生计生", "政法", "民政", "农村农业"}
    assert required <= set(catalog.domains)
    assert all(t.level in LEVELS for t in catalog)
    assert all((t.deadline.hours is not None) == t.urgent or t.deadline.hours is None for t in catalog)


def test_grid_governance_events_are_in_the_catalogue():
    codes = set(load_catalog().codes)
    for code in ("neighbour_dispute", "family_dispute", "property_management", "wage_arrears",
                 "land_acquisition_demolition", "medical_dispute", "public_order", "fire_hazard",
                 "unsafe_production", "telecom_fraud", "pyramid_selling", "illegal_fundraising",
                 "organized_crime", "rental_housing", "ecological_damage", "food_safety",
                 "drug_safety", "emergency"):
        assert code in codes


def test_project_catalogue_nlu_data_and_domain_agree():
    assert check_project() == []


def test_generated_domain_and_rules_are_up_to_date():
    assert catalog_sync_main(["--check"]) == 0


def test_catalogue_domains_are_taxonomy_first_levels():
    domains = taxonomy_domains()
    if domains is None:
        pytest.skip("../shared/reference is not beside the checkout")
    assert set(load_catalog().domains) <= domains


def test_loader_refuses_duplicates_and_bad_fields():
    with pytest.raises(CatalogError, match="duplicate"):
        parse_catalog("event_types:" + ENTRY + ENTRY)
    with pytest.raises(CatalogError, match="level"):
        parse_catalog("event_types:" + ENTRY.replace("township", "province"))
    with pytest.raises(CatalogError, match="missing"):
        parse_catalog("event_types:" + ENTRY.replace("    department: 生态环境局\n", ""))
    with pytest.raises(CatalogError, match="ASCII"):
        parse_catalog("event_types:" + ENTRY.replace("code: noise", "code: 噪音"))
    with pytest.raises(CatalogError, match="deadline"):
        parse_catalog("event_types:" + ENTRY.replace("{working_days: 5}", "{}"))


def test_checks_catch_each_kind_of_disagreement():
    catalog = parse_catalog("event_types:" + ENTRY)
    problems = find_problems(
        catalog,
        Counter({"noise": 3, "stray_intent": 5, "greet": 10}),
        {"greet", "goodbye"},
        domains={"城乡建设"},
        departments={"住建局"},
        min_examples=40,
    )
    text = "\n".join(problems)
    assert "'stray_intent' has examples but is neither" in text
    assert "'noise' has 3 training examples" in text
    assert "'noise' is not an intent of the domain" in text
    assert "'goodbye' has no training examples" in text
    assert "domain '环境保护' is not a first-level name" in text
    assert "department '生态环境局'" in text


def test_checks_pass_when_everything_agrees():
    catalog = parse_catalog("event_types:" + ENTRY)
    assert find_problems(catalog, Counter({"noise": 40, "greet": 1}), {"noise", "greet"},
                         domains={"环境保护"}, departments={"生态环境局"}) == []
