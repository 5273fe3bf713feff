"""Check Clockify requests and responses against Clockify's official OpenAPI file, for tests.

`validate_request(...)` and `validate_response(...)` raise openapi-core's validation errors; the
`*_errors` variants return them as a list. URLs may point at the sandbox (or anywhere): the path decides
which Clockify host it stands for (/api/v1/... is core, /v1/... and /report/v1/... are reports) and is
rewritten onto the host the file names, since the file has no top-level servers.

The spec is loaded once per process. The file is tests/contract/clockify.openapi.yaml (Clockify's
official file, vendored), or $HOURBILL_CLOCKIFY_OPENAPI.

Where the live API is known to differ from the file (docs/clockify-notes.md), the live API wins. Every such difference
is applied to the loaded spec in `_apply_live_api_deviations`, the one place that lists them.
"""
from __future__ import annotations

import copy
import json
import os
from functools import lru_cache
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import yaml

# openapi-core (~0.5 s to import) is imported where it is used: every worker collects the files that import
# this module, and only the contract tests' worker needs it.

CORE_HOST = "https://api.clockify.me"  # core paths are /api + /v1/...
REPORTS_HOST = "https://reports.api.clockify.me"  # report paths are /v1/...


def spec_path() -> Path:
    override = os.environ.get("HOURBILL_CLOCKIFY_OPENAPI")
    if override:
        return Path(override)
    return Path(__file__).resolve().parent / "contract" / "clockify.openapi.yaml"


# Fields the live API sends as null although the file does not say nullable.
NULLABLE = {
    "TimeEntryWithRatesDtoV1": ["hourlyRate", "costRate", "projectId", "taskId", "kioskId"],
    "TimeIntervalDtoV1": ["end", "duration"],  # running timers
    "ProjectDtoV1": ["hourlyRate", "costRate"],
    "MembershipDtoV1": ["hourlyRate", "costRate"],
    "TaskDtoV1": ["hourlyRate", "costRate"],
    "ClientWithCurrencyDtoV1": ["address", "note", "email"],
    "WorkspaceSubdomainDtoV1": ["name"],
    "WorkspaceSettingsDtoV1": ["lockTimeEntries"],
    "TimeEntryDto": ["projectId", "projectName", "projectColor", "clientId", "clientName", "taskId", "taskName",
                     "approvalRequestId"],
}

# Fields the live API sends that the file leaves out (the file allows extra fields; these add types).
EXTRA_FIELDS = {
    "ProjectDtoV1": {"clientId": {"type": "string"}, "clientName": {"type": "string"}},
    # The report's id is `_id`, not `get_id`; rate and amount are integer cents.
    "TimeEntryDto": {"_id": {"type": "string"}, "rate": {"type": "integer"}, "amount": {"type": "integer"},
                     "currency": {"type": "string"}, "type": {"type": "string"}, "isLocked": {"type": "boolean"},
                     "tagIds": {"type": "array", "items": {"type": "string"}}},
}

# Java enums the file renders as objects with a (sometimes self-referencing) oneOf; the API sends a string.
ENUMS_AS_OBJECTS = ["AccountStatus", "ApplyTaxes", "CalculationType", "CustomFieldType", "EntityCreationPermission",
                    "FeaturePlan", "TaskStatus", "TaxType", "VisibleZeroFieldsInvoice",
                    "WebhookEventTriggerSourceType", "WebhookEventType"]


def _apply_live_api_deviations(spec: dict) -> dict:
    """The live API's known differences from openapi.official.yaml, all of them, in one place."""
    schemas = spec["components"]["schemas"]

    for name in ENUMS_AS_OBJECTS:
        values = [key for key in schemas[name].get("properties", {}) if key.isupper()]
        schemas[name] = {"type": "string", **({"enum": values} if name != "FeaturePlan" and values else {})}
    # WorkspaceDtoV1.features is a list of feature names, not one object.
    feature_names = [key for key in schemas["Feature"]["properties"] if key.isupper()]
    schemas["Feature"] = {"type": "array", "items": {"type": "string", "enum": feature_names}}

    for name, fields in NULLABLE.items():
        properties = schemas[name]["properties"]
        for field in fields:
            prop = properties[field]
            if "$ref" in prop:  # siblings of $ref are ignored in OpenAPI 3.0: inline the target instead
                prop = copy.deepcopy(schemas[prop["$ref"].rsplit("/", 1)[1]])
            properties[field] = {**prop, "nullable": True}

    for name, fields in EXTRA_FIELDS.items():
        schemas[name]["properties"].update(fields)

    # The report answers `totals: [null]` when nothing matched.
    totals = schemas["TimeEntryDetailedReportDto"]["properties"]["totals"]
    totals["items"] = {**copy.deepcopy(schemas["TimeEntryReportTotals"]), "nullable": True}
    schemas["TimeEntryReportTotals"]["properties"].update(
        {"_id": {"type": "string"}, "totalAmount": {"type": "integer"}, "numOfCurrencies": {"type": "integer"},
         "totalAmountByCurrency": {"type": "array", "items": {"type": "object", "properties": {
             "currency": {"type": "string"}, "amount": {"type": "integer"}}}}})

    # The report is declared as */* (left unparsed by validators); it is application/json.
    report = spec["paths"]["/v1/workspaces/{workspaceId}/reports/detailed"]["post"]["responses"]["200"]
    report["content"] = {"application/json": report["content"]["*/*"]}

    # The file marks include-roles as required on GET /workspaces/{ws}/users; the API answers without it.
    for parameter in spec["paths"]["/v1/workspaces/{workspaceId}/users"]["get"]["parameters"]:
        if parameter["name"] == "include-roles":
            parameter["required"] = False
    return spec


@lru_cache(maxsize=1)
def openapi() -> OpenAPI:
    from openapi_core import OpenAPI
    from openapi_core.configurations import Config

    with open(spec_path(), encoding="utf-8") as handle:
        spec = yaml.load(handle, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    # The file fails openapi-core's own spec check (a default that does not match its type): skip the check.
    return OpenAPI.from_dict(_apply_live_api_deviations(spec), config=Config(spec_validator_cls=None))


def _clockify_location(url: str) -> tuple[str, str, list[tuple[str, str]]]:
    """(host_url, path, query pairs) of the Clockify URL that `url` stands for."""
    parts = urlsplit(url)
    path = parts.path
    if path.startswith("/api/v1/"):
        host = CORE_HOST
    elif path.startswith("/report/v1/"):
        host, path = REPORTS_HOST, path[len("/report"):]
    elif path.startswith("/v1/"):
        host = REPORTS_HOST
    else:
        raise ValueError(f"not a Clockify API path: {path}")
    return host, path, parse_qsl(parts.query, keep_blank_values=True)


def _pairs(query) -> list[tuple[str, str]]:
    if not query:
        return []
    items = query.items() if isinstance(query, dict) else query
    pairs = []
    for name, value in items:
        for one in value if isinstance(value, (list, tuple)) else [value]:
            pairs.append((name, str(one).lower() if isinstance(one, bool) else str(one)))
    return pairs


def _request(method, url, query=None, headers=None, json_body=None) -> MockRequest:
    from openapi_core.testing import MockRequest

    host, path, pairs = _clockify_location(url)
    data = None if json_body is None else json.dumps(json_body).encode()
    return MockRequest(host, method, path, args=pairs + _pairs(query), headers=dict(headers or {}), data=data)


def request_errors(method: str, url: str, query=None, headers=None, json_body=None) -> list[Exception]:
    request = _request(method, url, query, headers, json_body)
    return list(openapi().iter_request_errors(request))


def validate_request(method: str, url: str, query=None, headers=None, json_body=None) -> None:
    """Raise if this request does not match the spec. `query` is a dict (values may be lists) or pairs;
    `headers` must carry X-Api-Key (any value) to satisfy the spec's security."""
    openapi().validate_request(_request(method, url, query, headers, json_body))


def validate_response(method: str, url: str, status: int, body, headers=None, query=None, request_headers=None,
                      json_body=None) -> None:
    """Raise if `body` (bytes, str or parsed JSON) is not what the spec allows for this request."""
    from openapi_core.testing import MockResponse

    if not isinstance(body, (bytes, str)):
        body = json.dumps(body)
    data = body.encode() if isinstance(body, str) else body
    request = _request(method, url, query, request_headers or {"X-Api-Key": "x"}, json_body)
    openapi().validate_response(request, MockResponse(data, status, dict(headers or {})))


def validate_recorded(record) -> None:
    """Validate a sandbox RecordedRequest (the key header holds a fingerprint; any value satisfies the spec)."""
    validate_request(record.method, record.url, headers=record.headers, json_body=record.json)
