"""Sweeps over settings and seeds, and independent runs on a Ray cluster (``pmaxent sweep``).

:mod:`~pmaxent.sweep.spec` reads a sweep file, :mod:`~pmaxent.sweep.cluster` runs independent runs
here or as Ray tasks (also for the suites and the continuous tuning stage),
:mod:`~pmaxent.sweep.runner` trains a sweep and :mod:`~pmaxent.sweep.report` writes its tables and report.
"""
