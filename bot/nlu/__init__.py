"""Pure-Python text handling shared by the Rasa components, the actions and the backend."""
