"""TEMPORARY: a stand-in for the portal's authentication until the app factory lands."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Form, Request
from fastapi.responses import RedirectResponse

from opencasb.web.pages import mount_pages
from opencasb.web.pages.deps import Viewer

USERS = {
    "ann": ("ann-password-1", "admin"),
    "ana": ("ana-password-1", "analyst"),
    "rob": ("rob-password-1", "read_only"),
}


def make_app(store: Any) -> FastAPI:
    app = FastAPI()
    app.state.store = store

    def viewer_of(request: Request) -> Viewer | None:
        name = request.cookies.get("who", "")
        if name not in USERS:
            return None
        return Viewer(name, USERS[name][1], "csrf-" + name)

    app.state.viewer_of = viewer_of

    @app.post("/signin")
    def signin(username: str = Form(), password: str = Form(), next: str = Form("/")) -> Any:
        if USERS.get(username, ("", ""))[0] != password:
            return RedirectResponse("/signin?error=wrong", status_code=303)
        r = RedirectResponse(next, status_code=303)
        r.set_cookie("who", username, httponly=True, samesite="lax")
        return r

    @app.post("/signout")
    def signout() -> Any:
        r = RedirectResponse("/signin", status_code=303)
        r.delete_cookie("who")
        return r

    mount_pages(app)
    return app
