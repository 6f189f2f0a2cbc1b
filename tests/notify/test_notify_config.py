"""The notifications section: defaults, reference checks and error lines."""

from __future__ import annotations

import textwrap

import pytest

from vigie.config import load_config
from vigie.errors import ConfigError

HEAD = """\
devices:
  - name: PS1
    protocol: modbus_tcp
    tags:
      - {name: flow, address: 0}
notifications:
  channels:
    sms:
      type: sms
      url: http://127.0.0.1:9/send
      body: "{to} {message}"
      token_env: VIGIE_SMS_TOKEN
  recipients:
    - {name: alice, contacts: {sms: "+212600000001"}}
"""


def load(tmp_path, tail: str):
    path = tmp_path / "config.yaml"
    path.write_text(HEAD + textwrap.indent(textwrap.dedent(tail), "  "))
    return path, lambda: load_config(path)


def test_valid_section(tmp_path):
    _, read = load(
        tmp_path,
        """\
          rosters:
            - {area: north, people: [alice], rotation_start: 2026-01-05}
        """,
    )
    notifications = read().notifications
    assert notifications.rosters[0].handover_weekday == "monday"
    assert notifications.rosters[0].handover_hour == 8
    assert notifications.channels["sms"].max_chars == 160
    assert notifications.rate_limit.max_messages == 10


CASES = [
    pytest.param(
        """\
          rosters:
            - {area: north, people: [alice, zoe], rotation_start: 2026-01-05}
        """,
        16,
        "notifications.rosters[0].people[1]: unknown recipient 'zoe'",
        id="unknown-person",
    ),
    pytest.param(
        """\
          rosters:
            - {area: north, people: [alice], rotation_start: 2026-01-05,
               policy: night}
        """,
        17,
        "notifications.rosters[0].policy: unknown escalation policy 'night'",
        id="unknown-policy",
    ),
    pytest.param(
        """\
          policies:
            - name: default
              steps: [{after_s: 600, notify: boss}]
        """,
        17,
        "notifications.policies[0].steps[0].notify: unknown target 'boss'; use"
        " on_call, next_on_call, supervisor or a recipient name",
        id="unknown-target",
    ),
    pytest.param(
        """\
          rosters:
            - {area: north, people: [alice], rotation_start: 2026-01-05,
               handover_hour: 24}
        """,
        17,
        "notifications.rosters[0].handover_hour: Input should be less than or"
        " equal to 23 (got 24)",
        id="hour-out-of-range",
    ),
    pytest.param(
        """\
          subscribers:
            - {tag: PS1.flow, contacts: {mail: "a@example.org"}}
        """,
        16,
        "notifications.subscribers[0].contacts: unknown channel 'mail'; declare it"
        " under notifications.channels",
        id="unknown-channel",
    ),
]


@pytest.mark.parametrize("tail, line, reason", CASES)
def test_invalid_section(tmp_path, tail, line, reason):
    path, read = load(tmp_path, tail)
    with pytest.raises(ConfigError) as raised:
        read()
    assert str(raised.value) == f"{path}:{line}: {reason}"


def test_secret_not_in_config(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text(HEAD.replace("token_env: VIGIE_SMS_TOKEN", "token: abc"))
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    assert str(raised.value) == (
        f"{path}:12: notifications.channels.sms.token: unknown key 'token'; check"
        " its spelling or remove it"
    )
