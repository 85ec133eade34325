"""Hotline transcript triage: parse transcripts (plain text with speaker labels, JSON, CSV),
ask the NLU (the rasa server's `POST /model/parse`) about the caller's turns, and turn each
transcript into a ticket draft in state `awaiting_review` for an operator to confirm or correct.

Modules:
  parse       decoding (UTF-8/UTF-16/GB18030, binary refused) and the three formats → Transcript
  nlu         the HTTP client of the rasa server (RASA_URL), with timeouts and clear errors
  service     one transcript → prediction → draft ticket + TriageRecord
  review      operator review: corrections (→ training candidates), confirm, notes
  candidates  training candidates: list and export (JSON / CSV)
  batch       `python -m routing.cli import-transcripts`: files → drafts, progress and summary
  api         the JSON API under /api/triage, /api/review and /api/training-candidates
"""
