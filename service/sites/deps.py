from typing import Annotated, cast

from fastapi import Depends, Request

from service.sites.cache import SiteCache


async def get_site_cache(request: Request) -> SiteCache:
    return cast(SiteCache, request.app.state.site_cache)


SiteCacheDep = Annotated[SiteCache, Depends(get_site_cache)]
