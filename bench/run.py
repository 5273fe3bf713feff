"""`python -m bench.run` (`make bench`): run every benchmark and print one results table.

1, 2 and 5 run over HTTP on 127.0.0.1: the app (bench.app_server, werkzeug) and the Clockify sandbox
(bench.sandbox_server, 20 members x 500 entries in 2025-10, 10 requests/s per key) each in their own
process; this process drives the wizard as a browser does and samples the app's RSS from /proc.
3 and 4 run in this process with Flask's test client (see bench/inprocess.py).
Exit status 0 even when a target is missed: the figures are the point; missed targets say MISSED."""
from __future__ import annotations

import argparse
import os
import sqlite3
import sys
import tempfile
import time
from contextlib import closing
from pathlib import Path

from bench import einvoice, inprocess, journey, lists, pdf, shared_budget
from sandbox import MAIN_KEY
from bench._servers import Child

RATE = 10  # requests per second per key, the sandbox's limit and the floor's divisor


def fmt_s(seconds: float) -> str:
    return f"{seconds:.2f} s"


def fmt_ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


class Table:
    def __init__(self):
        self.rows: list[tuple[str, str, str, str]] = []

    def add(self, name: str, figure: str, target: str = "", met: bool | None = None) -> None:
        self.rows.append((name, figure, target or "-", "-" if met is None else ("yes" if met else "MISSED")))

    def section(self, title: str) -> None:
        self.rows.append((title, "", "", ""))

    def print(self) -> None:
        heads = ("measure", "figure", "target", "met?")
        widths = [max(len(heads[i]), *(len(row[i]) for row in self.rows)) for i in range(4)]
        line = "+".join("-" * (w + 2) for w in widths)
        print("+" + line + "+")
        print("| " + " | ".join(h.ljust(w) for h, w in zip(heads, widths)) + " |")
        print("+" + line + "+")
        for row in self.rows:
            if not any(row[1:]):
                print("| " + row[0].ljust(sum(widths) + 9) + " |")
                continue
            print("| " + " | ".join(cell.ljust(w) for cell, w in zip(row, widths)) + " |")
        print("+" + line + "+")
        missed = sum(1 for row in self.rows if row[3] == "MISSED")
        print(f"{missed} target{'s' if missed != 1 else ''} missed." if missed else "Every target met.")


def over_http(workdir: Path, billable_only: bool):
    say("starting the sandbox (20 members x 500 entries, 10 requests/s) and the app, each in its own process")
    with Child("bench.sandbox_server", "--members", "20", "--entries-per-member", "500") as sandbox:
        with Child("bench.app_server", "--workdir", str(workdir), "--api-url", sandbox.info["api_url"],
                   "--reports-url", sandbox.info["reports_url"]) as app:
            say("1/5: the 10,000-entry import (start -> filters -> preview + every `more` page -> confirm)")
            ours = journey.run_import(app.info["url"], sandbox.info["url"], app, billable_only=billable_only)
            say(f"     {ours.entries_in_preview} entries previewed in {ours.preview_s:.2f} s, "
                f"{ours.imported} imported in {ours.confirm_s:.2f} s, {ours.calls} calls")
        say("2/5: the connector-style fetch (pages of 50, paced at 10/s)")
        theirs = journey.connector_fetch(sandbox.info["api_url"], sandbox.info["url"])
        say(f"     {theirs.entries} entries, {theirs.calls} calls in {theirs.seconds:.1f} s")
        say("7: two app processes calling with one key at once (the key's budget shared through the database)")
        shared = shared_budget.run(workdir / "shared-budget", sandbox.info["url"], sandbox.info["api_url"],
                                   sandbox.info["reports_url"], MAIN_KEY)
    return ours, theirs, shared


def shared_budget_rows(table: Table, shared) -> None:
    table.section(f"7. Two app processes, one key, {shared_budget.CALLS_EACH} calls each at once; sandbox at "
                  f"{RATE} req/s/key")
    table.add("largest number of requests seen in any one second", str(shared.busiest_second), f"<= {RATE}",
              shared.busiest_second <= RATE)
    finished = shared.exit_codes == [0, 0] and shared.calls == 2 * shared_budget.CALLS_EACH
    table.add(f"429s (of {shared.calls} requests; both processes {'finished' if finished else 'FAILED'})",
              str(shared.status_429), "0", shared.status_429 == 0 and finished)


def quarter(workdir: Path):
    """11: the 66,000-entry quarter (sandbox.data.QUARTER) over HTTP, app and sandbox in their own processes."""
    from sandbox.data import QUARTER

    size = [str(QUARTER["members"]), str(QUARTER["entries_per_member"]), str(QUARTER["months"])]
    say(f"11: the quarter ({size[0]} members x {size[1]} entries over {size[2]} months); building it takes a while")
    with Child("bench.sandbox_server", "--members", size[0], "--entries-per-member", size[1], "--months", size[2],
               timeout=300) as sandbox:
        with Child("bench.app_server", "--workdir", str(workdir), "--api-url", sandbox.info["api_url"],
                   "--reports-url", sandbox.info["reports_url"]) as app:
            result = journey.run_import(app.info["url"], sandbox.info["url"], app, dates=journey.QUARTER,
                                        sandbox_child=sandbox)
    say(f"     {result.entries_in_preview} entries previewed in {result.preview_s:.2f} s, {result.imported} imported "
        f"in {result.confirm_s:.2f} s ({result.confirm_requests} requests), {result.calls} calls")
    return result


def quarter_rows(table: Table, result) -> None:
    table.section("11. The 66,000-entry quarter (50 members, 3 months), all entries, sandbox at "
                  f"{RATE} req/s/key; app over HTTP in its own process, SQLite")
    table.add("entries previewed / imported / lines",
              f"{result.entries_in_preview:,} / {result.imported:,} / {result.lines}")
    breakdown = " ".join(f"{kind} {count}" for kind, count in sorted(result.calls_by_kind.items()))
    table.add(f"Clockify calls ({breakdown})", str(result.calls))
    if result.status_429:
        table.add("  of which answered 429", str(result.status_429), "0", False)
    reports = result.calls_by_kind.get("report", 0)
    floor = reports / RATE
    table.add(f"preview asked -> whole preview shown ({1 + len(result.more_s)} browser requests)",
              fmt_s(result.preview_s))
    table.add(f"  ratio to its report calls' floor ({reports} calls: {floor:.1f} s)",
              f"{result.preview_s / floor:.2f}x" if floor else "-", "<= 1.2x", bool(floor) and result.preview_s / floor <= 1.2)
    table.add(f"Show the lines (all, by project) -> lines listed ({len(result.lines_steps_s)} requests)",
              fmt_s(result.lines_s))
    if reports:  # what a page costs whatever the load: the floor leaves 1000/RATE ms a page for all of it
        table.add(f"  CPU per report page: app process (its floor allows {1000 / RATE:.0f} ms) / sandbox",
                  f"{1000 * result.preview_cpu_s / reports:.0f} ms / {1000 * (result.sandbox_cpu_s or 0) / reports:.0f} ms")
    table.add(f"confirm (all, by project) -> lines committed ({result.confirm_requests} requests)",
              fmt_s(result.confirm_s))
    whole_floor = result.calls / RATE
    ratio = result.whole_s / whole_floor if whole_floor else float("inf")
    table.add(f"whole, start -> committed ({result.whole_s:.2f} s) / floor of every call ({whole_floor:.1f} s)",
              f"{ratio:.2f}x", "<= 1.2x", ratio <= 1.2)
    table.add("  its phases: setup / preview / Show the lines / confirm, s", " / ".join(
        f"{seconds:.2f}" for seconds in (result.setup_s, result.preview_s, result.lines_s, result.confirm_s)))
    table.add(f"longest single request ({result.longest_request})", fmt_s(result.longest_request_s), "< 10 s",
              result.longest_request_s < 10)
    each = [" ".join(f"{seconds:.1f}" for seconds in times)
            for times in ([result.first_page_s, *result.more_s], result.lines_steps_s, result.confirm_steps_s)]
    table.add("  each request of the preview / of Show the lines / of the confirm, s", " / ".join(each))
    how = "VmHWM, reset before the import" if result.hwm_reset else "sampled VmRSS peak"
    table.add(f"peak RSS of the app process ({how}; {result.baseline_rss_mb:.0f} MB before)",
              f"{result.hwm_mb:.0f} MB", "< 200 MB", result.hwm_mb < 200)


def sandbox_page_rows(table: Table) -> None:
    """How fast the sandbox serves a full report page of the benchmark's world (was a timed test)."""
    from werkzeug.test import Client

    from sandbox import ACME_ID, create_sandbox

    sandbox = create_sandbox(members=20, entries_per_member=500, rate_limit=None)
    client, timings = Client(sandbox), []
    for page in (1, 2, 3):
        body = {"dateRangeStart": "2025-10-01T00:00:00.000Z", "dateRangeEnd": "2025-10-31T23:59:59.999Z",
                "timeZone": "UTC", "detailedFilter": {"page": page, "pageSize": 1000}, "exportType": "JSON"}
        started = time.perf_counter()
        answer = client.post(f"/v1/workspaces/{ACME_ID}/reports/detailed", json=body, headers={"X-Api-Key": MAIN_KEY})
        timings.append(time.perf_counter() - started)
        assert len(answer.json["timeentries"]) == 1000, answer.status
    table.section("8. The sandbox itself (in-process WSGI), 20 members x 500 entries")
    table.add("a 1,000-entry report page, best of 3 (ms)", fmt_ms(min(timings)), "< 100", min(timings) < 0.1)


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def import_rows(table: Table, ours, theirs, billable_only: bool) -> None:
    scope = "billable entries" if billable_only else "all entries"
    table.section(f"1. 10,000-entry month, {scope}, sandbox at {RATE} req/s/key; app over HTTP in its own "
                  "process, cold cache")
    table.add("entries previewed / imported / lines", f"{ours.entries_in_preview} / {ours.imported} / {ours.lines}")
    breakdown = " ".join(f"{kind} {count}" for kind, count in sorted(ours.calls_by_kind.items()))
    table.add(f"Clockify calls ({breakdown})", str(ours.calls), "<= 12", ours.calls <= 12)
    if ours.status_429:
        table.add("  of which answered 429", str(ours.status_429), "0", False)
    table.add("start + filters", fmt_s(ours.setup_s))
    table.add("preview asked -> whole preview shown", fmt_s(ours.preview_s))
    if ours.more_s:
        table.add(f"  first page / {len(ours.more_s)} `more`: first, last, sum",
                  f"{ours.first_page_s:.2f} / {ours.more_s[0]:.2f}, {ours.more_s[-1]:.2f}, {sum(ours.more_s):.2f} s")
    table.add(f"Show the lines (all, by project; {len(ours.lines_steps_s)} requests, longest "
              f"{max(ours.lines_steps_s):.2f} s)", fmt_s(ours.lines_s), "< 10 s a request", max(ours.lines_steps_s) < 10)
    table.add("confirm (all, by project) -> lines committed", fmt_s(ours.confirm_s))
    floor = ours.calls / RATE
    ratio = ours.whole_s / floor if floor else float("inf")
    table.add(f"whole, start -> committed ({ours.whole_s:.2f} s) / floor ({floor:.1f} s)", f"{ratio:.2f}x",
              "<= 1.5x", ratio <= 1.5)

    table.section("2. Same entries, connector-style: members, each member's entries, projects, clients; "
                  "pages of 50")
    table.add(f"calls ({theirs.members} members, {theirs.entries} entries, {theirs.projects} projects, "
              f"{theirs.clients} clients)", str(theirs.calls))
    table.add(f"seconds (paced at {RATE}/s)", fmt_s(theirs.seconds))
    call_ratio = theirs.calls / ours.calls if ours.calls else float("inf")
    table.add("connector calls / our calls", f"{call_ratio:.1f}x", ">= 10x", call_ratio >= 10)
    table.add("connector seconds / our whole import", f"{theirs.seconds / ours.whole_s:.1f}x")


def stored_preview(database: Path) -> tuple[int, int]:
    """The largest preview the import left in the app's SQLite database: (entries, bytes of its pages'
    entries in import_preview_pages)."""
    with closing(sqlite3.connect(database)) as connection:
        row = connection.execute(
            "SELECT p.entry_count, SUM(LENGTH(CAST(pg.entries AS BLOB))) FROM import_previews p "
            "JOIN import_preview_pages pg ON pg.preview_id = p.id GROUP BY p.id ORDER BY p.entry_count DESC LIMIT 1"
        ).fetchone()
    return row or (0, 0)


def storage_rows(table: Table, stored: tuple[int, int] | None, purge) -> None:
    table.section("6. Stored previews (SQLite)")
    if stored:
        entries, size = stored
        table.add(f"the {entries:,}-entry preview of 1., stored (import_preview_pages)", f"{size / 1e6:.1f} MB")
    if purge:
        previews, pages, size, seconds = purge
        table.add(f"flask purge-previews: {previews} previews aged 8 days, {pages} pages, {size / 1e6:.0f} MB",
                  fmt_s(seconds))


def memory_rows(table: Table, ours) -> None:
    table.section("5. App process memory during the import (/proc/<pid>/status)")
    how = "VmHWM, reset before the import" if ours.hwm_reset else "sampled VmRSS peak"
    table.add(f"peak RSS ({how}; {ours.baseline_rss_mb:.0f} MB before)", f"{ours.hwm_mb:.0f} MB", "< 150 MB",
              ours.hwm_mb < 150)


def inprocess_rows(table: Table, steps, normal_entries, page, pdf) -> None:
    table.section("3. Server time per wizard step, warm cache (ms, median / p95), in-process")
    for series in steps:
        label = series.name
        if series.name == "preview":
            label = f"preview, {normal_entries} entries (report call subtracted)"
        elif series.clockify_calls:  # a warm cache should make none
            label += f" ({series.clockify_calls} Clockify calls, subtracted)"
        table.add(f"{label} x{len(series.server)}", f"{fmt_ms(series.median)} / {fmt_ms(series.p95)}",
                  "p95 < 50", series.p95 < 0.050)
    table.section("4. Render time (ms, median / p95), in-process")
    table.add(f"GET /invoices/<id>, draft, 1,000 lines x{len(page.server)}",
              f"{fmt_ms(page.median)} / {fmt_ms(page.p95)}", "p95 < 300", page.p95 < 0.300)
    table.add(f"GET /invoices/<id>/pdf, 200 lines x{len(pdf.server)}", f"{fmt_ms(pdf.median)} / {fmt_ms(pdf.p95)}")


def pdf_rows(table: Table, results: list[dict], refused: tuple[float, int, str], limit: int) -> None:
    table.section("4b. PDF by length (median of 2, wall; CPU and peak RSS beside), in-process")
    for row, target in zip(results, (1.0, 5.0)):
        table.add(f"PDF {row['lines']:,} lines, {row['pages']} pages ({row['cpu']:.2f} s CPU, {row['rss']:.0f} MB peak RSS)",
                  f"{row['wall']:.2f} s", f"< {target:g} s", row["wall"] < target)
    seconds, status, said = refused
    table.add(f"PDF {limit + 1:,} lines (HOURBILL_PDF_MAX_LINES={limit:,}): refused up front, page {said}",
              f"HTTP {status}, {1000 * seconds:.0f} ms", "303, says why", status == 303 and said == "says why")


def list_rows(table: Table, series_list) -> None:
    table.section(f"10. Dashboard and invoice list, {lists.INVOICES:,} invoices and {lists.PAYMENTS:,} payments "
                  "(ms, median / p95), in-process")
    for series in series_list:
        csv_export = "csv" in series.name
        table.add(f"{series.name} x{len(series.server)}", f"{fmt_ms(series.median)} / {fmt_ms(series.p95)}",
                  "" if csv_export else "p95 < 50", None if csv_export else series.p95 < 0.050)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=100, help="timed requests per wizard step (default 100)")
    parser.add_argument("--confirm-runs", type=int, default=50, help="timed confirms, each on a fresh preview")
    parser.add_argument("--render-runs", type=int, default=20, help="timed renders of the 1,000-line invoice")
    parser.add_argument("--pdf-runs", type=int, default=5, help="timed PDFs of the 200-line invoice")
    parser.add_argument("--billable-only", action="store_true",
                        help="import with 'Billable entries only' ticked (default: every entry of the month)")
    parser.add_argument("--only", choices=("http", "inprocess", "quarter"),
                        help="run only 1, 2, 5, 6 (http), only 3, 4, 9, 10 (inprocess) or only 11 (quarter); 7 runs always")
    args = parser.parse_args(argv)
    started = time.monotonic()
    table = Table()

    with tempfile.TemporaryDirectory(prefix="hourbill-bench-") as tmp:
        tmp = Path(tmp)
        if args.only in (None, "quarter"):
            (tmp / "quarter").mkdir()
            big = quarter(tmp / "quarter")
        if args.only == "quarter":
            quarter_rows(table, big)
            table.print()
            return 0
        if args.only != "inprocess":
            (tmp / "http").mkdir()
            ours, theirs, shared = over_http(tmp / "http", args.billable_only)
            import_rows(table, ours, theirs, args.billable_only)
            stored = stored_preview(tmp / "http" / "app.db")
        if args.only != "http":
            (tmp / "inprocess").mkdir()
            say("3/5 and 4/5: server time per wizard step, invoice and PDF renders (in-process test client)")
            steps, normal_entries, page, pdf_series, purge = inprocess.run(
                tmp / "inprocess", runs=args.runs, confirm_runs=args.confirm_runs, render_runs=args.render_runs,
                pdf_runs=args.pdf_runs)
            inprocess_rows(table, steps, normal_entries, page, pdf_series)
            say("4/5: PDFs of 200 and 1,000 lines, and the line limit (bench/pdf.py)")
            pdf_rows(table, *pdf.measure([200, 1000], runs=2))
            (tmp / "lists").mkdir()
            say("10: the dashboard and the invoice list over 10,000 invoices (in-process test client)")
            list_rows(table, lists.run(tmp / "lists"))
        if args.only != "inprocess":
            memory_rows(table, ours)
            shared_budget_rows(table, shared)
        storage_rows(table, None if args.only == "inprocess" else stored, None if args.only == "http" else purge)
        sandbox_page_rows(table)
        if args.only not in ("http", "quarter"):
            (tmp / "einvoice").mkdir()
            say("9: e-invoices of a 200-line invoice (in-process test client)")
            einvoice.rows(table, tmp / "einvoice")
        if args.only is None:
            quarter_rows(table, big)

    print()
    table.print()
    load = " ".join(open("/proc/loadavg").read().split()[:3])
    print(f"({time.monotonic() - started:.0f} s on {os.cpu_count()} CPUs, load average {load}; "
          f"Python {sys.version.split()[0]}; see bench/README.md)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
