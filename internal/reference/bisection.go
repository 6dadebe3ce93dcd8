package reference

import "math"

// CriticalRateBisection is the critical learning rate η* = sup{η : ρ(η) <= 1}
// of a spectral radius ρ that is <= 1 exactly on (0, η*], by bisection on
// ρ(η) <= 1 down to adjacent floats. It starts at start > 0 (for example
// 1/λ_1(H), GD's half edge), doubles or halves η to a bracket, and returns
// the largest η found stable. An error of rho is returned as it is; a ρ
// that stays <= 1 up to +Inf, or > 1 down to 0, is an error.
func CriticalRateBisection(rho func(eta float64) (float64, error), start float64) (float64, error) {
	if !(start > 0) || math.IsInf(start, 1) {
		return 0, inputErr("start %v is not positive and finite", start)
	}
	stable := func(eta float64) (bool, error) {
		r, err := rho(eta)
		return r <= 1, err
	}
	lo, hi := start, start
	for {
		ok, err := stable(hi)
		if err != nil {
			return 0, err
		}
		if !ok {
			break
		}
		lo, hi = hi, 2*hi
		if math.IsInf(hi, 1) {
			return 0, inputErr("ρ <= 1 for every η up to %v", lo)
		}
	}
	for {
		ok, err := stable(lo)
		if err != nil {
			return 0, err
		}
		if ok {
			break
		}
		hi, lo = lo, lo/2
		if lo == 0 {
			return 0, inputErr("ρ > 1 for every η down to %v", hi)
		}
	}
	for {
		mid := lo + (hi-lo)/2
		if mid <= lo || mid >= hi {
			return lo, nil
		}
		ok, err := stable(mid)
		if err != nil {
			return 0, err
		}
		if ok {
			lo = mid
		} else {
			hi = mid
		}
	}
}
