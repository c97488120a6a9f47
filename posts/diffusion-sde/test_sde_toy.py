"""Tests for sde_toy.py: exact score, forward SDE, reverse-SDE / PC / PF-ODE samplers.

Tolerances for sample statistics are 4 standard errors of an i.i.d. sample of size n (two-sided
probability of a false alarm about 6e-5 per check), and for the Kolmogorov-Smirnov distance the
upper 0.1 % point of Kolmogorov's distribution, 1.95 / sqrt(n).  With n = 20000 and the step counts
below, the discretisation bias measured with n = 200000 is at most about one standard error, so
these bounds test the samplers and not our luck.  Seeds are fixed, so the run is reproducible.
"""

import math

import numpy as np
import pytest

from sde_toy import (
    BETA_MAX,
    BETA_MIN,
    T_EPS,
    WEIGHTS,
    component_proportions,
    expected_proportions,
    forward_sde_em,
    int_beta,
    kernel,
    ks_distance,
    log_prob,
    moments,
    ode_log_likelihood,
    pc_sampler,
    pf_ode_sample,
    pf_ode_solve,
    reverse_sde_em,
    sample_data,
    score,
    score_dx,
)

N = 20_000
KS_BOUND = 1.95 / math.sqrt(N)


def assert_matches(x, t=0.0, proportions=True):
    """x (i.i.d. up to discretisation) should follow p_t."""
    n = len(x)
    mean, var, m4 = moments(t)
    assert abs(x.mean() - mean) < 4 * math.sqrt(var / n)
    assert abs(x.var() - var) < 4 * math.sqrt((m4 - var**2) / n)
    if proportions:
        p = expected_proportions()
        assert np.all(np.abs(component_proportions(x) - p) < 4 * np.sqrt(p * (1 - p) / n))
    assert ks_distance(x, t) < KS_BOUND


def test_vp_kernel_is_the_limit_of_ddpm():
    # DDPM with beta_i = beta(t_i) / N, t_i = i / N:  log alpha_bar_i = sum log(1 - beta_j) -> -B(t_i),
    # with an O(1/N) error.  N = 1000 reproduces DDPM's beta_1 ~ 1e-4 ... beta_N = 0.02.
    def max_log_error(n_steps):
        t = np.arange(1, n_steps + 1) / n_steps
        betas = (BETA_MIN + t * (BETA_MAX - BETA_MIN)) / n_steps
        log_alpha_bar = np.cumsum(np.log1p(-betas))
        m = np.array([kernel(s)[0] for s in t])
        return betas, np.max(np.abs(log_alpha_bar - 2 * np.log(m)))

    betas, err_1000 = max_log_error(1000)
    assert betas[0] == pytest.approx(1e-4, rel=0.25) and betas[-1] == pytest.approx(0.02)
    _, err_10000 = max_log_error(10_000)
    assert err_1000 < 0.1 and err_10000 < err_1000 / 8
    assert int_beta(1.0) == pytest.approx(10.05)


@pytest.mark.parametrize("t", [T_EPS, 0.05, 0.3, 1.0])
def test_score_matches_finite_differences(t):
    x = np.linspace(-5.0, 5.0, 1001)
    h = 1e-5
    fd = (log_prob(x + h, t) - log_prob(x - h, t)) / (2 * h)
    assert np.max(np.abs(fd - score(x, t))) < 1e-6
    fd2 = (score(x + h, t) - score(x - h, t)) / (2 * h)
    assert np.max(np.abs(fd2 - score_dx(x, t))) < 1e-5


def test_density_normalised():
    x = np.linspace(-12.0, 12.0, 200_001)
    for t in (T_EPS, 0.5, 1.0):
        assert np.exp(log_prob(x, t)).sum() * (x[1] - x[0]) == pytest.approx(1.0, abs=1e-8)


def test_forward_sde_matches_analytic_marginal():
    t = 0.5
    x0 = sample_data(N, np.random.default_rng(11))
    xt = forward_sde_em(x0, t, 300, np.random.default_rng(12))
    m, v = kernel(t)
    _, var0, _ = moments(0.0)
    mean_t, var_t, _ = moments(t)
    assert var_t == pytest.approx(m**2 * var0 + v)  # e^{-B} Var[x_0] + 1 - e^{-B}
    assert_matches(xt, t, proportions=False)


def test_reverse_sde_em_recovers_data():
    assert_matches(reverse_sde_em(N, 500, np.random.default_rng(1)))


def test_predictor_corrector_recovers_data():
    assert_matches(pc_sampler(N, 200, np.random.default_rng(2)))


def test_pf_ode_recovers_data():
    assert_matches(pf_ode_sample(N, 50, np.random.default_rng(3)))


def test_wrong_score_is_detected():
    # Negative control: the score of N(0, 1) (a fixed point of the VP SDE) must fail the KS bound.
    x = reverse_sde_em(N, 100, np.random.default_rng(4), score_fn=lambda y, t: -y)
    assert ks_distance(x) > 5 * KS_BOUND


def test_pf_ode_is_deterministic_and_invertible():
    x1 = np.random.default_rng(5).standard_normal(1000)
    a = pf_ode_solve(x1, 1.0, T_EPS, 100)
    b = pf_ode_solve(x1, 1.0, T_EPS, 100)
    assert np.array_equal(a, b)
    x = np.linspace(-4.0, 4.0, 2001)
    latent = pf_ode_solve(x, T_EPS, 1.0, 100)
    assert np.all(np.diff(latent) > 0)  # a 1-D flow map is strictly increasing
    assert np.max(np.abs(pf_ode_solve(latent, 1.0, T_EPS, 100) - x)) < 1e-5


def test_solver_orders():
    # Euler in t and DDIM (Euler in sigmabar) are first order, Heun second, RK4 fourth.
    x1 = np.random.default_rng(0).standard_normal(500)
    ref = pf_ode_solve(x1, 1.0, T_EPS, 1000)
    for method, order in (("euler", 1), ("ddim", 1), ("heun", 2), ("rk4", 4)):
        err = [np.sqrt(np.mean((pf_ode_solve(x1, 1.0, T_EPS, k, method) - ref) ** 2)) for k in (100, 200)]
        assert math.log2(err[0] / err[1]) == pytest.approx(order, abs=0.25)


def test_ode_log_likelihood():
    x = np.array([-2.0, 0.0, 0.5, 2.5])
    exact = log_prob(x, T_EPS)
    assert np.max(np.abs(ode_log_likelihood(x, 100, exact_prior=True) - exact)) < 1e-5
    # replacing p_1 by N(0, 1) costs a few thousandths of a nat here
    assert np.max(np.abs(ode_log_likelihood(x, 100) - exact)) < 0.02


def test_expected_proportions():
    p = expected_proportions()
    assert p.sum() == pytest.approx(1.0, abs=1e-6)
    assert np.all(np.abs(p - WEIGHTS) < 0.005)  # the components barely overlap


def test_pc_sampler_works_with_few_steps():
    """The corrector's alpha is the signal kept over the step, exp(-(B(t)-B(t'))), not 1 - beta*dt,
    which is negative when beta(1) * dt > 1 (fewer than 20 steps) and made the samples NaN."""
    x = pc_sampler(2000, 10, np.random.default_rng(0))
    assert np.isfinite(x).all() and abs(x.mean() - 0.475) < 0.2
