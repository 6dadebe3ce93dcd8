package golden

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/flatmin/flatmin/fixtures"
	"github.com/flatmin/flatmin/models"
	"github.com/flatmin/flatmin/theory"
)

// TestSphereKernelConstants pins λ_1(𝒦), Σλ_i² and τ(𝒦) of the ReLU kernel
// on the sphere (Proposition 2.4, Appendix D.3) for d = 2..20.
func TestSphereKernelConstants(t *testing.T) {
	var got []theory.SphereKernelConstants
	for d := 2; d <= 20; d++ {
		c, err := theory.ReLUSphereConstants(d)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, c)
	}
	check(t, "sphere_kernel_constants", got)
}

type rfmGolden struct {
	D, N, M  int
	Seed     uint64
	Geometry theory.Geometry
	Noise    theory.Noise
}

// TestRFMAlignment pins the alignment factors of seeded ReLU random
// feature models (w_j ~ Unif(sqrt(d) S^{d-1}), x ~ Unif(S^{d-1})) at a
// Gaussian θ with labels 0, so e = Qθ.
func TestRFMAlignment(t *testing.T) {
	var got []rfmGolden
	for _, c := range []struct {
		d, n, m int
		seed    uint64
	}{{5, 40, 80, 1}, {10, 60, 120, 2}, {3, 30, 200, 3}} {
		rng := rand.New(rand.NewPCG(c.seed, 0))
		x := fixtures.Sphere(rng, c.n, c.d, 1)
		w := fixtures.Sphere(rng, c.m, c.d, math.Sqrt(float64(c.d)))
		theta := fixtures.Gaussians(rng, c.m)
		rfm, err := models.NewRFM(w, c.m, c.d)
		if err != nil {
			t.Fatal(err)
		}
		q, err := rfm.Features(x)
		if err != nil {
			t.Fatal(err)
		}
		e := make([]float64, c.n)
		if err := rfm.Outputs(e, theta, x); err != nil {
			t.Fatal(err)
		}
		s, err := theory.NewState(q, c.n, c.m, e)
		if err != nil {
			t.Fatal(err)
		}
		nz, err := s.Noise()
		if err != nil {
			t.Fatal(err)
		}
		g, err := s.Geometry()
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, rfmGolden{c.d, c.n, c.m, c.seed, g, nz})
	}
	check(t, "rfm_alignment", got)
}
