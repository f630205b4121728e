"""The outbox commands: endpoints, send, worker, status, resend, recover; exit codes."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hooklab.harness.cli.main import main
from hooklab.harness.cli.outbox import parse_since
from hooklab.harness.receiver import create_receiver
from hooklab.harness.server import LiveServer
from hooklab.model.errors import ConfigError

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
NEW_SECRET = "whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"


class Cli:
    """Runs ``hooklab`` in-process on one database and keeps everything it printed."""

    def __init__(self, db: Path, capsys: Any) -> None:
        self.db = db
        self.capsys = capsys
        self.printed: list[str] = []

    def __call__(self, *argv: str) -> tuple[int, str, str]:
        command, *rest = argv
        if command == "endpoints":
            command, rest = f"endpoints {rest[0]}", rest[1:]
        try:
            code = main([*command.split(), "--db", str(self.db), *rest])
        except SystemExit as exc:  # argparse rejected a flag
            code = int(exc.code or 0)
        out, err = self.capsys.readouterr()
        self.printed += [out, err]
        return code, out, err

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        with sqlite3.connect(self.db) as conn:
            return conn.execute(sql).fetchall()


@pytest.fixture
def cli(tmp_path: Path, capsys: Any) -> Iterator[Cli]:
    runner = Cli(tmp_path / "hooks.db", capsys)
    yield runner
    assert not any(SECRET in text or NEW_SECRET in text for text in runner.printed), (
        "a secret was printed in full")


@pytest.fixture(scope="module")
def receiver() -> Iterator[LiveServer]:
    with LiveServer(create_receiver([SECRET, NEW_SECRET])) as server:
        yield server


def test_endpoints_add_list_and_secrets_are_masked(cli: Cli) -> None:
    code, out, _ = cli("endpoints", "add", "https://hooks.example.test/in", "--secret", SECRET,
                       "--id", "ep_1", "--events", "invoice.*,customer.created",
                       "--policy", "svix", "--timeout", "10")
    assert (code, out.strip()) == (0, "ep_1")
    code, out, _ = cli("endpoints", "list", "--json")
    (listed,) = json.loads(out)["items"]
    assert listed["events"] == ["invoice.*", "customer.created"]
    assert listed["policy"] == "svix" and listed["timeout"] == 10.0
    assert listed["secrets"][0]["secret"].startswith("whsec_") and "…" in (
        listed["secrets"][0]["secret"])
    code, out, _ = cli("endpoints", "list")
    assert code == 0 and "ep_1" in out
    assert cli.rows("SELECT secrets FROM endpoints")[0][0].count(SECRET) == 1  # stored


@pytest.mark.parametrize(("args", "message"), [
    (["ftp://example.com/", "--secret", SECRET], "must use http or https"),
    (["https://example.com/", "--secret", "whsec_short"], "secret"),
    (["https://example.com/", "--secret", SECRET, "--policy", "nope"], "unknown retry policy"),
    (["https://example.com/", "--secret", SECRET, "--events", "a..b"], "malformed"),
    (["http://169.254.169.254/latest", "--secret", SECRET, "--allow-private"], "metadata"),
    (["http://127.0.0.1:9/", "--secret", SECRET], "loopback"),
    (["http://[::1]:9/", "--secret", SECRET], "loopback"),
    (["https://example.com/", "--secret", SECRET, "--timeout", "0"], "--timeout"),
])
def test_bad_endpoint_input_exits_2_and_stores_nothing(cli: Cli, args: list[str],
                                                       message: str) -> None:
    code, _, err = cli("endpoints", "add", *args)
    assert code == 2 and message in err and "Traceback" not in err
    assert not cli.db.exists() or cli.rows("SELECT count(*) FROM endpoints") == [(0,)]


def test_endpoint_lifecycle_and_unknown_ids(cli: Cli) -> None:
    cli("endpoints", "add", "https://a.example.test/", "--secret", SECRET, "--id", "ep_1")
    assert cli("endpoints", "add", "https://b.example.test/", "--secret", SECRET,
               "--id", "ep_1")[0] == 2
    assert cli("endpoints", "disable", "ep_1", "--reason", "maintenance")[0] == 0
    assert cli.rows("SELECT enabled, disabled_reason FROM endpoints") == [(0, "maintenance")]
    assert cli("endpoints", "enable", "ep_1")[0] == 0
    code, _, err = cli("endpoints", "rotate", "ep_1", "--secret", NEW_SECRET, "--grace", "60")
    assert code == 0 and "whsec_AA…" in err
    assert len(json.loads(cli.rows("SELECT secrets FROM endpoints")[0][0])) == 2
    for action in ("disable", "enable", "remove"):
        code, _, err = cli("endpoints", action, "ep_nope")
        assert code == 2 and "ep_nope" in err
    assert cli("endpoints", "remove", "ep_1")[0] == 0
    assert cli.rows("SELECT count(*) FROM endpoints") == [(0,)]


def test_send_prints_the_id_and_the_id_is_an_idempotency_key(cli: Cli, tmp_path: Path) -> None:
    cli("endpoints", "add", "https://a.example.test/", "--secret", SECRET, "--id", "ep_1")
    code, out, _ = cli("send", "--type", "invoice.paid", "--data", '{"amount": 42}')
    assert code == 0 and out.strip().startswith("msg_")
    data = tmp_path / "data.json"
    data.write_text('{"amount": 7}')
    for _ in range(2):
        code, out, _ = cli("send", "--type", "invoice.paid", "--data", f"@{data}",
                           "--id", "order-7")
        assert (code, out.strip()) == (0, "order-7")
    assert cli.rows("SELECT count(*) FROM outbox_messages") == [(2,)]
    assert cli.rows("SELECT count(*) FROM deliveries") == [(2,)]
    body = cli.rows("SELECT body FROM outbox_messages WHERE id = 'order-7'")[0][0]
    assert json.loads(body) == {"type": "invoice.paid", "data": {"amount": 7}}


@pytest.mark.parametrize(("args", "message"), [
    (["--data", '{"amount": 4'], "not valid JSON"),
    (["--data", "@/nonexistent/data.json"], "'/nonexistent/data.json': No such file or directory"),
    (["--data", "@/proc/self/exe"], "is not UTF-8 text"),
    (["--data", '"' + "x" * 2000 + '"', "--max-payload", "1000"], "largest payload"),
    (["--data", "{}", "--id", "has space"], "message id"),
])
def test_bad_send_input_exits_2_and_leaves_the_database_as_it_was(
        cli: Cli, args: list[str], message: str) -> None:
    cli("endpoints", "add", "https://a.example.test/", "--secret", SECRET)
    code, _, err = cli("send", "--type", "invoice.paid", *args)
    assert code == 2 and message in err
    assert cli.rows("SELECT count(*) FROM outbox_messages") == [(0,)]
    assert cli.rows("SELECT count(*) FROM deliveries") == [(0,)]


def test_a_database_locked_by_another_process_exits_2(cli: Cli) -> None:
    cli("endpoints", "add", "https://a.example.test/", "--secret", SECRET)
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sqlite3, sys, time\n"
         "c = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
         "c.execute('BEGIN EXCLUSIVE'); print('locked', flush=True); time.sleep(30)",
         str(cli.db)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        code, _, err = cli("send", "--type", "a.b", "--data", "{}", "--lock-timeout", "0.2")
        assert code == 2 and "locked" in err
    finally:
        holder.kill()
        holder.wait()
    assert cli.rows("SELECT count(*) FROM outbox_messages") == [(0,)]


def test_a_missing_database_is_named_and_not_created(cli: Cli) -> None:
    for argv in (["status"], ["send", "--type", "a.b", "--data", "{}"], ["worker"]):
        code, _, err = cli(*argv)
        assert code == 2 and "does not exist" in err
    assert not cli.db.exists()


def test_secrets_can_come_from_a_file_or_stdin(cli: Cli, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    path = tmp_path / "secret.txt"
    path.write_text(SECRET + "\n")
    assert cli("endpoints", "add", "https://a.example.test/", "--secret", f"@{path}",
               "--id", "ep_1")[0] == 0
    monkeypatch.setattr("sys.stdin", io.StringIO(NEW_SECRET + "\n"))
    assert cli("endpoints", "rotate", "ep_1", "--secret", "@-")[0] == 0
    stored = json.loads(cli.rows("SELECT secrets FROM endpoints")[0][0])
    assert [s[0] for s in stored] == [NEW_SECRET, SECRET]
    code, _, err = cli("endpoints", "rotate", "ep_1", "--secret", "@/nonexistent")
    assert code == 2 and "cannot read the secret" in err


def test_a_file_that_is_not_a_database_exits_2(cli: Cli) -> None:
    cli.db.write_bytes(b"this is not sqlite" * 100)
    code, _, err = cli("status")
    assert code == 2 and "not a valid hooklab SQLite database" in err


def test_worker_status_resend_and_recover_end_to_end(cli: Cli, receiver: LiveServer) -> None:
    cli("endpoints", "add", receiver.url + "/hooks", "--secret", SECRET, "--id", "ep_1",
        "--allow-private")
    cli("endpoints", "add", "http://127.0.0.1:9/", "--secret", SECRET, "--id", "ep_dead",
        "--allow-private")
    cli("send", "--type", "invoice.paid", "--data", "{}", "--id", "msg_1")
    fast = '{"schedule": "constant", "delay": 0.01, "max_attempts": 2}'
    code, _, err = cli("worker", "--until-idle", "--allow-private", "--policy", fast)
    assert code == 0 and "3 attempts (1 delivered, 2 failed attempts)" in err
    code, out, _ = cli("status", "msg_1", "--json")
    report = json.loads(out)
    by_endpoint = {d["endpoint_id"]: d for d in report["deliveries"]["items"]}
    assert by_endpoint["ep_1"]["status"] == "delivered"
    assert by_endpoint["ep_dead"]["status"] == "failed"
    assert [a["error"] for a in by_endpoint["ep_dead"]["attempt_log"]] == [
        "connection_refused"] * 2
    code, out, _ = cli("status", "--status", "failed", "--json")
    assert [d["endpoint_id"] for d in json.loads(out)["deliveries"]["items"]] == ["ep_dead"]
    assert "message_exhausted" in {e["kind"] for e in json.loads(out)["events"]["items"]}
    code, out, _ = cli("status")
    assert code == 0 and "msg_1" in out and "failed" in out
    code, out, _ = cli("resend", "msg_1", "--endpoint", "ep_1")
    assert code == 0 and "generation 2" in out
    code, out, _ = cli("recover", "--endpoint", "ep_dead", "--since", "1h")
    assert code == 0 and out.startswith("1 failed")
    cli("worker", "--until-idle", "--allow-private", "--policy", fast, "--synchronous", "FULL")
    report = json.loads(cli("status", "msg_1", "--json")[1])
    by_endpoint = {d["endpoint_id"]: d for d in report["deliveries"]["items"]}
    assert by_endpoint["ep_1"]["generation"] == 2
    assert by_endpoint["ep_1"]["earlier_generations"][0]["status"] == "delivered"
    assert by_endpoint["ep_dead"]["generation"] == 2
    code, out, _ = cli("status", "msg_1")
    assert code == 0 and "generation 1: delivered" in out


@pytest.mark.parametrize(("argv", "message"), [
    (["status", "msg_nope"], "not in the outbox"),
    (["resend", "msg_nope"], "not in the outbox"),
    (["recover", "--endpoint", "ep_nope", "--since", "1h"], "not registered"),
    (["recover", "--endpoint", "ep_1", "--since", "yesterday-ish"], "is not a time"),
    (["worker", "--policy", "{bad json"], "not valid JSON"),
    (["worker", "--policy", '{"schedule": "warp"}'], "schedule"),
])
def test_unknown_ids_and_bad_values_exit_2(cli: Cli, argv: list[str], message: str) -> None:
    cli("endpoints", "add", "https://a.example.test/", "--secret", SECRET, "--id", "ep_1")
    code, _, err = cli(*argv)
    assert code == 2 and message in err


def test_parse_since_reads_ages_iso_and_unix_times() -> None:
    assert parse_since("90m", now=10_000.0) == 4600.0
    assert parse_since("2024-01-01T00:00:00Z", now=0) == 1704067200.0
    assert parse_since("2024-01-01T01:00:00+01:00", now=0) == 1704067200.0
    assert parse_since("1704067200", now=0) == 1704067200.0
    with pytest.raises(ConfigError):
        parse_since("soon", now=0)


def test_the_installed_script_sends_and_reports(tmp_path: Path) -> None:
    db = str(tmp_path / "s.db")
    run = [sys.executable, "-m", "hooklab.harness.cli"]
    done = subprocess.run([*run, "endpoints", "add", "https://a.example.test/", "--secret",
                           SECRET, "--db", db], capture_output=True, text=True, check=True)
    assert done.stdout.startswith("ep_")
    done = subprocess.run([*run, "send", "--type", "a.b", "--data", "@-", "--db", db],
                          input='{"x": 1}', capture_output=True, text=True, check=True)
    message_id = done.stdout.strip()
    with sqlite3.connect(db) as conn:  # durable once send has returned
        assert conn.execute("SELECT id FROM outbox_messages").fetchall() == [(message_id,)]
    done = subprocess.run([*run, "status", "--json", "--db", db], capture_output=True,
                          text=True, check=True)
    assert json.loads(done.stdout)["counts"]["pending"] == 1


def test_ssrf_refusal_is_recorded_as_blocked_with_the_rule(cli: Cli, receiver: LiveServer) -> None:
    cli("endpoints", "add", receiver.url + "/hooks", "--secret", SECRET, "--id", "ep_local",
        "--allow-private")
    cli("send", "--type", "invoice.paid", "--data", "{}", "--id", "msg_1")
    fast = '{"schedule": "constant", "delay": 0.01, "max_attempts": 2}'
    code, _, _ = cli("worker", "--until-idle", "--policy", fast)  # no --allow-private
    assert code == 0
    code, out, _ = cli("status", "msg_1", "--json")
    (delivery,) = json.loads(out)["deliveries"]["items"]
    assert delivery["status"] == "failed"
    assert [a["error"] for a in delivery["attempt_log"]] == ["blocked"] * 2


def test_a_bad_secret_is_named_before_the_ssrf_guard_speaks(cli: Cli) -> None:
    code, _, err = cli("endpoints", "add", "http://127.0.0.1:9/hooks", "--secret", "whsec_short")
    assert code == 2
    assert "secret" in err and "refusing to connect" not in err


def test_a_message_reports_nested_lists_are_never_shortened(cli: Cli) -> None:
    cli("endpoints", "add", "http://127.0.0.1:9/", "--secret", SECRET, "--id", "ep_dead",
        "--allow-private")
    cli("send", "--type", "invoice.paid", "--data", "{}", "--id", "msg_1")
    attempts = 4
    fast = f'{{"schedule": "constant", "delay": 0.01, "max_attempts": {attempts}}}'
    assert cli("worker", "--until-idle", "--allow-private", "--policy", fast)[0] == 0
    report = json.loads(cli("status", "msg_1", "--json", "--limit", "1", "--events", "1")[1])
    listed = report["deliveries"]
    assert (listed["total"], listed["truncated"]) == (len(listed["items"]), False)
    assert report["events"]["total"] == len(report["events"]["items"]) > 1  # not --events 1
    (delivery,) = listed["items"]
    assert isinstance(delivery["attempt_log"], list)  # whole, so a plain list
    assert len(delivery["attempt_log"]) == delivery["attempts"] == attempts
