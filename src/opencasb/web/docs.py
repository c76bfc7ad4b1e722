"""The API's reference at ``/api/docs``: Swagger UI served from the ``swagger-ui-bundle``
package, nothing from a CDN, and no inline script (the page's start-up is ``init.js``)."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path

__all__ = ["DOCS_URL", "OPENAPI_URL", "install_docs"]

DOCS_URL = "/api/docs"
OPENAPI_URL = "/api/openapi.json"

_PAGE = f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>OpenCASB API</title>
<link rel="stylesheet" href="{DOCS_URL}/static/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="{DOCS_URL}/static/swagger-ui-bundle.js"></script>
<script src="{DOCS_URL}/init.js"></script>
</body>
</html>
"""

_INIT = f"""window.ui = SwaggerUIBundle({{
  url: "{OPENAPI_URL}",
  dom_id: "#swagger-ui",
  deepLinking: true,
  presets: [SwaggerUIBundle.presets.apis],
  layout: "BaseLayout"
}});
"""


def install_docs(app: FastAPI) -> None:
    """Serve the Swagger UI page, its start-up script and its bundled files."""

    @app.get(DOCS_URL, include_in_schema=False)
    def docs() -> HTMLResponse:
        return HTMLResponse(_PAGE)

    @app.get(f"{DOCS_URL}/init.js", include_in_schema=False)
    def init() -> Response:
        return Response(_INIT, media_type="text/javascript")

    app.mount(f"{DOCS_URL}/static", StaticFiles(directory=str(swagger_ui_path)), name="api-docs")
