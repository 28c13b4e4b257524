"""一地创新、多地复用: solution packs (方案包) and the case library (典型案例库)."""
