"""The case library (案例库): handled incidents and cases written up with their lessons."""
