package experiment

import (
	"bytes"
	"math"
	"slices"
	"strings"
	"testing"
)

func sameFloat(a, b float64) bool { return math.Float64bits(a) == math.Float64bits(b) }

func TestRecordsRoundTrip(t *testing.T) {
	nan := math.NaN()
	tenth, fifth := 0.1, 0.2
	rs := []Record{
		{Model: "fcn", Width: 40, P: 31441, N: 1000, Run: 0, Seed: math.MaxUint64, Eta: 0.1, Batch: 20, Step: 0,
			Loss: tenth + fifth, Alpha: nan, Beta: 1e-300, Mu: 5e-324, Mu1: math.Copysign(0, -1), Mu2: math.Inf(1), Gamma: math.Inf(-1),
			Tau: 1.0 / 3, Flatness: 2.4, LambdaMax: math.MaxFloat64, TraceG: math.SmallestNonzeroFloat64, Rank: 999,
			Mu0: nan, BoundThm33: nan, BoundGD: nan},
		{Model: "a,b \"quoted\"", Width: -1, P: 1, N: 2, Run: 4, Seed: 42, Eta: 0.05, Batch: 1, Step: 100000,
			Loss: 1, Alpha: 0.9, Beta: 0.3, Mu: 0.27, Mu1: 0.5, Mu2: 0.1, Gamma: 0.2, Tau: 0.4, Flatness: 7.6,
			LambdaMax: 3, TraceG: 9, Rank: 10, Mu0: 0.25, BoundThm33: math.Sqrt(20/0.25) / 0.05, BoundGD: 2 * math.Sqrt(10) / 0.05},
	}
	var buf bytes.Buffer
	if err := WriteRecords(&buf, rs); err != nil {
		t.Fatal(err)
	}
	header, _, _ := strings.Cut(buf.String(), "\n")
	if want := strings.Join(Columns[Record](), ","); header != want {
		t.Errorf("header %q, want %q", header, want)
	}
	if !strings.HasPrefix(header, "model,width,p,n,run,seed,lr,batch,step,loss,alpha,") ||
		!strings.HasSuffix(header, ",mu0,bound_thm33,bound_gd") {
		t.Errorf("header %q", header)
	}
	if !strings.Contains(buf.String(), ",NaN,") || !strings.Contains(buf.String(), ",0.30000000000000004,") || !strings.Contains(buf.String(), ",-0,") {
		t.Errorf("CSV lacks NaN or shortest floats:\n%s", buf.String())
	}
	got, err := ReadRecords(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(rs) {
		t.Fatalf("read %d records, want %d", len(got), len(rs))
	}
	for i := range rs {
		a, b := rs[i], got[i]
		fa := []float64{a.Eta, a.Loss, a.Alpha, a.Beta, a.Mu, a.Mu1, a.Mu2, a.Gamma, a.Tau, a.Flatness, a.LambdaMax, a.TraceG, a.Mu0, a.BoundThm33, a.BoundGD}
		fb := []float64{b.Eta, b.Loss, b.Alpha, b.Beta, b.Mu, b.Mu1, b.Mu2, b.Gamma, b.Tau, b.Flatness, b.LambdaMax, b.TraceG, b.Mu0, b.BoundThm33, b.BoundGD}
		for j := range fa {
			if !sameFloat(fa[j], fb[j]) {
				t.Errorf("record %d float %d: got %v (%#x), want %v (%#x)", i, j, fb[j], math.Float64bits(fb[j]), fa[j], math.Float64bits(fa[j]))
			}
		}
		a.Eta, a.Loss, a.Alpha, a.Beta, a.Mu, a.Mu1, a.Mu2, a.Gamma, a.Tau, a.Flatness, a.LambdaMax, a.TraceG, a.Mu0, a.BoundThm33, a.BoundGD = 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
		b.Eta, b.Loss, b.Alpha, b.Beta, b.Mu, b.Mu1, b.Mu2, b.Gamma, b.Tau, b.Flatness, b.LambdaMax, b.TraceG, b.Mu0, b.BoundThm33, b.BoundGD = 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
		if a != b {
			t.Errorf("record %d: got %+v, want %+v", i, b, a)
		}
	}
}

func TestFeatureNormsRoundTrip(t *testing.T) {
	fs := []FeatureNorm{
		{Model: "cnn", Width: 8, Run: 2, Sample: 0, Chi: 1.5e-7, Ratio: 0.123456789012345},
		{Model: "cnn", Width: 8, Run: 2, Sample: 1, Chi: math.NaN(), Ratio: math.NaN()},
	}
	var buf bytes.Buffer
	if err := WriteFeatureNorms(&buf, fs); err != nil {
		t.Fatal(err)
	}
	if want := "model,width,run,sample,chi,chi_rel\n"; !strings.HasPrefix(buf.String(), want) {
		t.Errorf("CSV starts %q, want %q", buf.String(), want)
	}
	got, err := ReadFeatureNorms(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(fs) {
		t.Fatalf("read %d rows, want %d", len(got), len(fs))
	}
	for i := range fs {
		a, b := fs[i], got[i]
		if !sameFloat(a.Chi, b.Chi) || !sameFloat(a.Ratio, b.Ratio) {
			t.Errorf("row %d: got %+v, want %+v", i, b, a)
		}
		a.Chi, a.Ratio, b.Chi, b.Ratio = 0, 0, 0, 0
		if a != b {
			t.Errorf("row %d: got %+v, want %+v", i, b, a)
		}
	}
}

func TestReadColumnsByName(t *testing.T) {
	// Columns in another order, plus one the reader does not know.
	in := "extra,chi_rel,chi,sample,run,width,model\nx,0.5,2,3,1,16,fcn\n"
	got, err := ReadFeatureNorms(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []FeatureNorm{{Model: "fcn", Width: 16, Run: 1, Sample: 3, Chi: 2, Ratio: 0.5}}
	if !slices.Equal(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

func TestReadErrors(t *testing.T) {
	for name, in := range map[string]string{
		"empty":          "",
		"missing column": "model,width,run,sample,chi\nfcn,1,0,0,1\n",
		"duplicate":      "model,width,run,sample,chi,chi_rel,chi\nfcn,1,0,0,1,1,1\n",
		"bad int":        "model,width,run,sample,chi,chi_rel\nfcn,1.5,0,0,1,1\n",
		"bad float":      "model,width,run,sample,chi,chi_rel\nfcn,1,0,0,one,1\n",
		"short row":      "model,width,run,sample,chi,chi_rel\nfcn,1,0\n",
	} {
		if _, err := ReadFeatureNorms(strings.NewReader(in)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, err := ReadRecords(strings.NewReader("model\nfcn\n")); err == nil {
		t.Error("records with only the model column: no error")
	}
}

func TestEmptyTables(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteRecords(&buf, nil); err != nil {
		t.Fatal(err)
	}
	rs, err := ReadRecords(&buf)
	if err != nil || len(rs) != 0 {
		t.Errorf("got %v, %v; want no records and no error", rs, err)
	}
}
