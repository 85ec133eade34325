# The project's commands. `make help` lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := help
PY := .venv/bin/python
ENV := source scripts/env.sh &&

.PHONY: help setup train run shell test validate evaluate bench lock clean \
	trainer-collect trainer-merge trainer-check trainer-train trainer-compare trainer-promote \
	trainer-rollback trainer-prelabel trainer-status

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

setup: ## create .venv (Python 3.10) with the locked dependencies
	scripts/setup.sh

train: ## train the model for the current data and config (skipped if it exists)
	scripts/ensure_model.sh

run: ## train if needed, then start rasa (5005), actions (5055) and the backend (8000)
	scripts/run.sh

shell: ## chat with the bot in the terminal
	scripts/shell.sh

test: ## run the whole test suite (trains the test model once, cached by content)
	scripts/test.sh

validate: ## rasa data validate + catalogue consistency checks
	$(ENV) rasa data validate --config config.yml --domain bot/domain --data nlu_data bot/data
	$(ENV) python -m bot.catalog_sync --check
	$(ENV) python -m trainer.catalog_check

evaluate: ## train if needed, evaluate on the held-out split, write reports/nlu/
	$(ENV) python -m trainer.evaluate --model "$$(scripts/ensure_model.sh)"

bench: ## NLU parse latency/throughput, training time and peak memory
	$(ENV) python -m bench.nlu_bench --model "$$(scripts/ensure_model.sh)"

lock: ## re-resolve requirements.in into requirements.lock
	rm -rf /tmp/petition-lock-venv && "$$(scripts/find_python.sh)" -m venv /tmp/petition-lock-venv
	/tmp/petition-lock-venv/bin/pip install --quiet "pip<24.1" && /tmp/petition-lock-venv/bin/pip install --quiet -r requirements.in
	/tmp/petition-lock-venv/bin/pip freeze > requirements.lock

clean: ## remove trained models, reports and local databases (not .venv)
	rm -rf models reports results var .rasa

# ---- the trainer loop (README "Trainer loop", docs/trainer.md); ARGS passes options through
trainer-collect: ## trainer: operators' corrections (+ UNCERTAIN=N tickets) → a review file
	$(ENV) TRAINER_ROUTING_TOKEN="$${TRAINER_ROUTING_TOKEN:-dev-supervisor-token}" \
	  python -m trainer collect --uncertain "$${UNCERTAIN:-0}" $(ARGS)

trainer-merge: ## trainer: merge a reviewed file: make trainer-merge REVIEW=file [ARGS=--dry-run]
	@test -n "$(REVIEW)" || { echo "usage: make trainer-merge REVIEW=reports/trainer/review-….yml [ARGS=--dry-run]"; exit 2; }
	$(ENV) python -m trainer merge "$(REVIEW)" $(ARGS)

trainer-check: ## trainer: rasa data validate, catalogue checks, data report (reports/data/)
	$(ENV) python -m trainer check $(ARGS)

trainer-train: ## trainer: train a candidate model and compare it with the served one
	$(ENV) python -m trainer train $(ARGS)

trainer-compare: ## trainer: compare the newest candidate with the served model again
	$(ENV) python -m trainer compare $(ARGS)

trainer-promote: ## trainer: serve the compared candidate (reloads a running rasa server)
	$(ENV) python -m trainer promote $(ARGS)

trainer-rollback: ## trainer: serve the previous model again
	$(ENV) python -m trainer rollback $(ARGS)

trainer-prelabel: ## trainer: pre-label unlabelled real messages (reports/prelabel/)
	$(ENV) python -m trainer prelabel $(ARGS)

trainer-status: ## trainer: served / previous / candidate models and the last promotions
	$(ENV) python -m trainer status
