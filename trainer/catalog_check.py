"""Checks that the event catalogue, the NLU data and the Rasa domain agree.

- every intent with examples is a catalogue code or a conversational intent of the domain;
- every catalogue code has at least MIN_EXAMPLES training examples and is a domain intent;
- every domain intent has training examples;
- every catalogue `domain` is a first-level name of the reference taxonomy (when it is there);
- every department a catalogue entry names exists in routing/data/departments.yml;
- every catalogue code has at least MIN_HELDOUT held-out examples (nlu_eval/heldout/), and no
  held-out intent is unknown (the recipe "Adding an event type" in the README);
- every routing rule (routing/data/routing_rules.yml) names a catalogue code (or "*") and an
  existing department code or kind.

    python -m trainer.catalog_check        # prints the problems, exit 1 if any
"""
from __future__ import annotations

import csv
import sys
from collections import Counter
from pathlib import Path
from typing import Iterable, List, Optional, Set

import yaml

from routing.catalog import Catalog, load_catalog
from trainer.nlu_files import read_examples

ROOT = Path(__file__).resolve().parent.parent
MIN_EXAMPLES = 40
MIN_HELDOUT = 10
TAXONOMY = ROOT.parent / "shared" / "reference" / "gov_message_taxonomy_3level.csv"
# Intents Rasa itself produces, never trained.
BUILT_IN_INTENTS = {"nlu_fallback"}


def count_examples(nlu_dir: Path) -> Counter:
    counts: Counter = Counter()
    for path in sorted(nlu_dir.rglob("*.yml")):
        for intent, examples in read_examples(path).items():
            counts[intent] += len(examples)
    return counts


def domain_intents(domain_dir: Path) -> Set[str]:
    intents: Set[str] = set()
    for path in sorted(domain_dir.rglob("*.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for item in data.get("intents") or []:
            intents.add(item if isinstance(item, str) else next(iter(item)))
    return intents


def taxonomy_domains(path: Path = TAXONOMY) -> Optional[Set[str]]:
    if not path.exists():
        return None
    with path.open(encoding="utf-8") as f:
        return {row["一级分类"] for row in csv.DictReader(f)}


def department_codes(path: Path) -> Set[str]:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return {str(dept.get("code")) for dept in data.get("departments") or [] if dept.get("code")}


def routing_rule_problems(rules_path: Path, codes: Set[str], department_codes_: Set[str],
                          department_kinds: Set[str]) -> List[str]:
    data = yaml.safe_load(Path(rules_path).read_text(encoding="utf-8")) or {}
    problems = []
    for rule in data.get("rules") or []:
        key = rule.get("key", "?")
        event_type = rule.get("event_type")
        if event_type != "*" and event_type not in codes:
            problems.append(f"routing rule '{key}': event type '{event_type}' is not in the catalogue")
        if rule.get("department") and str(rule["department"]) not in department_codes_:
            problems.append(f"routing rule '{key}': department code '{rule['department']}' is not in "
                            f"routing/data/departments.yml")
        if rule.get("kind") and rule["kind"] not in department_kinds:
            problems.append(f"routing rule '{key}': department kind '{rule['kind']}' is not in "
                            f"routing/data/departments.yml")
        if not rule.get("department") and not rule.get("kind"):
            problems.append(f"routing rule '{key}': names neither a department nor a kind")
    return problems


def department_names(path: Path) -> Set[str]:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    names: Set[str] = set()
    for dept in data.get("departments") or []:
        names.add(dept.get("name", ""))
        names.add(dept.get("kind", ""))
    return names


def find_problems(
    catalog: Catalog,
    example_counts: Counter,
    intents_in_domain: Set[str],
    domains: Optional[Iterable[str]] = None,
    departments: Optional[Set[str]] = None,
    min_examples: int = MIN_EXAMPLES,
    heldout_counts: Optional[Counter] = None,
    min_heldout: int = MIN_HELDOUT,
) -> List[str]:
    problems = []
    codes = set(catalog.codes)
    for intent in sorted(example_counts):
        if intent not in codes and intent not in intents_in_domain:
            problems.append(f"intent '{intent}' has examples but is neither in the catalogue nor in the domain")
    for event_type in catalog:
        if example_counts[event_type.code] < min_examples:
            problems.append(f"event type '{event_type.code}' has {example_counts[event_type.code]} "
                            f"training examples, needs at least {min_examples}")
        if event_type.code not in intents_in_domain:
            problems.append(f"event type '{event_type.code}' is not an intent of the domain "
                            f"(run python -m bot.catalog_sync)")
    for intent in sorted(intents_in_domain - BUILT_IN_INTENTS):
        # EXTERNAL_* intents are triggered by the actions / backend (POST .../trigger_intent), never said.
        if example_counts[intent] == 0 and not intent.startswith("EXTERNAL_"):
            problems.append(f"domain intent '{intent}' has no training examples")
    if domains is not None:
        allowed = set(domains)
        for event_type in catalog:
            if event_type.domain not in allowed:
                problems.append(f"event type '{event_type.code}': domain '{event_type.domain}' "
                                f"is not a first-level name of the taxonomy")
    if departments is not None:
        for event_type in catalog:
            for name in (event_type.department, *event_type.assisting):
                if name not in departments:
                    problems.append(f"event type '{event_type.code}': department '{name}' "
                                    f"is not in routing/data/departments.yml")
    if heldout_counts is not None:
        for intent in sorted(heldout_counts):
            if intent not in codes and intent not in intents_in_domain:
                problems.append(f"held-out intent '{intent}' is neither in the catalogue nor in the domain")
        for event_type in catalog:
            if heldout_counts[event_type.code] < min_heldout:
                problems.append(f"event type '{event_type.code}' has {heldout_counts[event_type.code]} "
                                f"held-out examples (nlu_eval/heldout/events/), needs at least {min_heldout}")
    return problems


def check_project(root: Path = ROOT) -> List[str]:
    catalog = load_catalog()
    departments = root / "routing" / "data" / "departments.yml"
    problems = find_problems(
        catalog,
        count_examples(root / "nlu_data"),
        domain_intents(root / "bot" / "domain"),
        taxonomy_domains(),
        department_names(departments),
        heldout_counts=count_examples(root / "nlu_eval" / "heldout"),
    )
    rules = root / "routing" / "data" / "routing_rules.yml"
    if rules.exists():
        problems += routing_rule_problems(rules, set(catalog.codes), department_codes(departments),
                                          department_names(departments))
    return problems


def main() -> int:
    problems = check_project()
    for problem in problems:
        print(f"- {problem}")
    print("catalogue, NLU data and domain agree" if not problems else f"{len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
