package property

// The experiment row fig-5b: Section 4 and Figure 5b, "the upper bound
// obtained from linear stability is rather tight in predicting the flatness
// of convergent solution". The paper shows it on VGG and ResNet trained on
// CIFAR-10, out of reach on 2 cores; the row checks the same claim on the
// networks of Appendix A.1 at the widths of the Figure 1 sweep (the FCN and
// CNN widths are Figure 3's), reusing those runs.
//
// The criterion was fixed before any run:
//
//   - "rather tight in predicting" is "within a factor tightnessFactor = 2":
//     for every network (a model at one width) the mean over its converged
//     runs of r = ‖H‖_F / bound lies in [1/2, 2]. The value judged is the
//     smallest tightness min(r, 1/r) over the networks, against 1/2. A
//     factor 2 is the ledger's "nearly" elsewhere (sizeFactor of fig-1 and
//     fig-3). It separates a tight bound from the loose one the paper
//     contrasts Theorem 3.3 with: at a stable minimum ‖H‖_F <= sqrt(B/μ0)/η,
//     so GD's 2 sqrt(rank)/η is more than twice the flatness as soon as
//     rank > B/μ0, which the criterion must catch (the first control).
//   - "the bound" is read two ways, judged separately (two findings; the row
//     is reproduced only if both hold). First, Theorem 3.3 as it is stated:
//     sqrt(B/μ0)/η with μ0 = inf_θ μ(θ), exact (oracle.Mu0, a generalized
//     eigenvalue). At a linearly stable minimum r <= 1 (that inequality is
//     thm-3.3, not this row), so only r >= 1/2 can fail here. Second, the
//     reading Figure 5b seems to use, since μ0 is out of reach for a VGG on
//     50,000 samples: sqrt(B/μ(θ*))/η with μ measured at the end of the run,
//     at the run's final loss (at most its target: 1e-5 at full scale). μ is
//     0/0 at an exact minimum, but it depends only on the direction e/|e| of
//     the residuals and on the features, so near the minimum it is the
//     alignment in the direction SGD came from: at least μ0, and the "bound"
//     it gives is smaller and need not bound anything, hence the two-sided
//     interval.
//   - Only runs that reached their loss target are judged: the claim is
//     about convergent solutions, and a run stopped at its step cap is not
//     at a minimum, where G is the Hessian. A network none of whose runs
//     converged is listed as skipped; with no network left to judge the
//     value is NaN and the row is NOT reproduced.
//   - The bound is the paper's, with replacement. The runs draw shuffled
//     epochs, whose per-step batch is a uniform B-subset; without
//     replacement the bound is sqrt((n-1)/(n-B)) larger (12% at the quick
//     linear network's n = 20, under 1% at n = 1000): reported, not judged.
//   - η/η* from the exact oracle is reported beside each ratio, not judged:
//     r = (η/η*)·(η*‖H‖_F/sqrt(B/μ0)), how close SGD sits to its exact
//     stability edge times how tight Theorem 3.3 is on that edge (the paper
//     could compute neither factor). Where the oracle cannot compute η*
//     (today n·r(r+1)/2 > 2^25, the FCN and CNN at n = 1000), η* is
//     reported as skipped for that network with the oracle's reason; the
//     criterion does not need it.
//
// The negative controls, also fixed before any run, put in place of Theorem
// 3.3's bound a wrong one that the same criterion, on the same runs, must
// reject:
//
//   - gd-frobenius-bound: GD's 2 sqrt(rank)/η (Section 3.1), loose by about
//     sqrt(rank μ0/B) (see above);
//   - isotropic-trace-bound: Section 3.3's bound for isotropic noise,
//     Tr(H) <= sqrt(pB)/η, against Tr(H): at most sqrt(rank/(p μ0)) at a
//     stable minimum, small when p is much larger than n;
//   - eta-inverted: Theorem 3.3 with η multiplied instead of divided,
//     sqrt(B/μ0)·η, a dropped inverse: the ratio becomes r/η², with η <= 0.1
//     a hundred times r or more, outside [1/2, 2] unless every r happens to
//     lie within a factor 2 of η², which differs by a factor 1000 between
//     the models (η = 0.003 to 0.1).
const tightnessFactor = 2.0
