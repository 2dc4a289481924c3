"""Search (综合查询): one box across the registry, devices, alerts and cases, and passages."""
