"""Chinese tokenisation for the catalog's inverted index (jieba, search mode)."""

from __future__ import annotations

import logging
import re
from functools import lru_cache

import jieba

jieba.setLogLevel(logging.WARNING)
_WORD = re.compile(r"[\w]", re.UNICODE)
STOPWORDS = frozenset("的和与及或等在是对了为其之中按由以于")  # one-character words
# Domain words jieba would otherwise split (kept short: the search mode also yields their parts).
DOMAIN_WORDS = (
    "社保",
    "低保",
    "不动产",
    "湿地",
    "城市部件",
    "法人",
    "网格",
    "营业执照",
    "户籍",
    "医保",
    "公积金",
    "耕地",
    "林地",
    "特困",
    "残疾人",
    "退役军人",
)


@lru_cache(maxsize=1)
def _ready() -> bool:
    for w in DOMAIN_WORDS:
        jieba.add_word(w)
    return True


def tokens(text: str) -> list[str]:
    """Search-mode tokens of a text: lowercased, no punctuation or stopwords, each at most 64 characters."""
    _ready()
    out = []
    for tok in jieba.cut_for_search(text or ""):
        tok = tok.strip().lower()
        if tok and _WORD.search(tok) and tok not in STOPWORDS:
            out.append(tok[:64])
    return out


def weighted_terms(fields: list[tuple[str, int]]) -> dict[str, int]:
    """Term -> summed weight over (text, weight) fields."""
    weights: dict[str, int] = {}
    for text, weight in fields:
        for tok in set(tokens(text)):
            weights[tok] = weights.get(tok, 0) + weight
    return weights
