"""The bureau's clock: times shown in its local zone (Asia/Shanghai by default). Kept light (no pandas): `status`
and the web pages need it without the consolidation machinery."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..errors import ConsolidationError

DEFAULT_ZONE = "Asia/Shanghai"


def local_time(saved_at: str, zone: tzinfo) -> str:
    """A file's save time (ISO 8601, UTC as Office writes it) as the bureau's local time; as given when unreadable."""
    try:
        moment = datetime.fromisoformat(saved_at.replace("Z", "+00:00"))
    except ValueError:
        return saved_at
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M")


def bureau_zone(name: str) -> tzinfo:
    """An IANA zone such as Asia/Shanghai; China's UTC+8 even where the zone database is missing."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        if name == DEFAULT_ZONE:
            return timezone(timedelta(hours=8), "北京时间")
        raise ConsolidationError(f"unknown time zone {name!r} (an IANA name such as Asia/Shanghai)") from None
