"""The continuous suite's verdicts, on results with known effects."""

import numpy as np

from pmaxent.continuous.claims import configuration_rows, continuous_claims, shrinking

METHODS = ("parallel", "single", "latent", "random")


def _results(means: dict, seeds: int = 12, spread: float = 0.01, seed: int = 0) -> dict:
    """Synthetic suite results: (env, m) -> method -> mean, Gaussian over seeds."""
    rng = np.random.default_rng(seed)

    def values(mean):
        return {
            name: mean + spread * rng.standard_normal(seeds) for name in ("entropy", "normalized_entropy", "coverage")
        }

    measures = {key: {method: values(means[key][method]) for method in METHODS} for key in means}
    datasets = {key: {method: values(means[key][method]) for method in METHODS} for key in means}
    return {"seeds": tuple(range(seeds)), "measures": measures, "datasets": datasets, "offline": {}, "tunings": {}}


def test_a_clear_lead_holds_a_clear_deficit_does_not_and_a_tie_is_not_enough_evidence():
    means = {
        ("a", 2): {"parallel": 0.6, "single": 0.5, "latent": 0.6, "random": 0.3},
        ("a", 4): {"parallel": 0.5, "single": 0.6, "latent": 0.4, "random": 0.3},
        ("b", 2): {"parallel": 0.5, "single": 0.5, "latent": 0.5, "random": 0.3},
    }
    rows = configuration_rows(_results(means))
    verdict = {(r["label"], r["world"], r["m"], r["other"]): r["comparison"].verdict for r in rows}
    assert verdict["(a) entropy", "a", 2, "single"] == "holds"
    assert verdict["(a) entropy", "a", 4, "single"] == "does not hold"
    assert verdict["(a) entropy", "b", 2, "single"] == "not enough evidence"
    assert verdict["(b) dataset entropy", "a", 2, "random"] == "holds"
    assert verdict["(e) entropy", "a", 4, "latent"] == "holds"
    claims = continuous_claims(rows, [], offline_measured=False)
    assert claims[0]["verdicts"] == "1 holds, 1 does not hold, 1 not enough evidence"
    assert claims[2]["verdicts"] == "not measured" and claims[3]["verdicts"] == "not measured"
    assert claims[4]["verdicts"] == "1 holds, 2 not enough evidence"


def test_the_benefit_per_agent_shrinks_where_the_gains_are_concave_and_not_where_they_are_linear():
    concave = {("c", m): {"parallel": np.log(m), "single": 0.0, "latent": 0.0, "random": 0.0} for m in (2, 4, 8)}
    linear = {("l", m): {"parallel": 0.1 * m, "single": 0.0, "latent": 0.0, "random": 0.0} for m in (2, 4, 8)}
    rows = shrinking(_results(concave | linear), (2, 4, 8))
    assert [(r["world"], r["verdict"]) for r in rows] == [("c", "holds"), ("l", "not enough evidence")]
    assert rows[0]["effect"] < 0 and abs(rows[1]["effect"]) < 0.01
    assert shrinking(_results(concave), (2, 4)) == []
