package experiment

import (
	"fmt"
	"os"
	"sync"
)

// Job is one training run of a sweep.
type Job struct {
	Spec   Spec
	Config Config
	Run    int // replicate index within its sweep
}

// NewJob is the run of a spec at the A.1 setting of its model: seed drives
// the data, the initialization and the batches. RecordEvery is 0 (start and
// end only) unless along is set; ScaledJob applies an experiment's scale.
func NewJob(spec Spec, run int, seed uint64, along bool) (Job, error) {
	set, err := Settings(spec.Model)
	if err != nil {
		return Job{}, err
	}
	spec.Seed = seed
	cfg := Config{Eta: set.Eta, Batch: set.Batch, Seed: seed, MaxSteps: set.MaxSteps, LossTarget: set.LossTarget}
	if along {
		cfg.RecordEvery = set.RecordEvery
	}
	return Job{Spec: spec, Config: cfg, Run: run}, nil
}

// RunOptions are how RunJobs runs its jobs.
type RunOptions struct {
	// Workers is the number of goroutines (each run is sequential and
	// seeded, so the results do not depend on it); at least one is used.
	Workers int
	// CacheDir, when not empty, keeps every finished run in that directory
	// (created if needed), and a job whose run is already there is read back
	// instead of trained: a sweep of hours that is interrupted, or asked for
	// again with more runs, trains only what it lacks. A run read back has
	// its Records and Chi (so its Steps, FinalLoss and Converged), not its
	// Theta, State or Seconds.
	CacheDir string
	// Done, when not nil, is called after each job with the count finished.
	Done func(finished, total int)
}

// RunJobs trains the jobs and returns their runs in job order, each record
// and χ tagged with its job's Run.
func RunJobs(jobs []Job, opt RunOptions) ([]Run, error) {
	if opt.CacheDir != "" {
		if err := os.MkdirAll(opt.CacheDir, 0o755); err != nil {
			return nil, err
		}
	}
	runs := make([]Run, len(jobs))
	errs := make([]error, len(jobs))
	forEach(len(jobs), opt, func(i int) { runs[i], errs[i] = runCachedJob(jobs[i], opt.CacheDir) })
	for i, err := range errs {
		if err != nil {
			j := jobs[i]
			return nil, fmt.Errorf("%s m=%d n=%d seed %d: %w", j.Spec.Model, j.Spec.Width, j.Spec.N, j.Spec.Seed, err)
		}
	}
	return runs, nil
}

// forEach calls do(i) for i in [0, n) on opt.Workers goroutines (at least
// one), calling opt.Done after each.
func forEach(n int, opt RunOptions, do func(i int)) {
	var mu sync.Mutex
	finished := 0
	next := make(chan int)
	var wg sync.WaitGroup
	for range max(1, opt.Workers) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				do(i)
				mu.Lock()
				finished++
				if opt.Done != nil {
					opt.Done(finished, n)
				}
				mu.Unlock()
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
}

// runCachedJob reads the job's run from the cache directory or trains it
// (and saves it there); dir "" is no cache.
func runCachedJob(j Job, dir string) (Run, error) {
	if dir == "" {
		return runJob(j)
	}
	if r, ok, err := loadCached(dir, j); ok || err != nil {
		return r, err
	}
	r, err := runJob(j)
	if err != nil {
		return Run{}, err
	}
	return r, saveCached(dir, j, r)
}

func runJob(j Job) (Run, error) {
	p, err := Build(j.Spec)
	if err != nil {
		return Run{}, err
	}
	r, err := Train(p, j.Config)
	if err != nil {
		return Run{}, err
	}
	for k := range r.Records {
		r.Records[k].Run = j.Run
	}
	for k := range r.Chi {
		r.Chi[k].Run = j.Run
	}
	return r, nil
}
