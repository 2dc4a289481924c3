"""Trajectories (轨迹) and co-travellers (同行): a subject's passages in time order."""
