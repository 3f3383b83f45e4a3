"""OGBench's point mazes twice over: as continuous worlds built from OGBench's own maps at its
scale (a JAX model that teams train in), and as OGBench's MuJoCo environments themselves, where
trained policies collect datasets and offline agents are judged on OGBench's tasks by its own
success rule (the ``ogbench`` extra).

Description:
    ``pointmaze-medium-v0`` (an 8 x 8 map) and ``pointmaze-large-v0`` (9 x 12) of OGBench (Park,
    Frans, Eysenbach, Levine, ICLR 2025): a point mass of radius 0.7 among wall blocks of side 4.
    OGBench moves the point by 0.2 x the action and lets MuJoCo's contacts push it out of the walls.
    The model (:func:`maze_world`, named ``ogbench-pointmaze-medium`` and ``ogbench-pointmaze-large``)
    has the same map, scale and step, its walls grown by the point's radius so that a position is
    the point's centre; a move into a grown wall is rejected, as in every continuous world, where
    MuJoCo slides along it (:func:`transition_gap` measures how far the two part).
Action Space:
    OGBench: [-1, 1]^2 (moves of 0.2 per unit). The model: [-0.2, 0.2]^2, the move itself.
Observation Space:
    The point's position (x, y) in both.
Episode End:
    1,000 steps (OGBench's episodes); the model's horizon is the same by default. Collection and
    evaluation start from task 1's start cell with OGBench's reset noise (uniform within +-1).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from pmaxent.continuous.worlds import ContinuousWorld

MAZES = {"ogbench-pointmaze-medium": "pointmaze-medium-v0", "ogbench-pointmaze-large": "pointmaze-large-v0"}
"""pmaxent's name of each model -> OGBench's environment id."""
ACTION_SCALE = 0.2
"""OGBench's PointEnv.step moves the point by this times the action (tested against OGBench)."""
START_TASK = 1
"""Collection and evaluation start where OGBench's task 1 starts."""


def ogbench_env(name: str):
    """OGBench's environment of a model's name (or of its own id), unwrapped: OGBench's MazeEnv,
    whose ``step`` applies its success rule; episodes are cut at :func:`episode_steps` by the caller."""
    try:
        import gymnasium
        import ogbench  # noqa: F401  (importing it registers its environments)
    except ImportError as error:
        raise ValueError(f"{name} needs OGBench: pip install 'pmaxent[ogbench]'") from error
    return gymnasium.make(MAZES.get(name, name)).unwrapped


def episode_steps(name: str) -> int:
    """The steps of one of OGBench's episodes (its registered limit, 1,000)."""
    import gymnasium

    ogbench_env(name)
    return int(gymnasium.spec(MAZES.get(name, name)).max_episode_steps)


def maze_world(name: str, horizon: int | None = None) -> ContinuousWorld:
    """The continuous world modelling OGBench's maze ``name`` (a key of :data:`MAZES`): its walls
    grown by the point's radius, its arena, task 1's start box and OGBench's step."""
    if name not in MAZES:
        raise ValueError(f"unknown OGBench maze {name!r}; valid names: {', '.join(MAZES)}")
    env = ogbench_env(name)
    layout = np.asarray(env.maze_map)
    origin, right = np.asarray(env.ij_to_xy((0, 0))), np.asarray(env.ij_to_xy((0, 1)))
    unit = float(np.linalg.norm(right - origin))
    grow = unit / 2 + float(env.model.geom("pointbody").size[0])
    walls = [
        (x - grow, x + grow, y - grow, y + grow)
        for x, y in (env.ij_to_xy((i, j)) for i, j in zip(*np.nonzero(layout == 1), strict=True))
    ]
    far = np.asarray(env.ij_to_xy((layout.shape[0] - 1, layout.shape[1] - 1)))
    start = np.asarray(env.task_infos[START_TASK - 1]["init_xy"])
    noise = unit / 4  # OGBench's add_noise: uniform within +-noise x unit / 4 per axis, noise 1
    return ContinuousWorld(
        name=name,
        walls=np.array(walls, np.float64),
        bounds=(origin[0] - unit / 2, far[0] + unit / 2, origin[1] - unit / 2, far[1] + unit / 2),
        starts=np.array([[start[0] - noise, start[0] + noise, start[1] - noise, start[1] + noise]]),
        max_step=ACTION_SCALE,
        horizon=episode_steps(name) if horizon is None else horizon,
    )


def collect(name: str, act: Callable, episodes: int, seed: int, steps: int | None = None):
    """Episodes in OGBench's environment, all stepped in lockstep: observations float32 [E, T+1, 2]
    and actions float32 [E, T, 2] (OGBench's units, in [-1, 1]).

    ``act(observations [E, 2], t)`` returns the model's actions [E, 2] (moves, in
    [-ACTION_SCALE, ACTION_SCALE]); they are clipped to the model's box and divided by ACTION_SCALE.
    Every episode starts as OGBench's task 1 does (OGBench draws its reset noise from NumPy's
    global generator, seeded here by ``seed``).
    """
    steps = episode_steps(name) if steps is None else steps
    envs = [ogbench_env(name) for _ in range(episodes)]
    np.random.seed(seed)
    observations = [
        np.stack([env.reset(seed=seed + e, options={"task_id": START_TASK})[0] for e, env in enumerate(envs)])
    ]
    actions = []
    for t in range(steps):
        move = np.clip(np.asarray(act(observations[-1].astype(np.float32), t), np.float64), -ACTION_SCALE, ACTION_SCALE)
        actions.append(move / ACTION_SCALE)
        observations.append(np.stack([env.step(a)[0] for env, a in zip(envs, actions[-1], strict=True)]))
    return np.stack(observations, 1).astype(np.float32), np.stack(actions, 1).astype(np.float32)


def judge(name: str, act: Callable, policies: int, episodes: int, seed: int) -> np.ndarray:
    """Success [policies, tasks] of goal-conditioned policies on OGBench's evaluation tasks, by its
    own rule: ``reset(options=dict(task_id=i))``, the goal it returns in ``info["goal"]``, success
    when ``step`` reports it (which ends the episode), at most 1,000 steps; ``episodes`` per
    policy and task, all stepped in lockstep.

    ``act(observations [n, 2], goals [n, 2], t)`` returns actions [n, 2] in [-1, 1] for the n =
    policies x tasks x episodes running episodes, laid out policy-major, then task, then episode.
    """
    tasks = len(ogbench_env(name).task_infos)
    steps = episode_steps(name)
    envs = [ogbench_env(name) for _ in range(policies * tasks * episodes)]
    task_of = np.tile(np.repeat(np.arange(1, tasks + 1), episodes), policies)
    np.random.seed(seed)
    observations, goals = [], []
    for i, (env, task) in enumerate(zip(envs, task_of, strict=True)):
        observation, info = env.reset(seed=seed + i, options={"task_id": int(task)})
        observations.append(observation)
        goals.append(info["goal"])
    observations, goals = np.stack(observations).astype(np.float32), np.stack(goals).astype(np.float32)
    success = np.zeros(len(envs), bool)
    for t in range(steps):
        running = np.flatnonzero(~success)
        if len(running) == 0:
            break
        actions = np.asarray(act(observations, goals, t), np.float64)
        for i in running:
            observation, _, _, _, info = envs[i].step(np.clip(actions[i], -1.0, 1.0))
            observations[i] = observation
            success[i] = info["success"] > 0
    return success.reshape(policies, tasks, episodes).mean(axis=-1)


def transition_gap(name: str, count: int, seed: int) -> dict[str, float]:
    """How far the model's transitions are from OGBench's: ``count`` states drawn uniformly from the
    model's free space, one uniform action each, stepped by both; the distances between the two
    next positions (their mean, 99th percentile and maximum, and the fraction above 0.01)."""

    from pmaxent.continuous import worlds

    world = maze_world(name)
    rng = np.random.default_rng(seed)
    x0, x1, y0, y1 = world.bounds
    points = rng.uniform((x0, y0), (x1, y1), (4 * count, 2)).astype(np.float32)
    points = points[np.asarray(worlds.is_free(world, points))][:count]
    actions = rng.uniform(-1.0, 1.0, (len(points), 2)).astype(np.float32)
    model = np.asarray(worlds.step_many(world, points, actions * ACTION_SCALE, np.zeros((len(points), 0), np.float32)))
    env = ogbench_env(name)
    env.reset(seed=seed)
    real = []
    for point, action in zip(points, actions, strict=True):
        env.set_xy(point.astype(np.float64))
        real.append(env.step(action.astype(np.float64))[0])
    gap = np.linalg.norm(model - np.stack(real), axis=1)
    return {
        "transitions": len(gap),
        "mean": float(gap.mean()),
        "p99": float(np.quantile(gap, 0.99)),
        "max": float(gap.max()),
        "above_0.01": float(np.mean(gap > 0.01)),
    }
