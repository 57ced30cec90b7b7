from typing import Annotated, cast

from fastapi import Depends, Request

from service.ledger.posting import Recorder


async def get_recorder(request: Request) -> Recorder:
    return cast(Recorder, request.app.state.recorder)


RecorderDep = Annotated[Recorder, Depends(get_recorder)]
