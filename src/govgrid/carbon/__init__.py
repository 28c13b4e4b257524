"""Wetland carbon sink accounting (湿地碳汇): the pure engine in ``engine/`` plus the registry around it."""
