package experiment

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// TestRunCache: a second RunJobs over the same cache directory reads every
// run back with the same records and χ_i as trained, and trains none (its
// files are not rewritten); a job that differs in any setting gets its own
// files; a damaged file is an error, not a silent retrain.
func TestRunCache(t *testing.T) {
	dir := t.TempDir()
	var jobs []Job
	for run, model := range Models {
		cfg := tinyConfig
		cfg.Seed = uint64(run)
		jobs = append(jobs, Job{Spec: Spec{Model: model, Width: 3, N: 10, Seed: 3}, Config: cfg, Run: run})
	}
	trained, err := RunJobs(jobs, RunOptions{Workers: 2, CacheDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.csv"))
	if len(files) != 2*len(jobs) {
		t.Fatalf("cache holds %d files, want %d: %v", len(files), 2*len(jobs), files)
	}
	// Each run's final θ is kept with it (Figure 5b reads it back).
	if thetas, _ := filepath.Glob(filepath.Join(dir, "*.theta.f64")); len(thetas) != len(jobs) {
		t.Fatalf("cache holds %d θ files, want %d", len(thetas), len(jobs))
	}
	before := modTimes(t, files)

	read, err := RunJobs(jobs, RunOptions{Workers: 1, CacheDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	for i := range jobs {
		want := trained[i]
		if read[i].Steps != want.Steps || read[i].FinalLoss != want.FinalLoss || read[i].Converged != want.Converged {
			t.Errorf("job %d: read back steps %d loss %v converged %v, trained %d %v %v", i,
				read[i].Steps, read[i].FinalLoss, read[i].Converged, want.Steps, want.FinalLoss, want.Converged)
		}
		if diff := cmp.Diff(want.Records, read[i].Records, cmpopts.EquateNaNs()); diff != "" {
			t.Errorf("job %d: records read back differ (-trained +read):\n%s", i, diff)
		}
		if diff := cmp.Diff(want.Chi, read[i].Chi, cmpopts.EquateNaNs()); diff != "" {
			t.Errorf("job %d: χ read back differ (-trained +read):\n%s", i, diff)
		}
	}
	if diff := cmp.Diff(before, modTimes(t, files)); diff != "" {
		t.Errorf("reading the cache rewrote files:\n%s", diff)
	}

	other := jobs[0]
	other.Config.Eta *= 2
	if other.cacheName() == jobs[0].cacheName() {
		t.Error("a job with another learning rate has the same cache name")
	}
	other = jobs[0]
	other.Config.Progress = func(int, float64) {}
	if other.cacheName() != jobs[0].cacheName() {
		t.Error("a progress callback changes the cache name")
	}

	records := filepath.Join(dir, jobs[0].cacheName()+".records.csv")
	if err := os.WriteFile(records, []byte("model,width\nfcn,"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := RunJobs(jobs[:1], RunOptions{CacheDir: dir}); err == nil {
		t.Error("a damaged cache file was accepted")
	}
}

func modTimes(t *testing.T, files []string) map[string]int64 {
	t.Helper()
	m := map[string]int64{}
	for _, f := range files {
		st, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		m[filepath.Base(f)] = st.ModTime().UnixNano()
	}
	return m
}
