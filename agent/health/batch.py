"""Jobs and CronJobs."""

from __future__ import annotations

from agent.health.core import Health, Obj, conditions, degraded, healthy, progressing, spec, status, suspended


def job(obj: Obj) -> Health:
    conds = conditions(obj)
    failed = conds.get("Failed") or {}
    if failed.get("status") == "True":
        return degraded(str(failed.get("message") or failed.get("reason") or "job failed"))
    if (conds.get("Complete") or {}).get("status") == "True":
        return healthy("completed")
    if spec(obj).get("suspend"):
        return suspended("job is suspended")
    return progressing("running")


def cronjob(obj: Obj) -> Health:
    if spec(obj).get("suspend"):
        return suspended("schedule is suspended")
    st = status(obj)
    last_success = st.get("lastSuccessfulTime")
    last_schedule = st.get("lastScheduleTime")
    if last_schedule and last_success and str(last_success) < str(last_schedule) and not st.get("active"):
        return degraded("the last scheduled job did not succeed")
    return healthy()
