"""Benchmark: score the whole country at village level with ``cegah risk score``.

On a SYNTHETIC national data set (``_risk_data.py``, fixed seed): the 83,763 villages of
the bundled hierarchy, each a unit square of a made-up tessellation, 60 months x 4
categories of case counts, five years of child population and ten risk factors. It times
these cold-start subprocesses (wall clock, user+sys CPU and peak RSS from ``wait4``, plus
the sampled peak of the summed PSS of the process and all its children, which counts
worker processes too; esda's G_Local runs its permutations in joblib workers):

  national          cegah risk score --level village --permutations 999 (83,763 villages)
  regency           the same on one regency's villages (default: the one with the most)
  esda baseline     _esda_baseline.py: Queen weights from the polygons, Moran_Local,
                    G_Local (star), Spatial_Empirical_Bayes, all on esda defaults
                    (999 permutations), on the same national files; also on the regency;
                    and again with numba on the path when --numba-dir is given

then prints a table and whether the targets hold: national under 20 s and 2 GB, at least
3x faster than the baseline, the regency under 1 s.

    .venv/bin/python benchmarks/bench_risk.py [--keep DIR] [--skip-baseline]
        [--numba-dir DIR] [--regency 11.08] [--repeat N] [--baseline-timeout 600]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from _common import CEGAH, PYTHON, ROOT, FreshDatabase, Run, machine_line, run, table

HERE = Path(__file__).resolve().parent
GENERATOR = HERE / "_risk_data.py"
BASELINE = HERE / "_esda_baseline.py"
AS_OF = "2026-10"
NATIONAL_VILLAGES = 83_763
TARGET_SECONDS, TARGET_MB, TARGET_SPEEDUP, TARGET_REGENCY_SECONDS = 20.0, 2048.0, 3.0, 1.0


@dataclass
class Step:
    name: str
    runs: list[Run] = field(default_factory=list)
    tree_mb: list[float] = field(default_factory=list)
    timed_out: float | None = None  # the cap, when the step was stopped at it
    error: str = ""
    note: str = ""
    stderr: str = ""  # of the last run
    other: list[float] = field(default_factory=list)  # CPU s the rest of the machine used

    @property
    def fastest(self) -> float:
        return min(r.seconds for r in self.runs)

    @property
    def ok(self) -> bool:
        return bool(self.runs) and not self.error and self.timed_out is None

    @property
    def seconds(self) -> float:
        return statistics.median(r.seconds for r in self.runs)

    @property
    def cpu(self) -> float:
        return statistics.median(r.cpu_seconds for r in self.runs)

    @property
    def rss(self) -> float:
        return max(r.max_rss_mb for r in self.runs)

    @property
    def peak(self) -> float:
        """The larger of wait4's peak (one process) and the sampled process-tree sum."""
        return max(self.rss, max(self.tree_mb, default=0.0))


# --- running ------------------------------------------------------------------------------

def _children(pid: int) -> list[int]:
    out: list[int] = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children") as fh:
                out += [int(p) for p in fh.read().split()]
    except OSError:
        pass
    return out


def _machine_busy_seconds() -> float:
    """CPU seconds all processes on the machine have used since boot (0 off Linux)."""
    try:
        with open("/proc/stat") as fh:
            f = [int(x) for x in fh.readline().split()[1:9]]
    except (OSError, ValueError):
        return 0.0
    user, nice, system, _idle, _iowait, irq, softirq, steal = f
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def _pss_kb(pid: int) -> int:
    """Proportional set size of one process (shared pages split among their users)."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as fh:
            for line in fh:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    try:  # no smaps_rollup: resident pages, shared ones counted in full
        with open(f"/proc/{pid}/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024
    except (OSError, ValueError, IndexError):
        return 0


def _tree_mb(pid: int) -> float:
    """Summed PSS of ``pid`` and its descendants, in MB (Linux /proc; 0 elsewhere)."""
    total, todo, seen = 0, [pid], set()
    while todo:
        p = todo.pop()
        if p in seen:
            continue
        seen.add(p)
        total += _pss_kb(p)
        todo += _children(p)
    return total / 1024


def run_sampled(args: list[str], env: dict[str, str],
                timeout: float | None = None) -> tuple[Run, float, bool, float]:
    """Like ``_common.run`` (wait4 figures), also sampling the summed PSS of the child and
    its descendants (worker processes) every 50 ms, and killing the child's process group
    after ``timeout`` seconds. The last value returned is the CPU time the rest of the
    machine used meanwhile (other processes, and this sampling loop)."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        busy = _machine_busy_seconds()
        start = time.perf_counter()
        proc = subprocess.Popen(args, env=env, stdout=out, stderr=err,
                                stdin=subprocess.DEVNULL, cwd=ROOT, start_new_session=True)
        tree, killed = 0.0, False
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            tree = max(tree, _tree_mb(proc.pid))
            if timeout and not killed and time.perf_counter() - start > timeout:
                os.killpg(proc.pid, signal.SIGKILL)  # the group of the child we started
                killed = True
            time.sleep(0.05)
        seconds = time.perf_counter() - start
        cpu = usage.ru_utime + usage.ru_stime
        other = max(0.0, _machine_busy_seconds() - busy - cpu)
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        rss = usage.ru_maxrss / (1024 * 1024 if sys.platform == "darwin" else 1024)
        return Run(seconds, proc.returncode, out.read(), err.read(), rss, cpu), tree, killed, other


def _say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _csv_rows(path: Path) -> int:
    with path.open(newline="", encoding="utf-8") as fh:
        return sum(1 for _ in csv.reader(fh)) - 1


def _tail(text: str, lines: int = 12) -> str:
    return "\n".join("    " + x for x in text.strip().splitlines()[-lines:])


def cli_available(env: dict[str, str]) -> str:
    """'' when ``cegah risk score --help`` works, else why not."""
    if not CEGAH.exists():
        return f"{CEGAH} not found (install the project: make install)"
    r = run([str(CEGAH), "risk", "score", "--help"], env)
    if r.returncode != 0:
        return ("`cegah risk score` is not available in this checkout yet "
                f"(exit {r.returncode}): {(r.stderr or r.stdout).strip().splitlines()[-1:]}")
    missing = [o for o in ("--population", "--cases", "--factors", "--boundaries", "--level",
                           "--as-of", "--permutations", "--seed", "--out")
               if o not in r.stdout]
    if missing:
        return f"`cegah risk score --help` lacks the options {', '.join(missing)}"
    return ""


def score(name: str, folder: Path, out: Path, env: dict[str, str], repeat: int,
          expect_rows: int, permutations: int, unavailable: str) -> Step:
    step = Step(name)
    if unavailable:
        step.error = unavailable
        return step
    args = [str(CEGAH), "risk", "score",
            "--population", str(folder / "population.csv"),
            "--cases", str(folder / "cases.csv"),
            "--factors", str(folder / "factors.csv"),
            "--boundaries", str(folder / "boundaries.gpkg"),
            "--level", "village", "--as-of", AS_OF, "--permutations", str(permutations),
            "--seed", "1", "--out", str(out)]
    for i in range(repeat):
        out.unlink(missing_ok=True)
        r, tree, _, other = run_sampled(args, env)
        if r.returncode != 0:
            step.error = f"exit {r.returncode}"
            _say(f"\n{name}: `cegah risk score` failed (exit {r.returncode}):\n"
                 f"{_tail(r.stdout)}\n{_tail(r.stderr, 30)}")
            return step
        step.runs.append(r)
        step.tree_mb.append(tree)
        step.other.append(other)
        _say(f"    {name} #{i + 1}: {r.seconds:.2f}s, CPU {r.cpu_seconds:.1f}s, "
             f"peak RSS {max(r.max_rss_mb, tree):.0f} MB")
    rows = _csv_rows(out)
    step.note = f"{rows:,} rows out"
    if rows != expect_rows:  # reported, not fatal: the timing still stands
        step.note += f" (! {expect_rows:,} villages in the input)"
    step.stderr = step.runs[-1].stderr
    return step


def baseline(name: str, folder: Path, out: Path, env: dict[str, str],
             timeout: float, permutations: int) -> tuple[Step, list[tuple[str, float, float]]]:
    step = Step(name)
    args = [str(PYTHON), "-W", "ignore", str(BASELINE),
            "--population", str(folder / "population.csv"),
            "--cases", str(folder / "cases.csv"),
            "--boundaries", str(folder / "boundaries.gpkg"),
            "--as-of", AS_OF, "--permutations", str(permutations), "--seed", "1",
            "--out", str(out)]
    r, tree, killed, other = run_sampled(args, env, timeout)
    stages = []
    for line in r.stdout.splitlines():
        parts = line.split()
        if parts[:1] == ["stage"] and len(parts) == 4:
            stages.append((parts[1], float(parts[2]), float(parts[3])))
        elif parts[:1] == ["numba"]:
            step.note = f"numba {parts[1]}"
    step.runs.append(r)
    step.tree_mb.append(tree)
    step.other.append(other)
    if killed:
        step.timed_out = timeout
    elif r.returncode != 0:
        step.error = f"exit {r.returncode}"
        _say(f"\n{name} failed (exit {r.returncode}):\n{_tail(r.stdout)}\n{_tail(r.stderr, 30)}")
    _say(f"    {name}: {r.seconds:.1f}s{' (stopped at the cap)' if killed else ''}, "
         f"CPU {r.cpu_seconds:.1f}s, peak RSS {max(r.max_rss_mb, tree):.0f} MB, {step.note}")
    return step, stages


# --- report -------------------------------------------------------------------------------

def _fmt_seconds(step: Step) -> str:
    if step.error and not step.runs:
        return "failed"
    if step.timed_out is not None:
        return f"> {step.timed_out:.0f}"
    if not step.runs or step.error:
        return "failed"
    return f"{step.seconds:.2f}" if step.seconds < 10 else f"{step.seconds:.1f}"


def _row(step: Step) -> list[str]:
    if not step.runs:
        return [step.name, "failed", "-", "-", "-", "-", "-", step.error[:60]]
    fastest = f"{step.fastest:.2f}" if len(step.runs) > 1 else ""
    return [step.name, _fmt_seconds(step), fastest, f"{step.cpu:.1f}", f"{step.rss:,.0f}",
            f"{max(step.tree_mb, default=0):,.0f}", f"{statistics.median(step.other):.1f}",
            step.error or step.note]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keep", type=Path, metavar="DIR",
                        help="write the synthetic files and outputs here and keep them; "
                             "files already there from the same generator version are reused")
    parser.add_argument("--skip-baseline", action="store_true",
                        help="do not run the esda baseline")
    parser.add_argument("--numba-dir", type=Path, metavar="DIR",
                        help="also run the baseline with numba from DIR on PYTHONPATH "
                             "(pip install --no-deps --target DIR numba llvmlite)")
    parser.add_argument("--regency", default="largest", metavar="CODE",
                        help="regency for the small run (default: the one with the most "
                             "villages, 11.08)")
    parser.add_argument("--permutations", type=int, default=999)
    parser.add_argument("--repeat", type=int, default=1,
                        help="runs of each `cegah risk score` step; the median is reported")
    parser.add_argument("--baseline-timeout", type=float, default=600.0, metavar="S",
                        help="stop a baseline run after S seconds (default %(default)s)")
    args = parser.parse_args()
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")

    workdir = args.keep or Path(tempfile.mkdtemp(prefix="cegah-bench-risk-"))
    workdir.mkdir(parents=True, exist_ok=True)
    national, regency = workdir / "national", workdir / "regency"
    try:
        with FreshDatabase("sqlite", label="risk") as db:
            env = db.env
            _say("... synthetic data")
            # In a child process: the parent must stay small for the RSS figures to hold.
            gen = run([str(PYTHON), str(GENERATOR), str(national),
                       "--subset", args.regency, str(regency)], env).check("generating data")
            info = json.loads(gen.stdout)
            nat, sub = info["national"], info["subset"]
            prefix = sub["prefix"]
            made = (f"generated in {gen.seconds:.1f}s" if nat.get("fresh") or sub.get("fresh")
                    else f"cached, checked in {gen.seconds:.1f}s")
            print(f"SYNTHETIC national risk-scoring benchmark ({made}; files in "
                  f"{workdir if args.keep else 'a temp dir'})")
            for label, i, folder in (("national", nat, national),
                                     (f"regency {prefix}", sub, regency)):
                sizes = ", ".join(f"{f} {(folder / f).stat().st_size / 1e6:.1f} MB"
                                  for f in ("boundaries.gpkg", "cases.csv", "population.csv",
                                            "factors.csv"))
                print(f"  {label}: {i['villages']:,} villages; {i['case_rows']:,} case rows "
                      f"({i['cases_total']:,} cases), {i['population_rows']:,} population "
                      f"rows, {i['factor_rows']:,} factor rows; {sizes}")
            print(f"Machine: {machine_line()}")
            print()

            unavailable = cli_available(env)
            if unavailable:
                _say(f"!!! {unavailable}")
            steps: list[Step] = []
            _say("... cegah risk score, national")
            nat_step = score(f"cegah risk score, national ({nat['villages']:,})", national,
                             workdir / "national.csv", env, args.repeat, nat["villages"],
                             args.permutations, unavailable)
            steps.append(nat_step)
            _say(f"... cegah risk score, regency {prefix}")
            reg_step = score(f"cegah risk score, regency {prefix} ({sub['villages']:,})",
                             regency, workdir / "regency.csv", env, args.repeat,
                             sub["villages"], args.permutations, unavailable)
            steps.append(reg_step)

            baselines: list[tuple[Step, list]] = []
            if not args.skip_baseline:
                runs = [("esda baseline, national", national, env)]
                if args.numba_dir:
                    numba_env = dict(env, PYTHONPATH=str(args.numba_dir.resolve()))
                    runs.append(("esda baseline, national, numba", national, numba_env))
                runs.append((f"esda baseline, regency {prefix}", regency, env))
                for name, folder, benv in runs:
                    _say(f"... {name}")
                    b = baseline(name, folder, workdir / f"baseline-{len(baselines)}.csv",
                                 benv, args.baseline_timeout, args.permutations)
                    if "numba" in name and b[0].note != "numba yes":
                        b[0].error = f"numba did not import from {args.numba_dir}"
                    baselines.append(b)
                    steps.append(b[0])

        print("Each step is one cold-start subprocess: wall-clock seconds including start-up "
              f"(median of {args.repeat} for cegah), user+sys CPU seconds, peak RSS of the "
              "largest process (wait4), the sampled peak of the summed PSS of the process "
              "and its children (worker processes), and the CPU seconds the rest of the "
              "machine used meanwhile (other work on the 2 cores slows a step down).")
        print(table(["step", "wall s", "fastest", "CPU s", "peak RSS MB", "tree PSS MB",
                     "other CPU s", "note"],
                    [_row(s) for s in steps], left=1))
        for step, stages in baselines:
            if stages:
                print(f"\n{step.name}, by stage (seconds, peak RSS so far):")
                print(table(["stage", "seconds", "RSS MB"],
                            [[n, f"{s:.2f}", f"{m:,.0f}"] for n, s, m in stages]))
        if nat_step.ok and nat_step.stderr.strip():
            print("\ncegah risk score, national: what it reported on stderr (last run)")
            print(_tail(nat_step.stderr, 20))

        print("\nTargets:")

        def verdict(label: str, ok: bool | None, detail: str) -> None:
            mark = "n/a" if ok is None else ("yes" if ok else "NO")
            print(f"  {label:<44} {mark:<4} {detail}")

        n_ok = nat_step.ok
        verdict(f"national under {TARGET_SECONDS:.0f} s",
                (nat_step.seconds < TARGET_SECONDS) if n_ok else None,
                f"{_fmt_seconds(nat_step)} s" if n_ok else nat_step.error)
        verdict("national under 2 GB peak", (nat_step.peak < TARGET_MB) if n_ok else None,
                f"{nat_step.peak:,.0f} MB" if n_ok else nat_step.error)
        nat_baselines = [b for b, _ in baselines if "national" in b.name and
                         (b.ok or b.timed_out is not None)]
        if n_ok and nat_baselines:
            ups = []
            for b in nat_baselines:
                base_s = b.timed_out if b.timed_out is not None else b.seconds
                ups.append(base_s / nat_step.seconds)
                more = "at least " if b.timed_out is not None else ""
                print(f"  speed-up vs {b.name}: {more}{base_s / nat_step.seconds:.1f}x "
                      f"({_fmt_seconds(b)} s / {nat_step.seconds:.2f} s wall; CPU "
                      f"{b.cpu:.1f} s / {nat_step.cpu:.1f} s = {b.cpu / nat_step.cpu:.1f}x); "
                      f"peak memory {b.peak:,.0f} MB vs {nat_step.peak:,.0f} MB")
            verdict(f"at least {TARGET_SPEEDUP:.0f}x faster than the fastest baseline",
                    min(ups) >= TARGET_SPEEDUP, f"{min(ups):.1f}x")
        else:
            verdict(f"at least {TARGET_SPEEDUP:.0f}x faster than the baseline", None,
                    "baseline skipped or failed" if n_ok else nat_step.error)
        verdict(f"regency under {TARGET_REGENCY_SECONDS:.0f} s",
                (reg_step.seconds < TARGET_REGENCY_SECONDS) if reg_step.ok else None,
                f"{_fmt_seconds(reg_step)} s" if reg_step.ok else reg_step.error)
        if unavailable:
            print(f"\n`cegah risk score` could not run: {unavailable}")
        failed = [s for s in steps if s.error]
        if failed:
            raise SystemExit(1)
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
