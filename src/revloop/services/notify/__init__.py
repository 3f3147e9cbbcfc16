"""Notifications: new findings as immediate alerts or daily digests, by e-mail or webhook."""

from .message import Item, Message, compose
from .recipients import Recipient, parse_recipient, pick, recipients
from .run import Channel, Delivery, Notifier, NotifyReport, default_channels, digest_due

__all__ = [
    "Channel",
    "Delivery",
    "Item",
    "Message",
    "Notifier",
    "NotifyReport",
    "Recipient",
    "compose",
    "default_channels",
    "digest_due",
    "parse_recipient",
    "pick",
    "recipients",
]
