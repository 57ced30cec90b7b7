from typing import Annotated, cast

from fastapi import Depends, Request

from service.leaderboard.cache import TopCache


async def get_top_cache(request: Request) -> TopCache:
    return cast(TopCache, request.app.state.top_cache)


TopCacheDep = Annotated[TopCache, Depends(get_top_cache)]
