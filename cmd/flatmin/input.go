package main

import (
	"fmt"
	"io"
	"math"

	"github.com/flatmin/flatmin/cmd/flatmin/internal/dataio"
	"github.com/flatmin/flatmin/numerics"
	"github.com/flatmin/flatmin/theory"
)

// Everything measure and stability report is a function of the Gram
// K = QQᵀ (n x n) and the residuals e (Section 2, eq. 11), so Q is never
// held: --grads streams it through numerics.GramAdd a block of columns at a
// time, and --gram takes K itself.

// fileFlags are the flags that name a command's inputs (output.go's
// inputFlags lists their names for the JSON).
type fileFlags struct {
	grads, gram, resid *string
	params             *int
}

// addFileFlags declares --grads, --gram, --residuals (documented as
// residDoc) and --params on fs.
func addFileFlags(fs *flagSet, residDoc string) fileFlags {
	return fileFlags{
		grads:  fs.String("grads", "", "per-sample gradients Q (.npy, .npz or .csv), n x p, read a block of columns at a time"),
		gram:   fs.String("gram", "", "instead of --grads: their Gram K = QQᵀ (.npy, .npz or .csv), n x n"),
		resid:  fs.String("residuals", "", residDoc),
		params: fs.Int("params", 0, "with --gram: the number of parameters p, which only the p row and the rank's threshold use"),
	}
}

// problem is what is wrong with the input flags as a usage error, or "";
// residuals says whether --residuals is required.
func (f fileFlags) problem(set map[string]bool, residuals bool) string {
	switch {
	case *f.grads != "" && *f.gram != "":
		return "give --grads or --gram, not both"
	case residuals && *f.gram != "" && *f.resid == "":
		return "--gram and --residuals are required"
	case residuals && (*f.grads == "" && *f.gram == "" || *f.resid == ""):
		return "--grads and --residuals are required"
	case *f.grads == "" && *f.gram == "":
		return "--grads or --gram is required"
	case set["params"] && *f.gram == "":
		return "--params goes with --gram (with --grads, p is the number of columns of Q)"
	case set["params"] && *f.params < 1:
		return fmt.Sprintf("--params must be >= 1, got %d", *f.params)
	}
	return ""
}

// open opens the inputs the flags name: the header of Q or K (shape and
// format, nothing of the size of Q read yet) and the residuals, checked to
// be one per row.
func (f fileFlags) open() (inputs, error) {
	in := inputs{gradsPath: *f.grads, gramPath: *f.gram, residPath: *f.resid}
	s, err := dataio.OpenStream(in.matrixPath())
	if err != nil {
		return in, err
	}
	in.src, in.n, in.p = s, s.Rows, s.Cols
	if in.gramPath != "" {
		in.p = *f.params // 0: unknown
		if s.Rows != s.Cols {
			s.Close()
			return in, fmt.Errorf("%s: %w: a Gram matrix is square (n, n), this one is (%d, %d)", in.gramPath, dataio.ErrShape, s.Rows, s.Cols)
		}
	}
	if in.residPath == "" {
		return in, nil
	}
	e, err := dataio.ReadFile(in.residPath, dataio.Vector)
	if err == nil && e.Rows != in.n {
		err = fmt.Errorf("%s: %d residuals, but %s has %d rows (one per sample)", in.residPath, e.Rows, in.matrixPath(), in.n)
	}
	if err != nil {
		s.Close()
		return in, err
	}
	in.e = e.Data
	return in, nil
}

// matrixPath is the file of Q or K.
func (in inputs) matrixPath() string {
	if in.gramPath != "" {
		return in.gramPath
	}
	return in.gradsPath
}

// header names the inputs above a table, a line each.
func (in inputs) header() string {
	s := fmt.Sprintf("grads:     %s\n", in.gradsPath)
	if in.gramPath != "" {
		s = fmt.Sprintf("gram:      %s\n", in.gramPath)
	}
	if in.residPath != "" {
		s += fmt.Sprintf("residuals: %s\n", in.residPath)
	}
	return s
}

// etaHeader is the line of the learning rate under the inputs: the --lr
// given and the paper's η it is (none without --lr).
func etaHeader(sgd *theory.SGD, conv lossConvention, lr float64) string {
	if sgd == nil {
		return ""
	}
	return "lr:        " + conv.etaLine(lr, sgd.Eta) + "\n"
}

// stateP is the p a theory.State is given: the parameters, or n when they
// are unknown (a --gram without --params), which makes the rank's
// threshold n·ε·λ_1, the oracle's own.
func (in inputs) stateP() int {
	if in.p == 0 {
		return in.n
	}
	return in.p
}

// maxGramBytes bounds the memory of the n x n analysis that measure and
// stability start on any input, so that a file of a million rows is refused
// at once instead of failing an allocation: the Gram, GramAdd's tiles (half
// a Gram), and theory's copies for the eigenvalues and the noise (four), at
// 8 bytes an entry: n = 16,000 is about 11 GiB.
const maxGramBytes = 12 << 30

// checkGramSize refuses an n whose analysis needs more than maxGramBytes.
func checkGramSize(n int) error {
	if need := 8 * 5.5 * float64(n) * float64(n); need > maxGramBytes {
		return fmt.Errorf("%w: n = %d samples: the n x n analysis needs about %.3g GB, more than flatmin's %d GiB limit (--subsample S estimates it from S samples)",
			theory.ErrParam, n, need/1e9, maxGramBytes>>30)
	}
	return nil
}

// loadGram reads K: streamed from Q, or read from --gram, symmetrized and
// checked (gram.go). It closes the file.
func (in *inputs) loadGram() error {
	defer in.src.Close()
	if err := checkGramSize(in.n); err != nil {
		return fmt.Errorf("%s: %w", in.matrixPath(), err)
	}
	if in.gramPath != "" {
		return in.readGram()
	}
	g, err := streamGrams(in.src, []int(nil), nil)
	if err != nil {
		return err
	}
	in.k, in.kExp = g[0].k, g[0].exp
	return nil
}

// state builds the theory.State of the inputs.
func (in inputs) state() (*theory.State, error) {
	st, err := theory.NewStateScaledGram(in.k, in.kExp, in.n, in.stateP(), in.e)
	return st, in.blame(err)
}

// scaledGram is the Gram 2^exp·k, row-major m x m.
type scaledGram struct {
	k   []float64
	exp int
	m   int
}

// streamBudget is the memory, in bytes, of the blocks of Q in flight (two
// float64 blocks, one summed while the next is read, and the stream's
// reading buffer): 256 MiB, blocks of 16,384 columns of 1000 rows of
// native float64 (13,312 of float32), so that GramAdd's overhead of a call
// (two passes over K, 10-15 ms at n = 1000) is a few per cent of its work
// (0.3-0.4 s of kernel). A variable so that tests can force many blocks on
// small files.
var streamBudget int64 = 256 << 20

// safeExp is theory.NewState's: Q is scaled by 2^-x, x the binary exponent
// of max|Q|, only when |x| > safeExp, so that its Gram neither overflows nor
// underflows.
const safeExp = 150

// streamGrams reads the rows of Q that s returns (all of them, or those of
// rows, ascending) a block of columns at a time and returns the Gram of
// each draw: draw d lists positions in rows (nil draws: one Gram of every
// row read). Blocks are a multiple of numerics.GramBlock wide, so each Gram
// has the bits numerics.Gram gives the same rows held in memory
// (numerics.GramAdd), and Q is scaled as theory.NewState scales it: by
// 2^-x, x the binary exponent of the largest |entry| read so far, when
// |x| > safeExp, the Gram rescaled (exactly, by a power of two) when x
// grows. The next block is read while the Gram of one is summed
// (readAhead). Memory: the Grams and two blocks, never the n x p matrix.
func streamGrams(s *dataio.Stream, rows []int, draws [][]int) ([]scaledGram, error) {
	if err := s.Select(rows); err != nil {
		return nil, err
	}
	sel := s.Rows
	if rows != nil {
		sel = len(rows)
	}
	if draws == nil {
		all := make([]int, sel)
		for i := range all {
			all[i] = i
		}
		draws = [][]int{all}
	}
	grams := make([]scaledGram, len(draws))
	maxDraw := 0
	for d, dr := range draws {
		grams[d] = scaledGram{k: make([]float64, len(dr)*len(dr)), m: len(dr)}
		maxDraw = max(maxDraw, len(dr))
	}
	w := int(streamBudget / (s.ColumnBytes() + 8*int64(sel)))
	w = max(numerics.GramBlock, w/numerics.GramBlock*numerics.GramBlock)
	if s.Cols <= w {
		w = s.Cols // one block: numerics.Gram's order whatever its width
	}
	var gather []float64
	if len(draws) > 1 || len(draws[0]) != sel {
		gather = make([]float64, maxDraw*w)
	}
	blocks, free := readAhead(s, sel*w, w)
	top, scale := math.MinInt, 0 // the exponent of max|Q| so far; Q is scaled by 2^-scale
	for {
		blk := <-blocks
		if blk.err == io.EOF {
			break
		}
		if blk.err != nil {
			return nil, blk.err
		}
		b := blk.data[:sel*blk.got]
		got := blk.got
		if m := blk.max; m > 0 {
			_, x := math.Frexp(m)
			top = max(top, x)
		}
		if next := scaleFor(top); next != scale {
			for _, g := range grams {
				for i, v := range g.k {
					g.k[i] = math.Ldexp(v, 2*(scale-next))
				}
			}
			scale = next
		}
		if scale != 0 {
			for i, v := range b {
				b[i] = math.Ldexp(v, -scale)
			}
		}
		for d, dr := range draws {
			x := b
			if gather != nil {
				x = gather[:len(dr)*got]
				for r, i := range dr {
					copy(x[r*got:(r+1)*got], b[i*got:(i+1)*got])
				}
			}
			numerics.GramAdd(grams[d].k, x, len(dr), got)
		}
		free <- blk.data
	}
	for d := range grams {
		grams[d].exp = 2 * scale
	}
	return grams, nil
}

// colBlock is one block of columns as Stream.Next read it, with its largest
// |entry|, or the error that ended the reading (io.EOF after the last).
type colBlock struct {
	data []float64
	got  int
	max  float64
	err  error
}

// readAhead reads the blocks of s (w columns, into buffers of size
// entries) in a goroutine of its own, one block ahead of the caller: the
// file's reading (a copy from the page cache, or the disk's transfer) runs
// while the caller sums the Gram of the block before. The caller receives
// each block from the first channel and hands its buffer back on the
// second; two buffers circulate, so memory is two blocks and the stream's
// one reading buffer. The goroutine ends after sending a block with an
// error (io.EOF at the end), which the caller must therefore read before
// it stops: a caller that stops at the first error never leaves it blocked.
func readAhead(s *dataio.Stream, size, w int) (<-chan colBlock, chan<- []float64) {
	blocks := make(chan colBlock, 1)
	free := make(chan []float64, 2)
	free <- make([]float64, size)
	free <- make([]float64, size)
	go func() {
		for {
			buf := <-free
			got, err := s.Next(buf, w)
			blocks <- colBlock{data: buf, got: got, max: s.BlockMax(), err: err}
			if err != nil {
				return
			}
		}
	}()
	return blocks, free
}

// scaleFor is the power of two theory.NewState scales a Q whose largest
// |entry| has binary exponent top by: top outside ±safeExp, else none.
func scaleFor(top int) int {
	if top == math.MinInt || (top >= -safeExp && top <= safeExp) {
		return 0
	}
	return top
}
