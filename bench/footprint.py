#!/usr/bin/env python3
"""Footprint of stored HJ 212 data in a SQLite database of the platform,
and the same rows in the layout before migration 0029 (issue 16).

    bench/footprint.py measure DB          bytes per row of series, hj212_uploads, hj212_raw,
                                           and per frame of the raw archive (rows and the
                                           zstd blocks of migration 0032 together)
    bench/footprint.py compare DB          the above, then the rows of DB copied into a
                                           fresh database of each layout (migrations up to
                                           0028, and all of them), same rows, same order,
                                           and the ratio old/new
    bench/footprint.py synth DB [LOGGERS]  write a simulated day of stack loggers into a
                                           fresh database of the current layout, as the
                                           writer stores it (no binary needed; a DB already
                                           migrated, by `gongjian migrate`, is kept)

Sizes are the pages SQLite allocates to each B-tree (the `dbstat` virtual
table, `pgsize`), the table's and its indexes' together; a WITHOUT ROWID
table has no separate primary-key index, a rowid table has one
(`sqlite_autoindex_…`). Free pages and the WAL are not counted.
"""

import glob
import json
import os
import random
import sqlite3
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
MIGRATIONS = os.path.join(HERE, "..", "crates", "storage", "migrations", "sqlite")
BEFORE_0029 = 28

SERIES_COLS = "site_id, factor, kind, period_start, value, converted, flag, source, received_at"
UPLOAD_COLS = "mn, cn, datatime, pno, received_at"


def migrate(con, upto=None):
    """Apply the platform's SQLite migrations (up to `upto`, else all)."""
    for path in sorted(glob.glob(os.path.join(MIGRATIONS, "*.sql"))):
        version = int(os.path.basename(path).split("_")[0])
        if upto is None or version <= upto:
            con.executescript(open(path, encoding="utf-8").read())


def trees(con, table):
    """The B-trees of `table`: itself and every index on it."""
    rows = con.execute(
        "SELECT name FROM sqlite_master WHERE tbl_name = ? AND type IN ('table', 'index')",
        (table,),
    ).fetchall()
    names = {r[0] for r in rows}
    names.add(table)
    return sorted(names)


def footprint(con, table):
    names = trees(con, table)
    marks = ",".join("?" * len(names))
    per_tree = dict(
        con.execute(
            f"SELECT name, SUM(pgsize) FROM dbstat WHERE name IN ({marks}) GROUP BY name", names
        ).fetchall()
    )
    rows = con.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
    total = sum(per_tree.values())
    return {
        "rows": rows,
        "bytes": total,
        "bytes_per_row": round(total / rows, 1) if rows else None,
        "trees": per_tree,
    }


def measure(path):
    con = sqlite3.connect(path)
    out = {}
    for table in ("series", "hj212_uploads", "hj212_raw"):
        out[table] = footprint(con, table)
    out["series_by_kind"] = dict(
        con.execute("SELECT kind, COUNT(*) FROM series GROUP BY kind").fetchall()
    )
    layout = con.execute("SELECT sql FROM sqlite_master WHERE name = 'series'").fetchone()[0]
    out["series_without_rowid"] = layout.rstrip().upper().endswith("WITHOUT ROWID")
    raw = con.execute("SELECT COALESCE(SUM(LENGTH(frame)), 0) FROM hj212_raw").fetchone()[0]
    out["hj212_raw"]["frame_bytes_per_row"] = (
        round(raw / out["hj212_raw"]["rows"], 1) if out["hj212_raw"]["rows"] else None
    )
    # The raw archive: rows not packed yet plus the packed blocks (0032).
    frames, size = out["hj212_raw"]["rows"], out["hj212_raw"]["bytes"]
    blocks = {"rows": 0, "bytes": 0, "frames": 0, "body_bytes": 0}
    if con.execute(
        "SELECT 1 FROM sqlite_master WHERE name = 'hj212_raw_blocks'"
    ).fetchone():
        blocks = footprint(con, "hj212_raw_blocks")
        blocks["frames"], blocks["body_bytes"] = con.execute(
            "SELECT COALESCE(SUM(frames), 0), COALESCE(SUM(LENGTH(body)), 0) "
            "FROM hj212_raw_blocks"
        ).fetchone()
        frames += blocks["frames"]
        size += blocks["bytes"]
    out["hj212_raw_blocks"] = blocks
    # Real-time and minute values packed into day blocks (0034): the
    # table's pages (bodies, overflow pages, keys) per value packed, and
    # the compressed bodies per value of each kind.
    out["series_blocks"] = None
    if con.execute("SELECT 1 FROM sqlite_master WHERE name = 'series_blocks'").fetchone():
        sb = footprint(con, "series_blocks")
        sb["values"] = con.execute(
            "SELECT COALESCE(SUM(points), 0) FROM series_blocks"
        ).fetchone()[0]
        sb["bytes_per_value"] = round(sb["bytes"] / sb["values"], 2) if sb["values"] else None
        sb["body_bytes_per_value"] = {
            kind: round(body / points, 2)
            for kind, body, points in con.execute(
                "SELECT kind, SUM(LENGTH(body)), SUM(points) FROM series_blocks GROUP BY kind"
            )
        }
        out["series_blocks"] = sb
    out["raw_archive"] = {
        "frames": frames,
        "bytes": size,
        "bytes_per_frame": round(size / frames, 1) if frames else None,
    }
    con.close()
    return out


def copy(src, upto, kind=None):
    """A fresh database of the layout after migration `upto` (all if None)
    holding src's series and ledger rows, written in arrival order (by
    received_at) in transactions of 10,000 rows, as the writer commits them.
    Returns the footprints of series and hj212_uploads."""
    tmp = tempfile.mkdtemp(prefix="footprint-")
    path = os.path.join(tmp, "copy.db")
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA journal_mode = WAL")
    migrate(con, upto)
    con.execute("ATTACH DATABASE ? AS src", ("file:" + src + "?mode=ro",))
    where = "WHERE kind = ?" if kind else ""
    params = (kind,) if kind else ()
    cur = con.execute(
        f"SELECT {SERIES_COLS} FROM src.series {where} "
        "ORDER BY received_at, site_id, factor, kind, period_start",
        params,
    )
    put = con.cursor()
    while True:
        chunk = cur.fetchmany(10_000)
        if not chunk:
            break
        put.execute("BEGIN")
        put.executemany(f"INSERT INTO series ({SERIES_COLS}) VALUES (?,?,?,?,?,?,?,?,?)", chunk)
        put.execute("COMMIT")
    if kind is None:
        cur = con.execute(
            f"SELECT {UPLOAD_COLS} FROM src.hj212_uploads ORDER BY received_at, mn, cn, datatime"
        )
        while True:
            chunk = cur.fetchmany(10_000)
            if not chunk:
                break
            put.execute("BEGIN")
            put.executemany(f"INSERT INTO hj212_uploads ({UPLOAD_COLS}) VALUES (?,?,?,?,?)", chunk)
            put.execute("COMMIT")
    con.execute("DETACH DATABASE src")
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    out = {"series": footprint(con, "series")}
    if kind is None:
        out["hj212_uploads"] = footprint(con, "hj212_uploads")
    con.close()
    for name in os.listdir(tmp):
        os.remove(os.path.join(tmp, name))
    os.rmdir(tmp)
    return out


def compare(path):
    live = measure(path)
    result = {"live": live, "copies": {}}
    kinds = [None] + sorted(live["series_by_kind"])
    for kind in kinds:
        label = kind or "all"
        old = copy(path, BEFORE_0029, kind)
        new = copy(path, None, kind)
        entry = {
            "old_bytes_per_value": old["series"]["bytes_per_row"],
            "new_bytes_per_value": new["series"]["bytes_per_row"],
            "rows": new["series"]["rows"],
        }
        if old["series"]["bytes_per_row"] and new["series"]["bytes_per_row"]:
            entry["old_over_new"] = round(
                old["series"]["bytes_per_row"] / new["series"]["bytes_per_row"], 2
            )
        if kind is None:
            entry["uploads_old_bytes_per_row"] = old["hj212_uploads"]["bytes_per_row"]
            entry["uploads_new_bytes_per_row"] = new["hj212_uploads"]["bytes_per_row"]
        result["copies"][label] = entry
    return result


# A simulated day of stack loggers, stored as `commit_ingest` stores it:
# STACK of crates/ingest/src/simulator.rs (code, typical value, 折算 sent).
STACK = [
    ("a19001", 9.0, False),
    ("a21026", 18.0, True),
    ("a21002", 32.0, True),
    ("a34013", 4.0, True),
    ("a00000", 120.0, False),
]


def crc16(data):
    crc = 0xFFFF
    for b in data:
        crc = (crc >> 8) ^ b
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc


def frame(mn, cn, t, groups, qn):
    dt = time.strftime("%Y%m%d%H%M%S", time.gmtime(t + 8 * 3600))
    cp = ";".join([f"DataTime={dt}"] + [",".join(f"{k}={v}" for k, v in g) for g in groups])
    data = f"QN={qn};ST=31;CN={cn};PW=123456;MN={mn};Flag=5;CP=&&{cp}&&"
    return f"##{len(data):04d}{data}{crc16(data.encode()):04X}\r\n".encode()


def synth(path, loggers=50, day=1_767_225_600):
    """One day (2026-01-01 UTC) of `loggers` stack loggers: real-time data
    every 30 s, minute data every 10 min, hour and day data, each frame
    archived in hj212_raw and its upload in the ledger, committed one
    time step of every logger per transaction."""
    rng = random.Random(16)
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA journal_mode = WAL")
    con.execute("PRAGMA synchronous = OFF")
    if not con.execute("SELECT 1 FROM sqlite_master WHERE name = 'sites'").fetchone():
        migrate(con)
    con.execute("BEGIN")
    for i in range(loggers):
        con.execute(
            "INSERT INTO sites (code, name, kind, created_at) VALUES (?, ?, 'stack_gas', 0)",
            (f"88888880000{i:05d}", f"模拟排口{i}"),
        )
    con.execute("COMMIT")
    sites = [r[0] for r in con.execute("SELECT id FROM sites ORDER BY id")]
    mns = [f"88888880000{i:05d}" for i in range(loggers)]
    qn = 0
    for step in range(0, 86_400, 30):
        t = day + step
        batches = [("2011", "rtd", t, "Rtd", "ZsRtd")]
        if step % 600 == 0 and step > 0:
            batches.append(("2051", "min", t - 600, "Avg", "ZsAvg"))
        if step % 3600 == 0 and step > 0:
            batches.append(("2061", "hour", t - 3600, "Avg", "ZsAvg"))
        raw, uploads, series = [], [], []
        now = t + 1
        for site, mn in zip(sites, mns):
            for cn, kind, period, suffix, zs in batches:
                groups, rows = [], []
                for code, typical, conv in STACK:
                    v = typical * rng.uniform(0.7, 1.3)
                    z = v * 15.0 / 12.0
                    g = [(f"{code}-{suffix}", f"{v:.2f}")]
                    if kind != "rtd":
                        g += [(f"{code}-Min", f"{v * 0.9:.2f}"), (f"{code}-Max", f"{v * 1.1:.2f}")]
                    if conv:
                        g.append((f"{code}-{zs}", f"{z:.2f}"))
                    g.append((f"{code}-Flag", "N"))
                    groups.append(g)
                    rows.append(
                        (site, code, kind, period, f"{v:.2f}", f"{z:.2f}" if conv else None,
                         "N", "hj212", now)
                    )
                qn += 1
                f = frame(mn, cn, period, groups, f"{time.strftime('%Y%m%d%H%M%S', time.gmtime(t))}{qn % 1000:03d}")
                raw.append((now, "127.0.0.1:40000", mn, cn, f, "ok", None))
                dt = time.strftime("%Y%m%d%H%M%S", time.gmtime(period + 8 * 3600))
                uploads.append((mn, cn, dt, 0, now))
                series.extend(rows)
        con.execute("BEGIN")
        con.executemany(
            "INSERT INTO hj212_raw (received_at, peer, mn, cn, frame, outcome, error) "
            "VALUES (?,?,?,?,?,?,?)",
            raw,
        )
        con.executemany(f"INSERT INTO hj212_uploads ({UPLOAD_COLS}) VALUES (?,?,?,?,?)", uploads)
        con.executemany(f"INSERT INTO series ({SERIES_COLS}) VALUES (?,?,?,?,?,?,?,?,?)", series)
        con.execute("COMMIT")
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()


def main():
    if len(sys.argv) < 3 or sys.argv[1] not in ("measure", "compare", "synth"):
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    cmd, path = sys.argv[1], sys.argv[2]
    if cmd == "synth":
        synth(path, int(sys.argv[3]) if len(sys.argv) > 3 else 50)
        print(json.dumps(measure(path)))
    elif cmd == "measure":
        print(json.dumps(measure(path)))
    else:
        print(json.dumps(compare(path)))


if __name__ == "__main__":
    main()
