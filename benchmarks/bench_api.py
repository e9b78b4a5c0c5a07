"""Benchmark: the risk API and the map's GeoJSON under load, and the weight of the map page.

On a throw-away SQLite database it:

1. loads the demo (``cegah demo --no-serve``: all areas, the demo organisations and
   people, SYNTHETIC data for the villages of six regions, ILLUSTRATIVE boundaries, a
   risk run);
2. extends it to every regency (``--prepare``, in-process): SYNTHETIC regency-level child
   populations and monthly case counts for the regencies outside the demo regions, and
   made-up square boundaries (0.25 degree, in a grid south of Java: not real geography,
   marked illustrative) for every regency without one, imported through the normal
   import paths (provinces are dissolved from them); then a new risk run, so that all
   514 regencies have a tier and a boundary;
3. creates a user (``cegah users create bench --role manager --org "PPA Polres
   Jaksel"``: entitled to South Jakarta only, so nearly every figure goes through
   disclosure control) and an API token (``cegah users token bench``);
4. starts ``cegah serve --threads 8`` (waitress; the worker thread off, so no risk run
   competes) and, from this process, drives 20 concurrent clients (threads, each with
   its own keep-alive ``http.client`` connection) over loopback: each endpoint gets
   ``--requests`` requests after one cold request, and the script prints p50/p95/p99
   latency, requests per second and response size;
5. fetches the map page ``/risk/?area=<regency>`` as a browser would: the HTML, every
   ``<script src>`` and ``<link rel=stylesheet href>`` on it and the map.json its
   configuration names, and sums the bytes (with and without ``Accept-Encoding: gzip``).

    .venv/bin/python benchmarks/bench_api.py [--requests 400] [--clients 20]
        [--keep DIR] [--port PORT]

``--keep DIR`` keeps the prepared database in DIR and reuses it on the next run.
"""

from __future__ import annotations

import argparse
import hashlib
import html
import http.client
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from _common import CEGAH, PYTHON, ROOT, cegah, machine_line, table

DEMO_PASSWORD = "cegah-demo-2024"
BENCH_USER = "bench"
BENCH_PASSWORD = "bench-password-2024-not-secret"
BENCH_ORG = "PPA Polres Jaksel"
SQUARE = 0.25  # degrees
GRID = (100.0, -11.0, 40)  # west, south, columns: the Indian Ocean south of Java


# --- child mode: extend the demo to every regency ---------------------------------------

def prepare() -> None:
    """Child mode (``--prepare``, with DATABASE_URL set): synthetic regency data and
    square boundaries for every regency, then a risk run. Prints JSON."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cegah.settings")
    import django

    django.setup()
    import numpy as np
    import shapely

    from cegah.areas.actions import do_import_boundaries
    from cegah.areas.boundaries import plan_boundaries
    from cegah.areas.models import Area, Level
    from cegah.cases.actions import do_import
    from cegah.cases.models import CaseCount
    from cegah.policy import LocalOperator
    from cegah.riskmap.actions import do_compute_risk_run, do_request_risk_run

    actor = LocalOperator(label="cli:bench")
    out: dict[str, float | int] = {}
    rng = np.random.default_rng(20240517)
    regencies = list(Area.objects.filter(level=Level.REGENCY).order_by("code")
                     .values_list("code", "geometry"))
    covered = {".".join(code.split(".")[:2]) for code in
               CaseCount.objects.values_list("area_id", flat=True).distinct()}
    missing = [c for c, _g in regencies if c not in covered]
    start = time.perf_counter()
    if missing:
        children = {c: int(rng.lognormal(np.log(150_000), 0.8)) for c in missing}
        pop = ["code,year,children"] + [f"{c},{y},{n}" for c, n in children.items()
                                        for y in range(2022, 2027)]
        cases = ["code,period,category,count"]
        categories = ("sexual_abuse", "sexual_exploitation", "online_sexual_exploitation",
                      "trafficking")
        shares = (0.6, 0.15, 0.2, 0.05)
        months = [f"{y}-{m:02d}" for y in (2024, 2025, 2026) for m in range(1, 13)
                  if "2024-11" <= f"{y}-{m:02d}" <= "2026-10"]
        for c, n in children.items():
            effect = rng.lognormal(0, 0.5)
            for month in months:
                for cat, share in zip(categories, shares, strict=True):
                    k = int(rng.poisson(n * 60e-5 / 12 * share * effect))
                    if k:
                        cases.append(f"{c},{month},{cat},{k}")
        for kind, lines in (("population", pop), ("cases", cases)):
            batch, plan = do_import(actor, kind, ("\n".join(lines) + "\n").encode(),
                                    f"bench-{kind}-regencies.csv", synthetic=True)
            if batch.status != "applied":
                raise SystemExit(f"bench {kind} import failed: {plan.validated.errors[:3]}")
        out["synthetic_regencies"] = len(missing)
        out["synthetic_case_rows"] = len(cases) - 1
    out["data_seconds"] = round(time.perf_counter() - start, 1)
    start = time.perf_counter()
    bare = [c for c, g in regencies if not g]
    if bare:
        west, south, columns = GRID
        geoms = []
        for i, _code in enumerate(bare):
            x0, y0 = west + SQUARE * (i % columns), south + SQUARE * (i // columns)
            geoms.append(shapely.box(x0, y0, x0 + SQUARE, y0 + SQUARE))
        sha = hashlib.sha256(("bench squares\n" + "\n".join(bare)).encode()).hexdigest()
        plan = plan_boundaries(bare, geoms, filename="bench squares (ILLUSTRATIVE, not real)",
                               sha256=sha, dissolve=True, illustrative=True)
        do_import_boundaries(actor, plan)
    out["square_regencies"] = len(bare)
    out["boundaries_seconds"] = round(time.perf_counter() - start, 1)
    start = time.perf_counter()
    run = do_request_risk_run(actor, trigger="cli")
    run = do_compute_risk_run(run.pk)
    out["risk_run_seconds"] = round(time.perf_counter() - start, 1)
    out["risk_run_status"] = run.status
    out["areas_scored"] = run.areas.count()
    out["regencies_scored"] = run.areas.filter(level=Level.REGENCY).count()
    out["regencies_with_boundary"] = Area.objects.filter(
        level=Level.REGENCY, geometry__isnull=False).exclude(geometry="").count()
    out["provinces_with_boundary"] = Area.objects.filter(
        level=Level.PROVINCE, geometry__isnull=False).exclude(geometry="").count()
    # The targets of the load: the regency and the district with the most villages
    # scored, and every province with a result.
    from django.db.models import Count

    villages = run.areas.filter(level=Level.VILLAGE)
    by_district = (villages.values("parent_code").annotate(n=Count("id")).order_by("-n")
                   .first())
    districts = dict(run.areas.filter(level=Level.DISTRICT)
                     .values_list("area_id", "parent_code"))
    per_regency: dict[str, int] = {}
    for parent in villages.values_list("parent_code", flat=True):
        reg = districts.get(parent)
        if reg:
            per_regency[reg] = per_regency.get(reg, 0) + 1
    regency = max(per_regency, key=per_regency.get)
    out.update(regency=regency, regency_villages=per_regency[regency],
               regency_districts=run.areas.filter(parent_code=regency).count(),
               district=by_district["parent_code"], district_villages=by_district["n"],
               provinces=sorted(run.areas.filter(level=Level.PROVINCE)
                                .values_list("area_id", flat=True)))
    print(json.dumps(out))


# --- the server and the clients ----------------------------------------------------------

class Session:
    """Cookies and headers for one signed-in browser (a session cookie) or API client."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.headers: dict[str, str] = {}

    def login(self, username: str, password: str) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        conn.request("GET", "/accounts/login/")
        resp = conn.getresponse()
        page = resp.read().decode()
        cookies = _cookies(resp)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
        body = (f"csrfmiddlewaretoken={token}&username={username}&password={password}"
                "&next=/")
        conn.request("POST", "/accounts/login/", body=body, headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items()),
            "Referer": f"http://127.0.0.1:{self.port}/accounts/login/"})
        resp = conn.getresponse()
        resp.read()
        cookies.update(_cookies(resp))
        if resp.status != 302 or "sessionid" not in cookies:
            raise SystemExit(f"login as {username} failed ({resp.status})")
        self.headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
        conn.close()


def _cookies(resp) -> dict[str, str]:
    out = {}
    for header, value in resp.getheaders():
        if header.lower() == "set-cookie":
            name, _, rest = value.partition("=")
            out[name.strip()] = rest.split(";", 1)[0]
    return out


def fetch(port: int, path: str, headers: dict[str, str]) -> tuple[int, bytes, dict]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    conn.request("GET", path, headers=headers)
    resp = conn.getresponse()
    body = resp.read()
    conn.close()
    return resp.status, body, {k.lower(): v for k, v in resp.getheaders()}


def load(port: int, paths: list[str], headers: dict[str, str], requests: int,
         clients: int) -> dict[str, float]:
    """``requests`` GETs cycling through ``paths`` from ``clients`` threads with keep-alive
    connections; latency per request from sending to the last byte."""
    lock = threading.Lock()
    counter = iter(range(requests))
    latencies: list[float] = []
    sizes: list[int] = []
    errors: list[str] = []

    def worker() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        while True:
            with lock:
                i = next(counter, None)
            if i is None:
                break
            path = paths[i % len(paths)]
            for attempt in (1, 2):
                try:
                    t0 = time.perf_counter()
                    conn.request("GET", path, headers=headers)
                    resp = conn.getresponse()
                    body = resp.read()
                    dt = time.perf_counter() - t0
                    break
                except (http.client.HTTPException, OSError):
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
                    if attempt == 2:
                        raise
            with lock:
                if resp.status != 200:
                    errors.append(f"{resp.status} {path}")
                latencies.append(dt)
                sizes.append(len(body))
        conn.close()

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - start
    if errors:
        raise SystemExit(f"{len(errors)} failed requests, e.g. {errors[:3]}")
    latencies.sort()

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(round(p / 100 * len(latencies))) - 1)]

    return {"p50": pct(50), "p95": pct(95), "p99": pct(99), "max": latencies[-1],
            "rps": len(latencies) / wall, "bytes": sum(sizes) / len(sizes),
            "n": len(latencies)}


def page_weight(port: int, session: Session, regency: str) -> dict[str, object]:
    """The map page with everything it loads (scripts, stylesheets, its map.json)."""
    out: dict[str, object] = {}
    for label, extra in (("raw", {}), ("gzip", {"Accept-Encoding": "gzip, deflate"})):
        headers = {**session.headers, **extra}
        status, body, _h = fetch(port, f"/risk/?area={regency}", headers)
        if status != 200:
            raise SystemExit(f"/risk/?area={regency}: {status}")
        page = body.decode()
        assets = re.findall(r'<script[^>]+src="([^"]+)"', page)
        assets += [m for m in re.findall(r'<link[^>]+href="([^"]+)"', page)
                   if not m.startswith("data:")]
        config = re.search(r'<script id="risk-config" type="application/json">(.*?)</script>',
                           page, re.S)
        data_url = json.loads(html.unescape(config.group(1)))["dataUrl"] if config else None
        items = [("page", f"/risk/?area={regency}", len(body))]
        for url in assets + ([data_url] if data_url else []):
            status, asset, _h = fetch(port, url, headers)
            if status != 200:
                raise SystemExit(f"{url}: {status}")
            items.append(("map.json" if url == data_url else "asset", url, len(asset)))
        out[label] = items
    return out


def wait_for(port: int, proc: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"cegah serve exited with {proc.returncode}")
        try:
            status, _b, _h = fetch(port, "/healthz", {})
            if status == 200:
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("cegah serve did not answer /healthz")


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process and its reaped children (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = sum(int(v) for v in fields[11:15])  # utime, stime, cutime, cstime
    return ticks / os.sysconf("SC_CLK_TCK")


def _own_cpu() -> float:
    t = os.times()
    return t.user + t.system


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f}"


def _kb(n: float) -> str:
    return f"{n / 1024:,.0f} KB" if n >= 1024 else f"{n:.0f} B"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=400, help="per endpoint")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--threads", type=int, default=8, help="waitress threads")
    parser.add_argument("--port", type=int, default=0, help="default: a free one")
    parser.add_argument("--keep", type=Path, metavar="DIR",
                        help="keep (and reuse) the prepared database in DIR")
    parser.add_argument("--prepare", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.prepare:
        prepare()
        return

    folder = args.keep or Path(tempfile.mkdtemp(prefix="cegah-bench-api-"))
    folder.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CEGAH_")}
    env.update(DATABASE_URL=f"sqlite:///{folder / 'cegah.sqlite3'}", CEGAH_VAR_DIR=str(folder),
               CEGAH_ENV="development", CEGAH_WORKER_THREAD="0",
               CEGAH_LOGIN_THROTTLING="0", PYTHONDONTWRITEBYTECODE="1")
    print(f"# {machine_line()}")
    print(f"# database: SQLite (WAL) in {folder}")
    info_file = folder / "bench-info.json"
    try:
        if info_file.exists():
            info = json.loads(info_file.read_text())
            print("reusing the prepared database")
        else:
            step = cegah("demo", "--no-serve", env=env).check("cegah demo --no-serve")
            print(f"cegah demo --no-serve: {step.seconds:.0f} s")
            start = time.perf_counter()
            proc = subprocess.run([str(PYTHON), __file__, "--prepare"], env=env,
                                  capture_output=True, text=True, cwd=ROOT, check=False)
            if proc.returncode != 0:
                raise SystemExit(f"--prepare failed:\n{proc.stdout}\n{proc.stderr}")
            info = json.loads(proc.stdout.strip().splitlines()[-1])
            print(f"extended to every regency and scored: {time.perf_counter() - start:.0f} s")
            step = subprocess.run(
                [str(CEGAH), "users", "create", BENCH_USER, "--role", "manager", "--org",
                 BENCH_ORG, "--password-stdin"], input=BENCH_PASSWORD + "\n", env=env,
                capture_output=True, text=True, check=False)
            if step.returncode != 0:
                raise SystemExit(f"cegah users create failed: {step.stderr}")
            token = cegah("users", "token", BENCH_USER, "--name", "bench",
                          env=env).check("cegah users token").stdout.strip()
            info["token"] = token
            info_file.write_text(json.dumps(info))
        print(json.dumps({k: v for k, v in info.items() if k not in ("token", "provinces")}))
        run_load(args, env, info)
    finally:
        if args.keep is None:
            shutil.rmtree(folder, ignore_errors=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_load(args, env: dict[str, str], info: dict) -> None:
    args.port = args.port or free_port()
    log = tempfile.TemporaryFile("w+")  # noqa: SIM115 - closed in the finally below
    server = subprocess.Popen(
        [str(CEGAH), "serve", "--port", str(args.port), "--threads", str(args.threads)],
        env=env, stdout=log, stderr=log, cwd=ROOT)
    try:
        wait_for(args.port, server)
        api = {"Authorization": f"Bearer {info['token']}", "Accept": "application/json"}
        browser = Session(args.port)
        browser.login(BENCH_USER, BENCH_PASSWORD)
        regency, district = info["regency"], info["district"]
        provinces = info["provinces"]
        cases = [
            ("API: a district's villages", [
                f"/api/v1/risk/areas?parent={district}&page_size=1000"], api),
            ("API: a regency's districts", [
                f"/api/v1/risk/areas?parent={regency}&page_size=1000"], api),
            ("API: 1,000 villages (largest page)", [
                "/api/v1/risk/areas?level=village&page_size=1000"], api),
            ("API: all regencies", ["/api/v1/risk/areas?level=regency&page_size=1000"], api),
            ("map.json: a regency's districts", [f"/risk/map.json?parent={regency}"],
             browser.headers),
            ("map.json: a district's villages", [f"/risk/map.json?parent={district}"],
             browser.headers),
            ("map.json: each province's regencies",
             [f"/risk/map.json?parent={p}" for p in provinces], browser.headers),
            ("map.json: all regencies", ["/risk/map.json?level=regency"], browser.headers),
        ]
        rows = []
        for name, paths, headers in cases:
            cold = []
            for path in paths:  # first request of each: nothing cached in the process
                t0 = time.perf_counter()
                status, body, _h = fetch(args.port, path, headers)
                cold.append(time.perf_counter() - t0)
                if status != 200:
                    raise SystemExit(f"{path}: {status}")
            server_cpu, client_cpu = cpu_seconds(server.pid), _own_cpu()
            r = load(args.port, paths, headers, args.requests, args.clients)
            server_cpu = (cpu_seconds(server.pid) - server_cpu) / r["n"]
            client_cpu = (_own_cpu() - client_cpu) / r["n"]
            rows.append([name, str(len(paths)), _ms(max(cold)), _ms(r["p50"]), _ms(r["p95"]),
                         _ms(r["p99"]), f"{r['rps']:.0f}", f"{server_cpu * 1000:.1f}",
                         f"{client_cpu * 1000:.1f}", _kb(r["bytes"]),
                         "yes" if r["p95"] < 0.1 else "no"])
            print(f"  {name}: p95 {_ms(r['p95'])} ms", file=sys.stderr, flush=True)
        print()
        print(f"{args.requests} requests per endpoint, {args.clients} concurrent clients "
              f"(keep-alive), cegah serve --threads {args.threads}; latency in ms")
        print(table(["endpoint", "URLs", "cold", "p50", "p95", "p99", "req/s",
                     "server CPU/req", "client CPU/req", "size", "p95<100ms"], rows))
        weight = page_weight(args.port, browser, regency)
        print()
        print(f"map page /risk/?area={regency} with what it loads:")
        for label, items in weight.items():
            total = sum(n for _k, _u, n in items)
            print(f"  {label}: {_kb(total)} in {len(items)} responses "
                  f"({'under' if total < 1024 * 1024 else 'OVER'} 1 MB)")
            for kind, url, n in items:
                print(f"    {_kb(n):>9}  {kind:8} {url}")
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
        log.seek(0)
        err = log.read()
        log.close()
        if server.returncode not in (0, -15) and err:
            print(err[-2000:], file=sys.stderr)


if __name__ == "__main__":
    main()
