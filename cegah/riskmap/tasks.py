"""Background tasks (Django's task framework; a database queue by default)."""

from django_tasks import task


@task()
def compute_risk_run(run_id: int) -> None:
    from cegah.riskmap.actions import do_compute_risk_run

    do_compute_risk_run(run_id)
