"""The core: components, rollout, the PGPSE estimator, the trainer, run directories, devices and the
program store. It is handed its components and figure hooks and imports no family."""
