"""What a notification says: a subject with counts and the amount at stake, plain text, simple
HTML, and a JSON payload for webhooks (``text`` plus the structured ``findings``)."""

from __future__ import annotations

import hashlib
import html
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

#: a message lists at most this many findings in full; the rest are counted
SHOWN = 50
ORDER = {"error": 0, "warning": 1, "info": 2}


@dataclass(frozen=True)
class Item:
    """One finding as a notification shows it."""

    fingerprint: str
    code: str
    severity: str
    subjects: tuple[str, ...]
    message: str
    action: str = ""
    amount: Decimal | None = None
    currency: str | None = None
    state: str = "open"
    first_seen: datetime | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "severity": self.severity,
            "subjects": list(self.subjects),
            "amount": None if self.amount is None else f"{self.amount:.2f}",
            "currency": self.currency,
            "message": self.message,
            "action": self.action,
            "state": self.state,
            "first_seen": None if self.first_seen is None else self.first_seen.isoformat(),
            "fingerprint": self.fingerprint,
        }


@dataclass(frozen=True)
class Message:
    subject: str
    text: str
    html: str
    payload: dict[str, Any]
    key: str  # Message-ID / Idempotency-Key: the same notifications give the same key


def money(amount: Decimal, currency: str) -> str:
    return f"{currency} {amount:,.2f}"


def at_stake(items: Sequence[Item]) -> str:
    """``GBP 1,234.50 + AUD 80.00``: the amounts at stake per currency (magnitudes)."""
    totals: dict[str, Decimal] = {}
    for item in items:
        if item.amount is not None:
            currency = item.currency or ""
            totals[currency] = totals.get(currency, Decimal(0)) + abs(item.amount)
    return " + ".join(money(total, cur).strip() for cur, total in sorted(totals.items()) if total)


def key_for(channel: str, to: str, fingerprints: Sequence[str]) -> str:
    body = "\x1f".join([channel, to, *sorted(fingerprints)])
    return "revloop-" + hashlib.sha256(body.encode()).hexdigest()[:32]


def subject_line(mode: str, items: Sequence[Item], *, company: str = "", day: str = "") -> str:
    count = len(items)
    errors = sum(1 for i in items if i.severity == "error")
    head = "revloop digest" + (f" {day}" if day else "") if mode == "digest" else "revloop alert"
    text = f"{head}: {count} finding{'s' if count != 1 else ''}"
    if errors:
        text += f" ({errors} error{'s' if errors != 1 else ''})"
    stake = at_stake(items)
    if stake:
        text += f", {stake} at stake"
    return f"[{company}] {text}" if company else text


def _sorted(items: Sequence[Item]) -> list[Item]:
    return sorted(
        items, key=lambda i: (ORDER.get(i.severity, 3), -abs(i.amount or Decimal(0)), i.code, i.subjects)
    )


def _text(intro: str, items: Sequence[Item]) -> str:
    lines = [intro, ""]
    shown = _sorted(items)[:SHOWN]
    for item in shown:
        amount = f" — {money(item.amount, item.currency or '')}" if item.amount is not None else ""
        state = "" if item.state == "open" else f" ({item.state} since)"
        lines.append(f"[{item.severity}] {item.code}{amount}{state}")
        lines.append(f"  {item.message}")
        lines.append(f"  Records: {', '.join(item.subjects)}")
        if item.action:
            lines.append(f"  What to do: {item.action}")
        lines.append("")
    if len(items) > len(shown):
        lines.append(f"... and {len(items) - len(shown)} more: see `revloop findings`.")
        lines.append("")
    lines.append("List them all with `revloop findings`.")
    return "\n".join(lines).rstrip() + "\n"


def _html(intro: str, items: Sequence[Item]) -> str:
    esc = html.escape
    rows = []
    for item in _sorted(items)[:SHOWN]:
        amount = money(item.amount, item.currency or "") if item.amount is not None else ""
        state = "" if item.state == "open" else f" <em>({esc(item.state)} since)</em>"
        rows.append(
            "<tr>"
            f"<td>{esc(item.severity)}</td><td><code>{esc(item.code)}</code>{state}</td>"
            f'<td style="text-align:right">{esc(amount)}</td>'
            f"<td>{esc(item.message)}<br><small>{esc(', '.join(item.subjects))}</small></td>"
            f"<td>{esc(item.action)}</td>"
            "</tr>"
        )
    more = ""
    if len(items) > SHOWN:
        more = f"<p>... and {len(items) - SHOWN} more: see <code>revloop findings</code>.</p>"
    return (
        '<!doctype html><html><body style="font-family:sans-serif">'
        f"<p>{esc(intro)}</p>"
        '<table border="1" cellpadding="4" cellspacing="0" style="border-collapse:collapse">'
        "<tr><th>severity</th><th>code</th><th>amount</th><th>what</th><th>what to do</th></tr>"
        + "".join(rows)
        + f"</table>{more}<p>List them all with <code>revloop findings</code>.</p></body></html>"
    )


def compose(
    mode: str,
    items: Sequence[Item],
    *,
    channel: str,
    to: str,
    now: datetime,
    timezone: str,
    company: str = "",
) -> Message:
    local = now.astimezone(ZoneInfo(timezone))
    day = local.date().isoformat() if mode == "digest" else ""
    subject = subject_line(mode, items, company=company, day=day)
    plural = "s" if len(items) != 1 else ""
    what = (
        f"{len(items)} finding{plural} since the last digest"
        if mode == "digest"
        else f"{len(items)} new finding{plural}"
    )
    intro = f"{what} (revloop, {local:%Y-%m-%d %H:%M} {timezone})."
    payload: dict[str, Any] = {
        "text": subject,
        "summary": intro,
        "mode": mode,
        "count": len(items),
        "at_stake": at_stake(items),
        "findings": [i.as_dict() for i in _sorted(items)[:SHOWN]],
        "more": max(len(items) - SHOWN, 0),
        "sent_at": now.isoformat(),
    }
    key = key_for(channel, to, [i.fingerprint for i in items])
    return Message(subject, _text(intro, items), _html(intro, items), payload, key)


def trial_message(*, channel: str, to: str, now: datetime, timezone: str, company: str = "") -> Message:
    local = now.astimezone(ZoneInfo(timezone))
    subject = f"[{company}] revloop test message" if company else "revloop test message"
    text = (
        f"This is a test message from revloop ({local:%Y-%m-%d %H:%M} {timezone}).\n"
        f"Alerts and digests for {channel}:{to} will arrive like this one.\n"
    )
    body = f"<!doctype html><html><body><p>{html.escape(text)}</p></body></html>"
    payload = {"text": subject, "summary": text.strip(), "mode": "test", "count": 0, "findings": []}
    key = key_for(channel, to, [f"test:{now.isoformat()}"])
    return Message(subject, text, body, payload, key)


__all__ = ["Item", "Message", "at_stake", "compose", "key_for", "subject_line", "trial_message"]
