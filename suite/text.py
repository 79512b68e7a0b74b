"""Text for the user that several modules print: durations."""

from __future__ import annotations


def format_duration(seconds: float) -> str:
    """A duration as the command line prints it: "42s", "3m07s", "1h05m" (minutes dropped below an hour's
    precision: an estimate or a run of hours is not read to the second)."""
    hours, rest = divmod(int(round(seconds)), 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"
