"""Run the whole suite against PostgreSQL in a throw-away database, then drop it.

DATABASE_URL (default postgres://postgres@127.0.0.1:5432/cegah_ci) names the server and
the base name; pytest-django creates and drops ``test_<name>``.
"""

import os
import subprocess
import sys
import uuid

url = os.environ.get("CEGAH_TEST_POSTGRES_URL") or os.environ.get("DATABASE_URL", "")
if not url.startswith(("postgres://", "postgresql://")):
    url = "postgres://postgres@127.0.0.1:5432/cegah_ci"
# A unique base name lets several runs share one server without colliding.
base, _, _ = url.rpartition("/")
url = f"{base}/cegah_ci_{uuid.uuid4().hex[:8]}"
env = dict(os.environ, DATABASE_URL=url)
sys.exit(subprocess.call([sys.executable, "-m", "pytest", "-q", "--create-db", *sys.argv[1:]],
                         env=env))
