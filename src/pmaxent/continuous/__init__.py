"""Continuous states (SPEC section 11): JAX worlds, Gaussian MLP teams and the k-NN entropy estimator."""
