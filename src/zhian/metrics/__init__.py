"""The metrics layer: one definition per figure that pages, reports and the API show."""
