package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/hookflow/hookflow/engine"
)

func cmdFlows(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usagef("usage: hookflow flows import FILE... | flows export [ID...] | flows validate FILE...")
	}
	sub := args[0]
	var s settings
	fs := newFlags("flows "+sub, &s)
	pos, err := s.parse(fs, args[1:])
	if err != nil {
		return err
	}
	switch sub {
	case "validate":
		if len(pos) == 0 {
			return usagef("usage: hookflow flows validate FILE...")
		}
		return validateFiles(pos, stdout)
	case "import":
		if len(pos) == 0 {
			return usagef("usage: hookflow flows import FILE...")
		}
		return importFiles(ctx, &s, pos, stdout, stderr)
	case "export":
		return exportFlows(ctx, &s, pos, stdout)
	}
	return usagef("unknown flows command %q: use import, export or validate", sub)
}

// readFlows reads a file holding one flow document, a list of them, or
// {"flows":[…]} (what the API's list returns). Every document is read; the
// problems of each carry its index ("[2].steps[0].id") when the file holds a list.
func readFlows(name string) ([]*engine.Flow, engine.Problems, error) {
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, nil, err
	}
	docs, list, err := engine.SplitFlowDocs(data)
	if err != nil {
		return nil, engine.Problems{{Message: err.Error()}}, nil
	}
	var out []*engine.Flow
	var ps engine.Problems
	for i, d := range docs {
		f, err := engine.DecodeFlow(d)
		var pe *engine.ProblemsError
		switch {
		case errors.As(err, &pe):
			for _, p := range pe.Problems {
				if list {
					p.Path = strings.TrimSuffix(fmt.Sprintf("[%d].%s", i, p.Path), ".")
				}
				ps = append(ps, p)
			}
		case err != nil:
			return nil, nil, err
		default:
			out = append(out, f)
		}
	}
	return out, ps, nil
}

// validateFiles prints one line per problem (`file: path: message`) and fails
// with exit 1 when there is any. It needs no data dir.
func validateFiles(files []string, stdout io.Writer) error {
	reg := newRegistry()
	n := 0
	report := func(file string, ps engine.Problems) {
		for _, p := range ps {
			path := p.Path
			if path == "" {
				path = "(document)"
			}
			fmt.Fprintf(stdout, "%s: %s: %s\n", file, path, p.Message)
			n++
		}
	}
	docs := 0
	for _, file := range files {
		flows, ps, err := readFlows(file)
		if err != nil {
			report(file, engine.Problems{{Message: err.Error()}})
			continue
		}
		report(file, ps)
		for _, f := range flows {
			report(file, engine.Validate(f, reg))
		}
		docs += len(flows)
	}
	if n > 0 {
		return &validationFailed{n: n}
	}
	fmt.Fprintf(stdout, "ok: %s in %s valid\n", plural(docs, "flow"), plural(len(files), "file"))
	return nil
}

// plural is "1 flow", "2 flows".
func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// importFiles stores every flow of the files, or none: all documents are
// read and validated first, and any problem is reported before anything is saved.
func importFiles(ctx context.Context, s *settings, files []string, stdout, stderr io.Writer) error {
	reg := newRegistry()
	var all []*engine.Flow
	bad := 0
	for _, file := range files {
		flows, ps, err := readFlows(file)
		if err != nil {
			return err
		}
		for _, f := range flows {
			for _, p := range engine.Validate(f, reg) {
				ps = append(ps, engine.Problem{Path: f.ID + ": " + p.Path, Message: p.Message})
			}
		}
		for _, p := range ps {
			fmt.Fprintf(stderr, "%s: %s\n", file, p)
		}
		bad += len(ps)
		all = append(all, flows...)
	}
	if bad > 0 {
		fmt.Fprintf(stderr, "nothing imported: %d problems\n", bad)
		return &validationFailed{n: bad}
	}
	st, err := s.openStore(nil)
	if err != nil {
		return err
	}
	defer st.Close()
	eng := engine.New(engine.Config{Store: st, Registry: reg})
	for _, f := range all {
		saved, err := eng.PutFlow(ctx, f)
		if err != nil {
			return fmt.Errorf("import %s: %w", f.ID, err)
		}
		fmt.Fprintf(stdout, "imported %s (version %d)\n", saved.ID, saved.Version)
	}
	return nil
}

func exportFlows(ctx context.Context, s *settings, ids []string, stdout io.Writer) error {
	st, err := s.openStore(nil)
	if err != nil {
		return err
	}
	defer st.Close()
	var flows []*engine.Flow
	if len(ids) == 0 {
		if flows, err = st.ListFlows(ctx); err != nil {
			return err
		}
	}
	for _, id := range ids {
		f, err := st.GetFlow(ctx, id)
		if err != nil {
			return fmt.Errorf("export %s: %w", id, err)
		}
		flows = append(flows, f)
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	if len(ids) == 1 {
		return enc.Encode(flows[0])
	}
	if flows == nil {
		flows = []*engine.Flow{}
	}
	return enc.Encode(flows)
}
