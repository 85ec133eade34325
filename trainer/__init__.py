"""The trainer's tools: NLU data files, the held-out split, evaluation, catalogue checks, and the
trainer loop (`python -m trainer`: collect → review → merge → check → train/compare → promote;
docs/trainer.md)."""
