from typing import Annotated, cast

from fastapi import Depends, Request

from service.ingest.service import Ingest


async def get_ingest(request: Request) -> Ingest:
    return cast(Ingest, request.app.state.ingest)


IngestDep = Annotated[Ingest, Depends(get_ingest)]
