package dataio

import (
	"bufio"
	"os"

	"codeberg.org/sbinet/npyio"
	"gonum.org/v1/gonum/mat"
)

// WriteNPY writes data as a NumPy .npy file of float64 ('<f8', C order):
// shape (rows,) when cols is 0, (rows, cols) otherwise.
func WriteNPY(path string, data []float64, rows, cols int) (err error) {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}()
	w := bufio.NewWriterSize(f, 1<<20)
	var v any = data[:rows]
	if cols > 0 {
		v = mat.NewDense(rows, cols, data[:rows*cols])
	}
	if err := npyio.Write(w, v); err != nil {
		return err
	}
	return w.Flush()
}
