"""The trainer's pure functions: make_train learns and vmaps, flags behave alike traced or not,
bad settings are refused."""

import math

import jax
import numpy as np
import pytest

from pmaxent.continuous.config import ContinuousTrainConfig
from pmaxent.core.runs import run_training
from pmaxent.core.train import init_state, make_train, make_update
from pmaxent.tabular.config import TabularTrainConfig

SMALL = dict(env="room-det", agents=2, batch_size=20, updates=200, seeds=(0, 1), chunk=100)


def test_make_train_is_pure_and_vmaps_over_seeds():
    config = TabularTrainConfig(**{**SMALL, "updates": 30})
    train = jax.jit(jax.vmap(make_train(config), in_axes=(0, None)))
    keys = jax.random.split(jax.random.key(0), 3)
    state_a, metrics_a = train(keys, False)
    state_b, metrics_b = train(keys, False)
    np.testing.assert_array_equal(state_a.params, state_b.params)
    assert metrics_a["normalized_entropy"].shape == (3, 30)
    assert not np.allclose(state_a.params[0], state_a.params[1])


@pytest.mark.parametrize(
    "config",
    [
        TabularTrainConfig(env="room-det", agents=2, batch_size=6),
        ContinuousTrainConfig(env="gridworld-continuous", agents=2, batch_size=3, horizon=15, hidden=(8, 8)),
    ],
    ids=["tabular", "continuous"],
)
@pytest.mark.parametrize("shared, learning", [(False, True), (True, True), (False, False)])
def test_an_update_takes_python_bools_as_it_takes_traced_flags(config, shared, learning):
    """make_train passes learning=True as a Python bool: ``~True`` is -2, which is truthy, and an
    update that negated it so made every learning team act uniformly."""
    components = config.make_components()
    state = init_state(config, components, jax.random.key(4), learning, shared)
    update = make_update(config, components)
    constant, constant_metrics = jax.jit(lambda s: update(s, shared, learning))(state)
    traced, traced_metrics = jax.jit(update)(state, np.bool_(shared), np.bool_(learning))
    for a, b in zip(jax.tree.leaves(constant.params), jax.tree.leaves(traced.params), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(constant_metrics["entropy"], traced_metrics["entropy"], rtol=1e-5)


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("agents", 0, "agents must be a positive integer"),
        ("batch_size", -4, "batch_size must be a positive integer"),
        ("updates", 2.5, "updates must be a positive integer"),
        ("horizon", 0, "horizon must be a positive integer"),
        ("lr", -0.1, "lr must be finite and positive"),
        ("lr", math.nan, "lr must be finite and positive"),
        ("lr", math.inf, "lr must be finite and positive"),
        ("methods", ("parallel", "greedy"), "unknown method 'greedy'"),
        ("optimizer", "rmsprop", "unknown optimizer"),
        ("baseline", "mean", "unknown baseline"),
        ("seeds", (), "at least one seed"),
    ],
)
def test_bad_config_is_refused(field, value, message):
    with pytest.raises(ValueError, match=message):
        TabularTrainConfig(**{**SMALL, field: value})


def test_unknown_environment_lists_valid_names():
    with pytest.raises(ValueError, match="room-det, room-stoc, maze-det, maze-stoc"):
        TabularTrainConfig(env="lava").make_components()


def test_time_indexed_adam_and_k_trajectories_train(tmp_path):
    config = TabularTrainConfig(
        **{
            **SMALL,
            "time_indexed": True,
            "optimizer": "adam",
            "trajectories": 2,
            "updates": 60,
            "chunk": 60,
            "lr": 0.05,
        }
    )
    run = run_training(config, progress=False)
    assert run.params["parallel"].shape == (2, 2, 8, 55, 4)
    assert np.all(np.isfinite(run.metrics["entropy"]))


@pytest.mark.parametrize("bad", [(), (0, 8), (True,), (8.0,)])
def test_every_network_config_refuses_what_is_not_layer_sizes(bad):
    from pmaxent.continuous.config import ContinuousTrainConfig
    from pmaxent.continuous.offline_config import ContinuousOfflineConfig
    from pmaxent.gcrl.config import GCConfig
    from pmaxent.mepol.algorithm import MepolConfig

    for make, field in ((ContinuousTrainConfig, "hidden"), (MepolConfig, "hidden"), (GCConfig, "hidden"),
                        (ContinuousOfflineConfig, "offline_hidden")):  # fmt: skip
        make(**{field: (8, 8)})
        with pytest.raises(ValueError, match=f"{field} must be positive layer sizes"):
            make(**{field: bad})
