"""``manage.py twitter_usage [--days N] [--json] [--by-account]``: what this site asked of X.

Per UTC day and endpoint (and account, with ``--by-account``): requests sent, requests that
succeeded, the units X bills and their price from the ``PRICES`` setting. ``--json`` prints the
rows as one JSON list, the shape other programs rely on.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from twitter_oauth.services.usage import usage_rows
from twitter_oauth.usage import ledger

#: How far back --days may reach: the ledger keeps every day, the table gets unreadable.
MAX_DAYS = 3660
TEXT_COLUMNS = ("day", "endpoint", "account")


class Command(BaseCommand):
    help = (
        "Show what this site asked of X per UTC day and endpoint: requests, successes, billed "
        "units and dollars; --json for programs."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--days", type=int, default=7, help="the last N UTC days, today included (default 7)"
        )
        parser.add_argument(
            "--json", dest="as_json", action="store_true", help="print one JSON list of rows"
        )
        parser.add_argument("--by-account", action="store_true", help="one row per account too")

    def handle(
        self, *args: Any, days: int, as_json: bool, by_account: bool, **options: Any
    ) -> None:
        if not 1 <= days <= MAX_DAYS:
            raise CommandError(f"--days must be between 1 and {MAX_DAYS}; got {days}.")
        # What this process counted (its own requests) shows too.
        ledger.flush()
        rows = usage_rows(days, by_account=by_account)
        if as_json:
            self.stdout.write(json.dumps(rows, indent=2))
        else:
            self.stdout.write(self._table(rows, days=days, by_account=by_account))

    @staticmethod
    def _table(rows: list[dict[str, Any]], *, days: int, by_account: bool) -> str:
        if not rows:
            return f"No requests to X in the last {days} day(s)."
        headers = ["day", "endpoint", "requests", "succeeded", "billed", "usd"]
        if by_account:
            headers.insert(2, "account")
        lines = [_cells(row, by_account) for row in rows]
        total = {
            name: sum(row[name] for row in rows)
            for name in ("requests", "succeeded", "billed_units")
        }
        footer = ["total", "", str(total["requests"]), str(total["succeeded"])]
        footer += [str(total["billed_units"]), f"{sum(row['usd'] for row in rows):.3f}"]
        if by_account:
            footer.insert(2, "")
        table = [headers, *lines, footer]
        widths = [max(len(line[i]) for line in table) for i in range(len(headers))]
        numeric = {i for i, name in enumerate(headers) if name not in TEXT_COLUMNS}

        def render(cells: list[str]) -> str:
            return "  ".join(
                cell.rjust(width) if i in numeric else cell.ljust(width)
                for i, (cell, width) in enumerate(zip(cells, widths, strict=True))
            ).rstrip()

        rule = "  ".join("-" * width for width in widths)
        return "\n".join([render(headers), rule, *map(render, lines), rule, render(footer)])


def _cells(row: dict[str, Any], by_account: bool) -> list[str]:
    cells = [row["day"], row["endpoint"], str(row["requests"]), str(row["succeeded"])]
    cells += [str(row["billed_units"]), f"{row['usd']:.3f}"]
    if by_account:
        account = row["account"]
        if account is None:
            name = "(app)"
        else:
            name = f"@{account['screen_name']}" if account["screen_name"] else f"#{account['id']}"
        cells.insert(2, name)
    return cells
