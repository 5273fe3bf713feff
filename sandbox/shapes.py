"""Clockify's JSON shapes for the sandbox world: what the core API and the detailed report send.

Field names follow openapi.official.yaml; where the live API differs from that file (docs/clockify-notes.md), the
live API wins: projects carry clientId/clientName ("" when there is no client), report entries use
`_id`, durations are ISO 8601 strings on the core API and integer seconds on the report, money is
an integer x100 in every currency (JPY 5,000 is 500000; the currency is a free-text label such as "€"),
rates may be null. Report entries carry `rate` and `amount` and no `hourlyRate` object.
"""
from __future__ import annotations

from datetime import datetime, tzinfo
from zoneinfo import ZoneInfo

from .data import UTC, Client, Entry, Member, Project, Tag, Task, Workspace, Account


def timestamp(moment: datetime, zone: tzinfo = UTC) -> str:
    """ISO 8601 like Clockify: seconds, milliseconds only when there are some, Z for UTC."""
    local = moment.astimezone(zone)
    text = local.isoformat(timespec="milliseconds" if local.microsecond else "seconds")
    return text[:-6] + "Z" if zone is UTC else text


def iso_duration(seconds: int) -> str:
    """Java's Duration.toString(): PT8H, PT2H54M, PT1H37S, PT0S (hours never roll into days)."""
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    text = (f"{hours}H" if hours else "") + (f"{minutes}M" if minutes else "") + (f"{secs}S" if secs else "")
    return "PT" + (text or "0S")


def money(amount: int | None, currency: str) -> dict | None:
    return None if amount is None else {"amount": amount, "currency": currency}


def user_settings(time_zone: str) -> dict:
    return {"weekStart": "MONDAY", "timeZone": time_zone, "timeFormat": "HOUR24", "dateFormat": "DD/MM/YYYY",
            "sendNewsletter": False, "weeklyUpdates": False, "longRunning": False, "scheduledReports": True,
            "approval": False, "pto": True, "alerts": True, "reminders": False, "timeTrackingManual": False,
            "summaryReportSettings": {"group": "PROJECT", "subgroup": "CLIENT"}, "isCompactViewOn": False,
            "dashboardSelection": "ME", "dashboardViewType": "PROJECT", "dashboardPinToTop": False,
            "projectListCollapse": 50, "collapseAllProjectLists": False, "groupSimilarEntriesDisabled": False,
            "myStartOfDay": "09:00", "lang": "EN", "multiFactorEnabled": False, "theme": "DEFAULT",
            "scheduling": False, "onboarding": False, "showOnlyWorkingDays": False}


def membership(ws: Workspace, member: Member) -> dict:
    return {"userId": member.id, "hourlyRate": money(member.rate, ws.currency), "costRate": None,
            "targetId": ws.id, "membershipType": "WORKSPACE", "membershipStatus": member.status}


def account(acc: Account, memberships: list[dict] | None = None) -> dict:
    """`GET /user`."""
    return {"id": acc.id, "email": acc.email, "name": acc.name, "memberships": memberships or [],
            "profilePicture": "https://img.clockify.me/no-user-image.png", "activeWorkspace": acc.default_workspace,
            "defaultWorkspace": acc.default_workspace, "settings": user_settings(acc.time_zone), "status": "ACTIVE",
            "customFields": []}


def workspace(ws: Workspace) -> dict:
    return {"id": ws.id, "name": ws.name,
            "hourlyRate": {"amount": ws.rate or 0, "currency": ws.currency},
            "costRate": {"amount": 0, "currency": ws.currency},
            "memberships": [membership(ws, m) for m in ws.members],
            "workspaceSettings": {"timeRoundingInReports": ws.rounding is not None,
                                  "round": {"round": ws.rounding[0] if ws.rounding else "Round to nearest",
                                            "minutes": str(ws.rounding[1] if ws.rounding else 15)},
                                  "onlyAdminsSeeBillableRates": True,
                                  "onlyAdminsCreateProject": True, "onlyAdminsSeeDashboard": False,
                                  "defaultBillableProjects": True, "lockTimeEntries": None,
                                  "isProjectPublicByDefault": True, "trackTimeDownToSecond": True,
                                  "durationFormat": "FULL", "numberFormat": "COMMA_PERIOD",
                                  "currencyFormat": "CURRENCY_SPACE_VALUE", "timeTrackingMode": "DEFAULT"},
            "imageUrl": "", "featureSubscriptionType": ws.plan,
            "features": [] if ws.plan == "FREE" else ["TIME_TRACKING", "BILLABLE_HOURS", "CLIENT_CURRENCY"],
            "currencies": [{"id": "63" + ws.id[2:], "code": ws.currency, "isDefault": True}],
            "subdomain": {"enabled": ws.subdomain is not None, "name": ws.subdomain}}


def workspace_user(ws: Workspace, member: Member, with_membership: bool, with_roles: bool = False) -> dict:
    """One item of `GET /workspaces/{ws}/users`; memberships only with `memberships=WORKSPACE|ALL`, the
    member's roles (none for a regular member) only with `include-roles=true`."""
    roles = {"roles": [] if member.role == "REGULAR" else [{"role": member.role, "entities": []}]} if with_roles else {}
    return {**roles, "id": member.id, "email": member.email, "name": member.name,
            "memberships": [membership(ws, member)] if with_membership else [],
            "profilePicture": "https://img.clockify.me/no-user-image.png", "activeWorkspace": ws.id,
            "defaultWorkspace": ws.id, "settings": user_settings(member.time_zone),
            "status": "NOT_REGISTERED" if member.status == "PENDING" else "ACTIVE", "customFields": []}


def client(ws: Workspace, c: Client) -> dict:
    return {"id": c.id, "name": c.name, "workspaceId": ws.id, "archived": c.archived, "address": c.address,
            "note": None, "email": c.email, "currencyId": "63" + c.id[2:], "currencyCode": c.currency,
            "ccEmails": []}


def project(ws: Workspace, p: Project) -> dict:
    owner = ws.client_by_id.get(p.client_id)
    currency = owner.currency if owner else ws.currency
    return {"id": p.id, "name": p.name, "hourlyRate": money(p.rate, currency), "costRate": None,
            "clientId": p.client_id or "", "clientName": owner.name if owner else "",
            "workspaceId": ws.id, "billable": p.billable,
            "memberships": [{"userId": uid, "hourlyRate": money(rate, currency), "costRate": None,
                             "targetId": p.id, "membershipType": "PROJECT", "membershipStatus": "ACTIVE"}
                            for uid, rate in p.member_rates],
            "color": p.color, "estimate": {"estimate": "PT0S", "type": "AUTO"}, "archived": p.archived,
            "duration": "PT0S", "note": "", "template": False, "public": True,
            "timeEstimate": {"estimate": "PT0S", "type": "AUTO", "active": False,
                             "includeNonBillable": True}}


def task(ws: Workspace, t: Task) -> dict:
    p = ws.project_by_id[t.project_id]
    owner = ws.client_by_id.get(p.client_id)
    return {"id": t.id, "name": t.name, "projectId": t.project_id, "assigneeIds": [], "userGroupIds": [],
            "estimate": "PT0S", "status": t.status, "duration": "PT0S", "billable": t.billable,
            "hourlyRate": money(t.rate, owner.currency if owner else ws.currency), "costRate": None,
            "budgetEstimate": 0}


def tag(ws: Workspace, t: Tag) -> dict:
    return {"id": t.id, "name": t.name, "workspaceId": ws.id, "archived": t.archived}


def core_entry(ws: Workspace, e: Entry, hydrated: bool = False) -> dict:
    """One item of `GET /workspaces/{ws}/user/{uid}/time-entries`."""
    zone = UTC
    if e.local_offset:  # some entries come back with the member's offset instead of Z
        zone = ZoneInfo(ws.member_by_id[e.user_id].time_zone)
    end = e.end
    item = {"id": e.id, "description": e.description, "tagIds": list(e.tag_ids), "userId": e.user_id,
            "billable": e.billable, "taskId": e.task_id, "projectId": e.project_id, "workspaceId": ws.id,
            "timeInterval": {"start": timestamp(e.start, zone),
                             "end": None if end is None else timestamp(end, zone),
                             "duration": None if e.seconds is None else iso_duration(e.seconds)},
            "customFieldValues": [], "type": e.type, "kioskId": None,
            "hourlyRate": money(e.rate, e.currency), "costRate": money(e.cost_rate, e.currency),
            "isLocked": e.locked}
    if hydrated:
        item["project"] = project(ws, ws.project_by_id[e.project_id]) if e.project_id else None
        item["task"] = task(ws, ws.task_by_id[e.task_id]) if e.task_id else None
        item["tags"] = [tag(ws, ws.tag_by_id[t]) for t in e.tag_ids]
    return item


def rounded(seconds: int, rounding: tuple[str, int] | None) -> int:
    """A duration as a report that rounds time shows it ("Round up to" 15 minutes: 16 min -> 30 min)."""
    if rounding is None:
        return seconds
    rule, minutes = rounding
    step = minutes * 60
    whole, rest = divmod(seconds, step)
    if rest and ("up" in rule.split() or ("nearest" in rule.split() and rest * 2 >= step)):
        whole += 1
    return whole * step


def earned(e: Entry, seconds: int | None = None) -> int:
    """Report `amount`: billable seconds times the stamped rate, x100, rounded half up; 0 when not billable."""
    seconds = e.seconds if seconds is None else seconds
    if not e.billable or not e.rate or seconds is None:
        return 0
    return (e.rate * seconds + 1800) // 3600


def report_entry(ws: Workspace, e: Entry, zone: tzinfo, rounding: tuple[str, int] | None = None) -> dict:
    """One item of the detailed report's `timeentries`, timestamps in the report's time zone; with
    `rounding`, the duration and amount are rounded the way the workspace's reports round time."""
    member = ws.member_by_id[e.user_id]
    p = ws.project_by_id.get(e.project_id)
    owner = ws.client_by_id.get(p.client_id) if p else None
    t = ws.task_by_id.get(e.task_id)
    rate = e.rate or 0
    seconds = rounded(e.seconds, rounding)
    return {"_id": e.id, "description": e.description, "userId": e.user_id, "userName": member.name,
            "userEmail": member.email, "billable": e.billable,
            "projectId": p.id if p else None, "projectName": p.name if p else None,
            "projectColor": p.color if p else None,
            "clientId": (owner.id if owner else "") if p else None,
            "clientName": (owner.name if owner else "") if p else None,
            "taskId": t.id if t else None, "taskName": t.name if t else None,
            "tagIds": list(e.tag_ids), "tags": [{"id": i, "name": ws.tag_by_id[i].name} for i in e.tag_ids],
            "timeInterval": {"start": timestamp(e.start, zone), "end": timestamp(e.end, zone),
                             "duration": seconds},
            "rate": rate, "amount": earned(e, seconds), "currency": e.currency,
            "costRate": e.cost_rate, "costAmount": 0, "type": e.type, "isLocked": e.locked,
            "approvalRequestId": None, "customFields": []}


def report_totals(entries: list[Entry], rounding: tuple[str, int] | None = None) -> list[dict | None]:
    """The report's `totals`. Clockify answers `[null]` when nothing matched (seen by public clients)."""
    if not entries:
        return [None]
    by_currency: dict[str, int] = {}
    for e in entries:
        by_currency[e.currency] = by_currency.get(e.currency, 0) + earned(e, rounded(e.seconds, rounding))
    per_currency = [{"currency": c, "amount": a} for c, a in sorted(by_currency.items())]
    total = sum(by_currency.values())
    return [{"_id": "", "totalTime": sum(rounded(e.seconds, rounding) for e in entries),
             "totalBillableTime": sum(rounded(e.seconds, rounding) for e in entries if e.billable),
             "entriesCount": len(entries), "totalAmount": total, "totalAmountByCurrency": per_currency,
             "numOfCurrencies": len(per_currency),
             "amounts": [{"type": "EARNED", "value": total, "amountByCurrency": per_currency}]}]
