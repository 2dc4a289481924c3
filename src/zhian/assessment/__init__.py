"""Assessment (考核评价): units scored on indicators with weights and targets."""
