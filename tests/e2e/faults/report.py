"""What the fault and hostile-input suites tried, collected over the session for the terminal summary."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass


@dataclass(frozen=True)
class FaultRow:
    """The end state of one fault case."""

    case: str
    faults: int  # faults injected (VOD, storage, webhook, crashes)
    invocations: int  # handler invocations, platform retries and completion relays included
    tasks: int  # tasks created at the VOD emulator
    deliveries: int  # distinct deliveries (by Idempotency-Key) the webhook accepted
    attempts: int  # every request the webhook received (at least once: retries included)
    lost: int  # records whose outcome is nowhere (no task id in a receipt or at the webhook, no failure)
    duplicates: int  # tasks beyond one per element


FAULT_ROWS: list[FaultRow] = []
HOSTILE_EXAMPLES: Counter[str] = Counter()

COLUMNS = ("case", "faults", "invocations", "tasks", "deliveries", "attempts", "lost", "duplicates")


def fault_table() -> list[str]:
    """The fault table as text lines, with a total row."""
    if not FAULT_ROWS:
        return []
    rows = [[str(getattr(row, name)) for name in COLUMNS] for row in FAULT_ROWS]
    totals = ["TOTAL"] + [str(sum(int(r[i]) for r in rows)) for i in range(1, len(COLUMNS))]
    widths = [max(len(r[i]) for r in [list(COLUMNS), *rows, totals]) for i in range(len(COLUMNS))]

    def line(cells: list[str]) -> str:
        padded = [
            c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ]
        return "  ".join(padded)

    rule = "  ".join("-" * w for w in widths)
    return [line(list(COLUMNS)), rule, *(line(r) for r in rows), rule, line(totals)]
