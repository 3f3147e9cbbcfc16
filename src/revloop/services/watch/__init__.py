"""``revloop watch``: the scheduler that keeps the store, findings and notifications current.

jobs.py (what a job is), leases.py (who runs a job now, how it last went), schedule.py (when a
job is due), loop.py (the watcher), tasks.py (the jobs for an App).
"""

from .errors import UnknownJob
from .jobs import Job, JobContext, JobResult
from .leases import JobState, Leases
from .loop import JobRun, Watcher, default_holder, system_clock
from .schedule import Backoff, due_reason, next_due
from .tasks import JOB_NAMES, build_jobs, parse_jobs

__all__ = [
    "JOB_NAMES",
    "Backoff",
    "Job",
    "JobContext",
    "JobResult",
    "JobRun",
    "JobState",
    "Leases",
    "UnknownJob",
    "Watcher",
    "build_jobs",
    "default_holder",
    "due_reason",
    "next_due",
    "parse_jobs",
    "system_clock",
]
