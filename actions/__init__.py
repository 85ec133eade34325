"""The Rasa SDK action server: one module per concern."""
