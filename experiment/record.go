package experiment

// Record is the state of one training run at one step: the loss and the
// quantities of Sections 2 and 3 measured through K = QQᵀ and e (eq. 11).
// It is one row of the tidy CSV that `flatmin train --out` and
// `flatmin experiment` write; the csv tags are the column names.
type Record struct {
	Model string  `csv:"model"` // fcn, cnn, rfm or linear
	Width int     `csv:"width"` // m
	P     int     `csv:"p"`     // number of parameters
	N     int     `csv:"n"`     // number of training samples
	Run   int     `csv:"run"`   // replicate index within a sweep, from 0
	Seed  uint64  `csv:"seed"`  // seed of the run (data subset, initialization, batches)
	Eta   float64 `csv:"lr"`
	Batch int     `csv:"batch"`
	Step  int     `csv:"step"` // SGD steps taken so far

	Loss      float64 `csv:"loss"`       // L = Σ e_i²/(2n)
	Alpha     float64 `csv:"alpha"`      // α (NaN when Σ = 0)
	Beta      float64 `csv:"beta"`       // β
	Mu        float64 `csv:"mu"`         // μ = αβ
	Mu1       float64 `csv:"mu1"`        // μ1
	Mu2       float64 `csv:"mu2"`        // μ2
	Gamma     float64 `csv:"gamma"`      // γ = min χ_i / mean χ_i (Assumption 1)
	Tau       float64 `csv:"tau"`        // τ = λ_1(G)²/‖G‖_F²
	Flatness  float64 `csv:"flatness"`   // ‖G‖_F (= ‖H‖_F at a global minimum)
	LambdaMax float64 `csv:"lambda_max"` // λ_1(G)
	TraceG    float64 `csv:"trace_G"`    // Tr(G)
	Rank      int     `csv:"rank"`       // numerical rank of G

	// At the end of a run only (NaN on the records along training): the
	// alignment infimum of the linearized model and the flatness bounds that
	// linear stability gives for this η and B.
	Mu0        float64 `csv:"mu0"`         // μ0 = inf_θ μ(θ) at these features
	BoundThm33 float64 `csv:"bound_thm33"` // sqrt(B/μ0)/η (Theorem 3.3)
	BoundGD    float64 `csv:"bound_gd"`    // 2 sqrt(rank)/η (GD's stability, Section 3.1)
}

// FeatureNorm is χ_i = g_iᵀ G g_i of one sample at the end of a run
// (Assumption 1; Figures 2b and 6), one row of the χ CSV.
type FeatureNorm struct {
	Model  string  `csv:"model"`
	Width  int     `csv:"width"`
	Run    int     `csv:"run"`
	Sample int     `csv:"sample"`  // index i in the training set
	Chi    float64 `csv:"chi"`     // χ_i
	Ratio  float64 `csv:"chi_rel"` // χ_i / mean_j χ_j
}
