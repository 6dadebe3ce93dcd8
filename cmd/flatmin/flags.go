package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/flatmin/flatmin/theory"
)

// flagSet is the flag set of a command with flatmin's conventions: -h and
// --help print the help on stdout and exit 0, a bad flag is one line on
// stderr and exit 2, and the help spells every flag --name, as the usage
// lines do (the flag package accepts -name and --name alike).
type flagSet struct {
	*flag.FlagSet
	help           string
	stdout, stderr io.Writer
}

// newFlagSet returns the flag set of command name, whose help is the text
// help followed by the flags.
func newFlagSet(name, help string, stdout, stderr io.Writer) *flagSet {
	fs := &flagSet{FlagSet: flag.NewFlagSet(name, flag.ContinueOnError), help: help, stdout: stdout, stderr: stderr}
	// On a bad flag the flag package prints its message and the whole usage
	// to its output; parse prints one line of its own instead.
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// parse parses args. It returns the flags given on the command line, or
// ok = false and the exit status: exitOK after -h or --help, which print the
// help on stdout, and exitUsage after a bad flag, reported in one line on
// stderr.
func (fs *flagSet) parse(args []string) (set map[string]bool, code int, ok bool) {
	err := fs.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		fs.printHelp()
		return nil, exitOK, false
	case err != nil:
		return nil, usageError(fs.stderr, fs.Name(), "%s", flagProblem(err)), false
	}
	set = map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	return set, exitOK, true
}

// printHelp writes the help text and the flags with their defaults on
// stdout, each flag spelled --name.
func (fs *flagSet) printHelp() {
	var b strings.Builder
	fs.SetOutput(&b)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
	fmt.Fprintln(fs.stdout, fs.help)
	for _, line := range strings.SplitAfter(b.String(), "\n") {
		// A flag's line is "  -name type"; the lines of its usage start
		// with a tab.
		if strings.HasPrefix(line, "  -") {
			line = "  -" + line[2:]
		}
		fmt.Fprint(fs.stdout, line)
	}
}

// flagProblem rewords an error of the flag package the way the help spells
// flags (--lr, not -lr), with what the user typed quoted wherever it could
// break the line. The package's messages are fixed strings; one this does
// not know is returned as it is.
func flagProblem(err error) string {
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "flag provided but not defined: -"); ok {
		return "unknown flag " + dashed(name)
	}
	if name, ok := strings.CutPrefix(msg, "flag needs an argument: -"); ok {
		return dashed(name) + " needs a value"
	}
	if arg, ok := strings.CutPrefix(msg, "bad flag syntax: "); ok {
		return "bad flag syntax: " + strconv.Quote(arg)
	}
	// `invalid value "v" for flag -name: detail`, and for a boolean flag
	// `invalid boolean value "v" for -name: detail`; v is quoted by the
	// package, and name is one of the command's own.
	for _, form := range [][2]string{{"invalid value ", " for flag -"}, {"invalid boolean value ", " for -"}} {
		rest, ok := strings.CutPrefix(msg, form[0])
		if !ok {
			continue
		}
		value, err := strconv.QuotedPrefix(rest)
		if err != nil {
			break
		}
		rest, ok = strings.CutPrefix(rest[len(value):], form[1])
		name, detail, found := strings.Cut(rest, ": ")
		if !ok || !found {
			break
		}
		return fmt.Sprintf("invalid value %s for %s: %s", value, dashed(name), detail)
	}
	return msg
}

// dashed spells a flag name as --name, quoted if it holds characters that
// would not print as themselves (a newline, say).
func dashed(name string) string {
	s := "--" + name
	if q := strconv.Quote(s); q[1:len(q)-1] != s {
		return q
	}
	return s
}

// usageError reports a usage error of command cmd in one line on stderr,
// with where to find the command's help, and returns exitUsage.
func usageError(stderr io.Writer, cmd, format string, args ...any) int {
	fmt.Fprintf(stderr, "flatmin %s: %s (see flatmin %s --help)\n", cmd, fmt.Sprintf(format, args...), cmd)
	return exitUsage
}

// sgdError rewords an invalid (η, B) in terms of the flags --lr and --batch.
func sgdError(err error) string {
	var ie *theory.InputError
	if errors.As(err, &ie) {
		return fmt.Sprintf("%s: %s", map[string]string{"eta": "--lr", "B": "--batch"}[ie.Arg], ie.Detail)
	}
	return err.Error()
}
