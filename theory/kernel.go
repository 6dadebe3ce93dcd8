package theory

import (
	"math"
)

// ArcCosKernel is the kernel of the ReLU random feature model
// (Proposition 2.4, Appendix D.3):
//
//	κ(z) = (sqrt(1 - z²) + (π - arccos z) z) / (2π),
//
// the degree-1 arc-cosine kernel of Cho and Saul divided by 2, so that
// κ(xᵀx') = E_w[ReLU(wᵀx) ReLU(wᵀx')] for unit x, x' and w ~ N(0, I_d) or,
// equally (ReLU is positively homogeneous and E‖w‖² = d in both cases),
// w ~ Unif(sqrt(d) S^{d-1}). z is an inner product of unit vectors; values
// rounded beyond ±1 are clamped to ±1. κ(1) = 1/2, κ(0) = 1/(2π), κ(-1) = 0.
func ArcCosKernel(z float64) float64 {
	z = math.Max(-1, math.Min(1, z))
	s := math.Sqrt((1 - z) * (1 + z))
	return kappaCS(z, s)
}

// kappaCS is κ at z = cos φ given c = cos φ and s = sin φ >= 0, accurate
// near z = ±1 where 1 - z² cancels: arccos z = atan2(s, c).
func kappaCS(c, s float64) float64 {
	return (s + (math.Pi-math.Atan2(s, c))*c) / (2 * math.Pi)
}

// SphereKernelConstants are the population constants of the ReLU kernel
// operator 𝒦 on L²(Unif(S^{d-1})) (Appendix D.3): λ_1(𝒦) = E[κ(t)], the
// eigenvalue of the constant harmonic, Σ_i λ_i(𝒦)² = E[κ(t)²] (eq. 20), and
// τ(𝒦) = λ_1²/Σλ_i², with t = x_1 the first coordinate of x ~ Unif(S^{d-1}),
// whose density on [-1, 1] is proportional to (1 - t²)^{(d-3)/2}.
type SphereKernelConstants struct {
	D       int
	Lambda1 float64
	SumSq   float64
	Tau     float64
}

// MaxSphereDim is the largest d the sphere quadratures accept: the rules
// below are sized for it (see ReLUSphereConstants).
const MaxSphereDim = 1000

func checkSphereDim(d int) error {
	if d < 2 || d > MaxSphereDim {
		return paramErr("d", "dimension %d outside [2, %d]", d, MaxSphereDim)
	}
	return nil
}

// ReLUSphereConstants computes λ_1, Σλ_i² and τ by Gauss–Legendre quadrature
// in the angle: with t = cos φ the density becomes sin^{d-2}φ dφ on [0, π]
// and κ(cos φ) = (sin φ + (π - φ) cos φ)/(2π), so both integrands are entire
// functions of φ (the endpoint singularity of the t-density at d = 2 and the
// square-root behaviour of κ at t = ±1 are gone) and the rule converges
// geometrically. The moments are normalised by the same rule's integral of
// the density. LegendreNodes nodes suffice for d <= MaxSphereDim: the
// integrands are trigonometric polynomials of degree about d times a smooth
// factor, and the rule with N nodes integrates degree 2N - 1.
func ReLUSphereConstants(d int) (SphereKernelConstants, error) {
	if err := checkSphereDim(d); err != nil {
		return SphereKernelConstants{}, err
	}
	x, w := gaussLegendre(sphereNodes(d))
	var m0, m1, m2 float64
	for i, xi := range x {
		phi := math.Pi / 2 * (xi + 1)
		s, c := math.Sincos(phi)
		dens := w[i] * math.Pow(s, float64(d-2))
		k := (s + (math.Pi-phi)*c) / (2 * math.Pi)
		m0 += dens
		m1 += dens * k
		m2 += dens * k * k
	}
	return constants(d, m1/m0, m2/m0), nil
}

// sphereNodes is the number of Gauss–Legendre nodes used at dimension d:
// twice the degree d of the density plus a margin for the smooth factor.
func sphereNodes(d int) int { return 2*d + 64 }

// ReLUSphereConstantsRelErr bounds the relative rounding error of the λ_1
// that ReLUSphereConstants computes at dimension d, and half that of its
// Σλ_i² (κ enters squared): the integrands are positive, so a rule of N
// terms, each at most d + 10 correctly rounded operations (sin^{d-2}φ
// through math.Pow amplifies the argument's error d - 2 times), is within
// γ_{N+d+10} = (N+d+10)u/(1-(N+d+10)u), u = 2^-53, of its exact value. The
// truncation error of the rule, geometric in N, is below it: prop-2.4's
// kernel-constants check compares the two rules at this bound.
func ReLUSphereConstantsRelErr(d int) float64 { return roundingGamma(sphereNodes(d) + d + 10) }

// ReLUSphereConstantsTanhSinhRelErr is ReLUSphereConstantsRelErr for
// ReLUSphereConstantsTanhSinh, whose rule has tanhSinhTerms(d) terms.
func ReLUSphereConstantsTanhSinhRelErr(d int) float64 {
	return roundingGamma(tanhSinhTerms(d) + d + 10)
}

// roundingGamma is γ_k = ku/(1-ku), u = 2^-53: the relative error bound of
// k chained correctly rounded operations (Higham, Lemma 3.1).
func roundingGamma(k int) float64 {
	const u = machineEpsilon / 2
	return float64(k) * u / (1 - float64(k)*u)
}

// tanhSinhStep is the step h of the tanh–sinh rule at dimension d: the
// trapezoidal rule in s has error exp(-c/h), and the density's peak at t = 0
// has width about 1/sqrt(d) in s, so h shrinks with sqrt(d). The rule sums
// s = kh for |s| <= 5, beyond which the weight is below 1e-300.
func tanhSinhStep(d int) float64 { return 1 / (64 * math.Ceil(math.Sqrt(float64(d)))) }

// tanhSinhTerms is the number of terms of the tanh–sinh rule at d.
func tanhSinhTerms(d int) int { return 2*int(5/tanhSinhStep(d)) + 1 }

// ReLUSphereConstantsTanhSinh computes the same constants by the tanh–sinh
// (double exponential) rule in t itself: t = tanh((π/2) sinh s), so that
// 1 - t² = sech²((π/2) sinh s) is computed without cancellation and the
// endpoint singularity of (1 - t²)^{(d-3)/2} is absorbed by the doubly
// exponential decay of dt/ds. It is an independent cross-check of
// ReLUSphereConstants (another variable, another rule).
func ReLUSphereConstantsTanhSinh(d int) (SphereKernelConstants, error) {
	if err := checkSphereDim(d); err != nil {
		return SphereKernelConstants{}, err
	}
	h := tanhSinhStep(d)
	var m0, m1, m2 float64
	for k := -int(5 / h); k <= int(5/h); k++ {
		sk := float64(k) * h
		a := math.Pi / 2 * math.Sinh(sk)
		t, sech := math.Tanh(a), 1/math.Cosh(a)
		dens := math.Pi / 2 * math.Cosh(sk) * math.Pow(sech, float64(d-1)) // (1-t²)^{(d-3)/2} dt/ds
		if dens == 0 {
			continue
		}
		kap := kappaCS(t, sech)
		m0 += dens
		m1 += dens * kap
		m2 += dens * kap * kap
	}
	return constants(d, m1/m0, m2/m0), nil
}

func constants(d int, l1, s2 float64) SphereKernelConstants {
	return SphereKernelConstants{D: d, Lambda1: l1, SumSq: s2, Tau: l1 * l1 / s2}
}

// ReLUSphereLambda1 is λ_1(𝒦) = E[κ(t)] in closed form. With t = cos φ and
// W_k = ∫_0^π sin^k φ dφ (Wallis), integration by parts gives
// ∫_0^π (π - φ) cos φ sin^{d-2}φ dφ = W_{d-1}/(d-1), so
//
//	λ_1 = (W_{d-1} + W_{d-1}/(d-1)) / (2π W_{d-2}) = d/(2π(d-1)) · W_{d-1}/W_{d-2},
//
// with the ratio r_k = W_k/W_{k-1} from r_1 = 2/π and r_k = (k-1)/(k r_{k-1}).
func ReLUSphereLambda1(d int) (float64, error) {
	if err := checkSphereDim(d); err != nil {
		return 0, err
	}
	r := 2 / math.Pi
	for k := 2; k <= d-1; k++ {
		r = float64(k-1) / (float64(k) * r)
	}
	return float64(d) / (2 * math.Pi * float64(d-1)) * r, nil
}

// gaussLegendre returns the n-point Gauss–Legendre nodes and weights on
// [-1, 1], by Newton's method on P_n from the Tricomi initial guesses (the
// classical construction: converged to a few ulps in a few steps).
func gaussLegendre(n int) (x, w []float64) {
	x, w = make([]float64, n), make([]float64, n)
	for i := 0; i < (n+1)/2; i++ {
		z := math.Cos(math.Pi * (float64(i) + 0.75) / (float64(n) + 0.5))
		var dp float64
		for iter := 0; iter < 100; iter++ {
			p, dpz := legendre(n, z)
			dp = dpz
			dz := p / dp
			z -= dz
			if math.Abs(dz) <= 1e-16 {
				break
			}
		}
		_, dp = legendre(n, z)
		x[i], x[n-1-i] = -z, z
		w[i] = 2 / ((1 - z*z) * dp * dp)
		w[n-1-i] = w[i]
	}
	return x, w
}

// legendre returns P_n(z) and P_n'(z) by the three-term recurrence.
func legendre(n int, z float64) (p, dp float64) {
	p0, p1 := 1.0, z
	if n == 0 {
		return 1, 0
	}
	for k := 2; k <= n; k++ {
		p0, p1 = p1, ((2*float64(k)-1)*z*p1-(float64(k)-1)*p0)/float64(k)
	}
	return p1, float64(n) * (z*p1 - p0) / (z*z - 1)
}
