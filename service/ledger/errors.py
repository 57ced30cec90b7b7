from service.errors import Conflict, NotFound


class InsufficientCredits(Conflict):
    code, title_en, title_zh = "INSUFFICIENT_CREDITS", "Not enough credits", "碳积分不足"


class AlreadyReversed(Conflict):
    code, title_en, title_zh = "ALREADY_REVERSED", "This transfer was already reversed", "该笔转账已被冲正"


class NotReversible(Conflict):
    code, title_en, title_zh = "NOT_REVERSIBLE", "Only issuances can be reversed here", "此处只能冲正发放记录"


class TransferNotFound(NotFound):
    code, title_en, title_zh = "TRANSFER_NOT_FOUND", "No such transfer", "转账记录不存在"
