"""Scenario files (docs/scenarios.md): loading, readable failures, the CLI, JSON, the demo, the pytest hook.

The shipped scenarios themselves run as test items collected from fixtures/ (pyproject testpaths);
here they are only run through the command line and the demo.
"""

from __future__ import annotations

import io
import json
import re
import textwrap
import tomllib
from fnmatch import fnmatch
from pathlib import Path

import pytest

from emulator.cli import demo, main
from emulator.pytest_plugin import SCENARIO_FILES
from emulator.scenarios import ScenarioError, bundled_dir, load, loads, run, side_by_side, transcript

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = sorted((ROOT / "fixtures").glob("*.toml"))

pytest_plugins = ["pytester"]

BASE = """\
[scenario]
name = "tiny"
profiles = ["pre-1607", "post-1607"]
blanket = { level = "IMPERSONATE", cloaking = "DYNAMIC" }

[accounts]
alice = {}
hU = {}

[sessions]
alice = "alice"
hU = "hU"

[[step]]
caller = "alice"
call = "create_job"
job = "j"
"""


def write(tmp_path: Path, text: str, name: str = "scenario_tiny.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def cli(*argv: str) -> tuple[int, str, str]:
    """Run ``bits-emulator scenario run …`` in-process, capturing its output."""
    import argparse

    from emulator.scenarios import cli as scenario_cli

    parser = argparse.ArgumentParser()
    scenario_cli.add_parser(parser.add_subparsers(dest="command"))
    ns = parser.parse_args(["scenario", "run", *argv])
    out, err = io.StringIO(), io.StringIO()
    code = scenario_cli.main(ns, out, err)
    return code, out.getvalue(), err.getvalue()


# The shipped scenarios ----------------------------------------------------------------------------------


def test_every_shipped_scenario_is_collected_by_the_project_suite() -> None:
    """fixtures/*.toml run in CI as test items: testpaths includes fixtures and every file matches."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "fixtures" in config["tool"]["pytest"]["ini_options"]["testpaths"]
    assert len(FIXTURES) >= 6
    for path in FIXTURES:
        assert any(fnmatch(path.name, p) for p in SCENARIO_FILES), path.name


def test_shipped_scenarios_cover_the_issue_list() -> None:
    names = {load(p).name for p in FIXTURES}
    assert names >= {
        "helper-tokens",
        "download-retries-through-503",
        "logoff-mid-transfer",
        "401-then-credentials",
        "network-loss-and-return",
        "metered-network",
        "bandwidth-policy",
        "upload-reply",
    }
    helper = load(ROOT / "fixtures" / "scenario_helper_tokens.toml")
    assert helper.scenario.scenario.profiles == ["pre-1607", "post-1607"]


EXPECTATION = re.compile(
    r"^(on\.\S+|expect|returns|returns_null|state|progress|error|error_count|transitions|exists|content|size)\s*="
)


def test_every_expectation_in_the_shipped_scenarios_cites_a_source() -> None:
    """Each expectation line carries a comment naming a Microsoft page (a key defined with its URL in the
    file's header), or docs/ where the expectation is the emulator's documented choice."""
    for path in FIXTURES:
        text = path.read_text()
        keys = set(re.findall(r"^#\s+\[(\w+)\]\s+https://learn\.microsoft\.com/\S+$", text, flags=re.M))
        assert keys, path.name
        in_steps = False
        for line in text.splitlines():
            in_steps = in_steps or line == "[[step]]"
            if not in_steps or not EXPECTATION.match(line):
                continue
            comment = line.split(" #", 1)[1] if " #" in line else ""
            cited = set(re.findall(r"\[(\w+)\]", comment))
            assert cited & keys or "docs/" in comment, f"{path.name}: no source for {line!r}"
            assert cited <= keys, f"{path.name}: {sorted(cited - keys)} not defined in the header"


def test_cli_runs_the_shipped_scenarios_green() -> None:
    code, out, err = cli(*map(str, FIXTURES))
    assert code == 0, err
    assert err == ""
    assert re.search(r"^\d+/\d+ runs passed$", out, flags=re.M)
    assert not re.search(r"^FAIL |^  FAIL ", out, flags=re.M)


# Transcript -------------------------------------------------------------------------------------------


def test_transcript_shows_calls_hresults_state_changes_with_virtual_times_and_the_job_table() -> None:
    (result,) = run(load(ROOT / "fixtures" / "scenario_download_retries.toml"))
    text = transcript(result)
    assert "alice: tool.resume()  → S_OK 0x00000000" in text
    assert "tool: CONNECTING → TRANSIENT_ERROR at t+0s" in text
    assert "tool: TRANSIENT_ERROR → QUEUED at t+60s" in text  # the retry after SetMinimumRetryDelay(60)
    assert "tool: TRANSFERRING → TRANSFERRED at t+130s" in text  # 120 s of retries + 1 MB at 100 kB/s
    table = text.split("jobs at the end:")[1]
    assert re.search(r"tool\s+\{[0-9A-F-]{36}\}\s+alice\s+DOWNLOAD\s+ACKNOWLEDGED\s+1000000/1000000\s+1/1\s+2", table)
    assert text.rstrip().endswith("PASS download-retries-through-503 [win11]: 11/11 steps")


# A wrong expectation -------------------------------------------------------------------------------------


WRONG = BASE + """
[[step]]
note = "the author believes a standard user may always set a helper"
caller = "alice"
job = "j"
call = "set_helper_token"
impersonate = "hU"
expect = "S_OK"

[[step]]
caller = "alice"
job = "j"
call = "get_state"
returns = "SUSPENDED"
"""


def test_a_wrong_expectation_fails_with_a_readable_message(tmp_path: Path) -> None:
    path = write(tmp_path, WRONG)
    code, out, err = cli(str(path))
    assert code == 1
    # post-1607 allows it (SetHelperToken page), pre-1607 does not: only the pre-1607 run fails.
    line = WRONG.splitlines().index("[[step]]", WRONG.splitlines().index("[[step]]") + 1) + 1
    assert err.splitlines() == [
        f"{path}:{line}: scenario 'tiny' [win10-1511] step 2 (alice: j.IBitsTokenOptions.set_helper_token() "
        "impersonating hU):",
        "  expected S_OK 0x00000000, got E_ACCESSDENIED 0x80070005",
        "  (1 later step(s) not run)",
    ]
    assert "FAIL tiny [win10-1511]: step 2 of 3 failed" in out
    assert "PASS tiny [win11]: 3/3 steps" in out


def test_failures_of_state_returns_and_transitions_name_what_was_expected(tmp_path: Path) -> None:
    text = BASE + textwrap.dedent(
        """
        [[step]]
        caller = "alice"
        job = "j"
        call = "get_display_name"
        returns = "k"

        [[step]]
        check = "j"
        state = "QUEUED"
        """
    )
    (first, _) = run(loads(text, tmp_path / "x.toml"))
    assert first.failed_step is not None
    assert first.failed_step.failures == ["expected the call to return 'k', it returned 'j'"]
    text = text.replace('returns = "k"', 'returns = "j"')
    (first, _) = run(loads(text, tmp_path / "x.toml"))
    assert first.failed_step is not None and first.failed_step.index == 3
    assert first.failed_step.failures == ["expected job 'j' in state QUEUED, it is SUSPENDED"]
    text = text.replace('state = "QUEUED"', "transitions = []")
    text = text.replace('check = "j"', 'caller = "alice"\njob = "j"\ncall = "suspend"')
    text += '\n[[step]]\ncaller = "alice"\njob = "j"\ncall = "cancel"\ntransitions = ["ACKNOWLEDGED"]\n'
    (first, _) = run(loads(text, tmp_path / "x.toml"))
    assert first.failed_step is not None
    assert first.failed_step.failures == ["expected job 'j' to pass through ACKNOWLEDGED, it went CANCELLED"]


def test_a_failing_call_without_expect_is_a_failure(tmp_path: Path) -> None:
    text = BASE + '\n[[step]]\ncaller = "alice"\njob = "j"\ncall = "resume"\n'
    (first, _) = run(loads(text, tmp_path / "x.toml"))
    assert first.failed_step is not None
    assert first.failed_step.failures == [
        "expected success, got BG_E_EMPTY 0x80200003 (the step gives no `expect`, so it must succeed)"
    ]


# Malformed files -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "path", "message"),
    [
        (('job = "j"', 'job = "j"\nexpekt = "S_OK"'), "step[0].expekt", "unknown field"),
        (('job = "j"', 'job = "j"\nexpect = "E_ACCES"'), "step[0].expect", "unknown HRESULT 'E_ACCES'"),
        (('job = "j"', 'job = "j"\nstate = "DONE"'), "step[0].state", "unknown job state 'DONE'"),
        (('call = "create_job"', 'call = "create_jobs"'), "step[0].call", "'create_jobs' is not an emulated method"),
        (('caller = "alice"', 'caller = "alicia"'), "step[0].caller", "unknown caller 'alicia'"),
        (('alice = "alice"', 'alice = "alicia"'), "sessions.alice.account", "unknown account 'alicia'"),
        (('"pre-1607", ', '"pre-1607", "win12", '), "scenario.profiles", "unknown profile 'win12'"),
        (('job = "j"', 'job = "j"\nargs = { name = "x" }'), "step[0].args", "unknown argument 'name'"),
        (('job = "j"', 'job = "j"\nargs = { job_type = "DOWNLOD" }'), "step[0].args", "unknown JobType 'DOWNLOD'"),
        (('job = "j"', 'job = "j"\nadvance = 3'), "step[0]", "a step needs exactly one action key"),
        (('job = "j"', 'job = "j"\non.win7.expect = "S_OK"'), "step[0].on.win7", "not among the scenario's profiles"),
    ],
)
def test_a_malformed_scenario_is_rejected_with_the_field_named(
    tmp_path: Path, change: tuple[str, str], path: str, message: str
) -> None:
    text = BASE.replace(*change)
    with pytest.raises(ScenarioError) as e:
        loads(text, tmp_path / "bad.toml")
    problems = e.value.problems
    assert len(problems) == 1, problems
    (p,) = problems
    assert p.path == path
    assert message in p.message
    assert p.line is not None
    assert str(p).startswith(f"{tmp_path / 'bad.toml'}:{p.line}: {path}: ")
    # The line is the one that holds the field (or the header of the table missing it).
    wanted = change[1].splitlines()[-1].split("=")[0].strip()
    assert wanted.split(".")[0] in text.splitlines()[p.line - 1] or text.splitlines()[p.line - 1] == "[[step]]"


@pytest.mark.parametrize(
    ("cost", "message"),
    [('"ROAMING|BOGUS"', "unknown CostState 'BOGUS'"), ('"IGNORE_CONGESTION"', "not a network cost state"),
     ("0", "not a network cost state"), ("true", "names joined with '|'")],
)
def test_a_cost_step_takes_network_cost_states_only(tmp_path: Path, cost: str, message: str) -> None:
    """``cost`` sets svc.network.cost_state (docs/scenarios.md): CostState names or an integer, and only the
    BITS_COST_STATE state bits (https://learn.microsoft.com/en-us/windows/win32/bits/bits-cost-state):
    IGNORE_CONGESTION is an option of a job's policy, not a state."""
    text = BASE + f"\n[[step]]\ncost = {cost}\n"
    with pytest.raises(ScenarioError) as e:
        loads(text, tmp_path / "bad.toml")
    (p,) = e.value.problems
    assert p.path == "step[1].cost"
    assert message in p.message


@pytest.mark.parametrize(
    ("policy", "path", "message"),
    [
        ("{ job_inactivity_timeout = 0 }", "step[1].policy", "job_inactivity_timeout must be in 1..999, not 0"),
        ("{ max_internet_bandwidth = { start_hour = 24, end_hour = 2, kbps = 0 } }", "step[1].policy",
         "start_hour must be in 0..23, not 24"),
        ("{ max_jobs_per_user = 1.0 }", "step[1].policy.max_jobs_per_user", "valid integer"),
        ("{ max_jobs_per_user = true }", "step[1].policy.max_jobs_per_user", "valid integer"),
        ("{ max_internet_bandwidth = { start_hour = 1, end_hour = 2 } }",
         "step[1].policy.max_internet_bandwidth.kbps", "required field missing"),
        ("{ max_jobs = 5 }", "step[1].policy.max_jobs", "unknown field"),
    ],
)
def test_a_policy_step_is_refused_with_the_field_named(tmp_path: Path, policy: str, path: str, message: str) -> None:
    """``policy`` sets svc.group_policy (docs/scenarios.md): the value ranges of the Policy CSP
    (https://learn.microsoft.com/en-us/windows/client-management/mdm/policy-csp-bits) are GroupPolicy's own, and
    a value of the wrong type or an unknown field is refused before anything runs."""
    text = BASE + f"\n[[step]]\npolicy = {policy}\n"
    with pytest.raises(ScenarioError) as e:
        loads(text, tmp_path / "bad.toml")
    (p,) = e.value.problems
    assert p.path == path
    assert message in p.message


def test_a_policy_step_sets_the_group_policy_and_an_empty_one_clears_it(tmp_path: Path) -> None:
    """Group policies page (https://learn.microsoft.com/en-us/windows/win32/bits/group-policies): "If the policy
    value is not set, BITS uses the default policy value" — ``policy = {}`` configures nothing; a quota of 1 job
    per user makes alice's second CreateJob fail with BG_E_TOO_MANY_JOBS_PER_USER."""
    text = BASE.replace('[[step]]\ncaller = "alice"\ncall = "create_job"\njob = "j"\n', "") + textwrap.dedent(
        """
        [[step]]
        policy = { max_jobs_per_user = 1 }

        [[step]]
        caller = "alice"
        call = "create_job"
        job = "j"

        [[step]]
        caller = "alice"
        call = "create_job"
        job = "k"
        expect = "BG_E_TOO_MANY_JOBS_PER_USER"

        [[step]]
        policy = {}

        [[step]]
        caller = "alice"
        call = "create_job"
        job = "l"
        """
    )
    results = run(loads(text, tmp_path / "x.toml"))
    assert [r.failed_step for r in results] == [None, None]


def test_missing_fields_point_at_their_table(tmp_path: Path) -> None:
    text = BASE + '\n[[step]]\ncaller = "alice"\njob = "j"\n'
    with pytest.raises(ScenarioError) as e:
        loads(text, tmp_path / "bad.toml")
    (p,) = e.value.problems
    assert p.path == "step[1]"
    lines = text.splitlines()
    assert p.line == len(lines) - lines[::-1].index("[[step]]")


def test_not_toml_and_cli_exit_status(tmp_path: Path) -> None:
    path = write(tmp_path, "[scenario\nname = 1\n")
    code, out, err = cli(str(path))
    assert code == 2
    assert err.startswith(f"{path}: not valid TOML: ")
    assert "line 1" in err
    bad = write(tmp_path, BASE.replace('job = "j"', 'job = "j"\nexpekt = 1'), "scenario_bad.toml")
    code, out, err = cli(str(bad), "--json")
    assert code == 2
    doc = json.loads(out)
    assert doc["passed"] is False
    assert doc["load_errors"][0]["problems"][0]["path"] == "step[0].expekt"
    lines = bad.read_text().splitlines()
    assert doc["load_errors"][0]["problems"][0]["line"] == lines.index("expekt = 1") + 1


# JSON ------------------------------------------------------------------------------------------------------


def test_json_output_is_parsed() -> None:
    path = ROOT / "fixtures" / "scenario_logoff_mid_transfer.toml"
    code, out, err = cli(str(path), "--json", "--profile", "post-1607")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["passed"] is True
    assert doc["load_errors"] == []
    (run_doc,) = doc["runs"]
    assert run_doc["profile"] == "win11"
    assert run_doc["profile_as_written"] == "post-1607"
    assert run_doc["steps_not_run"] == 0
    logoff = next(s for s in run_doc["steps"] if s["action"] == "logoff")
    assert logoff["state_changes"] == [{"job": "update", "from": "TRANSFERRING", "to": "ERROR", "at": 2.0}]
    sid = next(s for s in run_doc["steps"] if s["call"] == "get_helper_token_sid")
    assert sid["hresult"] == {"value": 0, "hex": "0x00000000", "name": "S_OK"}
    assert sid["returned"] is None
    assert {j["name"]: j["state"] for j in run_doc["jobs"]} == {
        "update": "ACKNOWLEDGED",
        "second": "TRANSFERRED",
        "movie": "TRANSFERRED",
    }
    update = run_doc["jobs"][0]
    assert update["owner"] == "SYSTEM" and update["error_count"] == 1 and update["bytes_transferred"] == 1000


def test_json_reports_a_failure(tmp_path: Path) -> None:
    code, out, _ = cli(str(write(tmp_path, WRONG)), "--json")
    assert code == 1
    doc = json.loads(out)
    legacy, current = doc["runs"]
    assert (legacy["passed"], current["passed"]) == (False, True)
    failed = legacy["steps"][-1]
    assert failed["hresult"]["name"] == "E_ACCESSDENIED"
    assert failed["failures"] == ["expected S_OK 0x00000000, got E_ACCESSDENIED 0x80070005"]
    assert "step 2" in legacy["failure"]


# The demo --------------------------------------------------------------------------------------------------


def test_demo_prints_both_profiles_side_by_side_and_a_download_on_sqlite() -> None:
    text = "\n".join(demo())
    lines = text.splitlines()
    header = next(line for line in lines if line.strip().startswith("step"))
    assert "pre-1607 (win10-1511)" in header and "post-1607 (win11)" in header
    assert header.index("pre-1607") < header.index("post-1607")

    def row(label: str) -> list[str]:
        line = next(line for line in lines if label in line)
        return line.split(")")[-1].split() if "(T" in line else line.split(label)[1].split()

    # SetHelperToken page: pre-1607 needs an administrator-owned job; from 1607 the owner may set it.
    assert row("standard user sets a non-admin helper on her own job") == ["E_ACCESSDENIED", "S_OK"]
    assert row("NetworkService sets the logged-on user's token as helper") == ["E_ACCESSDENIED", "S_OK"]
    assert row("standard user sets an administrator helper") == ["E_ACCESSDENIED", "E_ACCESSDENIED"]
    assert row("she reads the helper's SID back") == ["E_ACCESSDENIED", "S_OK", "hU"]
    assert "SQLite file store" in text
    assert "tool: TRANSFERRING → TRANSFERRED at t+130s" in text
    assert lines[-1].startswith("all 3 runs passed")


def test_demo_is_the_cli_default_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo"]) == 0
    assert "post-1607 (win11)" in capsys.readouterr().out


def test_side_by_side_only_lists_calls() -> None:
    runs = run(load(ROOT / "fixtures" / "scenario_credentials_401.toml"))
    table = side_by_side(runs)
    assert "local file" not in table
    assert re.search(r"Basic without a user name is refused \(T52\)\s+E_INVALIDARG\s+E_INVALIDARG", table)


def test_bundled_dir_is_the_checkout_fixtures() -> None:
    assert bundled_dir() == ROOT / "fixtures"


# The pytest hook -------------------------------------------------------------------------------------------


def test_pytest_collects_a_users_scenarios_and_reports_failures_readably(pytester: pytest.Pytester) -> None:
    pytester.makefile(".toml", bits_mine=BASE)
    pytester.makefile(".toml", scenario_wrong=WRONG)
    pytester.makefile(".toml", scenario_bad=BASE.replace('job = "j"', 'job = "j"\nexpect = "E_NOPE"'))
    pytester.makefile(".toml", settings='[tool]\nname = "not a scenario"\n')
    result = pytester.runpytest("-p", "no:cacheprovider", "-v")
    result.assert_outcomes(passed=3, failed=2)
    result.stdout.fnmatch_lines(
        [
            "*bits_mine.toml::pre-1607 PASSED*",
            "*bits_mine.toml::post-1607 PASSED*",
            "*scenario_bad.toml::load FAILED*",
            "*scenario_wrong.toml::pre-1607 FAILED*",
            "*scenario_wrong.toml::post-1607 PASSED*",
            "scenario file rejected:",
            "*scenario_bad.toml:*: step[[]0[]].expect: unknown HRESULT 'E_NOPE'*",
            "*scenario 'tiny' [[]win10-1511[]] step 2 (alice: j.IBitsTokenOptions.set_helper_token() *hU):",
            "*expected S_OK 0x00000000, got E_ACCESSDENIED 0x80070005",
            "*transcript:*",
        ]
    )
    assert "settings.toml" not in result.stdout.str()


def test_pytest_scenario_patterns_are_configurable(pytester: pytest.Pytester) -> None:
    pytester.makefile(".toml", story=BASE)
    pytester.makeini("[pytest]\nbits_scenario_files = story.toml\n")
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)


# The format page -------------------------------------------------------------------------------------------


def test_the_format_pages_examples_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """docs/scenarios.md: the small TOML example passes on both profiles; the Python example runs."""
    text = (ROOT / "docs" / "scenarios.md").read_text()
    (toml_block,) = re.findall(r"```toml\n(\[scenario\].*?)```", text, flags=re.S)
    results = run(loads(toml_block, tmp_path / "example.toml"))
    assert [r.passed for r in results] == [True, True]
    (python_block,) = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    monkeypatch.chdir(ROOT)
    exec(compile(python_block, "docs/scenarios.md", "exec"), {})


def test_the_format_page_documents_every_field() -> None:
    """Every field of every model appears in docs/scenarios.md."""
    from pydantic import BaseModel

    from emulator.scenarios import model

    text = (ROOT / "docs" / "scenarios.md").read_text()
    classes: list[type[BaseModel]] = [
        model.Header, model.AccountSpec, model.SessionSpec, model.CallerSpec, model.BlanketSpec,
        model.ResourceSpec, model.FilesystemSpec, model.ProgressExpect, model.ErrorExpect, model.CallStep,
        model.LogonStep, model.LogoffStep, model.NetworkStep, model.CostStep, model.AdvanceStep, model.RunUntilIdleStep,
        model.RestartStep, model.CheckStep, model.ResourceStep, model.ResourceUpdate, model.LocalFileStep,
    ]  # fmt: skip
    for cls in classes:
        for name in cls.model_fields:
            assert f"`{name}" in text, f"{cls.__name__}.{name} is not documented"


# Every action, and the locator -------------------------------------------------------------------------------


def test_every_kind_of_step_runs(tmp_path: Path) -> None:
    """Manager calls with ${job:…}, file methods, enumerators, get_error, a server change, a restart, a
    check, a TypeError at the API edge, a final job reached through a held pointer (tests/data)."""
    text = (ROOT / "tests" / "data" / "every_action.toml").read_text()
    text += '\n[[step]]\nlogoff = "bob"\n\n[[step]]\nlogoff = "bob"\n'
    (result,) = run(loads(text, tmp_path / "every.toml"))
    assert [s.passed for s in result.steps].count(False) == 1
    failed = result.failed_step
    assert failed is not None and failed.index == result.total_steps
    assert failed.failures == ["logoff refused: logon session 65538 of bob has already logged off"]
    by_call = {s.call: s for s in result.steps if s.call}
    assert by_call["get_error"].returned == {"context": "REMOTE_FILE", "code": "BG_E_HTTP_ERROR_404 0x80190194"}
    assert by_call["set_display_name"].python_error == "TypeError: name must be a str or None, not int"
    assert result.jobs[0].state == "CANCELLED"


@pytest.mark.parametrize(
    ("addition", "path", "line_text"),
    [
        ('\n[network."http://x/a b"]\nrate = -1\n', "network.'http://x/a b'.rate", "rate = -1"),
        ('\n[network."http://x/"]\ncontent = "a"\nsize = 3\n', "network.'http://x/'", '[network."http://x/"]'),
        (
            "\n[filesystem]\nrestricted = { 'C:\\d' = [\"nobody\"] }\n",
            "filesystem.restricted.'C:\\\\d'[0]",
            "restricted =",
        ),
    ],
)
def test_problems_in_tables_keyed_by_urls_and_paths_are_located(
    tmp_path: Path, addition: str, path: str, line_text: str
) -> None:
    head, steps = BASE.split("[[step]]", 1)
    text = head + addition + "\n[[step]]" + steps
    with pytest.raises(ScenarioError) as e:
        loads(text, tmp_path / "bad.toml")
    (p,) = e.value.problems
    assert p.path == path
    assert p.line is not None and text.splitlines()[p.line - 1].startswith(line_text)


def test_the_scenario_subcommand_is_registered(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["scenario", "run", str(ROOT / "fixtures" / "scenario_upload_reply.toml")]) == 0
    assert "PASS upload-reply [win11]: 12/12 steps" in capsys.readouterr().out
    assert main(["scenario", "run", str(write(tmp_path, WRONG)), "--profile", "post-1607"]) == 0
    assert main(["scenario", "run", str(write(tmp_path, WRONG)), "--profile", "pre-1607"]) == 1
    assert main(["scenario", "run", str(write(tmp_path, WRONG)), "--profile", "win7"]) == 2
    assert "does not run on 'win7'" in capsys.readouterr().err


def test_set_blanket_arguments_are_checked(tmp_path: Path) -> None:
    step = '\n[[step]]\ncaller = "alice"\njob = "j"\ncall = "set_blanket"\nargs = {}\n'
    for args, message in [
        ('{ pointer = "proxy" }', "pointer must be one of manager, job, token_options, not 'proxy'"),
        ('{ level = "HIGH" }', "Input should be 'DEFAULT', 'ANONYMOUS', 'IDENTIFY', 'IMPERSONATE' or 'DELEGATE'"),
        ('{ cloak = "DYNAMIC" }', "unknown argument 'cloak' for set_blanket(pointer, level, cloaking)"),
    ]:
        with pytest.raises(ScenarioError) as e:
            loads(BASE + step.replace("args = {}", f"args = {args}"), tmp_path / "b.toml")
        assert [(p.path, p.message) for p in e.value.problems] == [("step[1].args", message)]


# Timelines -----------------------------------------------------------------------------------------------

SVG_NS = "{http://www.w3.org/2000/svg}"


def test_timeline_of_every_shipped_scenario_names_each_job_and_state(tmp_path: Path) -> None:
    """Issue 10: ``scenario run --timeline DIR`` draws each run's svc.history; the SVG parses and names
    every job (its GUID) and every state the run's jobs went through."""
    import xml.etree.ElementTree as ET

    code, out, err = cli(*map(str, FIXTURES), "--timeline", str(tmp_path / "cli"))
    assert code == 0, err
    drawn = sorted((tmp_path / "cli").glob("*.svg"))
    assert len(drawn) == len(re.findall(r"^timeline: ", out, flags=re.M)) >= len(FIXTURES)
    for scenario in FIXTURES:
        for result in run(load(scenario), timelines=tmp_path / "api"):
            svg = tmp_path / "api" / f"{scenario.stem}-{result.profile}.svg"
            assert result.timeline == svg
            root = ET.parse(svg).getroot()
            assert root.tag == f"{SVG_NS}svg"
            texts = "\n".join(
                "".join(el.itertext()) for el in root.iter() if el.tag in (f"{SVG_NS}text", f"{SVG_NS}title")
            )
            for job in result.jobs:
                assert job.id in texts, (svg.name, job.name)  # each job's row is titled with its GUID
            for change in (c for step in result.steps for c in step.changes):
                assert change.old in texts and change.new in texts, (svg.name, change)


def test_timeline_path_is_in_the_json_document(tmp_path: Path) -> None:
    scenario = ROOT / "fixtures" / "scenario_download_retries.toml"
    code, out, _ = cli(str(scenario), "--json", "--timeline", str(tmp_path))
    assert code == 0
    (run_doc,) = json.loads(out)["runs"]
    assert run_doc["timeline"] == str(tmp_path / f"scenario_download_retries-{run_doc['profile']}.svg")


def test_a_remote_powershell_session_runs_its_jobs_from_1607_only(tmp_path: Path) -> None:
    """T38: a session of type REMOTE_POWERSHELL (a NETWORK logon that is a remote PowerShell session) keeps its
    account's jobs going from Windows 10 1607, and does not before
    (https://learn.microsoft.com/en-us/windows/win32/bits/using-windows-powershell-to-create-bits-transfer-jobs)."""
    text = textwrap.dedent(
        """
        [scenario]
        name = "remote-powershell"
        profiles = ["pre-1607", "post-1607"]

        [accounts]
        bob = {}

        [sessions]
        ps = { account = "bob", type = "REMOTE_POWERSHELL" }

        [filesystem]
        directories = ['C:\\Users\\bob']

        [network."http://server/f"]
        size = 100
        rate = 10

        [[step]]
        caller = "ps"
        call = "create_job"
        job = "j"

        [[step]]
        caller = "ps"
        job = "j"
        call = "add_file"
        args = ['http://server/f', 'C:\\Users\\bob\\f']

        [[step]]
        caller = "ps"
        job = "j"
        call = "resume"

        [[step]]
        advance = 5

        [[step]]
        check = "j"
        on.pre-1607.state = "QUEUED"
        on.post-1607.state = "TRANSFERRING"

        [[step]]
        logoff = "ps"

        [[step]]
        advance = 5

        [[step]]
        check = "j"
        state = "QUEUED"
        """
    )
    results = run(loads(text, tmp_path / "x.toml"))
    assert [r.failed_step for r in results] == [None, None]


def test_a_scenario_plays_a_failing_server_application(tmp_path: Path) -> None:
    """``application_status`` of a network resource (docs/scenarios.md) is the fake network's
    ``application_status``: a 500 from the server application fails the upload-reply job with context
    REMOTE_APPLICATION and BG_E_HTTP_ERROR_500, transient (IBackgroundCopyError::GetError page,
    https://learn.microsoft.com/en-us/windows/win32/api/bits/nf-bits-ibackgroundcopyerror-geterror); a
    ``resource`` step that sets it to 200 lets Resume finish the job."""
    text = textwrap.dedent(
        """\
        [scenario]
        name = "app"
        profile = "post-1607"

        [accounts]
        alice = {}

        [sessions]
        alice = "alice"

        [filesystem.files]
        'C:\\Users\\alice\\q.txt' = "question"

        [network."http://server/up"]
        upload = true
        reply = "answer"
        application_status = 500

        [[step]]
        caller = "alice"
        call = "create_job"
        job = "ask"
        args = { display_name = "ask", job_type = "UPLOAD_REPLY" }

        [[step]]
        caller = "alice"
        job = "ask"
        call = "add_file"
        args = ['http://server/up', 'C:\\Users\\alice\\q.txt']

        [[step]]
        caller = "alice"
        job = "ask"
        call = "resume"

        [[step]]
        advance = 1

        [[step]]
        check = "ask"
        state = "TRANSIENT_ERROR"
        error = { context = "REMOTE_APPLICATION", code = "BG_E_HTTP_ERROR_500" }
        error_count = 1

        [[step]]
        resource = "http://server/up"
        set = { application_status = 200 }

        [[step]]
        caller = "alice"
        job = "ask"
        call = "resume"

        [[step]]
        run_until_idle = true

        [[step]]
        check = "ask"
        state = "TRANSFERRED"
        """
    )
    (only,) = run(loads(text, tmp_path / "x.toml"))
    assert only.failed_step is None, only.failed_step
    bad = text.replace("application_status = 500", "application_status = 700")
    with pytest.raises(ScenarioError, match="application_status"):
        loads(bad, tmp_path / "y.toml")
