package property

// Kind is how a claim is checked (Describe says what each means), strongest
// first.
type Kind string

const (
	Exact       Kind = "exact"
	Property    Kind = "property"
	Statistical Kind = "statistical"
	Experiment  Kind = "experiment"
)

// Describe says what a kind of check is, for CLAIMS.md.
func (k Kind) Describe() string {
	switch k {
	case Exact:
		return "computed without sampling (in closed form, by enumerating every case, or by a quadrature exact for the integrand) and compared at a bound on that computation's rounding error"
	case Property:
		return "inputs drawn by rapid, hard corners included (rank deficiency, extreme conditioning and scales, duplicated and zero rows, both sides of the stability edge), a failure shrunk to a minimal counterexample"
	case Statistical:
		return "sample estimates from a fixed seed, judged at a stated false-alarm rate"
	case Experiment:
		return "a real network of Appendix A.1 trained and measured, against a criterion for the paper's figure fixed before the runs; a figure not reproduced is a finding, not a failure"
	}
	return "unknown"
}

// catalogue is every claim the ledger tracks, in the paper's order, with the
// kinds of check it asks for; CLAIMS.md is generated from it (WriteCatalogue). Checks attach to these rows by ID (see register); a row
// without one is reported as "not yet checked", never as verified.
var catalogue = []Claim{
	// Section 2: the structure of SGD noise.
	{ID: "def-alignment", Section: "2", Kinds: []Kind{Property},
		Statement: "α = Tr(GΣ)/(‖G‖_F‖Σ‖_F), β = ‖Σ‖_F/(2L‖G‖_F), μ = Tr(ΣG)/(2L‖G‖_F²): μ = αβ, μ = μ1 - μ2, 0 <= α <= 1"},
	{ID: "eq-11", Section: "A.1", Kinds: []Kind{Exact, Property},
		Statement: "‖G‖_F² = ‖K‖_F²/n², Tr(GΣ) = ‖PEK‖_F²/n², ‖Σ‖_F² = ‖PEKEP‖_F²/n² (the paper prints ‖P SᵀS‖_F²)"},
	{ID: "lemma-c1", Section: "C", Kinds: []Kind{Exact, Statistical},
		Statement: "z ~ N(0, S): E[(vᵀz)² z zᵀ] = 2 S v vᵀ S + ‖S^{1/2} v‖² S"},
	{ID: "thm-2.1", Section: "2.1", Kinds: []Kind{Exact, Property},
		Statement: "Gaussian OLM, online, no label noise: Σ = ∇L∇Lᵀ + 2LG and μ1 >= μ >= 1 everywhere"},
	{ID: "lemma-2.3", Section: "2.2", Kinds: []Kind{Property},
		Statement: "feature model: μ1(θ) >= γ, μ2(θ) <= τ(G) = λ_1(G)²/‖G‖_F², μ(θ) >= γ - τ(G), for every θ",
		Note:      "the lemma's eigenvalue index runs to n although G is p x p; no harm done, as G has rank at most n"},
	{ID: "prop-2.4", Section: "2.2", Kinds: []Kind{Exact, Statistical},
		Statement: "ReLU RFM: μ1 >= 1 - ε_n and μ >= 1 - τ(K) - 2ε_n w.h.p.; κ(z) = (sqrt(1-z²) + (π - arccos z) z)/(2π)"},
	{ID: "prop-d.7", Section: "D", Kinds: []Kind{Statistical},
		Statement: "general RFM: μ1 >= inf χ(x)/χ̄ - ε_n, μ2 <= τ(K) + ε_n w.h.p."},
	{ID: "fig-1", Section: "2.3", Kinds: []Kind{Experiment},
		Statement: "alignment factors are significantly positive during SGD training of RFM, linear net, FCN, CNN; μ (nearly) independent of model size"},
	{ID: "fig-2", Section: "2.3", Kinds: []Kind{Experiment},
		Statement: "Assumption 1 (γ bounded below) holds along training for the linearized nonlinear models"},

	// Section 3: linear stability.
	{ID: "lemma-3.2", Section: "3", Kinds: []Kind{Exact, Property},
		Statement: "E[L(θ_{t+1})] = r(θ)L(θ) + η² v(θ), v = Tr(HS)/2, 0 <= r(θ), and r <= 1 when η <= 2/λ_1(H)"},
	{ID: "lemma-e.1", Section: "E", Kinds: []Kind{Property},
		Statement: "g(a,b,θ) = -a θᵀH²θ/θᵀHθ + b θᵀH³θ/θᵀHθ >= -a²/(4b), with equality when a/(2b) is an eigenvalue of H"},
	{ID: "lemma-e.2", Section: "E", Kinds: []Kind{Property},
		Statement: "r(θ) = ‖ηHu - u‖² >= 0 with u = H^{1/2}θ/‖H^{1/2}θ‖; r <= 1 if η <= 2/λ_1"},
	{ID: "thm-3.3", Section: "3.1", Kinds: []Kind{Property},
		Statement: "linearly stable and μ >= μ0 ⇒ ‖H‖_F <= sqrt(B/μ0)/η, i.e. η* <= sqrt(B/μ0)/‖H‖_F"},
	{ID: "prop-3.4", Section: "3.1", Kinds: []Kind{Property},
		Statement: "stable and μ1 >= μ1_0 ⇒ ‖H‖_F <= min(B/sqrt((B-1)μ1_0), 2B/μ1_0)/η (second term only when B = 1)"},
	{ID: "thm-3.6", Section: "3.2", Kinds: []Kind{Exact, Statistical},
		Statement: "‖H‖_F > sqrt(B/μ0)/η ⇒ E[L(θ_t)] >= γ0^t E[L(θ_0)], γ0 = η²μ0‖H‖_F²/B > 1; escape in about log_{γ0}(1/ε) steps"},
	{ID: "lemma-3.7", Section: "3.3", Kinds: []Kind{Exact},
		Statement: "state-independent noise, Tr(HS) <= 2σ², η <= 2/λ_1: E[L_t] - E[L_0] <= η²σ²t"},
	{ID: "gd-stability", Section: "3.1", Kinds: []Kind{Exact},
		Statement: "GD is linearly stable iff λ_1(H) <= 2/η; then ‖H‖_F <= 2 sqrt(rank H)/η"},
	{ID: "sec-3.3-noise", Section: "3.3", Kinds: []Kind{Exact},
		Statement: "geometry-aware S = 2LH: stable ⇒ ‖H‖_F <= sqrt(B)/η; isotropic S = 2σ²L I_p, σ² = Tr(H)/p: stable ⇒ Tr(H) <= sqrt(pB)/η"},
	{ID: "ext-without-replacement", Section: "beyond", Kinds: []Kind{Exact},
		Statement: "sampling without replacement scales the noise by (n-B)/(n-1): Theorem 3.3 becomes ‖H‖_F <= sqrt(B(n-1)/((n-B)μ0))/η"},
	{ID: "fig-3", Section: "3.1", Kinds: []Kind{Experiment},
		Statement: "the flatness ‖H‖_F of SGD solutions is (nearly) independent of model size"},
	{ID: "fig-4", Section: "3.2", Kinds: []Kind{Experiment, Exact},
		Statement: "SGD started at a GD-found sharp minimum escapes exponentially fast (about 10 steps)"},
	{ID: "fig-5b", Section: "4", Kinds: []Kind{Experiment, Exact},
		Statement: "the Theorem 3.3 bound is close to the flatness actually reached"},
}

// Claims returns the ledger: every claim of the catalogue in order, with the
// checks and controls registered for it.
func Claims() []Claim {
	return append([]Claim(nil), catalogue...)
}

// Lookup returns the claim with the given ID.
func Lookup(id string) (Claim, bool) {
	for _, c := range catalogue {
		if c.ID == id {
			return c, true
		}
	}
	return Claim{}, false
}

// addCheck attaches a check to a catalogue row, and addControl a negative
// control. They are called from init functions, one file per claim, and
// panic on an unknown ID: a programming error that every test catches.
func addCheck(id string, c Check) { row(id).Checks = append(row(id).Checks, c) }

func addControl(id string, c Control) { row(id).Controls = append(row(id).Controls, c) }

func row(id string) *Claim {
	for i := range catalogue {
		if catalogue[i].ID == id {
			return &catalogue[i]
		}
	}
	panic("property: unknown claim " + id)
}
