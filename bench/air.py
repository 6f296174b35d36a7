#!/usr/bin/env python3
"""Driver of bench/air.sh: data generation, timing, figures. See air.sh."""

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import time

STATIONS = 100
HOURS = 8760
ROWS = STATIONS * HOURS


def generate(path):
    """Deterministic synthetic data: 100 stations x 8760 hours of 2025."""
    if os.path.exists(path) and os.path.getsize(path) > 0:
        return
    state = 0x9E3779B97F4A7C15

    def rnd(n):
        nonlocal state
        state ^= (state >> 12)
        state ^= (state << 25) & 0xFFFFFFFFFFFFFFFF
        state ^= (state >> 27)
        return ((state * 0x2545F4914F6CDD1D) & 0xFFFFFFFFFFFFFFFF) % n

    import datetime
    start = datetime.datetime(2025, 1, 1, 1)
    times = [(start + datetime.timedelta(hours=h)).strftime("%Y-%m-%d %H:00") for h in range(HOURS)]
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write("station,time,so2,no2,co,o3,pm10,pm25\n")
        for s in range(STATIONS):
            name = f"S{s:03d}"
            lines = []
            for h in range(HOURS):
                v = [str(2 + rnd(59)), str(5 + rnd(146)), f"{(2 + rnd(29)) / 10:.1f}",
                     str(5 + rnd(256)), str(10 + rnd(291)), str(5 + rnd(196))]
                if rnd(100) == 0:  # 1 % missing PM2.5
                    v[5] = ""
                lines.append(f"{name},{times[h]},{','.join(v)}\n")
            f.write("".join(lines))
    os.replace(tmp, path)


PY_AQI = r'''
import csv, sys, time
import aqi
from aqi import constants as c
path, limit = sys.argv[1], int(sys.argv[2])
items = [(c.POLLUTANT_SO2_1H, 2), (c.POLLUTANT_NO2_1H, 3), (c.POLLUTANT_CO_1H, 4),
         (c.POLLUTANT_O3_1H, 5), (c.POLLUTANT_PM10, 6), (c.POLLUTANT_PM25, 7)]
rows = []
with open(path, encoding="utf-8") as f:
    r = csv.reader(f)
    next(r)
    for i, row in enumerate(r):
        if i >= limit:
            break
        rows.append(row)
t0 = time.perf_counter()
total = 0
for row in rows:
    best = 0
    for name, col in items:
        v = row[col]
        if v:
            best = max(best, aqi.to_iaqi(name, v, algo=aqi.ALGO_MEP))
    total += best
dt = time.perf_counter() - t0
print(len(rows), dt, total)
'''


def time_cli(binary, csv, runs):
    times = []
    out = os.devnull
    pin = ["taskset", "-c", "0"] if shutil.which("taskset") else []
    for i in range(runs):
        t0 = time.perf_counter()
        with open(out, "wb") as sink:
            subprocess.run(pin + [binary, "evaluate", "air", "--input", csv], stdout=sink, check=True)
        times.append(time.perf_counter() - t0)
        print(f"   cli run {i + 1}: {times[-1]:.3f} s ({ROWS / times[-1]:,.0f} rows/s)", file=sys.stderr)
    return times


def time_python_aqi(python, csv, runs, limit):
    rates = []
    for i in range(runs):
        res = subprocess.run([python, "-c", PY_AQI, csv, str(limit)], capture_output=True, text=True, check=True)
        n, dt, _ = res.stdout.split()
        rates.append(int(n) / float(dt))
        print(f"   python-aqi run {i + 1}: {int(n)} rows in {float(dt):.3f} s ({rates[-1]:,.0f} rows/s)", file=sys.stderr)
    return rates


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--python", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--py-rows", type=int, default=87_600,
                    help="rows timed for python-aqi (a subset: it is slow); rows/s is what is compared")
    ap.add_argument("--criterion")
    a = ap.parse_args()
    csv = os.path.join(a.work, "air_876k.csv")
    print(f"== generating {csv}", file=sys.stderr)
    generate(csv)
    print(f"== gongjian evaluate air, {a.runs} runs", file=sys.stderr)
    cli = time_cli(a.bin, csv, a.runs)
    print(f"== python-aqi (MEP algo), {a.runs} runs over {a.py_rows} rows", file=sys.stderr)
    py = time_python_aqi(a.python, csv, a.runs, a.py_rows)
    cli_rate = ROWS / statistics.median(cli)
    py_rate = statistics.median(py)
    print()
    print(f"rows                                   : {ROWS:,} (100 stations x 8760 h)")
    print(f"gongjian evaluate air (end to end)     : median {statistics.median(cli):.3f} s = {cli_rate:,.0f} rows/s (target >= 500,000)")
    print(f"python-aqi IAQI x6 + max (no I/O)      : median {py_rate:,.0f} rows/s")
    print(f"ratio gongjian end-to-end / python-aqi : {cli_rate / py_rate:,.1f}x")
    if a.criterion and os.path.exists(a.criterion):
        text = open(a.criterion, encoding="utf-8").read()
        for m in re.finditer(r"air/(\S+)\s+time:.*?\n\s+thrpt:\s+\[[^\]]*?([\d.]+ [KMG]?elem/s) ([\d.]+ [KMG]?elem/s)", text, re.S):
            med = m.group(3)
            print(f"criterion {m.group(1):<40}: median {med}")
            val, unit = med.split()
            mult = {"elem/s": 1, "Kelem/s": 1e3, "Melem/s": 1e6, "Gelem/s": 1e9}[unit]
            rate = float(val) * mult
            print(f"   ratio library / python-aqi           : {rate / py_rate:,.1f}x")


if __name__ == "__main__":
    main()
