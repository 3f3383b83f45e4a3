"""Continuous-state worlds, policies and entropy estimators (SPEC section 11)."""
