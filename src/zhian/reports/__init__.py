"""Reports (报表中心): documents built from the metrics layer, as Excel and PDF."""
