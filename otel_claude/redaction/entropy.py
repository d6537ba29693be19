"""Whether a token is random (a key, a password generator's output) rather than a word, a name or a number.

Shannon entropy alone cannot tell: a 20-character random string has at most log2(20) = 4.3 bits per character
whatever its alphabet, so the threshold is relative to the most the token's length allows, and the token must
mix character classes the way generated secrets do (words and identifiers change case only at word starts;
random text changes it all the time).
"""

from __future__ import annotations

import functools
import math
import re
from collections import Counter
from typing import Final

_HEX: Final = frozenset("0123456789abcdefABCDEF")
_ALNUM: Final = frozenset("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
# camelCase words, acronyms and numbers: an identifier splits into a few long ones, random text into many short.
_WORDS_RE: Final = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+|[^A-Za-z0-9]+")


def shannon_entropy(text: str) -> float:
    """Bits per character of `text`'s own character distribution."""
    if not text:
        return 0.0
    n = len(text)
    return -sum(c / n * math.log2(c / n) for c in Counter(text).values())


def _relative_entropy(text: str, alphabet: int) -> float:
    """Entropy over the most `text` could have: its length bounds it below the alphabet's own."""
    top = math.log2(min(len(text), alphabet))
    return shannon_entropy(text) / top if top > 0 else 0.0


@functools.lru_cache(maxsize=4096)
def looks_random(token: str, min_length: int = 20) -> bool:
    """A generated secret: long enough, near the highest entropy its length allows, and mixed like one.

    Hex (40-hex API keys, 32-hex secrets) needs digits and letters both; other alphabets need at least two of
    lower case, upper case and digits, with case switching at more than word starts when there are no digits.
    """
    n = len(token)
    if n < min_length or n > 4096:
        return False
    lower = sum(c.islower() for c in token)
    upper = sum(c.isupper() for c in token)
    digits = sum(c.isdigit() for c in token)
    if all(c in _HEX for c in token):
        # sha-like hex: both digits and letters, and not one case mixed with the other (a word in caps).
        return digits >= n // 8 and (lower + upper) >= n // 8 and _relative_entropy(token, 16) >= 0.8
    classes = (lower > 0) + (upper > 0) + (digits > 0)
    if classes < 2:
        return False
    letters = lower + upper
    if digits == 0 and not 0.25 <= upper / letters <= 0.75:
        # Letters only: an identifier (getUserAccessToken) has a capital per word; random letters half of them.
        return False
    if digits > n * 0.8:
        return False  # a number, a timestamp, a phone number
    if len(_WORDS_RE.findall(token)) * 3.5 <= n:
        return False  # words run together (SMTPRecipientsRefused, LZMADecompressor): a name, not noise
    alphabet = 26 * (lower > 0) + 26 * (upper > 0) + 10 * (digits > 0) + len(set(token) - _ALNUM)
    return _relative_entropy(token, alphabet) >= 0.8
