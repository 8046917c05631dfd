"""tilecred inside task runners: Airflow, Prefect and Dagster.

Each module imports its runner and is meant to be imported only where that
runner is installed (the ``airflow``, ``prefect`` and ``dagster`` extras).
All of them are built on tilecred's public functions: a credential is used by
name, gated by ``allowed_in_tasks`` and recorded in the audit log, on whatever
backend the process is configured for.
"""
