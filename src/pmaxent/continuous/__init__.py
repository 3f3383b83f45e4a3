"""Continuous state spaces: entropy features in R^d, k-nearest-neighbour entropy estimates
(:mod:`pmaxent.continuous.knn`), and the worlds and policies of SPEC section 11."""
