"""Why a receipt or a checkpoint cannot be had; each class is a stable code (see the tree in service/errors.py)."""

from service.errors import Conflict, NotFound


class EntryNotFound(NotFound):
    code, title_en, title_zh = "ENTRY_NOT_FOUND", "No such entry of yours", "没有这条属于你的记录"


class ConsentEventNotFound(NotFound):
    code = "CONSENT_EVENT_NOT_FOUND"
    title_en, title_zh = "No such consent event of yours", "没有这条属于你的同意记录"


class ReceiptNotReady(Conflict):
    code = "RECEIPT_NOT_READY"
    title_en, title_zh = "This entry is not sealed yet; try again in a second", "该记录尚未封存，请一秒后重试"

    def __init__(self) -> None:
        super().__init__(headers={"Retry-After": "1"})


class CheckpointNotFound(NotFound):
    code, title_en, title_zh = "CHECKPOINT_NOT_FOUND", "No checkpoint of that size", "没有该大小的检查点"
