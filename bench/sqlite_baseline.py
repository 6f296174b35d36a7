#!/usr/bin/env python3
"""The plain-`sqlite3` baseline of issue 16: what an interpreted loop doing
the core of the platform's ingestion stores on this machine.

Each transaction takes FRAMES frames (one per logger, as the platform's
writer takes one frame of every waiting logger) of VALUES values each and
writes, like `commit_ingest`:

* the upload into an idempotency ledger keyed (mn, cn, datatime, pno)
  (`INSERT … ON CONFLICT DO NOTHING`, WITHOUT ROWID);
* its values into a WITHOUT ROWID table keyed like `series`
  (site_id, factor, kind, period_start) with the value as decimal text,
  a 折算 value for some factors, flag, source and received_at;

then commits, in WAL mode with `synchronous=FULL` (a commit is on disk
before the loop goes on, as the platform's ack waits for its commit).

It stores no raw archive, no latest values, no counters and no rollup
queue, parses no frame and answers no socket: it is the floor under the
platform's cost, not a competitor.

Prints one JSON line: values stored per second of wall time and per
second of this process's CPU time (user + system).

    bench/sqlite_baseline.py [--frames 2000] [--values 10] [--seconds 10] [--db PATH] [--rowid]

`--rowid` makes both tables rowid tables (the layout before the platform's
migration 0029), to see what WITHOUT ROWID buys on the write path alone.
"""

import argparse
import json
import os
import sqlite3
import tempfile
import time

SCHEMA = """
CREATE TABLE series (
    site_id       INTEGER NOT NULL,
    factor        TEXT NOT NULL,
    kind          TEXT NOT NULL,
    period_start  INTEGER NOT NULL,
    value         TEXT,
    converted     TEXT,
    flag          TEXT NOT NULL DEFAULT 'N',
    source        TEXT NOT NULL,
    received_at   INTEGER NOT NULL,
    PRIMARY KEY (site_id, factor, kind, period_start)
) WITHOUT ROWID;
CREATE TABLE uploads (
    mn           TEXT NOT NULL,
    cn           TEXT NOT NULL,
    datatime     TEXT NOT NULL,
    pno          INTEGER NOT NULL,
    received_at  INTEGER NOT NULL,
    PRIMARY KEY (mn, cn, datatime, pno)
) WITHOUT ROWID;
"""


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--frames", type=int, default=2000, help="frames per transaction (loggers)")
    ap.add_argument("--values", type=int, default=10, help="values per frame (factors)")
    ap.add_argument("--seconds", type=float, default=10.0, help="run this long (wall time)")
    ap.add_argument("--db", help="database file (default: a temporary one, removed)")
    ap.add_argument("--rowid", action="store_true", help="rowid tables (before 0029)")
    args = ap.parse_args()

    tmp = None
    path = args.db
    if path is None:
        tmp = tempfile.mkdtemp(prefix="sqlite-baseline-")
        path = os.path.join(tmp, "baseline.db")
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA journal_mode = WAL")
    con.execute("PRAGMA synchronous = FULL")
    con.executescript(SCHEMA.replace(" WITHOUT ROWID", "") if args.rowid else SCHEMA)

    factors = ["a%05d" % (19001 + i) for i in range(args.values)]
    converted = [i % 2 == 1 for i in range(args.values)]  # about half, as stacks do
    mns = ["88888880000%05d" % i for i in range(args.frames)]
    t0 = 1_767_225_600  # 2026-01-01T00:00:00Z
    step = 60  # one minute frame per logger per transaction

    values = frames = transactions = 0
    wall0, cpu0 = time.perf_counter(), time.process_time()
    deadline = wall0 + args.seconds
    while time.perf_counter() < deadline:
        period = t0 + transactions * step
        datatime = time.strftime("%Y%m%d%H%M%S", time.gmtime(period + 8 * 3600))
        now = int(time.time())
        ledger = []
        rows = []
        for site, mn in enumerate(mns, start=1):
            ledger.append((mn, "2051", datatime, 0, now))
            base = (site * 7 + transactions) % 97
            for i, f in enumerate(factors):
                v = (base + i * 13) % 1000 / 10.0 + 0.01
                rows.append(
                    (
                        site,
                        f,
                        "min",
                        period,
                        "%.2f" % v,
                        ("%.2f" % (v * 1.25)) if converted[i] else None,
                        "N",
                        "hj212",
                        now,
                    )
                )
        con.execute("BEGIN")
        # The ledger decides which uploads are new; only their values go in.
        new = set()
        for u in ledger:
            cur = con.execute(
                "INSERT INTO uploads (mn, cn, datatime, pno, received_at) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (mn, cn, datatime, pno) DO NOTHING",
                u,
            )
            if cur.rowcount == 1:
                new.add(u[0])
        con.executemany(
            "INSERT INTO series (site_id, factor, kind, period_start, value, converted, flag, "
            "source, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (site_id, factor, kind, period_start) DO UPDATE SET "
            "value = excluded.value, converted = excluded.converted, flag = excluded.flag, "
            "source = excluded.source, received_at = excluded.received_at",
            [r for r in rows if mns[r[0] - 1] in new],
        )
        con.execute("COMMIT")
        transactions += 1
        frames += len(new)
        values += len(new) * args.values
    wall = time.perf_counter() - wall0
    cpu = time.process_time() - cpu0
    con.close()
    size = os.path.getsize(path)
    if tmp is not None:
        for name in os.listdir(tmp):
            os.remove(os.path.join(tmp, name))
        os.rmdir(tmp)
    print(
        json.dumps(
            {
                "baseline": "python sqlite3",
                "layout": "rowid" if args.rowid else "without rowid",
                "sqlite_version": sqlite3.sqlite_version,
                "frames_per_transaction": args.frames,
                "values_per_frame": args.values,
                "transactions": transactions,
                "values": values,
                "seconds": round(wall, 3),
                "cpu_seconds": round(cpu, 3),
                "values_per_second": round(values / wall),
                "values_per_cpu_second": round(values / cpu) if cpu > 0 else None,
                "database_bytes": size,
            }
        )
    )


if __name__ == "__main__":
    main()
