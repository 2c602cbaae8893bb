"""Holiday readiness: the Vietnamese holiday calendar and the readiness checks."""
