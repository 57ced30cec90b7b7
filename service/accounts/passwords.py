"""Staff passwords: the policy a new one must meet, and Argon2id hashing, both run off the event loop
(each costs milliseconds to tens of milliseconds)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from zxcvbn import zxcvbn

from service.accounts.errors import PasswordTooWeak

_hasher = PasswordHasher()
# Verified against when the username is unknown, so that both cases take as long.
_DUMMY_HASH = _hasher.hash("tanpuhui-no-such-user")

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 256
# zxcvbn's score, 0–4: 3 is "safely unguessable: moderate protection from an offline attack" (about 10^10
# guesses). Common passwords, keyboard walks, dates, repeats and the user's own names score below it.
MIN_STRENGTH_SCORE = 3
# zxcvbn's work grows with the length; what follows its first characters only makes a password stronger.
_STRENGTH_CHECKED_CHARS = 72
# Words anyone guessing at this platform's accounts would try first.
_PLATFORM_WORDS = ("tanpuhui", "haihe", "jinnan", "tianjin", "carbon", "admin", "console")


def _score(password: str, user_inputs: list[str]) -> tuple[int, str]:
    result = zxcvbn(password[:_STRENGTH_CHECKED_CHARS], user_inputs=user_inputs)
    return int(result["score"]), str(result["feedback"]["warning"] or "")


async def check_password(password: str, *, user_inputs: Iterable[str], field: str = "password") -> None:
    """Refuse a password shorter than MIN_PASSWORD_LENGTH, or one that is common or guessable (zxcvbn,
    counting the user's own names and the platform's as known words), with PASSWORD_TOO_WEAK on `field`."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise _too_weak(field, f"shorter than {MIN_PASSWORD_LENGTH} characters")
    inputs = [word for word in user_inputs if word] + list(_PLATFORM_WORDS)
    score, warning = await asyncio.to_thread(_score, password, inputs)
    if score < MIN_STRENGTH_SCORE:
        raise _too_weak(field, warning or "easy to guess")


def _too_weak(field: str, why: str) -> PasswordTooWeak:
    return PasswordTooWeak(
        f"Choose a password of at least {MIN_PASSWORD_LENGTH} characters that is hard to guess: not a common "
        "password, a keyboard pattern, a date or your own name; a phrase of several uncommon words works well.",
        f"请设置至少 {MIN_PASSWORD_LENGTH} 个字符且不易被猜到的密码：不要使用常见密码、键盘序列、日期或自己的名字；"
        "由几个不常见的词组成的短语是好选择。",
        errors=[{"field": field, "in": "body", "code": "TOO_WEAK", "message": why}],
    )


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_hasher.hash, password)


async def verify_password(password_hash: str | None, password: str) -> bool:
    def check() -> bool:
        try:
            return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
        except (VerificationError, InvalidHashError):
            return False

    return await asyncio.to_thread(check)
