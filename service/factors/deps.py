from typing import Annotated, cast

from fastapi import Depends, Request

from service.factors.cache import FactorCache


async def get_factor_cache(request: Request) -> FactorCache:
    return cast(FactorCache, request.app.state.factor_cache)


FactorCacheDep = Annotated[FactorCache, Depends(get_factor_cache)]
