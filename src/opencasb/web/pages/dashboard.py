"""The dashboard: activities per app over the last week, open alerts by severity, connector
health, the busiest users and the commonest countries. URL: ``/dashboard``."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from opencasb.detect.policy import Severity
from opencasb.web.auth.deps import get_ctx
from opencasb.web.pages import charts, stats
from opencasb.web.pages.deps import store_of, viewer_of
from opencasb.web.pages.render import render

__all__ = ["router"]

router = APIRouter()
DAYS = 7


@router.get("/dashboard", response_class=HTMLResponse)
def dashboard(request: Request) -> Response:
    viewer_of(request)
    store = store_of(request)
    now = get_ctx(request).clock.now()
    per_day = stats.activity_per_day(store, now, DAYS)
    by_sev = store.detection.count_alerts_by("severity", status="open")
    severities = [s.value for s in reversed(Severity)]
    sev_rows = [(s, by_sev.get(s, 0)) for s in severities]
    users = stats.top_users(store, now, DAYS)
    countries = stats.top_countries(store, now, DAYS)
    return render(
        request,
        "dashboard.html",
        title="Dashboard",
        activity_chart=charts.stacked_days(
            per_day.days, per_day.series, title=f"Activities per app, last {DAYS} days"
        ),
        legend=list(per_day.series),
        severity_chart=charts.hbars(
            sev_rows, title="Open alerts by severity", classes=[f"s-{s}" for s in severities]
        ),
        open_count=sum(by_sev.values()),
        instances=store.list_instances(),
        users=users,
        user_chart=charts.hbars(users, title="Busiest users"),
        country_chart=charts.hbars(
            [(f"{name} ({code})", n) for code, name, n in countries], title="Countries"
        ),
        countries=countries,
        days=DAYS,
    )
