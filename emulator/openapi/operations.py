"""Every route of the emulator, described once: the one table the OpenAPI document is built from.

Keyed like the permission table: method and route template, the Graph version prefix dropped (one row
covers ``/v1.0`` and ``/beta``) and ``{placeholders}`` written ``{}``. A new route needs one row here;
``tests/openapi/test_document.py`` fails while any registered aiohttp route has none.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel

from emulator.control import bodies as control_bodies
from emulator.control.bodies import LifecycleBody, TokenBody
from emulator.graph import bodies as graph_bodies
from emulator.graph.bodies import BatchRequestBody, SubscriptionBody, SubscriptionUpdateBody
from emulator.graph.permissions import ACTION_NAMES
from emulator.openapi import schemas
from emulator.openapi import traffic_schemas as traffic


@dataclass(frozen=True, slots=True)
class Operation:
    summary: str
    tag: str
    response: type[BaseModel] | None = None  # the success body; None: an empty body
    status: int = 200
    body: type[BaseModel] | None = None
    body_required: bool = False
    # The body may also be sent as text/plain (a bare value, e.g. clock/advance's "PT5M").
    text_body: bool = False
    description: str = ""
    # A success body that is not JSON (the dashboard's page and assets, its event stream): a string of this type.
    media_type: str = "application/json"


_ACTION_BODIES: dict[str, tuple[type[BaseModel], bool]] = {
    "setPresence": (graph_bodies.SetPresenceBody, True),
    "clearPresence": (graph_bodies.ClearPresenceBody, True),
    "setUserPreferredPresence": (graph_bodies.SetPreferredBody, True),
    "clearUserPreferredPresence": (graph_bodies.EmptyBody, False),
    "setStatusMessage": (graph_bodies.SetStatusMessageBody, True),
}

_READ_DOC = "GUIDs, or a scenario user's userPrincipalName. Any GUID is a user (Offline) unless a scenario " \
            "restricts users."

OPERATIONS: dict[str, Operation] = {
    # -- Graph ------------------------------------------------------------------------------------------
    "GET /users/{}/presence": Operation("Get a user's presence", "presence", schemas.Presence,
                                        description=_READ_DOC),
    "GET /communications/presences/{}": Operation("Get a user's presence (communications path)", "presence",
                                                  schemas.Presence, description=_READ_DOC),
    "GET /me/presence": Operation("Get the signed-in user's presence", "presence", schemas.Presence,
                                  description="The user is the bearer token's oid; 400 without one."),
    "POST /communications/getPresencesByUserId": Operation(
        "Get the presence of up to 650 users", "presence", schemas.PresenceCollection,
        body=graph_bodies.GetPresencesBody, body_required=True),
    **{
        f"POST {prefix}/{name}": Operation(f"{name} ({where})", "presence", None,
                                           body=_ACTION_BODIES[name][0], body_required=_ACTION_BODIES[name][1])
        for name in ACTION_NAMES
        for prefix, where in (("/users/{}/presence", "a user"), ("/me/presence", "the signed-in user"),
                              ("/communications/presences/{}", "communications path"))
    },
    "POST /$batch": Operation("JSON batching: up to 20 requests in one", "batch", schemas.BatchResponse,
                              body=BatchRequestBody, body_required=True,
                              description="Each request is run as if sent alone; see docs/auth-and-batch.md."),
    "POST /subscriptions": Operation(
        "Subscribe to presence changes", "subscriptions", schemas.SubscriptionEntity, status=201,
        body=SubscriptionBody, body_required=True,
        description="Runs the validation handshake on the notification URLs first; see docs/notifications.md."),
    "GET /subscriptions": Operation("This application's subscriptions", "subscriptions",
                                    schemas.SubscriptionCollection),
    "GET /subscriptions/{}": Operation("A subscription", "subscriptions", schemas.SubscriptionEntity),
    "PATCH /subscriptions/{}": Operation("Renew or move a subscription", "subscriptions", schemas.SubscriptionEntity,
                                         body=SubscriptionUpdateBody, body_required=True),
    "DELETE /subscriptions/{}": Operation("Delete a subscription", "subscriptions", None, status=204),
    "POST /subscriptions/{}/reauthorize": Operation("Reauthorize a subscription", "subscriptions", None,
                                                    status=204),
    # -- control plane ----------------------------------------------------------------------------------
    "GET /_emulator/deliveries": Operation(
        "Every delivery attempt", "notifications", schemas.DeliveryLog,
        description="Filter with ?subscriptionId=&url=&status=&kind=."),
    "DELETE /_emulator/deliveries": Operation("Clear the delivery log", "notifications", None, status=204),
    "GET /_emulator/endpoints": Operation("Each notification URL's queue and slow/drop state", "notifications",
                                          schemas.NotificationEndpoints),
    "GET /_emulator/subscriptions": Operation("Every subscription of every application", "notifications",
                                              schemas.SubscriptionList),
    "POST /_emulator/subscriptions/{}/lifecycle": Operation(
        "Send a lifecycle event (missed, subscriptionRemoved, reauthorizationRequired)", "notifications",
        schemas.LifecycleSent, status=202, body=LifecycleBody, body_required=True),
    "GET /_emulator/health": Operation("Liveness", "control", schemas.Health),
    "POST /_emulator/reset": Operation("Replace all state with a fresh tenant", "control", schemas.Reset),
    "GET /_emulator/clock": Operation("The emulated clock", "control", schemas.ClockState),
    "POST /_emulator/clock": Operation("Change the clock's mode or speed", "control", schemas.ClockState,
                                       body=schemas.ClockSettings),
    "POST /_emulator/clock/advance": Operation("Advance the clock, running what falls due", "control",
                                               schemas.ClockState, body=schemas.ClockAdvance, body_required=True,
                                               text_body=True),
    "GET /_emulator/state": Operation("Every user, session and expiry", "control", schemas.EmulatorState),
    "POST /_emulator/token": Operation("Mint a token signed by the emulator", "auth", schemas.TokenResponse,
                                       body=TokenBody, body_required=True),
    "GET /_emulator/jwks": Operation("The emulator's signing key, as a JWKS", "auth", schemas.JsonWebKeySet),
    "GET /_emulator/.well-known/openid-configuration": Operation(
        "Discovery metadata for token validators", "auth", schemas.OpenIdConfiguration),
    "POST /_emulator/scenario": Operation(
        "Load a scenario (YAML or JSON body) in place of the current one; atomic", "scenarios",
        schemas.ScenarioLoaded, body_required=True, text_body=True,
        description="A bad scenario is a 400 InvalidScenario naming file:line:column; nothing changes."),
    "GET /_emulator/timeline": Operation("What the scenario ran and what is to come", "scenarios",
                                         schemas.Timeline),
    "GET /_emulator/openapi.json": Operation("This document", "control", schemas.OpenApiDocument),
    # -- users, for what Graph cannot do (docs/dashboard.md) ----------------------------------------------
    "POST /_emulator/users": Operation("Add a user (or name one)", "users", schemas.UserState, status=201,
                                       body=control_bodies.NewUserBody, body_required=True),
    "GET /_emulator/users/{}": Operation("One user's full state, by id or userPrincipalName", "users",
                                         schemas.UserState),
    "POST /_emulator/users/{}/sessions": Operation(
        "A Teams-client session with any availability/activity of Graph's enums", "users", schemas.UserState,
        status=201, body=control_bodies.TeamsSessionBody, body_required=True),
    "DELETE /_emulator/users/{}/sessions/{}": Operation("End a session", "users", schemas.UserState),
    "POST /_emulator/users/{}/outOfOffice": Operation("Set out of office", "users", schemas.UserState,
                                                      body=control_bodies.OutOfOfficeBody, body_required=True),
    # -- the dashboard -------------------------------------------------------------------------------------
    "GET /_emulator/ui": Operation("The dashboard", "dashboard", media_type="text/html"),
    "GET /_emulator/ui/": Operation("The dashboard", "dashboard", media_type="text/html"),
    "GET /_emulator/ui/{}": Operation("The dashboard's script, styles and icon", "dashboard", media_type="*/*"),
    "GET /_emulator/events": Operation(
        "The dashboard's live feed (server-sent events: snapshot, users, clock)", "dashboard",
        media_type="text/event-stream"),
    # -- journal, faults, throttling (docs/faults-and-journal.md) ---------------------------------------
    "GET /_emulator/requests": Operation(
        "The request journal", "journal", traffic.JournalEntries,
        description="Query filters: path (substring, or a glob with * ? [), method, status (429, 4xx, 429,503), "
                    "since, until (emulated date-times), applicationId, fault, earlyRetry, throttled, limit."),
    "DELETE /_emulator/requests": Operation("Clear the journal and its retry counts", "journal", status=204),
    "GET /_emulator/requests/har": Operation("The journal as HAR 1.2 (same filters)", "journal",
                                             traffic.HarDocument),
    "GET /_emulator/requests/summary": Operation("Counts, latency and early retries (same filters)", "journal",
                                                 traffic.JournalSummary),
    "GET /_emulator/requests/settings": Operation("The journal's settings", "journal",
                                                  traffic.JournalSettingsState),
    "POST /_emulator/requests/settings": Operation("Change the journal's settings", "journal",
                                                   traffic.JournalSettingsState,
                                                   body=control_bodies.JournalSettingsBody),
    "GET /_emulator/faults": Operation("The fault rules, with how often each matched and fired", "faults",
                                       traffic.FaultRules),
    "POST /_emulator/faults": Operation(
        "Add a fault rule (an object) or several (an array)", "faults", traffic.FaultRulesAdded, status=201,
        body_required=True, description="The rule model: emulator/traffic/fault_rules.py."),
    "DELETE /_emulator/faults": Operation("Remove every fault rule", "faults", status=204),
    "GET /_emulator/faults/{}": Operation("One fault rule", "faults", traffic.FaultRuleState),
    "DELETE /_emulator/faults/{}": Operation("Remove one fault rule", "faults", status=204),
    "GET /_emulator/throttling": Operation("The throttle and each application's count in its window",
                                           "throttling", traffic.ThrottlingState),
    "POST /_emulator/throttling": Operation("Set the throttle: a preset, a custom limit, or off", "throttling",
                                            traffic.ThrottlingState, body=control_bodies.ThrottleSettingsBody,
                                            body_required=True),
    "DELETE /_emulator/throttling": Operation("Throttling off", "throttling", traffic.ThrottlingState),
}
