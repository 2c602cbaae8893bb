"""The checker: rules compiled from profiles, evaluated per machine and unit, stored as check runs.

- `run_check(store, org, profiles, now=...)` evaluates and stores a run (`runs`);
- `itaudit.check.results` reads stored runs (the API reports build on);
- `itaudit.check.attestations` records the officer's evidence for management rules.
"""
