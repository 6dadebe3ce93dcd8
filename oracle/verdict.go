package oracle

import (
	"fmt"
	"math"
)

// Verdict is the oracle's answer to "is the minimum linearly stable
// (Definition 3.1) at this η?", decided only where it is proven.
type Verdict int

const (
	// Stable: ρ <= 1 is proven (or η <= η* is).
	Stable Verdict = iota
	// Unstable: ρ > 1 is proven (or η > η* is).
	Unstable
	// Undecided: η lies within the enclosure of η*, closer to the edge
	// than the oracle's rounding lets it tell.
	Undecided
)

func (v Verdict) String() string {
	switch v {
	case Stable:
		return "stable"
	case Unstable:
		return "unstable"
	case Undecided:
		return "undecided"
	}
	return fmt.Sprintf("Verdict(%d)", int(v))
}

// MarshalText writes the verdict as its word, for JSON.
func (v Verdict) MarshalText() ([]byte, error) { return []byte(v.String()), nil }

// exactRelTol is the relative accuracy claimed for the exact (secular) path
// where no certificate is computed (custom noises, GD): its root finder
// stops at a bracket of 32ε, and the eigenvalues of the secular matrices
// carry a few ε times their size more; 1e-12 covers both with room.
const exactRelTol = 1e-12

// certified reports whether d is SGD noise with a noise part, whose
// spectral questions get proven enclosures (krylov.go).
func (d *Dynamics) certified() bool { return d.kind == sgdNoise && d.mom.C2 > 0 }

func (d *Dynamics) features() *sgdFeatures {
	if d.feat == nil {
		d.feat = d.sgdFeatures()
	}
	return d.feat
}

// around is the interval of the exact path's value v: v ± exactRelTol.
func around(v float64) Interval {
	if math.IsInf(v, 0) {
		return Interval{Value: v, Lo: v, Hi: v}
	}
	return Interval{Value: v, Lo: v - exactRelTol*math.Abs(v), Hi: v + exactRelTol*math.Abs(v)}
}

// CriticalRateBounds returns η* with an enclosure. For SGD noise the
// enclosure is proven (see krylov.go) at every size; where the exact path
// runs, Value is its answer (inside the enclosure), else the matrix-free
// estimate. For the other noises it is the exact path's value ± 1e-12 of
// it, not a proof.
func (d *Dynamics) CriticalRateBounds() (Interval, error) {
	if err := d.checkSpectral(); err != nil {
		return Interval{}, err
	}
	if d.etaStar != nil {
		return *d.etaStar, nil
	}
	var iv Interval
	if d.certified() {
		sc, y := krylovCriticalRate(d.features(), d.start)
		d.perron = y
		iv = Interval{Value: math.Ldexp(sc.Value, -d.o.kExp), Lo: math.Ldexp(sc.Lo, -d.o.kExp), Hi: math.Ldexp(sc.Hi, -d.o.kExp)}
		if d.exact() {
			v, err := d.CriticalRate()
			if err != nil {
				return Interval{}, err
			}
			iv.Value = math.Min(math.Max(v, iv.Lo), iv.Hi)
		}
	} else {
		v, err := d.CriticalRate()
		if err != nil {
			return Interval{}, err
		}
		iv = around(v)
	}
	d.etaStar = &iv
	return iv, nil
}

// SpectralRadiusBounds returns ρ at η with an enclosure, proven for SGD
// noise as in CriticalRateBounds.
func (d *Dynamics) SpectralRadiusBounds(eta float64) (Interval, error) {
	e, err := d.o.scaledEta(eta)
	if err != nil {
		return Interval{}, err
	}
	if err := d.checkSpectral(); err != nil {
		return Interval{}, err
	}
	if iv, far := d.farAbove(e); far {
		return iv, nil
	}
	if !d.certified() {
		v, err := d.SpectralRadius(eta)
		return around(v), err
	}
	star, err := d.CriticalRateBounds()
	if err != nil {
		return Interval{}, err
	}
	// λ_max(A1^{-1/2}A2A1^{-1/2}) = 1/η̂* <= 1/η̂*_lo.
	c := 1 / math.Ldexp(star.Lo, d.o.kExp)
	iv := krylovSpectralRadius(d.features(), e, c, d.perron)
	if d.exact() {
		v, err := d.SpectralRadius(eta)
		if err != nil {
			return Interval{}, err
		}
		iv.Value = math.Min(math.Max(v, iv.Lo), iv.Hi)
	}
	return iv, nil
}

// Verdict decides linear stability at η from the enclosures of ρ and η*:
// stable when ρ <= 1 or η <= η* is proven, unstable when ρ > 1 or η > η*
// is, and undecided otherwise (η within the enclosure of η*).
func (d *Dynamics) Verdict(eta float64) (Verdict, Interval, error) {
	rho, err := d.SpectralRadiusBounds(eta)
	if err != nil {
		return Undecided, Interval{}, err
	}
	star, err := d.CriticalRateBounds()
	if err != nil {
		return Undecided, Interval{}, err
	}
	switch {
	case rho.Hi <= 1:
		return Stable, rho, nil
	case rho.Lo > 1:
		return Unstable, rho, nil
	}
	return star.Decide(eta), rho, nil
}

// Decide is the verdict at η from an enclosure of η* alone: stable when
// η <= Lo, unstable when η > Hi, undecided between.
func (iv Interval) Decide(eta float64) Verdict {
	switch {
	case eta <= iv.Lo:
		return Stable
	case eta > iv.Hi:
		return Unstable
	}
	return Undecided
}
