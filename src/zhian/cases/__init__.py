"""Cases and incidents (警情/案件): records, import, and case linkage (串并分析)."""
