"""MEPOL (Mutti, Pratissoli, Restelli, AAAI 2021) as a baseline family."""
