"""Goal-conditioned offline RL in JAX, as the OGBench paper defines it (Park, Frans, Eysenbach,
Levine, "OGBench: Benchmarking Offline Goal-Conditioned RL", ICLR 2025): GCIVL and GCIQL, with
its hindsight goal sampling, trained on many datasets and seeds at once (one compiled program,
``jax.vmap`` over agents).

- :mod:`pmaxent.gcrl.config`: every hyperparameter, in one dataclass;
- :mod:`pmaxent.gcrl.data`: datasets in OGBench's layout and its goal sampling;
- :mod:`pmaxent.gcrl.networks`: the MLPs, value ensembles and the Gaussian actor (Equinox);
- :mod:`pmaxent.gcrl.gcivl`, :mod:`pmaxent.gcrl.gciql`: one agent per file, losses as in the paper;
- :mod:`pmaxent.gcrl.train`: ``make_train(config)``, a pure ``train(key, data)``.

It imports no family: the continuous worlds and OGBench's mazes use it alike.
"""
