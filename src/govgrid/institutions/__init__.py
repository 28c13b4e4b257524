"""数据制度 institutions: data benefit distribution (contribution ledger) and data security governance."""
