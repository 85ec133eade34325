"""The trainer's tools: NLU data files, the held-out split, evaluation (and, later, the loop)."""
