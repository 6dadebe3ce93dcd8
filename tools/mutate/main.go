// Command mutate measures how many one-token mutants of a package the tests
// kill. It lists every mutation site of the non-test Go files of the
// packages named (an arithmetic or comparison operator swapped, a constant
// 0, 1 or 2 changed, a math.Sqrt or math.Abs dropped, a negation dropped;
// not in the values returned beside a non-nil error, which Go's convention
// leaves unspecified, nor in math.Inf's constant, of which only the sign
// counts), draws a sample of them with a seed, and for each one runs the test
// command with the mutated file substituted through `go test -overlay`: the
// working tree is never touched. A mutant whose tests fail is killed; one
// whose tests pass survived; one that does not compile is not viable and
// is left out of the score. Mutants listed in the equivalence file (with
// the reason each changes no behaviour) are reported but left out too.
//
//	go run ./tools/mutate -pkgs ./theory,./oracle -n 100 -seed 1 \
//	    -test '-short ./theory ./oracle ./golden ./property'
//
// The report is one line a mutant on standard output, then the score.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// mutant is one single-token change of one file.
type mutant struct {
	File     string // path as listed (relative to the module root)
	Line     int
	Col      int
	Start    int    // byte offsets of the replaced text
	End      int    //
	Original string // the text replaced
	Replace  string
	What     string // a short description
}

// ID names a mutant stably across runs: file:line:col:original->replacement.
func (m mutant) ID() string {
	return fmt.Sprintf("%s:%d:%d:%s->%s", m.File, m.Line, m.Col, m.Original, m.Replace)
}

// swaps are the operator mutations: each operator and what replaces it.
var swaps = map[token.Token]token.Token{
	token.ADD: token.SUB, token.SUB: token.ADD,
	token.MUL: token.QUO, token.QUO: token.MUL,
	token.LSS: token.LEQ, token.LEQ: token.LSS,
	token.GTR: token.GEQ, token.GEQ: token.GTR,
	token.EQL: token.NEQ, token.NEQ: token.EQL,
	token.LAND: token.LOR, token.LOR: token.LAND,
}

// constants are the literal mutations.
var constants = map[string]string{"0": "1", "1": "2", "2": "1", "0.5": "1", "1.0": "2.0", "2.0": "1.0"}

// sites returns every mutation site of the Go source src of file.
func sites(file string, src []byte) ([]mutant, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, file, src, 0)
	if err != nil {
		return nil, err
	}
	var out []mutant
	// Mutants equivalent by construction are not drawn: those of values
	// returned beside a non-nil error, which are unspecified (the Go
	// convention every caller here follows: it returns on the error
	// without reading them), and those of the constant in math.Inf(±c),
	// which reads only its sign.
	var equivalent []ast.Node
	add := func(pos token.Pos, end token.Pos, replace, what string) {
		for _, r := range equivalent {
			if r.Pos() <= pos && pos < r.End() {
				return
			}
		}
		p, e := fset.Position(pos), fset.Position(end)
		out = append(out, mutant{File: file, Line: p.Line, Col: p.Column, Start: p.Offset, End: e.Offset,
			Original: string(src[p.Offset:e.Offset]), Replace: replace, What: what})
	}
	ast.Inspect(f, func(n ast.Node) bool {
		switch x := n.(type) {
		case *ast.IfStmt:
			if name := notNilCheck(x.Cond); name != "" {
				for _, st := range x.Body.List {
					if ret, ok := st.(*ast.ReturnStmt); ok && len(ret.Results) > 1 {
						if id, ok := ret.Results[len(ret.Results)-1].(*ast.Ident); ok && id.Name == name {
							equivalent = append(equivalent, valuesOf(ret)...)
						}
					}
				}
			}
		case *ast.ReturnStmt:
			if len(x.Results) > 1 && makesError(x.Results[len(x.Results)-1]) {
				equivalent = append(equivalent, valuesOf(x)...)
			}
		case *ast.GenDecl:
			// Constant and type declarations hold array sizes and
			// enumerations whose mutants rarely compile or mean anything.
			return x.Tok != token.CONST && x.Tok != token.TYPE
		case *ast.BinaryExpr:
			if to, ok := swaps[x.Op]; ok {
				add(x.OpPos, x.OpPos+token.Pos(len(x.Op.String())), to.String(), "operator "+x.Op.String()+" -> "+to.String())
			}
		case *ast.AssignStmt:
			switch x.Tok {
			case token.ADD_ASSIGN, token.SUB_ASSIGN, token.MUL_ASSIGN, token.QUO_ASSIGN:
				to := map[token.Token]token.Token{token.ADD_ASSIGN: token.SUB_ASSIGN, token.SUB_ASSIGN: token.ADD_ASSIGN,
					token.MUL_ASSIGN: token.QUO_ASSIGN, token.QUO_ASSIGN: token.MUL_ASSIGN}[x.Tok]
				add(x.TokPos, x.TokPos+token.Pos(len(x.Tok.String())), to.String(), "assignment "+x.Tok.String()+" -> "+to.String())
			}
		case *ast.BasicLit:
			if to, ok := constants[x.Value]; ok && (x.Kind == token.INT || x.Kind == token.FLOAT) {
				add(x.Pos(), x.End(), to, "constant "+x.Value+" -> "+to)
			}
		case *ast.UnaryExpr:
			if x.Op == token.SUB {
				add(x.OpPos, x.OpPos+1, "", "negation dropped")
			}
		case *ast.CallExpr:
			sel, ok := x.Fun.(*ast.SelectorExpr)
			if !ok {
				break
			}
			if id, ok := sel.X.(*ast.Ident); !ok || id.Name != "math" {
				break
			}
			switch sel.Sel.Name {
			case "Sqrt", "Abs":
				add(x.Fun.Pos(), x.Fun.End(), "", "math."+sel.Sel.Name+" dropped")
			case "Inf":
				if len(x.Args) != 1 {
					break
				}
				arg := x.Args[0]
				if neg, ok := arg.(*ast.UnaryExpr); ok {
					arg = neg.X // the negation stays a site: it flips the sign
				}
				if lit, ok := arg.(*ast.BasicLit); ok {
					equivalent = append(equivalent, lit)
				}
			}
		}
		return true
	})
	return out, nil
}

// notNilCheck returns v when cond is `v != nil`, else "".
func notNilCheck(cond ast.Expr) string {
	b, ok := cond.(*ast.BinaryExpr)
	if !ok || b.Op != token.NEQ {
		return ""
	}
	id, ok := b.X.(*ast.Ident)
	if nilY, isIdent := b.Y.(*ast.Ident); !ok || !isIdent || nilY.Name != "nil" {
		return ""
	}
	return id.Name
}

// makesError reports whether e is a call that builds an error: errors.New,
// fmt.Errorf, or a constructor named err… or …Err (inputErr, paramErr).
func makesError(e ast.Expr) bool {
	call, ok := e.(*ast.CallExpr)
	if !ok {
		return false
	}
	var name string
	switch f := call.Fun.(type) {
	case *ast.Ident:
		name = f.Name
	case *ast.SelectorExpr:
		if pkg, ok := f.X.(*ast.Ident); ok && pkg.Name == "errors" && f.Sel.Name == "New" {
			return true
		}
		name = f.Sel.Name
	}
	return name == "Errorf" || strings.HasPrefix(name, "err") || strings.HasSuffix(name, "Err")
}

// valuesOf returns the results of ret before its last (the error).
func valuesOf(ret *ast.ReturnStmt) []ast.Node {
	var v []ast.Node
	for _, r := range ret.Results[:len(ret.Results)-1] {
		v = append(v, r)
	}
	return v
}

// packageFiles lists the non-test Go files of the package directories.
func packageFiles(dirs []string) ([]string, error) {
	var files []string
	for _, d := range dirs {
		matches, err := filepath.Glob(filepath.Join(d, "*.go"))
		if err != nil {
			return nil, err
		}
		for _, m := range matches {
			if !strings.HasSuffix(m, "_test.go") {
				files = append(files, m)
			}
		}
	}
	sort.Strings(files)
	return files, nil
}

// outcome of running the tests on one mutant.
type outcome string

const (
	killed     outcome = "killed"
	survived   outcome = "SURVIVED"
	notViable  outcome = "not-viable"
	equivalent outcome = "equivalent"
	timedOut   outcome = "killed (timeout)"
)

// stage is one go test invocation pattern: flags and the packages it is
// run on, one package at a time.
type stage struct {
	flags, pkgs []string
}

// parseStages splits a -test value into stages at ";": within a stage,
// words starting with "-" are flags (a value joined by "=", as in
// -run=X) and the others packages.
func parseStages(s string) []stage {
	var out []stage
	for _, part := range strings.Split(s, ";") {
		var st stage
		for _, a := range strings.Fields(part) {
			if strings.HasPrefix(a, "-") {
				st.flags = append(st.flags, a)
			} else {
				st.pkgs = append(st.pkgs, a)
			}
		}
		if len(st.pkgs) > 0 {
			out = append(out, st)
		}
	}
	return out
}

// run applies m through an overlay and runs the tests: each stage's flags
// with each of its packages in turn, stopping at the first run that fails,
// so that a killed mutant costs only the runs up to its killer, which it
// names (the package and the first failing test).
func run(m mutant, src []byte, stages []stage, timeout time.Duration, tmp string) (outcome, time.Duration, string, error) {
	mutated := append(append(append([]byte{}, src[:m.Start]...), m.Replace...), src[m.End:]...)
	abs, err := filepath.Abs(m.File)
	if err != nil {
		return "", 0, "", err
	}
	mf := filepath.Join(tmp, "mutant.go")
	if err := os.WriteFile(mf, mutated, 0o644); err != nil {
		return "", 0, "", err
	}
	ov, err := json.Marshal(map[string]map[string]string{"Replace": {abs: mf}})
	if err != nil {
		return "", 0, "", err
	}
	of := filepath.Join(tmp, "overlay.json")
	if err := os.WriteFile(of, ov, 0o644); err != nil {
		return "", 0, "", err
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	start := time.Now()
	for _, st := range stages {
		for _, pkg := range st.pkgs {
			// go test's own limit is the mutant's, so that a slow test run is
			// reported as a timeout, not as a failure (flags may override it).
			args := append(append([]string{"test", "-overlay", of, "-count=1", "-failfast", "-timeout=" + timeout.String()}, st.flags...), pkg)
			cmd := exec.CommandContext(ctx, "go", args...)
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			err := cmd.Run()
			by := pkg + failingTest(out.String())
			switch {
			case ctx.Err() != nil || strings.Contains(out.String(), "panic: test timed out after"):
				return timedOut, time.Since(start), by, nil
			case err == nil:
				continue
			case strings.Contains(out.String(), "[build failed]") || strings.Contains(out.String(), "[setup failed]"):
				return notViable, time.Since(start), "", nil
			}
			var exit *exec.ExitError
			if errors.As(err, &exit) {
				return killed, time.Since(start), by, nil
			}
			return "", time.Since(start), "", err
		}
	}
	return survived, time.Since(start), "", nil
}

// failingTest returns " " and the name of the first failing test in go
// test's output, or "" if none is named (a build error, a panic at init).
func failingTest(out string) string {
	_, rest, ok := strings.Cut(out, "--- FAIL: ")
	if !ok {
		return ""
	}
	name, _, _ := strings.Cut(rest, " ")
	return " " + name
}

// result is a mutant's outcome and how long its tests ran.
type result struct {
	o    outcome
	took time.Duration
}

// readReport reads the outcomes of an earlier report (one line a mutant, as
// mutate writes them) by mutant ID. An equivalent mutant is read as the
// survivor it was, so that the equivalence list applies afresh. A line that
// is not a whole report line (the last one of an interrupted run, say) is
// left out, and its mutant runs again.
func readReport(r io.Reader) (map[string]result, error) {
	done := map[string]result{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		_, rest, _ := strings.Cut(line, " ") // the index
		rest = strings.TrimSpace(rest)
		var o outcome
		for _, c := range []outcome{timedOut, killed, survived, notViable, equivalent} {
			if strings.HasPrefix(rest, string(c)+" ") {
				o = c
				break
			}
		}
		f := strings.Fields(strings.TrimPrefix(rest, string(o)))
		if o == "" || len(f) < 3 || !strings.HasPrefix(f[2], "(") {
			continue
		}
		took, err := time.ParseDuration(f[0])
		if err != nil {
			continue
		}
		if o == equivalent {
			o = survived
		}
		done[f[1]] = result{o, took}
	}
	return done, sc.Err()
}

// readEquivalent reads the equivalence list: one mutant ID a line, then
// " # " and the reason; blank lines and lines starting with # are skipped.
func readEquivalent(path string) (map[string]string, error) {
	eq := map[string]string{}
	if path == "" {
		return eq, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		id, reason, _ := strings.Cut(line, " # ")
		eq[strings.TrimSpace(id)] = reason
	}
	return eq, sc.Err()
}

func main() {
	pkgs := flag.String("pkgs", "./theory,./oracle", "comma-separated package directories to mutate")
	n := flag.Int("n", 100, "mutants to sample (0: all)")
	seed := flag.Uint64("seed", 1, "seed of the sample")
	// The quick packages first, then property's checks (-short skips the
	// experiment rows), and last the experiment rows and their controls,
	// which train networks (about 90 s): a mutant that an earlier run kills
	// never pays them.
	tests := flag.String("test", "-short ./theory ./oracle ./golden; -short -skip=TestControls/fig- ./property; -run=Test(Ledger|Controls)/fig- ./property",
		"stages separated by \";\", each flags (a value joined by =) and packages given to go test; the packages are tested in turn, stage after stage, until one fails")
	timeout := flag.Duration("timeout", 15*time.Minute, "test time limit a mutant (a timeout counts as killed)")
	eqFile := flag.String("equivalent", "tools/mutate/equivalent.txt", "the list of equivalent mutants")
	list := flag.Bool("list", false, "only list the sampled mutants")
	only := flag.String("only", "", "comma-separated mutant IDs to run (from the sample of -n and -seed; -n 0 for any)")
	resume := flag.String("resume", "", "an earlier report of the same sample on the same code: its mutants are not run again, their outcomes are taken from it")
	flag.Parse()
	var ids []string
	if *only != "" {
		ids = strings.Split(*only, ",")
	}
	var done map[string]result
	if *resume != "" {
		f, err := os.Open(*resume)
		if err != nil {
			fmt.Fprintln(os.Stderr, "mutate:", err)
			os.Exit(1)
		}
		done, err = readReport(f)
		f.Close()
		if err != nil {
			fmt.Fprintln(os.Stderr, "mutate: -resume:", err)
			os.Exit(1)
		}
	}
	if err := mutate(os.Stdout, strings.Split(*pkgs, ","), *n, *seed, parseStages(*tests), *timeout, *eqFile, *list, ids, done); err != nil {
		fmt.Fprintln(os.Stderr, "mutate:", err)
		os.Exit(1)
	}
}

// allSites returns every mutation site of the packages' non-test files,
// and the files' sources by path.
func allSites(dirs []string) ([]mutant, map[string][]byte, error) {
	files, err := packageFiles(dirs)
	if err != nil {
		return nil, nil, err
	}
	sources := map[string][]byte{}
	var all []mutant
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			return nil, nil, err
		}
		sources[f] = src
		s, err := sites(f, src)
		if err != nil {
			return nil, nil, err
		}
		all = append(all, s...)
	}
	return all, sources, nil
}

// staleEquivalents returns the entries of the equivalence list that name a
// file among sources but no site of it: the code moved under them (their
// line or column changed) or the site is gone.
func staleEquivalents(all []mutant, sources map[string][]byte, eq map[string]string) []string {
	ids := map[string]bool{}
	for _, m := range all {
		ids[m.ID()] = true
	}
	var stale []string
	for id := range eq {
		file, _, _ := strings.Cut(id, ":")
		if _, ok := sources[file]; ok && !ids[id] {
			stale = append(stale, id)
		}
	}
	sort.Strings(stale)
	return stale
}

func mutate(w io.Writer, dirs []string, n int, seed uint64, stages []stage, timeout time.Duration, eqFile string, listOnly bool, only []string, done map[string]result) error {
	all, sources, err := allSites(dirs)
	if err != nil {
		return err
	}
	eq, err := readEquivalent(eqFile)
	if err != nil {
		return err
	}
	if stale := staleEquivalents(all, sources, eq); len(stale) > 0 {
		return fmt.Errorf("%s: no mutation site matches %s: update their line and column, or remove them", eqFile, strings.Join(stale, ", "))
	}
	rng := rand.New(rand.NewPCG(seed, 0x6d757461))
	rng.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
	if n > 0 && n < len(all) {
		all = all[:n]
	}
	if only != nil {
		var picked []mutant
		for _, m := range all {
			for _, id := range only {
				if m.ID() == strings.TrimSpace(id) {
					picked = append(picked, m)
				}
			}
		}
		all = picked
	}
	fmt.Fprintf(w, "# %d mutants sampled with seed %d from %s\n", len(all), seed, strings.Join(dirs, ","))
	if listOnly {
		for _, m := range all {
			fmt.Fprintf(w, "%s\t%s\n", m.ID(), m.What)
		}
		return nil
	}
	tmp, err := os.MkdirTemp("", "mutate")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	// The tests must pass on the code as it is, or every mutant would look
	// killed: run them once through an overlay that changes nothing.
	if len(all) > 0 {
		f := all[0].File
		o, _, by, err := run(mutant{File: f}, sources[f], stages, timeout, tmp)
		if err != nil {
			return err
		}
		if o != survived {
			return fmt.Errorf("the tests do not pass on the unmutated code (%s by %s): fix them first", o, by)
		}
		fmt.Fprintf(w, "# the tests pass on the unmutated code\n")
	}
	counts := map[outcome]int{}
	for i, m := range all {
		note, by := "", ""
		o, took := done[m.ID()].o, time.Duration(0)
		if o != "" {
			took, note = done[m.ID()].took, " (resumed)"
		} else if o, took, by, err = run(m, sources[m.File], stages, timeout, tmp); err != nil {
			return err
		}
		if by != "" {
			note = " by " + by + note
		}
		if reason, ok := eq[m.ID()]; ok && o == survived {
			o, note = equivalent, " # "+reason
		}
		counts[o]++
		fmt.Fprintf(w, "%3d %-16s %6.1fs  %s  (%s)%s\n", i+1, o, took.Seconds(), m.ID(), m.What, note)
	}
	dead := counts[killed] + counts[timedOut]
	scored := dead + counts[survived]
	score := 0.0
	if scored > 0 {
		score = 100 * float64(dead) / float64(scored)
	}
	fmt.Fprintf(w, "# killed %d (%d of them by a timeout), survived %d, equivalent %d, not viable %d: score %.1f%% (killed over killed + survived)\n",
		dead, counts[timedOut], counts[survived], counts[equivalent], counts[notViable], score)
	if counts[timedOut] > 0 {
		fmt.Fprintf(w, "# a timeout on a loaded machine may be a slow survivor: rerun those with -only on an idle one\n")
	}
	return nil
}
