"""Written-behind rows across processes, on a real SQLite file: once written they survive a kill -9
of the process (only what was still queued is lost), and two processes writing the same file at
once lose nothing."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from plugin.storage.store import Store

WRITE_THEN_HOLD = textwrap.dedent(
    """
    import sys, time
    from plugin.storage.store import Store

    store = Store(sys.argv[1])
    store.writer.window = 600.0  # nothing is written unless flushed
    for i in range(200):
        cards = [{"uuid": f"w-{i}-{k}", "topic": "documentation", "rule_id": "r"} for k in range(2)]
        store.record_call("svc", 200, hook_instance=f"written-{i}", cards=cards, rules=["r"])
    store.flush()
    for i in range(100):
        cards = [{"uuid": f"q-{i}", "topic": "documentation", "rule_id": "r"}]
        store.record_call("svc", 200, hook_instance=f"queued-{i}", cards=cards, rules=["r"])
    print("ready", flush=True)
    time.sleep(600)
    """
)

WRITE_MANY = textwrap.dedent(
    """
    import sys
    from plugin.storage.store import Store

    store = Store(sys.argv[1])
    store.writer.window = 0.002
    tag = sys.argv[2]
    for i in range(3000):
        cards = [{"uuid": f"{tag}-{i}-{k}", "topic": "documentation", "rule_id": "r"} for k in range(2)]
        store.record_call("svc", 200, hook_instance=f"{tag}-{i}", cards=cards, rules=["r"], latency_ms=1.0)
        if i % 500 == 0:
            store.record_cards("svc", f"{tag}-{i}", [{"uuid": f"{tag}-{i}-x", "topic": "t", "rule_id": "r"}])
            store.add_audit("svc", 200, hook_instance=f"{tag}-{i}-x")
    store.close()
    """
)


@pytest.mark.slow
def test_kill9__written_rows_kept__only_queued_ones_lost(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    url = f"sqlite:///{db}"
    log = tmp_path / "child.log"
    with (
        log.open("w") as err,
        subprocess.Popen(
            [sys.executable, "-c", WRITE_THEN_HOLD, url], stdout=subprocess.PIPE, stderr=err, text=True
        ) as proc,
    ):
        try:
            assert proc.stdout is not None
            assert proc.stdout.readline().strip() == "ready", log.read_text()
        finally:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        hooks = {r[0] for r in conn.execute("select hook_instance from audit")}
        cards = {r[0] for r in conn.execute("select card_uuid from issued_cards")}
    assert hooks == {f"written-{i}" for i in range(200)}
    assert cards == {f"w-{i}-{k}" for i in range(200) for k in range(2)}
    # The store opens and writes after the crash.
    store = Store(url)
    store.record_call("svc", 200, hook_instance="after", cards=[{"uuid": "a", "topic": "t", "rule_id": "r"}])
    assert store.list_audit()[-1]["hook_instance"] == "after"
    store.close()


@pytest.mark.slow
def test_two_processes_writing_one_file__every_row_kept(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    url = f"sqlite:///{db}"
    Store(url).close()  # tables first, so the two writers start on an existing file
    procs = [
        subprocess.Popen([sys.executable, "-c", WRITE_MANY, url, tag], stderr=subprocess.PIPE, text=True)
        for tag in ("p1", "p2")
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        assert "could not write" not in err and "failed" not in err, err
    with sqlite3.connect(db) as conn:
        audits = conn.execute("select count(*) from audit").fetchone()[0]
        cards = conn.execute("select count(*) from issued_cards").fetchone()[0]
    assert audits == 2 * (3000 + 6)
    assert cards == 2 * (6000 + 6)
