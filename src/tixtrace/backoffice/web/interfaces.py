"""The Interface General Screen: an interface's settings, its custom parameters with their errors shown
inline and the feature's prerequisites, and its schedules (Run now, add a schedule).

Invariants:
- The password is never rendered: the field is always empty; left blank on an existing interface it
  keeps the stored one (the service reads None as "keep").
- A POST whose settings or custom parameters are refused re-renders the form (422) with every error
  in place and writes nothing (the service raises before writing; the unit of work rolls back).
- The parameters panel is computed from the text in the box, saved or not: errors (line, parameter,
  value, message), warnings, and the prerequisites of Cultural Contact & Distribution evaluated on the
  entries that are valid.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from tixtrace.backoffice.backend import BackendDep
from tixtrace.backoffice.domain.parameters import (
    LIFECYCLE,
    InvalidParameters,
    ParameterName,
    ParsedParameters,
    parse_parameters,
)
from tixtrace.backoffice.services.audit import ObjectType
from tixtrace.backoffice.services.interfaces import (
    INTERFACE_TYPES,
    InterfaceView,
    NewInterface,
    create_interface,
    get_interface,
    list_interfaces,
    parsed_parameters,
    update_interface,
)
from tixtrace.backoffice.services.schedule_state import ScheduleState, schedule_states
from tixtrace.backoffice.services.schedules import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_FREQUENCY_MINUTES,
    Launch,
    NewSchedule,
    ScheduleFunction,
    ScheduleView,
    create_schedule,
    list_schedules,
)
from tixtrace.backoffice.web import queries
from tixtrace.backoffice.web.audit import object_entries
from tixtrace.backoffice.web.pages import Form, PostedForm, WebUser, form_time, path_id, redirect, render
from tixtrace.backoffice.web.schedules import labelled
from tixtrace.kernel.errors import BadInput, Conflict
from tixtrace.kernel.flash import Flash

router = APIRouter(include_in_schema=False)

_LIST_SEPARATORS = re.compile(r"[\s,;]+")
LIFECYCLE_ENTRY = f"{ParameterName.TIXNGO_LIFECYCLE_MODE}={LIFECYCLE}"
ENABLE_ENTRY = f"{ParameterName.ENABLE_TICKET_DISTRIBUTION_TO_CULTURAL_CONTACT}=true"
OVERLAY_ENTRY = f"{ParameterName.OVERLAY_SPECTATOR_DETAILS_WITH_LAST_OWNER}=true"
_ENTRY_OF = {ParameterName.TIXNGO_LIFECYCLE_MODE: LIFECYCLE_ENTRY,
             ParameterName.ENABLE_TICKET_DISTRIBUTION_TO_CULTURAL_CONTACT: ENABLE_ENTRY}


# --- the custom parameters panel -------------------------------------------------------------------


@dataclass(frozen=True)
class Prerequisites:
    lifecycle: bool
    overlay: bool
    enabled: bool
    active: bool
    missing: list[str]
    warnings: list[str]


@dataclass
class ParametersPanel:
    """What the box's text says: errors, warnings and the feature's prerequisites (None if unknown)."""

    errors: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    prerequisites: Prerequisites | None = None


def _valid_entries(text: str, errors: list[dict[str, Any]]) -> ParsedParameters | None:
    """The parameters of `text` without its refused lines (what would hold once they are fixed)."""
    bad = {error["line"] for error in errors}
    kept = "\n".join("" if number in bad else line for number, line in enumerate(text.split("\n"), start=1))
    try:
        return parse_parameters(kept)
    except InvalidParameters:
        return None


def parameters_panel(text: str) -> ParametersPanel:
    text = text.replace("\r\n", "\n")
    panel = ParametersPanel()
    parsed: ParsedParameters | None
    try:
        parsed = parsed_parameters(text)
    except BadInput as exc:
        panel.errors = list(exc.details.get("errors", []))
        parsed = _valid_entries(text, panel.errors)
    if parsed is None:
        return panel
    panel.warnings = list(parsed.warnings)
    panel.prerequisites = Prerequisites(
        lifecycle=parsed.lifecycle_mode == LIFECYCLE,
        overlay=parsed.overlay_spectator_details_with_last_owner,
        enabled=parsed.enable_ticket_distribution_to_cultural_contact,
        active=parsed.feature_active,
        missing=[_ENTRY_OF[name] for name in parsed.missing_for_feature()],
        warnings=parsed.prerequisite_warnings(),
    )
    return panel


# --- the form --------------------------------------------------------------------------------------


def _split(text: str) -> list[str]:
    return [item for item in _LIST_SEPARATORS.split(text) if item]


def _interface_values(form: Form) -> dict[str, Any]:
    """The form as typed (shown back on a refusal); never the password."""
    return {
        "name": form.get("name"),
        "type": form.get("type") or INTERFACE_TYPES[0],
        "url": form.get("url"),
        "login": form.get("login"),
        "notification_emails": form.get("notification_emails"),
        "custom_parameters": form.get("custom_parameters").replace("\r\n", "\n"),
    }


def _stored_values(row: InterfaceView) -> dict[str, Any]:
    return {
        "name": row.name, "type": row.type, "url": row.url, "login": row.login,
        "notification_emails": "\n".join(row.notification_emails),
        "custom_parameters": row.custom_parameters,
    }


def _field_errors(exc: BadInput | Conflict) -> dict[str, str]:
    """Messages per form field (``notificationEmails[2]`` counts as ``notificationEmails``)."""
    if isinstance(exc, Conflict):
        key = "name" if exc.code == "INTERFACE_NAME_TAKEN" else "form"
        return {key: exc.message}
    if exc.code == "INVALID_CUSTOM_PARAMETERS":
        return {}
    found: dict[str, str] = {}
    for problem in exc.details.get("errors", []):
        name = str(problem.get("field", "form")).split("[")[0]
        found.setdefault(name, str(problem.get("message", "")))
    return found or {"form": exc.message}


def _schedule_defaults() -> dict[str, Any]:
    return {"function": ScheduleFunction.RETRIEVE_TICKET_STATUS.value, "launch": Launch.MANUAL.value,
            "frequency_minutes": str(DEFAULT_FREQUENCY_MINUTES), "batch_size": str(DEFAULT_BATCH_SIZE),
            "starts_at": "", "ends_at": "", "skip_ticket_numbers": "", "event_codes": ""}


def _page(request: Request, backend: BackendDep, interface_id: int | None, values: dict[str, Any], *,
          errors: dict[str, str] | None = None, schedule_values: dict[str, Any] | None = None,
          schedule_errors: dict[str, str] | None = None, status: int = 200) -> Response:
    interface = None
    schedules: list[ScheduleView] = []
    states: dict[int, ScheduleState] = {}
    parked: list[Any] = []
    parked_count = 0
    entries: dict[str, Any] = {}
    if interface_id is not None:
        with backend.read() as conn:
            interface = get_interface(conn, interface_id)
            schedules, _ = list_schedules(conn, interface_id, limit=1000)
            states = schedule_states(conn, [s.id for s in schedules], backend.clock.now())
            for schedule in schedules:  # only the feedback parks: at most one schedule of an interface
                if states[schedule.id].parked_records:
                    rows, count = queries.parked_for_schedule(conn, schedule.id)
                    parked += [{"schedule_id": schedule.id, **row} for row in rows]
                    parked_count += count
            entries = object_entries(conn, ObjectType.INTERFACE, interface_id)
    return render(request, "interfaces/detail.html", {
        "nav": "interfaces", "interface": interface, "values": values, "errors": errors or {},
        "panel": parameters_panel(values["custom_parameters"]), "types": INTERFACE_TYPES,
        "schedules": schedules, "states": states, "parked": parked, "parked_count": parked_count,
        "schedule_values": schedule_values or _schedule_defaults(),
        "schedule_errors": schedule_errors or {}, "functions": [f.value for f in ScheduleFunction],
        "launches": [launch.value for launch in Launch], **entries,
    }, status=status)


@router.get("/interfaces")
def interface_list(request: Request, backend: BackendDep, user: WebUser) -> Response:
    with backend.read() as conn:
        rows, _ = list_interfaces(conn, limit=1000)
        counts = queries.schedule_counts(conn, [row.id for row in rows])
    items = []
    for row in rows:
        try:
            active = parse_parameters(row.custom_parameters).feature_active
        except InvalidParameters:  # saved before a stricter grammar: show it as not active
            active = False
        items.append({"row": row, "active": active, "schedules": counts.get(row.id, 0)})
    return render(request, "interfaces/list.html", {"nav": "interfaces", "interfaces": items})


@router.get("/interfaces/new")
def new_interface_page(request: Request, backend: BackendDep, user: WebUser) -> Response:
    values = {"name": "", "type": INTERFACE_TYPES[0], "url": "", "login": "", "notification_emails": "",
              "custom_parameters": f"{LIFECYCLE_ENTRY}\n{ENABLE_ENTRY}\n{OVERLAY_ENTRY}"}
    return _page(request, backend, None, values)


@router.post("/interfaces/new")
def create_interface_form(request: Request, backend: BackendDep, form: PostedForm, user: WebUser) -> Response:
    values = _interface_values(form)
    new = NewInterface(name=values["name"], type=values["type"], url=values["url"], login=values["login"],
                       password=form.get("password"), notification_emails=_split(values["notification_emails"]),
                       custom_parameters=values["custom_parameters"])
    try:
        with backend.write() as conn:
            row = create_interface(conn, new, backend.clock.now(), actor=user)
    except (BadInput, Conflict) as exc:
        return _page(request, backend, None, values, errors=_field_errors(exc), status=422)
    return redirect(request, f"/interfaces/{row.id}", flash=Flash("success", f"Interface {row.name} created."))


@router.post("/interfaces/check-parameters")
def check_parameters(request: Request, form: PostedForm) -> Response:
    """The parameters panel for the text in the box (htmx, while typing); saves nothing."""
    panel = parameters_panel(form.get("custom_parameters"))
    return render(request, "interfaces/_parameters.html", {"panel": panel}, partial=True)


@router.get("/interfaces/{interface_id}")
def interface_page(request: Request, interface_id: str, backend: BackendDep, user: WebUser) -> Response:
    iid = path_id(interface_id, "interface")
    with backend.read() as conn:
        row = get_interface(conn, iid)
    return _page(request, backend, iid, _stored_values(row))


@router.post("/interfaces/{interface_id}")
def update_interface_form(request: Request, interface_id: str, backend: BackendDep, form: PostedForm,
                          user: WebUser) -> Response:
    iid = path_id(interface_id, "interface")
    with backend.read() as conn:
        get_interface(conn, iid)  # 404 page before anything else
    values = _interface_values(form)
    new = NewInterface(name=values["name"], type=values["type"], url=values["url"], login=values["login"],
                       password=form.optional("password") and form.get("password"),
                       notification_emails=_split(values["notification_emails"]),
                       custom_parameters=values["custom_parameters"])
    try:
        with backend.write() as conn:
            row = update_interface(conn, iid, new, backend.clock.now(), actor=user)
    except (BadInput, Conflict) as exc:
        return _page(request, backend, iid, values, errors=_field_errors(exc), status=422)
    return redirect(request, f"/interfaces/{iid}", flash=Flash("success", f"Interface {row.name} saved."))


def _number(form: Form, name: str, label: str, errors: dict[str, str]) -> int | None:
    text = form.get(name).strip()
    if not text:
        return None
    if not text.isascii() or not text.isdigit() or len(text) > 9:
        errors[label] = f"{label} must be a whole number, got {text!r}"
        return None
    return int(text)


@router.post("/interfaces/{interface_id}/schedules")
def add_schedule(request: Request, interface_id: str, backend: BackendDep, form: PostedForm, user: WebUser) -> Response:
    iid = path_id(interface_id, "interface")
    with backend.read() as conn:
        stored = _stored_values(get_interface(conn, iid))
    typed = {name: form.get(name) for name in _schedule_defaults()}
    errors: dict[str, str] = {}
    new = NewSchedule(
        function=form.get("function"), launch=form.get("launch"),
        frequency_minutes=_number(form, "frequency_minutes", "frequencyMinutes", errors),
        batch_size=_number(form, "batch_size", "batchSize", errors),
        starts_at=form_time(typed["starts_at"], "startsAt", errors),
        ends_at=form_time(typed["ends_at"], "endsAt", errors),
        skip_ticket_numbers=_split(typed["skip_ticket_numbers"]), event_codes=_split(typed["event_codes"]),
    )
    if not errors:
        try:
            with backend.write() as conn:
                row = create_schedule(conn, iid, new, backend.clock.now(), actor=user)
        except (BadInput, Conflict) as exc:
            errors = _field_errors(exc) if isinstance(exc, BadInput) else {"form": exc.message}
        else:
            added = f"Schedule {row.id} ({row.function.replace('_', ' ')}) added."
            return redirect(request, f"/interfaces/{iid}", flash=Flash("success", added))
    return _page(request, backend, iid, stored, schedule_values=typed, schedule_errors=labelled(errors), status=422)
