"""Datasets in OGBench's file layout: OGBench's own loader reads them back as the same transitions."""

import numpy as np
import pytest

from pmaxent.datasets import write_ogbench_dataset
from pmaxent.gcrl.data import from_trajectories, from_transitions


def test_ogbenchs_loader_reads_the_exported_trajectories_as_their_transitions(tmp_path):
    utils = pytest.importorskip("ogbench.utils")
    rng = np.random.default_rng(0)
    observations, actions = rng.normal(size=(3, 6, 2)), rng.normal(size=(3, 5, 2))
    path = write_ogbench_dataset(tmp_path / "pointmaze-medium-pmaxent-v0.npz", observations, actions)
    loaded = utils.load_dataset(str(path))  # its regular layout: next_observations made by shifting
    assert loaded["observations"].shape == (15, 2)
    np.testing.assert_array_equal(loaded["terminals"], np.tile([0, 0, 0, 0, 1], 3))
    ours, theirs = from_trajectories(observations, actions), from_transitions(**loaded)
    for name in ("observations", "actions", "next_observations", "final"):
        np.testing.assert_array_equal(getattr(ours, name), getattr(theirs, name), err_msg=name)
    compact = utils.load_dataset(str(path), compact_dataset=True)
    np.testing.assert_array_equal(compact["valids"], np.tile([1, 1, 1, 1, 1, 0], 3))


def test_malformed_trajectories_are_named(tmp_path):
    with pytest.raises(ValueError, match=r"observations must be \[E, T\+1, d\]"):
        write_ogbench_dataset(tmp_path / "x.npz", np.zeros((2, 5, 2)), np.zeros((2, 5, 2)))
