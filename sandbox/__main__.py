"""`python -m sandbox`: serve the Clockify sandbox on 127.0.0.1:5050 (see README.md)."""
from __future__ import annotations

import argparse

from . import serve
from .data import DEFAULT_MONTH


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m sandbox", description="A local stand-in for the Clockify API.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5050)
    parser.add_argument("--members", type=int, default=55, help="Acme Studio members (default 55)")
    parser.add_argument("--entries-per-member", type=int, default=40, help="entries per member in the month")
    parser.add_argument("--month", default=DEFAULT_MONTH, help="the seeded month, YYYY-MM")
    parser.add_argument("--months", type=int, default=1, help="months of entries from --month on (3: a quarter)")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to every API request")
    parser.add_argument("--free-plan", action="store_true", help="treat every workspace as FREE")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-rate-limit", action="store_true", help="turn off the 10 requests/second limit")
    parser.add_argument("--retry-after", type=int, default=None, help="send Retry-After: N on rate-limit 429s")
    args = parser.parse_args(argv)
    serve(args.host, args.port, seed=args.seed, members=args.members, entries_per_member=args.entries_per_member,
          month=args.month, months=args.months, latency=args.latency, free_plan=args.free_plan,
          rate_limit=None if args.no_rate_limit else 10, retry_after=args.retry_after)


if __name__ == "__main__":
    main()
