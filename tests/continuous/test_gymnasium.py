"""Any Gymnasium environment (gym:ID): host-stepped rollouts, the same run directory, early ends,
feature selection and bad input."""

import json
import os

import gymnasium
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from typer.testing import CliRunner

from pmaxent.cli import app
from pmaxent.continuous.config import ContinuousTrainConfig, mountain_car_config
from pmaxent.continuous.host_gymnasium import gym_environment
from pmaxent.continuous.knn import knn_entropy
from pmaxent.continuous.policy import GaussianMLPTeam
from pmaxent.core import runs as runs_module
from pmaxent.core import train as train_module
from pmaxent.core.host_rollout import make_act, sample_host
from pmaxent.families import load_run, run_training

TINY = dict(
    env="gym:MountainCarContinuous-v0",
    features=(0, 1),
    agents=2,
    batch_size=3,
    updates=4,
    seeds=(0,),
    chunk=2,
    horizon=30,
    hidden=(8,),
)
STOPPER = "pmaxent-test/Stopper-v0"


class Stopper(gymnasium.Env):
    """x_{t+1} = x_t + a_t from x_0 = 0; terminates after ``stop`` steps; observation (x, steps)."""

    observation_space = gymnasium.spaces.Box(-np.inf, np.inf, (2,), np.float32)
    action_space = gymnasium.spaces.Box(-1.0, 1.0, (1,), np.float32)

    def __init__(self, stop=3, nan_at=None):
        self.stop, self.nan_at = stop, nan_at

    def reset(self, seed=None, options=None):
        super().reset(seed=seed)
        self.x, self.t = 0.0, 0
        return np.array([self.x, self.t], np.float32), {}

    def step(self, action):
        self.x += float(action[0])
        self.t += 1
        x = np.nan if self.t == self.nan_at else self.x
        return np.array([x, self.t], np.float32), 0.0, self.t >= self.stop, False, {}


NAN_WORLD = "pmaxent-test/NaNWorld-v0"
if STOPPER not in gymnasium.envs.registry:
    gymnasium.register(STOPPER, entry_point=Stopper)
    gymnasium.register(NAN_WORLD, entry_point=Stopper, kwargs={"stop": 100, "nan_at": 2})


def _invoke(*args):
    return CliRunner().invoke(app, list(args))


def _sample(env, n_agents=2, batch=3, seed=0):
    policy = GaussianMLPTeam.from_spaces(env.observation_space, env.action_space, hidden=(4,), log_std_init=-1.0)
    params = jax.tree.map(lambda x: x[None], policy.init(jax.random.key(seed), n_agents))
    vector = env.make_vector(batch * n_agents)
    return sample_host(env, make_act(policy), vector, params, jnp.array([False]), jax.random.key(seed)[None], batch)


def test_early_ends_repeat_the_last_reached_state():
    env = gym_environment(STOPPER, horizon=6)
    features, observations, actions, alive = _sample(env)
    assert (
        features.shape == (1, 3, 2, 7, 2) and observations.shape == (1, 3, 2, 7, 2) and actions.shape == (1, 3, 2, 6, 1)
    )
    # steps counted 0, 1, 2, 3 then the terminal state repeated (the vector env's autoreset is ignored)
    np.testing.assert_array_equal(features[..., 1], np.broadcast_to([0, 1, 2, 3, 3, 3, 3], (1, 3, 2, 7)))
    np.testing.assert_array_equal(alive[0, 0, 0], [True, True, True, False, False, False, False])
    # x is the running sum of the clipped actions until the end, then frozen
    x = np.concatenate([np.zeros((1, 3, 2, 1)), np.cumsum(np.clip(actions[..., :3, 0], -1, 1), axis=-1)], axis=-1)
    np.testing.assert_allclose(features[..., :4, 0], x, atol=1e-5)
    np.testing.assert_array_equal(features[..., 4:, 0], np.repeat(features[..., 3:4, 0], 3, axis=-1))
    np.testing.assert_array_equal(observations, features)


def test_features_select_observation_coordinates_and_sampling_is_seeded():
    env = gym_environment("MountainCarContinuous-v0", features=(1,), horizon=5)
    features, observations, _, _ = _sample(env)
    assert features.shape[-1] == 1
    np.testing.assert_array_equal(features[..., 0], observations[..., 1])
    again, _, _, _ = _sample(env)
    np.testing.assert_array_equal(features, again)
    other, _, _, _ = _sample(env, seed=1)
    assert not np.array_equal(features, other)
    # MountainCar starts at rest in [-0.6, -0.4]
    assert np.all(features[..., 0, 0] == 0) and np.all(np.abs(observations[..., 0, 0] + 0.5) <= 0.1)


def test_cli_trains_on_mountain_car_and_resume_is_identical(tmp_path, monkeypatch):
    out = tmp_path / "run"
    args = [
        "--env",
        "gym:MountainCarContinuous-v0",
        "--features",
        "0,1",
        "--agents",
        "2",
        "--batch",
        "3",
        "--updates",
        "4",
        "--seeds",
        "0",
        "--chunk",
        "2",
        "--horizon",
        "30",
        "--hidden",
        "8",
        "--quiet",
        "--out",
        str(out),
    ]
    result = _invoke("train", *args)
    assert result.exit_code == 0, result.output
    assert "parallel entropy" in result.output
    saved = json.loads((out / "config.json").read_text())
    assert saved["env"] == "gym:MountainCarContinuous-v0" and saved["features"] == [0, 1]
    assert (out / "learning_curve.png").exists()
    reference = load_run(out)
    entropy = reference.metrics["entropy"]
    assert entropy.shape == (3, 1, 4) and np.all(np.isfinite(entropy))
    assert np.all(np.isnan(reference.metrics["normalized_entropy"]))  # the (x, v) box has volume 0.25 < 1

    real_runner = runs_module.make_chunk_runner

    def interrupted_runner(config, components, lanes, fingerprint=None):
        run = real_runner(config, components, lanes, fingerprint)
        calls = []

        def chunk(states, length):
            calls.append(length)
            if len(calls) == 2:
                raise KeyboardInterrupt
            return run(states, length)

        return chunk

    monkeypatch.setattr(runs_module, "make_chunk_runner", interrupted_runner)
    again = tmp_path / "again"
    config = ContinuousTrainConfig(**TINY)
    with pytest.raises(KeyboardInterrupt):
        run_training(config, again, progress=False, plot=False)
    assert (again / "checkpoint.npz").exists()
    monkeypatch.setattr(runs_module, "make_chunk_runner", real_runner)
    resumed = run_training(config, again, resume=True, progress=False, plot=False)
    np.testing.assert_allclose(resumed.metrics["entropy"], entropy, rtol=1e-5, atol=1e-6)
    for a, b in zip(
        jax.tree.leaves(resumed.params["parallel"]), jax.tree.leaves(reference.params["parallel"]), strict=True
    ):
        np.testing.assert_array_equal(a, b)


def test_host_learn_step_is_the_jax_worlds_one_on_the_same_samples():
    """The entropy the trainer logs for a host batch is the k-NN entropy of the pooled features."""
    config = ContinuousTrainConfig(**{**TINY, "methods": ("parallel",)})
    components = config.make_components()
    learn = train_module.make_learn(config, components)
    state = train_module.init_state(config, components, jax.random.key(0))
    features, observations, actions, _ = _sample(components.env, batch=3)
    _, metrics = jax.jit(learn)(state, False, True, features[0], observations[0, :, :, :-1], actions[0])
    direct = np.mean([knn_entropy(features[0, b].reshape(-1, 2), config.k) for b in range(3)])
    np.testing.assert_allclose(metrics["entropy"], direct, rtol=1e-5)


def test_a_world_producing_nan_states_stops_the_run(tmp_path):
    config = ContinuousTrainConfig(
        env=f"gym:{NAN_WORLD}",
        agents=2,
        batch_size=2,
        updates=2,
        seeds=(0,),
        chunk=1,
        horizon=5,
        hidden=(4,),
        k=2,
        methods=("parallel",),
    )
    with pytest.raises(runs_module.TrainingDiverged, match=r"diverged at update 1: .*method parallel, seed 0"):
        run_training(config, tmp_path / "nan", progress=False, plot=False)
    assert not (tmp_path / "nan" / "params.npz").exists()


def test_mountain_car_preset_is_mepols_setting():
    config = mountain_car_config()
    assert (config.k, config.horizon, config.features) == (4, 400, (0, 1))
    assert config.make_components().env.horizon == 400


@pytest.mark.parametrize(
    "args, message",
    [
        (["--env", "gym:NoSuchEnv-v9"], "'NoSuchEnv-v9' is not registered"),
        (["--env", "gym:CartPole-v1"], "'CartPole-v1' has a action space Discrete(2)"),
        (["--env", "gym:FrozenLake-v1"], "observation space Discrete(16)"),
        (["--env", "gym:MountainCarContinuous-v0", "--features", "0,2"], "must be distinct integers in [0, 2)"),
        (["--env", "gridworld-continuous", "--features", "0"], "features applies to gym:ID environments only"),
    ],
)
def test_bad_gymnasium_input_names_the_problem(args, message, tmp_path):
    result = _invoke("train", *args, "--out", str(tmp_path / "x"), "--quiet")
    assert result.exit_code == 2
    assert message in " ".join(result.output.split()), result.output


def test_ant_v5_trains_on_torso_features(tmp_path):
    """Ant-v5's observation leaves the torso's x, y out: features are its height and orientation."""
    pytest.importorskip("mujoco")
    config = ContinuousTrainConfig(
        env="gym:Ant-v5",
        features=(0, 1, 2, 3, 4),
        agents=2,
        batch_size=2,
        updates=1,
        seeds=(0,),
        horizon=10,
        hidden=(8,),
        k=4,
        methods=("parallel",),
    )
    run = run_training(config, tmp_path / "ant", progress=False, plot=False)
    assert np.all(np.isfinite(run.metrics["entropy"]))


def test_collect_on_a_gym_run_stores_box_datasets_with_early_ends_cut_and_raw_entropy(tmp_path):
    import minari

    from pmaxent.continuous.datasets import collect_continuous_run

    out = tmp_path / "run"
    config = ContinuousTrainConfig(
        env=f"gym:{STOPPER}",
        agents=2,
        batch_size=2,
        updates=1,
        seeds=(0,),
        horizon=6,
        hidden=(4,),
        k=2,
        methods=("parallel",),
    )
    run_training(config, out, progress=False, plot=False)
    collected = collect_continuous_run(out, trajectories=2, show_progress=False)
    assert set(collected) == {"parallel", "random"}
    dataset = collected["parallel"][0]
    assert dataset.observations.shape == (4, 7, 2) and list(dataset.lengths) == [3, 3, 3, 3]
    # the Stopper's (x, t) box is unbounded: raw entropy, normalized entropy and coverage NaN
    assert np.isnan(dataset.normalized_entropy) and np.isnan(dataset.coverage) and np.isfinite(dataset.entropy)
    points = np.concatenate([o[:4] for o in dataset.observations])  # the 4 reached states of each episode
    np.testing.assert_allclose(dataset.entropy, knn_entropy(points, 2), rtol=1e-5)
    os.environ["MINARI_DATASETS_PATH"] = str(out / "datasets")
    try:
        loaded = minari.load_dataset(dataset.dataset_id)
    finally:
        del os.environ["MINARI_DATASETS_PATH"]
    assert isinstance(loaded.observation_space, gymnasium.spaces.Box) and isinstance(
        loaded.action_space, gymnasium.spaces.Box
    )
    episode = next(loaded.iterate_episodes())
    assert episode.observations.shape == (4, 2) and episode.actions.shape == (3, 1)
    assert list(episode.terminations) == [False, False, True] and not episode.truncations.any()
    np.testing.assert_array_equal(episode.observations[:, 1], [0, 1, 2, 3])
