"""The authorization matrix: every URL of the site, its declared rule, and what each role gets.

Routes come from the URLconf (``get_resolver().url_patterns``, walked recursively), so a view
added anywhere is checked without editing this file. Each route's rule is read from its view:

- ``@clinic_view(roles=...)`` (``acuknee.accounts.access``) records ``acuknee_roles``: a session
  (cookie) page; anonymous is sent to the sign-in page, another role is 403, another clinic's
  record is 404.
- ``@public_view(reason=...)`` records ``acuknee_public``: anyone may open it.
- The token-authenticated API (ninja, under ``/api/v1``) and FHIR (``/fhir``) decide roles inside
  each endpoint (``api.auth.require``), so their rules are declared here, in ``TOKEN_RULES``
  (FHIR search and read take theirs from ``fhir_api.resources.RESOURCE_TYPES``): anonymous is 401,
  another role 403, another clinic's record 404.

A route with no rule fails, and the message says what to add.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.urls import URLPattern, URLResolver, get_resolver

from acuknee.accounts.access import CLINICAL_ROLES, SCHEDULING_ROLES
from acuknee.api.auth import ALL_ROLES

ROLES = ("practitioner", "front_desk", "clinic_admin", "researcher", "anonymous", "link_holder")
"""Who asks: the four staff roles, nobody, and a patient holding a self-report link."""

STAFF_ROLES = frozenset(str(r) for r in ALL_ROLES)


@dataclass(frozen=True)
class Rule:
    kind: str
    """``session`` (cookie, @clinic_view), ``token`` (Bearer) or ``public``."""
    roles: frozenset[str] = frozenset()
    reason: str = ""
    own_may_404: bool = False
    """An own-clinic request may still be a 404 (e.g. a file that exists only after a job)."""


def token(roles: Any, *, own_may_404: bool = False) -> Rule:
    return Rule("token", frozenset(str(r) for r in roles), own_may_404=own_may_404)


def public(reason: str) -> Rule:
    return Rule("public", reason=reason)


TOKEN_RULES: dict[str, Rule] = {
    # ninja's own pages: the schema and its Swagger UI hold no patient data.
    "openapi-json": public("the API's OpenAPI schema (no data)"),
    "openapi-view": public("the API's Swagger UI page (no data)"),
    "api-root": public("ninja's root: a 404 in the error shape"),
    "api/v1/^(?P<rest>.*)$": public("unknown API path: a 404 in the error shape"),
    # REST endpoints (acuknee.api.rest), by URL name (the operation's function name).
    "patient_list": token(SCHEDULING_ROLES),
    "patient_create": token(SCHEDULING_ROLES),
    "patient_detail": token(SCHEDULING_ROLES),
    "intake_list": token(CLINICAL_ROLES),
    "intake_detail": token(CLINICAL_ROLES),
    "plan_list": token(CLINICAL_ROLES),
    "plan_detail": token(CLINICAL_ROLES),
    "session_list": token(CLINICAL_ROLES),
    "session_detail": token(CLINICAL_ROLES),
    "session_create": token(CLINICAL_ROLES),
    "session_amend": token(CLINICAL_ROLES),
    "consent_create": token(CLINICAL_ROLES),
    "measurement_list": token(CLINICAL_ROLES),
    "measurement_detail": token(CLINICAL_ROLES),
    "measurement_create": token(CLINICAL_ROLES),
    "evaluation_list": token(CLINICAL_ROLES),
    "evaluation_detail": token(CLINICAL_ROLES),
    "point_list": token(ALL_ROLES),
    "point_detail": token(ALL_ROLES),
    "protocol_list": token(ALL_ROLES),
    "protocol_detail": token(ALL_ROLES),
    "token_list": token(ALL_ROLES),
    "token_revoke": token(ALL_ROLES),
    "outcomes": token({"researcher"}),  # acuknee.api.research: pooled, suppressed aggregates
    # FHIR (acuknee.api.fhir_api, bulk_export).
    "fhir-metadata": public("the FHIR CapabilityStatement (no data)"),
    "fhir/^(?P<rest>.*)$": token(ALL_ROLES, own_may_404=True),
    "fhir-export-system": token(CLINICAL_ROLES),
    "fhir-export-group": token(CLINICAL_ROLES),
    "fhir-export-patient": token(CLINICAL_ROLES),
    "fhir-export-status": token(CLINICAL_ROLES),
    "fhir-export-file": token(CLINICAL_ROLES, own_may_404=True),
}


OWN_MAY_404: dict[str, str] = {
    "intake-referral": "only an intake whose screening refers has a referral letter",
    "patient-referral": "only a referred patient has a referral letter",
    "patient-referral-pdf": "only a referred patient has a referral letter",
    "referral-edit": "only an intake whose screening refers has a referral letter to edit",
}
"""Session routes (by URL name) where an allowed role may get 404 for its own clinic's record,
with why; everything else must answer an allowed role."""


@dataclass
class Route:
    """One URL pattern: its full route, name, view and (where declared) rule."""

    route: str
    name: str | None
    callback: Callable[..., Any]
    pieces: list[Any] = field(default_factory=list)
    """The patterns from the root to this one (to build a URL from keyword values)."""
    rule: Rule | None = None
    methods: tuple[str, ...] = ("GET",)
    fixed: dict[str, str] = field(default_factory=dict)
    """Keywords fixed by an expansion (a FHIR resource type)."""

    @property
    def key(self) -> str:
        return self.name or self.route

    @property
    def label(self) -> str:
        fixed = "".join(f" [{k}={v}]" for k, v in self.fixed.items())
        return f"{'/'.join(self.methods)} /{self.route} ({self.name or 'unnamed'}){fixed}"

    @property
    def keywords(self) -> list[str]:
        names: list[str] = []
        for piece in self.pieces:
            regex = piece.startswith("^")
            names += re.findall(r"\(\?P<(\w+)>" if regex else r"<(?:\w+:)?(\w+)>", piece)
        return [n for n in names if n not in self.fixed]

    def url(self, values: dict[str, str]) -> str:
        """The path with each keyword replaced by ``values`` (or the fixed expansion)."""
        values = {**values, **self.fixed}
        out = ""
        for piece in self.pieces:
            if piece.startswith("^"):  # a re_path: replace each named group, drop the anchors
                group = r"\(\?P<(\w+)>(?:[^()]|\([^()]*\))*\)"
                text = re.sub(group, lambda m: values[m.group(1)], piece[1:].removesuffix("$"))
                out += text.replace("\\", "")
            else:
                out += re.sub(r"<(?:\w+:)?(\w+)>", lambda m: values[m.group(1)], piece)
        return "/" + out


def _walk(patterns: list[Any], pieces: list[str]) -> Iterator[tuple[URLPattern, list[str]]]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, [*pieces, str(pattern.pattern)])
        elif isinstance(pattern, URLPattern):
            yield pattern, [*pieces, str(pattern.pattern)]


def declared(view: Any) -> Rule | None:
    """The rule a view declares, looking through decorators that keep ``__wrapped__``."""
    while view is not None:
        roles = getattr(view, "acuknee_roles", None)
        if roles is not None:
            return Rule("session", frozenset(str(r) for r in roles))
        reason = getattr(view, "acuknee_public", None)
        if reason:
            return public(str(reason))
        view = getattr(view, "__wrapped__", None)
    return None


def _ninja_methods() -> dict[str, tuple[str, ...]]:
    from acuknee.api.rest import api

    methods: dict[str, tuple[str, ...]] = {}
    for _, router in api._routers:
        for path_view in router.path_operations.values():
            for op in path_view.operations:
                methods[op.view_func.__name__] = tuple(op.methods)
    return methods


def _fhir_expansions(route: Route) -> list[Route]:
    """FHIR search and read, once per resource type, with that type's declared roles."""
    from acuknee.api.fhir_api.resources import RESOURCE_TYPES

    out = []
    for kind in RESOURCE_TYPES.values():
        if route.name == "fhir-read" and kind.id_pattern is None:
            # Not patient data (a Questionnaire): read its first resource, with no variants.
            fixed = {"kind_name": kind.name, "resource_id": kind.source(None)[0]["id"]}
        else:
            fixed = {"kind_name": kind.name}
        methods: tuple[str, ...] = ("GET",)
        if route.name == "fhir-search" and kind.name == "QuestionnaireResponse":
            methods = ("GET", "POST")
        out.append(
            Route(
                route.route,
                route.name,
                route.callback,
                route.pieces,
                token(kind.roles),
                methods,
                fixed,
            )
        )
    return out


def routes() -> list[Route]:
    """Every route of the site with its rule (None when it declares none)."""
    ninja = _ninja_methods()
    found: list[Route] = []
    for pattern, pieces in _walk(get_resolver().url_patterns, []):
        route = Route("".join(pieces), pattern.name, pattern.callback, pieces)
        route.rule = declared(pattern.callback) or TOKEN_RULES.get(route.key)
        if route.name in ninja:
            route.methods = ninja[route.name]
        if route.name in {"fhir-search", "fhir-read"}:
            found += _fhir_expansions(route)
            continue
        found.append(route)
    return found


def missing_rule_message(route: Route) -> str:
    """What to add for a route whose view declares no rule."""
    view = route.callback
    where = f"{getattr(view, '__module__', '?')}.{getattr(view, '__qualname__', '?')}"
    if route.route.startswith(("api/", "fhir/")):
        return (
            f"/{route.route} (name={route.name!r}, view {where}) has no access rule: add "
            f"{route.key!r}: token(<roles>) or public('<why>') to TOKEN_RULES in "
            "tests/security/matrix.py, and check the roles in the endpoint (api.auth.require)"
        )
    return (
        f"/{route.route} (name={route.name!r}, view {where}) declares no access rule: decorate "
        "the view with @clinic_view(roles=...) or @public_view(reason='...') from "
        "acuknee.accounts.access"
    )


# --- expectations --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    route: str
    method: str
    role: str
    variant: str
    """``own`` (the asker's clinic), ``other`` (another clinic's records), ``mixed`` (own
    patient, another clinic's sub-record) or ``none`` (no record in the URL)."""
    url: str
    status: int
    location: str
    problem: str | None

    def __str__(self) -> str:
        return (
            f"{self.role:<12} {self.variant:<5} {self.method:<4} {self.url} -> {self.status} "
            f"{self.location}: {self.problem}"
        )


def expectation(
    rule: Rule, name: str, role: str, variant: str, status: int, location: str, login_url: str
) -> str | None:
    """None when the answer fits the rule, else what was expected.

    The matrix posts empty bodies; a token endpoint with a body schema refuses one (400/422)
    before its access check, the same for every record and role, so that answer reveals nothing
    and is accepted for a refused role or another clinic's record (tests/api checks those writes
    with valid bodies).
    """
    if status >= 500:
        return "a server error"
    if rule.kind == "public":
        return "a public view refused access" if status in {401, 403} else None
    anonymous = role in {"anonymous", "link_holder"}
    if rule.kind == "session" and anonymous:
        if status == 302 and location.startswith(login_url):
            return None
        return "expected a redirect to the sign-in page"
    if rule.kind == "token" and anonymous:
        return None if status == 401 else "expected 401 without a token"
    body_refused = rule.kind == "token" and status in {400, 422}
    if role not in rule.roles:
        if status == 403 or body_refused:
            return None
        return f"expected 403 (role not in {sorted(rule.roles)})"
    if variant in {"other", "mixed"}:
        if status == 404 or body_refused:
            return None
        return "expected 404 for another clinic's record"
    if status in {401, 403}:
        return "an allowed role was refused"
    if status == 404 and not (rule.own_may_404 or name in OWN_MAY_404):
        return "an allowed role got 404 for its own clinic's record"
    if status == 302 and location.startswith(login_url):
        return "an allowed role was sent to the sign-in page"
    return None
