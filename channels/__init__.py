"""Rasa input/output channels: Telegram (python-telegram-bot), Twilio voice (Mandarin), Twilio SMS
and a web chat page, plus the helpers they share. See docs/channels.md.

Importing the package imports nothing heavy: the routing backend uses `channels.sms_segments`
and `channels.optout` without loading rasa.
"""
