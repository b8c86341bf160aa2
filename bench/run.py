"""Benchmark one nightly run on an emulated estate that grows with N (and, optionally, Prowler on it).

    python bench/run.py --scale 20 --peer prowler

Starts moto on 127.0.0.1 inside this process (so calls are counted where they land and credential ages
can be set in moto's backends), seeds the estate, runs `complyflow run nightly` as a subprocess against
it, and prints wall time and its split, AWS calls per operation against the minimum the APIs allow,
peak RSS and resources per second. Results also go to <work>/results.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections import Counter
from importlib.metadata import version
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make `bench` importable from the repository root
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.complyflow_run import REPO, NightlyRun, make_config, run_nightly  # noqa: E402
from bench.estate import Estate, seed  # noqa: E402
from bench.minimum import minimum_calls  # noqa: E402
from bench.moto_counter import CallCounter, CountingMotoServer  # noqa: E402
from bench.prefect_api import prefect_api  # noqa: E402
from bench.report import by_operation, calls_table, service_table, table  # noqa: E402
from complyflow.demo import FAKE_CREDENTIALS, _free_port  # noqa: E402


def machine() -> dict[str, Any]:
    mem_kb = int(
        next(line for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal")).split()[1]
    )
    return {
        "nproc": os.cpu_count(),
        "memory_gb": round(mem_kb / 2**20, 1),
        "python": platform.python_version(),
        "load_avg_1m_at_start": os.getloadavg()[0],
        "versions": {p: version(p) for p in ("prefect", "great-expectations", "boto3", "moto", "pandas")},
    }


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=int, default=1, help="N: how many estate units (default 1)")
    parser.add_argument("--peer", choices=["prowler"], help="also run this tool on the same estate")
    parser.add_argument(
        "--prefect",
        choices=["deployment", "server", "ephemeral", "ephemeral-warm"],
        nargs="+",
        default=["deployment", "server", "ephemeral"],
        help="one run per mode listed, the first compared with the peer (default: deployment "
        "server ephemeral); deployment: the scheduled nightly, a flow run of the nightly "
        "deployment (prefect.yaml) run as a process worker runs it, against a server "
        "started before timing; server: `complyflow run nightly` against such a server; "
        "ephemeral: `complyflow run nightly` starting its own Prefect server on a fresh "
        "database (all counted in its wall time); ephemeral-warm: the same on a database "
        "migrated beforehand",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="runs per Prefect mode, each from scratch; medians are compared (default 1)",
    )
    parser.add_argument(
        "--plain-cli", action="store_true", help="run the `complyflow` script itself (no split of the wall time)"
    )
    parser.add_argument(
        "--latency-ms",
        type=float,
        default=30.0,
        help="added to every AWS call the runs make, as AWS's network and service time (default "
        "30, a fast in-region AWS call; 0: moto's own speed, where moto's CPU bounds both tools)",
    )
    parser.add_argument(
        "--code",
        type=Path,
        help="run complyflow from this source tree (put first on PYTHONPATH), e.g. a copy with a "
        "proposed change, to measure it against the installed one",
    )
    parser.add_argument("--skip-complyflow", action="store_true", help="only the peer (to debug it)")
    parser.add_argument("--work-dir", type=Path, help="where configs, evidence and results go (default: a temp dir)")
    parser.add_argument("--json-out", type=Path, help="also write the results JSON here")
    return parser.parse_args(argv)


def complyflow_section(run: NightlyRun, estate: Estate) -> dict[str, Any]:
    m = run.measured
    parts = run.breakdown()
    return {
        "ok": run.ok,
        "returncode": m.returncode,
        "wall_seconds": round(m.wall, 2),
        "cpu_seconds": round(m.cpu_seconds, 2),
        "load_avg_1m_at_end": round(m.load_avg, 2),
        "peak_rss_mb": round(m.peak_rss_mb, 1),
        "peak_tree_rss_mb": round(m.peak_tree_rss_mb, 1),
        "timings": run.timings,
        "counts": run.counts,
        "per_control": run.per_control(),
        "peak_rss_mb_by_step": run.peak_rss_by_step(),
        "breakdown": {k: round(v, 2) for k, v in parts.items()},
        "collectors": sorted(
            (
                {"collector": f"{c['service']} {c['region']}", "seconds": round(c["end"] - c["start"], 2)}
                for c in run.record.get("collectors", [])
            ),
            key=lambda c: -c["seconds"],
        ),
        "prefect_seconds": round(run.prefect_seconds(), 2) if parts else None,
        "resources_per_second": round(estate.resources / m.wall, 1),
        "output_tail": (m.stdout[-1500:] + m.stderr[-1500:]) if m.returncode else "",
    }


def print_complyflow(section: dict[str, Any], estate: Estate) -> None:
    wall = section["wall_seconds"]
    print(
        f"\ncomplyflow nightly run: exit {section['returncode']}, wall {wall:.2f} s, "
        f"{estate.resources} resources -> {section['resources_per_second']} resources/s; CPU "
        f"{section['cpu_seconds']:.1f} s; load average {section['load_avg_1m_at_end']} on {os.cpu_count()} cores"
    )
    print(
        f"peak RSS: {section['peak_rss_mb']:.0f} MB (run process), {section['peak_tree_rss_mb']:.0f} MB "
        "(process tree, incl. an ephemeral Prefect server)"
    )
    if section["counts"]:
        print("findings: " + ", ".join(f"{k} {v}" for k, v in section["counts"].items()))
    if section["breakdown"]:
        rows = [(k, v, f"{100 * v / wall:.1f}%") for k, v in section["breakdown"].items()]
        print(table(["where the wall time went", "seconds", "share"], rows))
        prefect = section["prefect_seconds"]
        print(
            f"Prefect orchestration (import, server start/flow run/final state/shutdown, artifacts): "
            f"{prefect:.2f} s = {100 * prefect / wall:.1f}% of wall "
            "(task-run bookkeeping inside the steps is not separable and counts as step time)"
        )
    if section["peak_rss_mb_by_step"]:
        print("peak RSS by step (MB): " + ", ".join(f"{k} {v:.0f}" for k, v in section["peak_rss_mb_by_step"].items()))
    if section["collectors"]:
        print(
            "slowest collectors (seconds, concurrent): "
            + ", ".join(f"{c['collector']} {c['seconds']:.1f}" for c in section["collectors"][:6])
        )
    if section["returncode"]:
        print("output tail:\n" + section["output_tail"])


def measure_complyflow(
    args: argparse.Namespace,
    mode: str,
    repeat: int,
    estate: Estate,
    endpoint: str,
    counter: CallCounter,
    work: Path,
    results: dict[str, Any],
) -> dict[str, Any]:
    """One measured nightly run with Prefect API `mode`, its calls against the minimum, printed.

    Each repeat starts from scratch (its own Prefect home and server, its own evidence root)."""
    config = work / "configs"
    name = f"{mode}-{repeat}" if args.repeat > 1 else mode
    phase = f"complyflow-{name}"
    of = f" (run {repeat} of {args.repeat})" if args.repeat > 1 else ""
    print(f"\n=== complyflow nightly run, Prefect: {mode}{of}")
    with prefect_api(mode, work / f"prefect-home-{name}", (args.code or REPO).resolve()) as api:
        counter.phase = phase
        run = run_nightly(
            endpoint, config, work / f"evidence-{name}", api, work, plain_cli=args.plain_cli, code=args.code
        )
        counter.phase = "idle"
    section = complyflow_section(run, estate)
    section["prefect_mode"] = mode
    section["repeat"] = repeat
    section["prefect_setup_seconds_outside_run"] = round(api.startup_seconds, 2)
    actual = by_operation(counter.calls(phase))
    minimum, minimum_tagging = minimum_calls(estate), minimum_calls(estate, tagging_api=True)
    section["calls"] = dict(sorted(actual.items()))
    section["call_errors"] = {f"{s}:{o}": n for (s, _r, o), n in counter.errors(phase).items()}
    results["minimum_calls"] = {
        "service_apis": sum(minimum.values()),
        "with_tagging_api": sum(minimum_tagging.values()),
        "detail": dict(sorted(minimum.items())),
        "detail_tagging": dict(sorted(minimum_tagging.items())),
    }
    print_complyflow(section, estate)
    print("\nAWS API calls (counted at the moto server):")
    print(service_table(actual))
    print(calls_table(actual, minimum, minimum_tagging))
    total = sum(actual.values())
    section["calls_total"] = total
    section["calls_ratio"] = round(total / sum(minimum.values()), 2)
    section["calls_ratio_tagging"] = round(total / sum(minimum_tagging.values()), 2)
    print(
        f"actual/minimum: {section['calls_ratio']:.2f} (service APIs), "
        f"{section['calls_ratio_tagging']:.2f} (with the tagging API); goal <= 1.2"
    )
    section["botocore"] = botocore_check(run.record, actual)
    return section


def botocore_check(record: dict[str, Any], at_server: Counter[str]) -> dict[str, Any]:
    """The calls botocore's event hooks saw in the run process, set against the server's count, printed."""
    calls, attempts = Counter(record.get("botocore_calls", {})), Counter(record.get("botocore_attempts", {}))
    if not calls:
        return {}
    differ = {
        op: {"botocore_attempts": attempts.get(op, 0), "server": at_server.get(op, 0)}
        for op in sorted(set(attempts) | set(at_server))
        if attempts.get(op, 0) != at_server.get(op, 0)
    }
    print(
        f"botocore event hooks in the run process: {sum(calls.values())} operations called, "
        f"{sum(attempts.values())} HTTP attempts (retries included); the moto server counted "
        f"{sum(at_server.values())}" + (f"; differing: {differ}" if differ else "; identical per operation")
    )
    return {
        "calls": sum(calls.values()),
        "attempts": sum(attempts.values()),
        "differing": differ,
        "by_operation": dict(sorted(calls.items())),
    }


def summarize_runs(runs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per Prefect mode: the median wall time and Prefect share over its runs (one run: that run), printed."""
    summary: dict[str, dict[str, Any]] = {}
    rows = []
    for mode in dict.fromkeys(r["prefect_mode"] for r in runs):
        done = [r for r in runs if r["prefect_mode"] == mode and r["ok"]]
        if not done:
            continue
        walls = [r["wall_seconds"] for r in done]
        shares = [100 * r["prefect_seconds"] / r["wall_seconds"] for r in done if r["prefect_seconds"] is not None]
        summary[mode] = {
            "runs": len(done),
            "median_wall_seconds": round(statistics.median(walls), 2),
            "wall_seconds": walls,
            "prefect_share_percent": [round(x, 1) for x in shares],
            "median_prefect_share_percent": round(statistics.median(shares), 1) if shares else None,
        }
        rows.append(
            (
                mode,
                len(done),
                summary[mode]["median_wall_seconds"],
                f"{min(walls):.1f}-{max(walls):.1f}",
                f"{statistics.median(shares):.1f}%" if shares else "-",
                f"{min(shares):.1f}-{max(shares):.1f}%" if shares else "-",
            )
        )
    print("\n" + table(["Prefect", "runs", "median wall s", "wall range", "median Prefect share", "share range"], rows))
    return summary


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    os.environ.update(FAKE_CREDENTIALS)
    os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
    # moto preloads thousands of public AMIs and their snapshots as the account's own; a real account has none,
    # and Prowler's EC2 service would make one call per snapshot.
    os.environ["MOTO_EC2_LOAD_DEFAULT_AMIS"] = "false"
    estate = Estate(args.scale)
    work = (args.work_dir or Path(tempfile.mkdtemp(prefix="complyflow-bench-"))).resolve()
    work.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {
        "scale": args.scale,
        "resources": estate.resources,
        "machine": machine(),
        "prefect_modes": args.prefect,
        "repeat": args.repeat,
        "latency_ms": args.latency_ms,
        "code": str(args.code or "installed"),
        "work_dir": str(work),
    }
    counter = CallCounter(latency=args.latency_ms / 1000)
    server = CountingMotoServer(_free_port(), counter)
    server.start()
    os.environ["AWS_ENDPOINT_URL"] = server.endpoint
    try:
        counter.phase = "seed"
        clock = time.perf_counter()
        seed(estate)
        results["seed_seconds"] = round(time.perf_counter() - clock, 1)
        print(
            f"moto at {server.endpoint}; N={args.scale}: {estate.resources} resources seeded in "
            f"{results['seed_seconds']} s; added latency per call {args.latency_ms} ms; work dir {work}"
        )

        if not args.skip_complyflow:
            make_config(work / "configs")
            runs = [
                measure_complyflow(args, mode, i, estate, server.endpoint, counter, work, results)
                for mode in args.prefect
                for i in range(1, args.repeat + 1)
            ]
            results["complyflow"], results["complyflow_runs"] = runs[0], runs
            results["summary"] = summarize_runs(runs)
        if args.peer == "prowler":
            from bench.prowler_peer import compare_prowler

            walls = {mode: s["median_wall_seconds"] for mode, s in results.get("summary", {}).items()}
            ours = results.get("complyflow", {}).get("per_control", {})
            results["prowler"] = compare_prowler(server.endpoint, counter, work, walls, ours)
    finally:
        server.stop()
        out = work / "results.json"
        out.write_text(json.dumps(results, indent=2, default=str))
        if args.json_out:
            args.json_out.write_text(json.dumps(results, indent=2, default=str))
        print(f"\nresults: {out}")
    return 0 if args.skip_complyflow or results.get("complyflow", {}).get("ok") else 1


if __name__ == "__main__":
    sys.exit(main())
