"""The scale-out recipe of docs/deploy.md, run for real on loopback: one PostgreSQL migrated by
`cpt-plugin db upgrade`, two `cpt-plugin serve --workers 2` instances, nginx in front (the
configuration tools/bench/scaleout.py writes and docs/deploy.md shows), JWT required.

In order, on one set-up (module scope; each test leaves it as the next one expects):
1. a token accepted by one instance is refused as a replay by the other, and through nginx;
2. a card issued through one instance gets feedback through the other, and the accept/override
   report over the shared database joins them;
3. under load through nginx, kill -9 of one instance: nginx fails over, every acknowledged feedback
   is in PostgreSQL, and the failed requests are at most those in flight (one per client thread);
4. the killed instance is started again (back in rotation), holds written-behind rows, gets SIGTERM:
   every issued card and audit row is in PostgreSQL after it exits.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest
import requests

from plugin.storage.writer import WINDOW_ENV
from tests.security.conftest import SANDBOX_ISS, Signer, es384_signer
from tools.bench.payloads import SERVICE_ID, order_sign_request
from tools.bench.scaleout import Nginx, free_ports, nginx_site

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

ROOT = Path(__file__).resolve().parents[2]
LOAD_THREADS = 6
HOOK_BODY = json.dumps(order_sign_request(1)).encode()


class Instance:
    """`cpt-plugin serve --workers 2` in its own process group, as systemd would run it."""

    def __init__(self, name: str, port: int, config: Path, log_dir: Path, env: dict[str, str]) -> None:
        self.name = name
        self.port = port
        self.config = config
        self.log = log_dir / f"{name}.log"
        self.env = env
        self.url = f"http://127.0.0.1:{port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Instance:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "plugin.cli", "serve", "--workers", "2"]
                + ["--port", str(self.port), "--config", str(self.config)],
                cwd=ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env={**os.environ, **self.env},
            )
        return self

    def wait_ready(self, timeout: float = 45.0) -> None:
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited: {self.log.read_text()[-3000:]}")
            try:
                if requests.get(f"{self.url}/readyz", timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} not ready: {self.log.read_text()[-3000:]}")

    def kill9(self) -> None:
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def terminate(self, timeout: float = 30.0) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                return self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
                raise
        return self.proc.returncode


@dataclass
class Deployment:
    db_url: str
    nginx: Nginx
    instances: list[Instance]
    signer: Signer
    public_url: str
    config: Path
    events: list[str] = field(default_factory=list)

    def token(self, path: str) -> str:
        return self.signer.token(f"{self.public_url}{path}")

    def call(self, base: str, token: str, path: str = f"/cds-services/{SERVICE_ID}", body: bytes = HOOK_BODY):
        return requests.post(
            f"{base}{path}",
            data=body,
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
            timeout=15,
        )

    def sql(self, query: str, *params: object) -> list[tuple]:
        with psycopg.connect(self.db_url.replace("postgresql://", "postgresql://", 1)) as conn:
            return conn.execute(query, params).fetchall()


@pytest.fixture(scope="module")
def deployment(postgres_cluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    tmp = tmp_path_factory.mktemp("scale")
    db_url = postgres_cluster.create_empty_database()
    proxy_port, port_a, port_b = free_ports(3)
    public_url = f"http://127.0.0.1:{proxy_port}"
    signer = es384_signer()
    (tmp / "ehr-jwks.json").write_text(json.dumps(signer.jwks()))
    config = tmp / "plugin.toml"
    config.write_text(
        f"""
[server]
public_base_url = "{public_url}"
[security]
require_jwt = true
[[security.issuers]]
iss = "{SANDBOX_ISS}"
jwks_file = "{tmp / "ehr-jwks.json"}"
[storage]
url = "{db_url}"
[audit]
log = "off"
"""
    )
    # The schema is made by the migration command, once, before any instance starts.
    done = subprocess.run(
        [sys.executable, "-m", "plugin.cli", "db", "upgrade", "--config", str(config)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    instances = [
        Instance("a", port_a, config, tmp, {}),
        Instance("b", port_b, config, tmp, {}),
    ]
    nginx = Nginx(proxy_port, [f"127.0.0.1:{port_a}", f"127.0.0.1:{port_b}"])
    try:
        for instance in instances:
            instance.start()
        for instance in instances:
            instance.wait_ready()
        nginx.start()
        yield Deployment(db_url, nginx, instances, signer, public_url, config)
    finally:
        nginx.stop()
        for instance in instances:
            if instance.proc is not None and instance.proc.poll() is None:
                os.killpg(instance.proc.pid, signal.SIGKILL)
                instance.proc.wait(10)


def test_nginx_config__is_the_one_docs_deploy_md_shows() -> None:
    doc = (ROOT / "docs" / "deploy.md").read_text()
    assert nginx_site("8080", ["127.0.0.1:8081", "127.0.0.1:8082"]) in doc


def test_replay__refused_by_the_other_instance_and_through_nginx(deployment: Deployment) -> None:
    a, b = deployment.instances
    token = deployment.token(f"/cds-services/{SERVICE_ID}")
    assert deployment.call(a.url, token).status_code == 200
    assert deployment.call(b.url, token).status_code == 401
    assert deployment.call(deployment.public_url, token).status_code == 401

    fresh = deployment.token(f"/cds-services/{SERVICE_ID}")
    assert deployment.call(deployment.public_url, fresh).status_code == 200
    for instance in (a, b):
        assert deployment.call(instance.url, fresh).status_code == 401


def test_feedback_through_one_instance__read_with_its_card_through_the_other(
    deployment: Deployment, capsys: pytest.CaptureFixture[str]
) -> None:
    a, b = deployment.instances
    answer = deployment.call(a.url, deployment.token(f"/cds-services/{SERVICE_ID}"))
    assert answer.status_code == 200
    card = answer.json()["cards"][0]
    path = f"/cds-services/{SERVICE_ID}/feedback"
    feedback = {
        "feedback": [
            {"card": card["uuid"], "outcome": "overridden", "outcomeTimestamp": "2027-01-05T10:00:00Z"}
        ]
    }
    sent = deployment.call(b.url, deployment.token(path), path, json.dumps(feedback).encode())
    assert sent.status_code == 200, sent.text
    # The card's row is written behind by instance a (within ~20 ms); the report joins the two.
    deadline = time.monotonic() + 10
    while not deployment.sql("SELECT 1 FROM issued_cards WHERE card_uuid = %s", card["uuid"]):
        assert time.monotonic() < deadline, "instance a never wrote the issued card"
        time.sleep(0.05)
    from plugin.cli import main

    assert main(["feedback", "--config", str(deployment.config), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    topics = {t["topic"]: t for t in report["topics"]}
    assert topics[card["source"]["topic"]["code"]]["overridden"] == 1


@dataclass
class Outcome:
    kind: str
    started: float
    status: int  # 0: no answer (connection error)
    card: str | None = None


def _load(deployment: Deployment, stop: threading.Event, outcomes: list[Outcome], seed: int) -> None:
    """One client thread: hook calls and feedback posts in turn, each with a fresh token."""
    hook_path = f"/cds-services/{SERVICE_ID}"
    feedback_path = f"{hook_path}/feedback"
    n = 0
    while not stop.is_set():
        n += 1
        started = time.monotonic()
        card = None
        if n % 2:
            kind, path, body = "hook", hook_path, HOOK_BODY
        else:
            kind, path, card = "feedback", feedback_path, f"load-{seed}-{n}-{uuid.uuid4()}"
            item = {"card": card, "outcome": "overridden", "outcomeTimestamp": "2027-01-05T10:00:00Z"}
            body = json.dumps({"feedback": [item]}).encode()
        try:
            status = deployment.call(deployment.public_url, deployment.token(path), path, body).status_code
        except requests.RequestException:
            status = 0
        outcomes.append(Outcome(kind, started, status, card))


def test_kill9_one_instance_under_load__failover__acknowledged_feedback_kept(deployment: Deployment) -> None:
    a, _b = deployment.instances
    outcomes: list[Outcome] = []
    stop = threading.Event()
    threads = [
        threading.Thread(target=_load, args=(deployment, stop, outcomes, i), daemon=True)
        for i in range(LOAD_THREADS)
    ]
    for thread in threads:
        thread.start()
    time.sleep(1.5)
    killed_at = time.monotonic()
    a.kill9()
    time.sleep(2.5)
    stop.set()
    for thread in threads:
        thread.join(20)

    before = [o for o in outcomes if o.started < killed_at]
    after = [o for o in outcomes if o.started > killed_at + 0.5]
    failed = [o for o in outcomes if o.status != 200]
    print(
        f"\nscale-out kill -9: {len(outcomes)} requests, {len(before)} before the kill, "
        f"{len(failed)} failed (statuses {sorted({o.status for o in failed})}), "
        f"bound {LOAD_THREADS} (one in flight per client thread)"
    )
    assert len(before) >= 10 and len(after) >= 10, "too little load to say anything"
    # Only requests in flight on the killed instance may fail: at most one per client thread.
    assert len(failed) <= LOAD_THREADS, [(o.kind, o.status) for o in failed]
    assert all(o.status == 200 for o in after), "nginx did not fail over"
    acknowledged = {o.card for o in outcomes if o.kind == "feedback" and o.status == 200}
    stored = {
        row[0] for row in deployment.sql("SELECT card_uuid FROM feedback WHERE card_uuid LIKE 'load-%%'")
    }
    assert acknowledged and acknowledged <= stored, f"{len(acknowledged - stored)} acknowledged items lost"


def test_restarted_instance__sigterm_writes_every_queued_row(deployment: Deployment) -> None:
    a, b = deployment.instances
    # Back in rotation without touching nginx; every row it writes behind stays queued until it stops.
    a.env = {WINDOW_ENV: "60000"}
    a.start().wait_ready()
    tag = f"drain-{uuid.uuid4().hex[:8]}"
    cards: list[str] = []
    for i in range(20):
        request = order_sign_request(1)
        request["hookInstance"] = f"{tag}-{i}"
        answer = deployment.call(
            a.url, deployment.token(f"/cds-services/{SERVICE_ID}"), body=json.dumps(request).encode()
        )
        assert answer.status_code == 200, answer.text[:300]
        cards += [card["uuid"] for card in answer.json()["cards"]]
    assert deployment.sql("SELECT count(*) FROM audit WHERE hook_instance LIKE %s", f"{tag}-%")[0][0] == 0, (
        "rows were not queued"
    )
    assert a.terminate() == 0
    assert deployment.sql("SELECT count(*) FROM audit WHERE hook_instance LIKE %s", f"{tag}-%")[0][0] == 20
    stored = {
        r[0]
        for r in deployment.sql("SELECT card_uuid FROM issued_cards WHERE hook_instance LIKE %s", f"{tag}-%")
    }
    assert stored == set(cards)
    # The other instance carried on alone.
    assert (
        deployment.call(deployment.public_url, deployment.token(f"/cds-services/{SERVICE_ID}")).status_code
        == 200
    )
    assert b.proc is not None and b.proc.poll() is None
