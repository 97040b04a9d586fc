"""Batfish: the pre-rollout snapshot (`build/batfish/`) and the checks run against a Batfish server."""
