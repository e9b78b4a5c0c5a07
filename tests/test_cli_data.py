"""``cegah import`` and ``cegah export``, run as a user runs them: separate processes on a
private SQLite database (whatever DATABASE_URL the suite runs with).

Starting Python and Django costs about a second per command, so one prepared database is
copied for each test, and commands that do not depend on each other run side by side.
Messages are checked by what does not depend on the language: file names, line numbers,
values and the CLI's own summary lines.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook

from tests.conftest import csv_bytes

ROOT = Path(__file__).resolve().parent.parent
CASES = ["code", "period", "category", "count", "source"]
NIK = "3174012345678901"

SETUP_PEOPLE = """
from cegah.accounts.actions import do_save_organisation, do_save_user
from cegah.policy import LocalOperator
op = LocalOperator(label="cli:test")
org, _ = do_save_organisation(actor=op, name="Unit PPA Polres Jakarta Selatan", type="police",
                              jurisdiction=["31.74"])
do_save_user(actor=op, username="alice", organisation=org, role="manager", password_hash="!")
do_save_user(actor=op, username="bob", organisation=org, role="viewer", password_hash="!")
"""




def read_csv(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"))))


def _env(db: Path) -> dict[str, str]:
    return dict(os.environ, DATABASE_URL=f"sqlite:///{db}", CEGAH_VAR_DIR=str(db.parent))


def _start(env, args) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "cegah.cli", *map(str, args)], cwd=ROOT,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _finish(proc: subprocess.Popen) -> subprocess.CompletedProcess:
    out, err = proc.communicate(timeout=300)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


class Cli:
    def __init__(self, db: Path) -> None:
        self.env = _env(db)
        self.dir = db.parent

    def __call__(self, *args) -> subprocess.CompletedProcess:
        return _finish(_start(self.env, args))

    def all(self, *commands) -> list[subprocess.CompletedProcess]:
        """Run independent commands side by side."""
        procs = [_start(self.env, args) for args in commands]
        return [_finish(p) for p in procs]

    def file(self, name: str, data: bytes) -> Path:
        path = self.dir / name
        path.write_bytes(data)
        return path


@pytest.fixture(scope="module")
def template_db(tmp_path_factory) -> Path:
    db = tmp_path_factory.mktemp("cli-template") / "cli.sqlite3"
    cli = Cli(db)
    for args in (("init",), ("areas", "load", "--only", "31.74"),
                 ("manage", "shell", "-c", SETUP_PEOPLE)):
        result = cli(*args)
        assert result.returncode == 0, result.stderr
    return db


@pytest.fixture
def cli(template_db, tmp_path) -> Cli:
    db = tmp_path / "cli.sqlite3"
    src, dst = sqlite3.connect(template_db), sqlite3.connect(db)
    try:
        src.backup(dst)  # a consistent copy, whatever is still in the write-ahead log
    finally:
        src.close()
        dst.close()
    return Cli(db)


GOOD = csv_bytes(CASES, [
    ["31.74", "2024-01", "sexual_abuse", 3, "Unit PPA"],
    ["31.74.01", "2024-01", "trafficking", 0, ""],
    ["71.71", "2024-02", "online_sexual_exploitation", 12, "LSM, Manado"],
])


def test_cli_imports_reimports_unchanged_and_round_trips(cli):
    path = cli.file("cases.csv", GOOD)
    first = cli("import", "cases", path)
    assert first.returncode == 0, first.stderr
    assert f"{path}: 3 rows valid; added 3 new, replaced 0, 0 unchanged" in first.stdout
    assert "; import #1" in first.stdout

    again = cli("import", "cases", path)
    assert again.returncode == 0, again.stderr
    assert "added 0 new, replaced 0, 3 unchanged" in again.stdout

    out_csv, out_xlsx = cli.dir / "out.csv", cli.dir / "out.xlsx"
    exported = cli.all(("export", "cases", "--out", out_csv),
                       ("export", "cases", "--out", out_xlsx))
    for result, out in zip(exported, (out_csv, out_xlsx), strict=True):
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == f"{out}: 3 rows"
        assert not out.with_name(out.name + ".part").exists()
    assert read_csv(out_csv) == [CASES, ["31.74", "2024-01", "sexual_abuse", "3", "Unit PPA"],
                                 ["31.74.01", "2024-01", "trafficking", "0", ""],
                                 ["71.71", "2024-02", "online_sexual_exploitation", "12",
                                  "LSM, Manado"]]
    ws = load_workbook(out_xlsx).worksheets[0]
    assert [c.value for c in next(ws.iter_rows(min_row=2))] == [
        "31.74", "2024-01", "sexual_abuse", 3, "Unit PPA"]

    # Exports re-import as they are: nothing would change.
    for result in cli.all(("import", "cases", out_csv, "--dry-run"),
                          ("import", "cases", out_xlsx, "--dry-run")):
        assert result.returncode == 0, result.stderr
        assert "3 rows valid; would add 0 new, would replace 0, 3 unchanged" in result.stdout


def test_cli_reports_bad_rows_with_file_name_and_line(cli):
    bad = cli.file("bad.csv", csv_bytes(CASES, [
        ["31.74", "2024-01", "sexual_abuse", 3, ""],
        ["99.99", "2024-01", "sexual_abuse", 1, ""],
        ["31.74", "2024-02", "sexual_abuse", -7, ""],
        ["31.74", "2024-01", "sexual_abuse", 3, ""],
    ]))
    good = cli.file("good.csv", GOOD)
    real, dry_bad, dry_good = cli.all(("import", "cases", bad),
                                      ("import", "cases", bad, "--dry-run"),
                                      ("import", "cases", good, "--dry-run"))
    for result in (real, dry_bad):
        assert result.returncode == 1
        lines = result.stderr.splitlines()
        assert lines[0].startswith(f"{bad}: line 3: ") and "'99.99'" in lines[0]
        assert lines[1].startswith(f"{bad}: line 4: count: ") and "-7" in lines[1]
        assert lines[2].startswith(f"{bad}: line 5: ") and "2" in lines[2]
        assert lines[3] == f"error: 3 bad row(s) in {bad}; nothing was imported."
        assert result.stdout == ""
    assert dry_good.returncode == 0, dry_good.stderr
    assert f"{good}: 3 rows valid; would add 3 new, would replace 0, 0 unchanged" \
        in dry_good.stdout
    assert "import #" not in dry_good.stdout

    # Neither the refused file (whose first row equals one of good.csv) nor the dry runs
    # wrote data; only the refusal was recorded as an import.
    real_good = cli("import", "cases", good)
    assert "added 3 new, replaced 0, 0 unchanged" in real_good.stdout
    assert "; import #2" in real_good.stdout


def test_cli_refuses_personal_data_and_unreadable_files(cli):
    nama = cli.file("nama.csv", csv_bytes([*CASES, "nama_korban"],
                                          [["31.74", "2024-01", "sexual_abuse", 1, "", "x"]]))
    nik = cli.file("nik.csv", csv_bytes(CASES, [["31.74", "2024-01", "sexual_abuse", 1, ""],
                                                ["31.74", "2024-02", "sexual_abuse", 1, NIK]]))
    txt = cli.file("cases.txt", GOOD)
    broken = cli.file("broken.xlsx", b"PK\x03\x04 not really a workbook")
    latin = cli.file("latin.csv", "code,period,category,count,source\n31.74,2024-01,"
                                  "sexual_abuse,1,Dinas Sosial é\n".encode("latin-1"))
    missing = cli.dir / "missing.csv"
    results = cli.all(*[("import", "cases", p) for p in
                        (nama, nik, txt, broken, latin, missing)])
    r_nama, r_nik, r_txt, r_broken, r_latin, r_missing = results
    for result in results[:-1]:
        assert result.returncode == 1, result.stdout
        assert "nothing was imported" in result.stderr.splitlines()[-1]
    assert r_nama.stderr.startswith(f"{nama}: line 1: ") and "'nama_korban'" in r_nama.stderr
    assert r_nik.stderr.startswith(f"{nik}: line 3: ") and "NIK" in r_nik.stderr
    assert NIK not in r_nik.stderr + r_nik.stdout
    assert r_txt.stderr.startswith(f"{txt}: cases.txt: ") and ".txt" in r_txt.stderr
    assert r_broken.stderr.startswith(f"{broken}: broken.xlsx: ") and ".xlsx" in r_broken.stderr
    assert r_latin.stderr.startswith(f"{latin}: latin.csv: ") and "UTF-8" in r_latin.stderr
    assert r_missing.returncode == 2
    assert r_missing.stderr.strip() == f"error: {missing}: file not found."


def test_cli_imports_with_a_users_rights(cli):
    outside = cli.file("outside.csv", csv_bytes(CASES, [
        ["31.74.01", "2024-01", "sexual_abuse", 3, ""],
        ["71.71", "2024-01", "sexual_abuse", 1, ""],
    ]))
    inside = cli.file("inside.csv", csv_bytes(CASES, [["31.74.01", "2024-01", "sexual_abuse",
                                                       3, ""]]))
    wb = Workbook()
    wb.active.append(["kode", "periode", "kategori", "jumlah"])
    wb.active.append(["31.74", dt.date(2024, 1, 1), "sexual_abuse", 3])
    wb.active.append(["31.74.01", dt.datetime(2024, 2, 1), "trafficking", 1])
    buf = io.BytesIO()
    wb.save(buf)
    xlsx = cli.file("kasus.xlsx", buf.getvalue())
    semi = cli.file("kasus.csv", csv_bytes(["kode", "periode", "kategori", "jumlah"],
                                           [["71.71", "2024-03", "sexual_abuse", 5]], sep=";"))
    r_alice, r_bob, r_nobody, r_ok, r_xlsx, r_semi = cli.all(
        ("import", "cases", outside, "--user", "alice"),
        ("import", "cases", inside, "--user", "bob"),
        ("import", "cases", inside, "--user", "mallory"),
        ("import", "cases", inside, "--user", "alice"),
        ("import", "cases", xlsx, "--user", "alice", "--dry-run"),
        ("import", "cases", semi),
    )
    assert r_alice.returncode == 1
    first = r_alice.stderr.splitlines()[0]
    assert first.startswith(f"{outside}: line 3: ") and "71.71" in first
    assert r_bob.returncode == 1
    assert r_bob.stderr.strip() == "error: bob may not import data."
    assert r_nobody.returncode == 1
    assert "--user: no active user named 'mallory'." in r_nobody.stderr
    assert r_ok.returncode == 0, r_ok.stderr
    assert "added 1 new" in r_ok.stdout
    # Excel date cells and Indonesian headers, by a user and by the operator.
    assert r_xlsx.returncode == 0, r_xlsx.stderr
    assert f"{xlsx}: 2 rows valid; would add" in r_xlsx.stdout
    assert r_semi.returncode == 0, r_semi.stderr
    assert f"{semi}: 1 rows valid; added 1 new" in r_semi.stdout


def test_cli_exports_are_scoped_and_refusals_write_nothing(cli):
    seed = cli.file("seed.csv", GOOD)
    assert cli("import", "cases", seed).returncode == 0
    mine, outside, viewer, bad_ext, sub = (cli.dir / n for n in (
        "mine.csv", "outside.csv", "viewer.xlsx", "out.txt", "sub.xlsx"))
    viewer.write_bytes(b"an older file")
    r_mine, r_outside, r_viewer, r_ext, r_sub = cli.all(
        ("export", "cases", "--out", mine, "--user", "alice"),
        ("export", "cases", "--out", outside, "--user", "alice", "--area", "71.71"),
        ("export", "cases", "--out", viewer, "--user", "bob"),
        ("export", "cases", "--out", bad_ext),
        ("export", "cases", "--out", sub, "--user", "alice", "--area", "31.74.01"),
    )
    assert r_mine.returncode == 0, r_mine.stderr
    assert {r[0] for r in read_csv(mine)[1:]} == {"31.74", "31.74.01"}  # no 71.71

    assert r_outside.returncode == 1
    assert r_outside.stderr.startswith("error: not allowed")
    assert not outside.exists() and not outside.with_name("outside.csv.part").exists()

    assert r_viewer.returncode == 1 and r_viewer.stderr.startswith("error: not allowed")
    assert viewer.read_bytes() == b"an older file"  # left alone
    assert not viewer.with_name("viewer.xlsx.part").exists()

    assert r_ext.returncode == 2
    assert r_ext.stderr.startswith("error: --out out.txt: ") and ".txt" in r_ext.stderr
    assert not bad_ext.exists()

    assert r_sub.returncode == 0, r_sub.stderr
    assert r_sub.stdout.strip() == f"{sub}: 1 rows"
    ws = load_workbook(sub).worksheets[0]
    assert [[c.value for c in row] for row in ws.iter_rows()] == [
        CASES, ["31.74.01", "2024-01", "trafficking", 0, None]]
