package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/flatmin/flatmin/numerics"
)

// TestHelp: -h, -help, --help and `flatmin help <command>` print the help
// on stdout, nothing on stderr, and exit 0, for the top level and every
// command; every help documents the exit status and spells each flag --name.
func TestHelp(t *testing.T) {
	calls := [][]string{{"-h"}, {"-help"}, {"--help"}, {"help"}}
	for _, c := range commands {
		calls = append(calls, []string{c.name, "-h"}, []string{c.name, "--help"}, []string{"help", c.name})
	}
	// Help comes first even after other flags, and after experiment's figure.
	calls = append(calls, []string{"stability", "--lr", "0.1", "-h"}, []string{"experiment", "fig1", "--help"})
	for _, args := range calls {
		code, out, errs := runCmd(args...)
		if code != 0 || errs != "" {
			t.Errorf("%v: exit %d, stderr %q; want exit 0 and nothing on stderr", args, code, errs)
		}
		if !strings.HasPrefix(out, "usage: flatmin ") || !strings.Contains(out, "Exit status: 0 ") {
			t.Errorf("%v: stdout does not start with the usage line or lacks the exit status:\n%s", args, out)
		}
		flags := 0
		for _, line := range strings.Split(out, "\n") {
			if strings.HasPrefix(line, "  -") {
				flags++
				if !strings.HasPrefix(line, "  --") {
					t.Errorf("%v: flag line %q: want --name", args, line)
				}
			}
		}
		if len(args) > 1 && flags == 0 { // a command's help, not the top level's
			t.Errorf("%v: the help lists no flags:\n%s", args, out)
		}
	}
}

// TestFlagErrors: a usage error is exactly one line on stderr, naming the
// command, the flag and the problem, and exits 2; nothing goes to stdout.
func TestFlagErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "flatmin: no command given (see flatmin --help)"},
		{[]string{"nope"}, `flatmin: unknown command "nope" (see flatmin --help)`},
		{[]string{"help", "nope"}, `flatmin: unknown command "nope" (see flatmin --help)`},
		{[]string{"stability", "--lr", "abc"}, `flatmin stability: invalid value "abc" for --lr: parse error (see flatmin stability --help)`},
		{[]string{"stability", "-lr=abc"}, `flatmin stability: invalid value "abc" for --lr: parse error (see flatmin stability --help)`},
		{[]string{"measure", "--lr", "1e400"}, `flatmin measure: invalid value "1e400" for --lr: value out of range (see flatmin measure --help)`},
		{[]string{"measure", "--batch", "99999999999999999999"}, `flatmin measure: invalid value "99999999999999999999" for --batch: value out of range (see flatmin measure --help)`},
		{[]string{"measure", "--batch", "2.5"}, `flatmin measure: invalid value "2.5" for --batch: parse error (see flatmin measure --help)`},
		{[]string{"measure", "--lr", "a\nb"}, `flatmin measure: invalid value "a\nb" for --lr: parse error (see flatmin measure --help)`},
		{[]string{"stability", "--json=maybe"}, `flatmin stability: invalid value "maybe" for --json: parse error (see flatmin stability --help)`},
		{[]string{"stability", "--lr"}, "flatmin stability: --lr needs a value (see flatmin stability --help)"},
		{[]string{"stability", "--eta", "1"}, "flatmin stability: unknown flag --eta (see flatmin stability --help)"},
		{[]string{"stability", "--et\na", "1"}, `flatmin stability: unknown flag "--et\na" (see flatmin stability --help)`},
		{[]string{"stability", "---lr", "1"}, `flatmin stability: bad flag syntax: "---lr" (see flatmin stability --help)`},
		{[]string{"verify", "--checks", "0"}, "flatmin verify: --checks must be >= 1, got 0 (see flatmin verify --help)"},
		{[]string{"verify", "--seed", "-1"}, `flatmin verify: invalid value "-1" for --seed: parse error (see flatmin verify --help)`},
		{[]string{"verify", "extra"}, `flatmin verify: unexpected argument "extra" (see flatmin verify --help)`},
		{[]string{"train", "--width", "x"}, `flatmin train: invalid value "x" for --width: parse error (see flatmin train --help)`},
		{[]string{"experiment", "fig1", "--runs", "x"}, `flatmin experiment: invalid value "x" for --runs: parse error (see flatmin experiment --help)`},
	} {
		code, out, errs := runCmd(tc.args...)
		if code != 2 || out != "" || errs != tc.want+"\n" {
			t.Errorf("%q: exit %d, stdout %q, stderr %q\nwant exit 2, nothing on stdout, stderr %q", tc.args, code, out, errs, tc.want+"\n")
		}
	}
}

// --version prints one line naming the build and the kernels' path, on
// stdout, and exits 0.
func TestVersion(t *testing.T) {
	name, _ := numerics.Implementation()
	for _, arg := range []string{"--version", "-version", "version"} {
		var out, errOut bytes.Buffer
		if code := run([]string{arg}, &out, &errOut); code != exitOK {
			t.Errorf("%s: exit %d, stderr %q", arg, code, errOut.String())
		}
		if s := out.String(); !strings.HasPrefix(s, "flatmin ") || strings.Count(s, "\n") != 1 || !strings.Contains(s, "numerics "+name+", ") || !strings.Contains(s, " L1") {
			t.Errorf("%s: printed %q, want one line starting with \"flatmin \" that names numerics %s and the L1", arg, s, name)
		}
	}
}
