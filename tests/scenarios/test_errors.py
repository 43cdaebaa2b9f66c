"""Every class of bad input names file:line:column and the field path, and says what was expected."""

from __future__ import annotations

from pathlib import Path

import pytest

from emulator.scenarios import ScenarioError, load_scenarios, parse_scenario

ADELE = "fa8bf3dc-eca7-46b7-bad1-db199b62afc3"
HEAD = f"""\
clock: {{start: 2026-03-02T08:00:00Z, mode: manual}}
users:
  - {{id: {ADELE}, userPrincipalName: adele@contoso.com}}
timeline:
"""


def problems(text: str, source: str = "office.yaml") -> list[str]:
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(text, source)
    assert str(caught.value) == "\n".join(caught.value.problems)
    return caught.value.problems


def test_the_issue_example_invalid_activity() -> None:
    text = HEAD + """\
  - at: 90s
    user: adele@contoso.com
    setPresence:
      sessionId: app
      availability: Busy
      activity: InACal
"""
    [problem] = problems(text)
    assert problem.startswith("office.yaml:10:17: timeline[0].setPresence.activity: "
                              "'InACal' is not a valid activity (expected one of Available, ")
    assert "InACall" in problem


def test_yaml_syntax_error() -> None:
    assert problems("users:\n  - id: [1, 2\n") == [
        "office.yaml:3:1: YAML syntax error: while parsing a flow sequence did not find expected ',' or ']'"]


def test_duplicate_key() -> None:
    assert problems("tenantId: 00000000-0000-4000-8000-000000000001\ntenantId: x\n") == [
        "office.yaml:2:1: tenantId: duplicate key 'tenantId' (first given on line 1)"]


def test_unknown_field_names_the_allowed_ones() -> None:
    [problem] = problems(HEAD + "  - {at: 1m, user: adele@contoso.com, clearPresence: {sessionId: a, colour: red}}\n")
    assert problem == ("office.yaml:5:69: timeline[0].clearPresence.colour: unknown field 'colour' "
                       "(expected one of sessionId)")


def test_wrong_types() -> None:
    found = problems("restrictUsers: maybe\nusers:\n  - id: 42\ncrowds: {}\n")
    assert found == [
        "office.yaml:1:16: restrictUsers: expected true or false (found 'maybe')",
        "office.yaml:3:9: users[0].id: expected a string (found 42)",
        "office.yaml:4:9: crowds: expected a list (found {})",
    ]


def test_a_bare_number_is_not_a_time() -> None:
    # YAML 1.1 reads 1:30 as the integer 90: say so rather than guess seconds.
    [problem] = problems(HEAD + "  - {at: 1:30, user: adele@contoso.com, clearPresence: {sessionId: a}}\n")
    assert problem.startswith("office.yaml:5:10: timeline[0].at: 90 has no unit (expected a duration such as 90s")


@pytest.mark.parametrize(("event", "expected"), [
    ("setPresence: {sessionId: a, availability: Busy, activity: Away}",
     "timeline[0].setPresence.activity: 'Busy/Away' is not a pair setPresence accepts (expected one of "
     "Available/Available, Away/Away, Busy/InACall, Busy/InAConferenceCall, DoNotDisturb/Presenting)"),
    ("setUserPreferredPresence: {availability: Busy, activity: InACall}",
     "timeline[0].setUserPreferredPresence.activity: 'Busy/InACall' is not a pair setUserPreferredPresence "
     "accepts (expected one of "),
    ("setTeamsPresence: {sessionId: d, availability: Bussy, activity: InAMeeting}",
     "timeline[0].setTeamsPresence.availability: 'Bussy' is not a valid availability (expected one of "),
])
def test_invalid_pairs_and_values(event: str, expected: str) -> None:
    [problem] = problems(HEAD + f"  - at: 1m\n    user: adele@contoso.com\n    {event}\n")
    assert problem.split(": ", 1)[1].startswith(expected), problem
    assert problem.startswith("office.yaml:7:")


def test_teams_clients_take_any_documented_pair() -> None:
    scenario = parse_scenario(HEAD + """\
  - {at: 1m, user: adele@contoso.com, setTeamsPresence: {sessionId: d, availability: Away, activity: OutOfOffice}}
  - {at: 2m, user: adele@contoso.com, setTeamsPresence: {sessionId: d, availability: busy, activity: inameeting}}
""", "office.yaml")
    assert [a.detail()["activity"] for a in scenario.actions] == ["OutOfOffice", "InAMeeting"]


@pytest.mark.parametrize(("fragment", "expected"), [
    ("at: soon", "timeline[0].at: 'soon' is not a duration such as 90s, 2h15m, 1d or ISO 8601 PT1H30M (after "
                 "the start) or a date-time such as 2026-03-02T09:00:00Z"),
    ("at: 2026-13-02T08:00:00Z", "timeline[0].at: '2026-13-02T08:00:00Z' is not a date-time such as "),
    ("at: 1m\n    every: '1:00:00'\n    count: 2", "timeline[0].every: '1:00:00' is not a duration such as "),
    ("at: 1m\n    every: 0s\n    count: 2", "timeline[0]: every must be longer than 0s"),
    ("at: 1m\n    every: 1h", "timeline[0]: every needs exactly one of count or until"),
    ("at: 2h\n    every: 1h\n    until: 1h", "timeline[0].until: '1h' is before at '2h' (expected a time at or "),
])
def test_bad_durations_and_times(fragment: str, expected: str) -> None:
    [problem] = problems(HEAD + f"  - {fragment}\n    user: adele@contoso.com\n    clearPresence: {{sessionId: a}}\n")
    assert problem.split(": ", 1)[1].startswith(expected), problem


def test_session_duration_out_of_graph_range() -> None:
    [problem] = problems(HEAD + "  - {at: 1m, user: adele@contoso.com, setPresence: {sessionId: a, "
                                "availability: Busy, activity: InACall, expirationDuration: PT4H1M}}\n")
    assert problem.endswith("timeline[0].setPresence.expirationDuration: 'PT4H1M' is out of range "
                            "(expected PT5M to PT4H)")


def test_unknown_user_and_crowd() -> None:
    found = problems(HEAD + """\
  - {at: 1m, user: bob@contoso.com, clearPresence: {sessionId: a}}
  - {at: 1m, crowd: agents, clearPresence: {sessionId: a}}
""")
    assert found == [
        "office.yaml:5:20: timeline[0].user: 'bob@contoso.com' is not a user of this scenario (expected the id "
        "or userPrincipalName of a user listed under users, or a crowd member)",
        "office.yaml:6:21: timeline[1].crowd: 'agents' is not a crowd of this scenario (expected one of: none "
        "defined)",
    ]


def test_duplicate_user_ids_and_names() -> None:
    found = problems(f"""\
users:
  - {{id: {ADELE}, userPrincipalName: adele@contoso.com}}
  - {{id: {ADELE.upper()}}}
  - {{id: 66825e03-7ef5-42da-9069-4e4d3e6b9d28, userPrincipalName: ADELE@contoso.com}}
""")
    assert found == [
        f"office.yaml:3:5: users[1]: duplicate user id '{ADELE}' (first given at office.yaml:2:5)",
        "office.yaml:4:5: users[2]: duplicate userPrincipalName 'ADELE@contoso.com' (first given at "
        "office.yaml:2:5)",
    ]


def test_events_before_the_start() -> None:
    found = problems(HEAD + """\
  - {at: 2026-03-02T07:59:59Z, user: adele@contoso.com, clearPresence: {sessionId: a}}
""")
    assert found == ["office.yaml:5:10: timeline[0].at: '2026-03-02T07:59:59Z' is before the start "
                     "2026-03-02T08:00:00Z (expected a time at or after it)"]


def test_absolute_times_need_a_start() -> None:
    [problem] = problems(f"users: [{{id: {ADELE}}}]\ntimeline:\n"
                         f"  - {{at: 2026-03-02T09:00:00Z, user: {ADELE}, clearPresence: {{sessionId: a}}}}\n")
    assert "timeline[0].at: '2026-03-02T09:00:00Z' is an absolute time, which needs clock.start" in problem


def test_crowd_over_the_cap() -> None:
    found = problems("""\
crowds:
  - name: agents
    count: 20001
    id: "a9e70000-0000-4000-8000-{n:012d}"
""")
    assert found == ["office.yaml:3:12: crowds[0].count: 20001 members would make 20001 users, over the cap "
                     "of 20000 users per scenario"]


def test_crowd_pattern_must_give_guids() -> None:
    [problem] = problems("crowds:\n  - {name: a, count: 2, id: 'agent-{n}'}\n")
    assert problem == ("office.yaml:2:5: crowds[0]: id pattern gives 'agent-1' for member 1, which is not a GUID")


def test_event_needs_exactly_one_action_and_target() -> None:
    found = problems(HEAD + """\
  - {at: 1m, user: adele@contoso.com}
  - {at: 1m, clearPresence: {sessionId: a}}
""")
    assert found[0].startswith("office.yaml:5:5: timeline[0]: an event needs exactly one action (found none; ")
    assert found[1] == "office.yaml:6:5: timeline[1]: an event needs exactly one of user or crowd"


def test_merged_files_clash(tmp_path: Path) -> None:
    first, second = tmp_path / "a.yaml", tmp_path / "b.yaml"
    first.write_text(f"tenantId: 00000000-0000-4000-8000-000000000001\nusers: [{{id: {ADELE}}}]\n")
    second.write_text(f"tenantId: 00000000-0000-4000-8000-000000000002\nusers:\n  - id: {ADELE}\n")
    with pytest.raises(ScenarioError) as caught:
        load_scenarios([first, second])
    assert caught.value.problems == [
        f"{second}:1:11: tenantId: '00000000-0000-4000-8000-000000000002' clashes with "
        f"'00000000-0000-4000-8000-000000000001' given at {first}:1:11",
        f"{second}:3:5: users[0]: duplicate user id '{ADELE}' (first given at {first}:2:9)",
    ]


def test_merged_files_share_users(tmp_path: Path) -> None:
    users, day = tmp_path / "users.yaml", tmp_path / "day.yaml"
    users.write_text(f"users: [{{id: {ADELE}, userPrincipalName: adele@contoso.com}}]\n")
    day.write_text("timeline:\n  - {at: 1m, user: adele@contoso.com, clearPresence: {sessionId: a}}\n")
    scenario = load_scenarios([users, day])
    assert len(scenario.users) == 1 and len(scenario.plan) == 1


def test_every_file_problem_is_reported(tmp_path: Path) -> None:
    good, bad, missing = tmp_path / "good.yaml", tmp_path / "bad.yaml", tmp_path / "missing.yaml"
    good.write_text("users: []\n")
    bad.write_text("users: 3\n")
    with pytest.raises(ScenarioError) as caught:
        load_scenarios([good, bad, missing])
    assert caught.value.problems[0] == f"{bad}:1:8: users: expected a list (found 3)"
    assert caught.value.problems[1].startswith(f"{missing}:1:1: cannot read the file:")


def test_every_action_parses_and_plays() -> None:
    from emulator.tenant import Tenant, TenantSettings

    scenario = parse_scenario(HEAD + """\
  - {at: 0s, user: adele@contoso.com, setTeamsPresence: {sessionId: d, availability: Available, activity: Available}}
  - {at: 1m, user: adele@contoso.com, setUserPreferredPresence: {availability: Offline, activity: OffWork}}
  - at: 2m
    user: adele@contoso.com
    clearUserPreferredPresence:
  - {at: 3m, user: adele@contoso.com, setStatusMessage: {message: {content: hi}}}
  - {at: 4m, user: adele@contoso.com, setStatusMessage: {message: {content: ""}}}
  - {at: 5m, user: adele@contoso.com, outOfOfficeSettings: {isOutOfOffice: true}}
""", "office.yaml")
    tenant = Tenant(TenantSettings(clock_mode="manual", start=scenario.start))
    tenant.timeline.play(scenario)
    tenant.scheduler.run_due()  # what is due at the start waits on the scheduler, like everything else
    user = tenant.presence.users["fa8bf3dc-eca7-46b7-bad1-db199b62afc3"]
    seen = []
    for _ in range(6):
        seen.append((user.availability, user.activity, user.status_message is not None, user.out_of_office[0]))
        tenant.advance(60)
    assert seen == [
        ("Available", "Available", False, False), ("Offline", "OffWork", False, False),
        ("Available", "Available", False, False), ("Available", "Available", True, False),
        ("Available", "Available", False, False), ("Available", "OutOfOffice", False, True),
    ]


def test_status_expiry_must_follow_every_occurrence() -> None:
    [problem] = problems(HEAD + """\
  - at: 1h
    every: 1h
    count: 3
    user: adele@contoso.com
    setStatusMessage:
      message: {content: hi}
      expiryDateTime: {dateTime: "2026-03-02T10:30:00", timeZone: UTC}
""")
    assert problem.startswith("office.yaml:11:23: timeline[0].setStatusMessage.expiryDateTime: "
                              "'2026-03-02T10:30:00' is not after the event (last at 2026-03-02T11:00:00Z")
