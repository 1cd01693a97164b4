#!/usr/bin/env python3
"""budget.py BINARY PROFILE RUNS: split a CPU profile of the hookflow server
into per-run phases (µs of CPU per webhook). Each sample goes to the first
phase (in the order below) whose pattern appears anywhere in its stack."""
import re, subprocess, sys

PHASES = [
    ("accept: verify signature", r"triggers\.\(\*Verify\)\.check|triggers\.verify"),
    ("accept: parse body", r"triggers\.ParseBody|triggers\.DecodeJSON"),
    ("accept: encode run + trigger + index (CreateRun)", r"boltstore\.\(\*Store\)\.CreateRun"),
    ("accept: delivery log", r"ui\.\(\*deliveryRecorder\)"),
    ("accept: rest of the handler (routing, dedupe, metrics)", r"ui\.\(\*Server\)\.hook|fiber/v2\.\(\*App\)\.handler"),
    ("accept: HTTP server (fasthttp read, parse, write)", r"valyala/fasthttp"),
]
EXEC = [
    ("execute: checkpoint encode (SaveRun)", r"boltstore\.\(\*Store\)\.SaveRun"),
    ("execute: outgoing call (http step + net/http)", r"actions\.\(\*HTTP\)\.Run|net/http\.\(\*persistConn\)|net/http\.\(\*Transport\)"),
    ("execute: claim + load run", r"boltstore\.\(\*Store\)\.GetRun|engine\.\(\*queue\)|engine\.\(\*Engine\)\.(claim|next)"),
    ("execute: filter step (expr)", r"engine\.\(\*runState\)\.filter|engine\.\(\*Expr\)\.Cond"),
    ("execute: http step env, templates, redaction", r"engine\.\(\*runState\)\.action"),
    ("execute: finish (summary, alerts, metrics)", r"engine\.\(\*Engine\)\.finish"),
    ("execute: rest of the walk/worker", r"engine\.\(\*Engine\)\.worker|engine\.\(\*Engine\)\.execute"),
]
TAIL = [
    ("commit: group-commit writer (bbolt write + fdatasync), shared", r"boltstore\.\(\*Store\)\.writer"),
    ("GC (background mark, assists, sweep)", r"runtime\.gcBgMarkWorker|runtime\.gcAssistAlloc|runtime\.bgsweep|runtime\.bgscavenge|runtime\.gcStart"),
]
ORDER = PHASES + EXEC + TAIL

def main():
    binary, prof, runs = sys.argv[1], sys.argv[2], float(sys.argv[3])
    out = subprocess.run(["go", "tool", "pprof", "-traces", binary, prof], capture_output=True, text=True).stdout
    totals, total, sys_total = {}, 0.0, 0.0
    for block in out.split("-----------+-------------------------------------------------------")[1:]:
        lines = [l for l in block.strip().splitlines() if l.strip()]
        if not lines:
            continue
        m = re.match(r"\s*([\d.]+)(ms|s|us|µs)\s+(.*)", lines[0])
        if not m:
            continue
        v = float(m.group(1)) * {"s": 1e6, "ms": 1e3, "us": 1, "µs": 1}[m.group(2)]
        stack = "\n".join([m.group(3)] + lines[1:])
        if re.search(r"syscall\.Syscall6|linux\.Syscall6|syscall\.RawSyscall", m.group(3)):
            sys_total += v  # the kernel's share (fsync, network): varies with the disk and other load
        name = "other (scheduler, netpoll, timers, runtime)"
        for n, pat in ORDER:
            if re.search(pat, stack):
                name = n
                break
        totals[name] = totals.get(name, 0) + v
        total += v
    names = [n for n, _ in ORDER] + ["other (scheduler, netpoll, timers, runtime)"]
    seen = set()
    print(f"| phase | µs CPU per webhook | share |\n|---|---:|---:|")
    for n in names:
        if n in seen or n not in totals:
            continue
        seen.add(n)
        print(f"| {n} | {totals[n]/runs:.1f} | {100*totals[n]/total:.1f}% |")
    print(f"| **total** | **{total/runs:.1f}** | 100% |")
    print(f"| of which system calls (leaf) | {sys_total/runs:.1f} | {100*sys_total/total:.1f}% |")
    print(f"| **total without system calls** | **{(total-sys_total)/runs:.1f}** | |")

main()
