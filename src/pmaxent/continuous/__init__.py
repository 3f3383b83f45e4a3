"""Continuous worlds (SPEC section 11): Gaussian MLP team policies, k-NN entropy and continuous environments."""
