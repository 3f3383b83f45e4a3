"""The issue-7 study: the four-rooms map, exact variance of the estimators, and the study functions."""

import dataclasses

import jax
import numpy as np
import pytest
from baselines_study import (
    FOUR_ROOMS_START,
    exact_gradient_variance,
    four_rooms,
    four_rooms_config,
    four_rooms_doorways,
    four_rooms_layout,
    gradient_statistics,
    gradient_variance_study,
    learning_curves,
    summarize_curves,
    team_scaling,
    train_checkpoints,
    updates_to_target,
    variance_vs_team_size,
)
from tiny_mdps import three_state_mdp

from pmaxent.core.train import init_state, make_train
from pmaxent.tabular.config import TabularTrainConfig
from pmaxent.tabular.enumeration import exact_gradient
from pmaxent.tabular.mdp import reachable_states
from pmaxent.tabular.policy import TabularSoftmax


def _components(floor: np.ndarray) -> list[int]:
    """Sizes of the 4-connected components of a boolean grid, largest first."""
    seen = np.zeros_like(floor)
    sizes = []
    for start in zip(*np.nonzero(floor), strict=True):
        if seen[start]:
            continue
        stack, size = [start], 0
        seen[start] = True
        while stack:
            r, c = stack.pop()
            size += 1
            for nr, nc in ((r + 1, c), (r - 1, c), (r, c + 1), (r, c - 1)):
                if 0 <= nr < floor.shape[0] and 0 <= nc < floor.shape[1] and floor[nr, nc] and not seen[nr, nc]:
                    seen[nr, nc] = True
                    stack.append((nr, nc))
        sizes.append(size)
    return sorted(sizes, reverse=True)


def test_four_rooms_map_is_four_rooms_joined_by_one_cell_doorways():
    mdp = four_rooms()
    assert mdp.grid_shape == (20, 20) and mdp.horizon == 30
    assert mdp.n_valid == 81 + 72 + 72 + 64 + 4
    assert mdp.start_state == FOUR_ROOMS_START[0] * 20 + FOUR_ROOMS_START[1]
    floor = mdp.valid.reshape(20, 20)
    assert not floor[[0, -1]].any() and not floor[:, [0, -1]].any(), "the outer wall is closed"
    doorways = four_rooms_doorways()
    assert doorways == ((5, 10), (14, 10), (10, 5), (10, 14))
    inner_wall = np.zeros_like(floor)
    inner_wall[10, 1:-1] = inner_wall[1:-1, 10] = True
    assert sorted(zip(*np.nonzero(floor & inner_wall), strict=True)) == sorted(doorways), (
        "the inner walls open only at the doorways"
    )
    rooms = floor.copy()
    for r, c in doorways:
        rooms[r, c] = False
    assert _components(rooms) == [81, 72, 72, 64]
    assert reachable_states(mdp.P, mdp.start_state)[mdp.valid].all()
    assert np.all(mdp.P.max(axis=2) == 1.0), "deterministic moves"


def test_four_rooms_layout_other_sizes_and_refuses_tiny_maps():
    layout = four_rooms_layout(9)
    assert len(layout) == 9 and all(len(row) == 9 for row in layout)
    mdp = four_rooms(9, horizon=5)
    assert reachable_states(mdp.P, mdp.start_state)[mdp.valid].all()
    assert _components(mdp.valid.reshape(9, 9)) == [mdp.n_valid]
    with pytest.raises(ValueError, match="size >= 7"):
        four_rooms_layout(6)


@pytest.mark.parametrize("n_agents, seed, scale", [(2, 0, 1.0), (2, 1, 3.0), (3, 2, 1.0), (3, 3, 3.0)])
def test_loo_agent_has_lower_exact_variance_than_paper(n_agents, seed, scale):
    """Exact per-sample variances by enumeration, at random tables (scale 3: near-deterministic)."""
    mdp = three_state_mdp()
    theta = scale * np.asarray(TabularSoftmax(3, 2, 2).init(jax.random.key(seed), n_agents))
    mean_paper, var_paper = exact_gradient_variance(mdp, theta, "none")
    mean_loo, var_loo = exact_gradient_variance(mdp, theta, "loo-agent")
    # the enumeration is right: both means are the exact gradient
    exact = np.asarray(exact_gradient(mdp, theta), np.float64)
    np.testing.assert_allclose(mean_paper, exact, atol=1e-5)
    np.testing.assert_allclose(mean_loo, exact, atol=1e-5)
    assert 0 < var_loo < 0.5 * var_paper


def test_gradient_statistics_matches_exact_variance():
    """The Monte Carlo variance of the B-sample estimator is the exact per-sample one / B."""
    mdp, batch, n = three_state_mdp(), 4, 600
    policy = TabularSoftmax(3, 2, 2)
    theta = policy.init(jax.random.key(5), 2)
    stats = gradient_statistics(mdp, policy, theta, batch, n, jax.random.key(6), ("none", "loo-agent"), chunk=200)
    for baseline in ("none", "loo-agent"):
        _, exact_var = exact_gradient_variance(mdp, theta, baseline)
        # the variance of a sample variance of n draws is a few times 2 / n relative
        assert stats["per_baseline"][baseline]["total_variance"] == pytest.approx(exact_var / batch, rel=0.25)
    assert 0.2 < stats["per_baseline"]["loo-agent"]["mean_distance_ratio"] < 5


def test_updates_to_target_and_summary():
    updates = np.arange(1, 101, dtype=float)
    slow = np.stack([updates / 100, updates / 100])  # smoothed over 5 updates: (u - 2) / 100
    fast = np.minimum(2 * slow, 1.0)
    flat = np.full_like(slow, 0.5)
    summary = summarize_curves({"none": slow, "loo-agent": fast, "both": flat})
    window = summary["window"]
    assert window == 5 and summary["cap"] == 100 and summary["n_seeds"] == 2
    assert summary["target"] == pytest.approx(np.mean(updates[-5:]) / 100)
    start = np.mean(updates[:5]) / 100
    assert summary["gain_target"] == pytest.approx(start + 0.9 * (summary["target"] - start))
    per = summary["per_baseline"]
    assert per["none"]["updates_to_target"] == 100 and per["none"]["updates_to_gain"] == 91
    assert per["loo-agent"]["updates_to_target"] < 60 and per["loo-agent"]["updates_to_gain"] == 47
    assert per["both"]["updates_to_target"] is None and per["both"]["updates_to_gain"] is None
    assert per["both"]["final_std"] == 0.0
    assert updates_to_target(slow, 0.0, 5) == 5, "the first smoothed value needs a full window"


def test_train_checkpoints_lie_on_one_training_run():
    config = TabularTrainConfig(env="room-det", agents=2, batch_size=8, methods=("parallel",), chunk=2)
    run = train_checkpoints(config, (4, 0, 2), seed=3)  # 4: continued over two chunks
    assert run["updates"] == [0, 2, 4] and run["normalized_entropy"].shape == (4,)
    initial = init_state(config, config.make_components(), jax.random.key(3)).params
    np.testing.assert_array_equal(run["params"][0], initial)
    for update, params in zip(run["updates"][1:], run["params"][1:], strict=True):
        state, _ = make_train(dataclasses.replace(config, updates=update))(jax.random.key(3))
        np.testing.assert_allclose(params, state.params, rtol=1e-6)
    assert not np.allclose(run["params"][0], run["params"][2])


def test_study_functions_smoke():
    config = TabularTrainConfig(env="room-det", agents=2, batch_size=6, chunk=3)
    variance = gradient_variance_study(config, (0, 3), n_estimates=4)
    assert [row["update"] for row in variance["checkpoints"]] == [0, 3]
    assert variance["checkpoints"][0]["baselines"]["none"]["variance_ratio"] == 1.0

    by_m = variance_vs_team_size(lambda m: four_rooms_config(m, size=7, horizon=3, batch_size=4), (3,), n_estimates=3)
    assert [row["agents"] for row in by_m["rows"]] == [3]

    curves = learning_curves(("room-det",), ("none",), agents=2, updates=4, seeds=(0,), batch_size=4)
    assert curves["curves"]["room-det"]["none"]["normalized_entropy"].shape == (1, 4)
    assert curves["env_steps_per_update"]["room-det"] == 4 * 2 * 8

    baselines = ("none", "loo-agent")
    scaling = team_scaling(
        (2,), lr={2: 0.3}, updates={2: 4}, baselines=baselines, seeds=(0,), size=7, horizon=3, batch_size=4
    )
    row = scaling["rows"][0]
    assert row["cap"] == 4 and row["lr"] == 0.3 and set(row["summary"]["per_baseline"]) == set(baselines)
    assert row["summary"]["per_baseline"]["none"]["updates_to_target"] is not None
