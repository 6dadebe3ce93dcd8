package experiment

import (
	"fmt"
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

// RunJobs trains the jobs on the given number of goroutines (each run is
// sequential and seeded, so the results do not depend on it) and returns
// their runs in job order, each record and χ tagged with its job's Run.
// done, when not nil, is called after each job with the count finished.
func RunJobs(jobs []Job, workers int, done func(finished, total int)) ([]Run, error) {
	runs := make([]Run, len(jobs))
	errs := make([]error, len(jobs))
	var mu sync.Mutex
	finished := 0
	next := make(chan int)
	var wg sync.WaitGroup
	for range max(1, workers) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				runs[i], errs[i] = runJob(jobs[i])
				mu.Lock()
				finished++
				if done != nil {
					done(finished, len(jobs))
				}
				mu.Unlock()
			}
		}()
	}
	for i := range jobs {
		next <- i
	}
	close(next)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			j := jobs[i]
			return nil, fmt.Errorf("%s m=%d n=%d seed %d: %w", j.Spec.Model, j.Spec.Width, j.Spec.N, j.Spec.Seed, err)
		}
	}
	return runs, nil
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
