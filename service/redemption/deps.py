"""What the redemption domain's routes, and others that read vouchers, take from the app."""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import Depends, Request

from service.redemption.codes import VoucherCodes


async def _voucher_codes(request: Request) -> VoucherCodes:
    return cast(VoucherCodes, request.app.state.voucher_codes)


VoucherCodesDep = Annotated[VoucherCodes, Depends(_voucher_codes)]
