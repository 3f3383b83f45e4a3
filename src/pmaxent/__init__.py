"""pmaxent: parallel maximum state entropy exploration (De Paola et al., ICML 2025) in JAX."""

from pmaxent import envs
from pmaxent.envs import TabularMDP, make

envs.register_envs()

__version__ = "0.1.0"
__all__ = ["TabularMDP", "envs", "make"]
