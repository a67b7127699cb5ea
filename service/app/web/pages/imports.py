"""The FOCUS bill upload (``/imports/cost``, admins): the browser's way to ``POST /api/v1/cost/imports``.

The form is ``multipart/form-data``; the edge lets this route's body reach the import cap
(``service.app.api.limits.body_limit``), the multipart parser keeps the file part on disk past 1 MiB, and the
file is streamed into the import spool and imported by the same functions as the API route.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.datastructures import UploadFile

from service.app.api.limits import WEB_IMPORT_PATH, body_limit
from service.app.api.routes.cost import import_spooled, spool
from service.app.api.state import app_state
from service.app.web.auth import Admin, Csrf
from service.app.web.render import page
from service.core.errors import InvalidInput

router = APIRouter(include_in_schema=False)
CHUNK = 1024 * 1024


async def _chunks(upload: UploadFile) -> AsyncIterator[bytes]:
    while chunk := await upload.read(CHUNK):
        yield chunk


@router.get(WEB_IMPORT_PATH)
def import_form(request: Request, viewer: Admin) -> Response:
    return page(request, "imports.html", title="Import a bill", viewer=viewer, result=None)


@router.post(WEB_IMPORT_PATH, dependencies=[Csrf])
async def import_upload(request: Request, viewer: Admin) -> Response:
    settings = app_state(request).settings
    form = await request.form()  # parsed once already by the CSRF check: the file part is on disk
    try:
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise InvalidInput("choose a FOCUS file (CSV, gzip'd CSV or Parquet) to upload", field="file")
        path = await spool(_chunks(upload), settings, limit=body_limit(settings, WEB_IMPORT_PATH))
        result = await import_spooled(settings, path, upload.filename or "upload")
    finally:
        await form.close()  # the multipart parser's copy of the file
    return page(request, "imports.html", title="Import a bill", viewer=viewer, result=result)
