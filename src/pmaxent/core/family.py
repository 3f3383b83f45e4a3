"""The one interface between pmaxent's jobs and a family of worlds and methods.

A family (tabular, continuous, MEPOL, or a user's own) owns environment names, a config class
and what its runs need beyond the core: its figures, its datasets, its offline evaluation and its
suite of experiments. The CLI and the Python API (:mod:`pmaxent.families`) find a family by the
environment or run directory they are given and call these methods; nothing else of pmaxent
knows which families exist.

A family written by a user subclasses :class:`Family`, sets ``name`` and ``config_class`` (a
:class:`~pmaxent.core.config.RunConfig` whose ``make_components`` builds its world), lists its
environments, and is listed with :func:`pmaxent.families.register` or under the entry-point group
``pmaxent.families``. The jobs it does not offer say so when asked.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple

from pmaxent.core.config import RunConfig

if TYPE_CHECKING:  # the run machinery (JAX programs, optax) loads when a job needs it, not on import
    import numpy as np

    from pmaxent.core.components import Components
    from pmaxent.core.runs import TrainedRun


class SummaryTable(NamedTuple):
    """A job's summary as a table: the CLI prints it, the API returns it."""

    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    note: str = ""


class Collected(NamedTuple):
    """A run's datasets just collected: method -> its datasets (in the run's seed order), and their summary."""

    datasets: dict[str, list]
    summary: SummaryTable


class Family:
    """A family of worlds and methods, as pmaxent's jobs see it (override what the family offers)."""

    name: ClassVar[str]
    """The family's name (stored in its run directories' config.json)."""
    config_class: ClassVar[type[RunConfig]]
    """The settings of its training runs; the CLI's options and help come from its fields."""
    offline_config_class: ClassVar[type | None] = None
    """The settings of its offline evaluation (their fields are `pmaxent offline` options), if any."""
    suites: ClassVar[tuple[str, ...]] = ()
    """The names of the experiment suites it runs (`pmaxent reproduce --suite NAME`)."""

    def env_names(self) -> tuple[str, ...]:
        """The environment names it builds."""
        return ()

    def owns(self, env: str) -> bool:
        """Whether ``env`` names one of its environments."""
        return env.strip().lower() in self.env_names()

    def commands(self) -> dict[str, tuple[Any, str]]:
        """Command groups of the family's own for the CLI: name -> (a ``typer.Typer``, its one-line help)."""
        return {}

    def make_env(self, name: str, **options) -> Any:
        """The environment ``name`` as an object of the family's own (``pmaxent.make``)."""
        raise ValueError(f"the {self.name} family builds no environment objects")

    def draw(self, env: str, path: Path, layout: Sequence[str] | None = None, goal: int | None = None) -> str:
        """Draw the environment ``env`` (or the text map ``layout``, labelled ``env``) into ``path``;
        returns a one-line description of it (`pmaxent show`)."""
        raise ValueError(f"the {self.name} family draws no environment")

    def train(
        self,
        config: RunConfig,
        out_dir: str | Path | None = None,
        *,
        resume: bool = False,
        progress: bool = True,
        plot: bool = True,
        components: Components | None = None,
    ) -> TrainedRun:
        """Train ``config`` (the core trainer, with this family's figures)."""
        from pmaxent.core.runs import run_training

        return run_training(
            config, out_dir, resume=resume, progress=progress, plot=plot, components=components, figures=self.figures
        )

    def figures(self, run: TrainedRun) -> None:
        """Draw a finished run's own figures into its run directory (beside the learning curve)."""

    def measure(self, run: TrainedRun) -> dict[str, dict[str, np.ndarray]]:
        """A finished run's final measures (`pmaxent sweep`'s tables): method -> measure -> one value
        per seed. By default its training metrics at the end (their mean over the last 1% of updates)."""
        from pmaxent.reports import final_metric

        return {
            method: {name: final_metric(values[i]) for name, values in run.metrics.items()}
            for i, method in enumerate(run.config.methods)
        }

    def load(self, run_dir: str | Path, components: Components | None = None) -> TrainedRun:
        """A finished run directory of this family."""
        from pmaxent.core.runs import load_run

        return load_run(run_dir, self.config_class, components)

    def collect(
        self, run_dir: Path, methods: Sequence[str] | None, trajectories: int, overwrite: bool, progress: bool
    ) -> Collected:
        """Collect the run's exploration datasets (Minari) and summarise them."""
        raise ValueError(f"the {self.name} family does not collect datasets")

    def export(self, run_dir: Path, out: Path, methods: Sequence[str] | None, trajectories: int) -> list[Path]:
        """Write the run's collected datasets in OGBench's file layout into ``out``; returns the files."""
        raise ValueError(f"the {self.name} family does not export datasets")

    def evaluate(
        self,
        run_dir: Path,
        options: dict,
        *,
        seed: int,
        methods: Sequence[str] | None,
        trajectories: int,
        quick: bool,
        progress: bool,
    ) -> dict:
        """Offline RL on the run's datasets: {title: :class:`pmaxent.offline.OfflineResult`}.
        ``options`` are fields of :attr:`offline_config_class`."""
        raise ValueError(f"the {self.name} family has no offline evaluation")

    def reproduce(
        self,
        suite: str,
        out_dir: Path,
        *,
        quick: bool,
        progress: bool,
        skip: Sequence[str] = (),
        seeds: int | None = None,
        address: str | None = None,
    ) -> Path:
        """Run the experiment suite ``suite`` into ``out_dir`` (without the optional stages named in
        ``skip``), with ``seeds`` seeds 0, 1, ... in place of its default ones; returns its report (report.md).
        With ``address`` (a Ray cluster's), its independent runs go there as Ray tasks
        (:mod:`pmaxent.sweep.cluster`); the argument is passed only when given."""
        raise ValueError(f"the {self.name} family runs no suite {suite!r}")
