package experiment

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// cacheFormat names the layout and the training code of the files a run
// cache holds; raise it when either changes, so that runs trained by an
// older flatmin are trained again rather than mixed with new ones.
const cacheFormat = 1

// Key identifies a job by everything that decides its outcome: its spec, its
// configuration (but not the Progress callback) and its replicate index. Two
// jobs with the same key give the same bits.
func (j Job) Key() string {
	j.Config.Progress = nil
	return fmt.Sprintf("%+v %+v run=%d", j.Spec, j.Config, j.Run)
}

// cacheName is the base name of a job's files in a run cache: readable
// (model, width, n, seed, run) and unique through a hash of the key.
func (j Job) cacheName() string {
	h := fnv.New64a()
	fmt.Fprintf(h, "v%d %s", cacheFormat, j.Key())
	return fmt.Sprintf("%s-m%d-n%d-seed%d-run%d-%016x", j.Spec.Model, j.Spec.Width, j.Spec.N, j.Spec.Seed, j.Run, h.Sum64())
}

// loadCached reads a job's run from dir; ok is false when it is not there.
// Only the records and the χ_i are kept (see RunOptions.CacheDir).
func loadCached(dir string, j Job) (r Run, ok bool, err error) {
	base := filepath.Join(dir, j.cacheName())
	records, err := readCacheFile(base+".records.csv", ReadRecords)
	if errors.Is(err, fs.ErrNotExist) {
		return Run{}, false, nil
	}
	if err != nil {
		return Run{}, false, err
	}
	chi, err := readCacheFile(base+".chi.csv", ReadFeatureNorms)
	if errors.Is(err, fs.ErrNotExist) {
		return Run{}, false, nil
	}
	if err != nil {
		return Run{}, false, err
	}
	if len(records) == 0 {
		return Run{}, false, fmt.Errorf("%s.records.csv: no records", base)
	}
	last := records[len(records)-1]
	return Run{
		Steps:     last.Step,
		FinalLoss: last.Loss,
		Converged: last.Loss <= j.Config.LossTarget,
		Records:   records,
		Chi:       chi,
	}, true, nil
}

func readCacheFile[T any](path string, read func(io.Reader) ([]T, error)) ([]T, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rows, err := read(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return rows, nil
}

// saveCached writes a job's records, χ_i and final θ into dir. Each file is
// written under a temporary name and renamed, so an interrupted sweep never
// leaves a partial file that a later one would read; the records file,
// which marks the run as present, lands last. θ is kept so that Figure 5b,
// which needs each run's final state, never trains a cached run again.
func saveCached(dir string, j Job, r Run) error {
	base := filepath.Join(dir, j.cacheName())
	if err := writeAtomic(base+".chi.csv", func(w io.Writer) error { return WriteFeatureNorms(w, r.Chi) }); err != nil {
		return err
	}
	if err := saveTheta(base, r.Theta); err != nil {
		return err
	}
	return writeAtomic(base+".records.csv", func(w io.Writer) error { return WriteRecords(w, r.Records) })
}

// saveTheta writes θ (little-endian float64) to base+".theta.f64", nothing
// when there is none.
func saveTheta(base string, theta []float64) error {
	if theta == nil {
		return nil
	}
	return writeAtomic(base+".theta.f64", func(w io.Writer) error { return binary.Write(w, binary.LittleEndian, theta) })
}

func writeAtomic(path string, write func(io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".partial-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // a no-op once renamed
	if err := write(tmp); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
