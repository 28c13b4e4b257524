"""市场监管协同 market-supervision coordination: entity registry, credit-risk classes, 双随机、一公开."""
