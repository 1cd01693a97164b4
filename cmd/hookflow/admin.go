package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/mail"

	"github.com/hookflow/hookflow/engine"
	"github.com/hookflow/hookflow/ui"
)

func cmdToken(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 || args[0] != "create" {
		return usagef("usage: hookflow token create --name NAME [--role admin|editor|viewer]")
	}
	var s settings
	fs := newFlags("token create", &s)
	name := fs.String("name", "", "token name")
	role := fs.String("role", "admin", "admin, editor or viewer")
	if _, err := s.parse(fs, args[1:]); err != nil {
		return err
	}
	if *name == "" {
		return usagef("token create: --name is required")
	}
	secret, tok, err := ui.NewToken(*name, engine.Role(*role))
	if err != nil {
		return usagef("token create: %v", err)
	}
	st, err := s.openStore(nil)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.CreateToken(ctx, tok); err != nil {
		return fmt.Errorf("create token: %w", err)
	}
	fmt.Fprintln(stdout, secret)
	return nil
}

func cmdUser(ctx context.Context, args []string, stdin io.Reader, stdout io.Writer) error {
	if len(args) == 0 || args[0] != "create" {
		return usagef("usage: hookflow user create --email E [--role admin|editor|viewer] (password on stdin)")
	}
	var s settings
	fs := newFlags("user create", &s)
	email := fs.String("email", "", "email address")
	role := fs.String("role", "admin", "admin, editor or viewer")
	if _, err := s.parse(fs, args[1:]); err != nil {
		return err
	}
	if _, err := mail.ParseAddress(*email); err != nil || *email == "" {
		return usagef("user create: --email must be an email address")
	}
	if !engine.ValidRole(engine.Role(*role)) {
		return usagef("user create: --role must be admin, editor or viewer")
	}
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("read password: %w", err)
	}
	u, err := ui.NewUser(*email, trimLine(line), engine.Role(*role))
	if err != nil {
		return usagef("user create: %v", err)
	}
	st, err := s.openStore(nil)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.CreateUser(ctx, u); err != nil {
		return fmt.Errorf("create user: %w", err)
	}
	fmt.Fprintf(stdout, "created %s user %s\n", u.Role, u.Email)
	return nil
}

func cmdSecrets(ctx context.Context, args []string, stdin io.Reader, stdout io.Writer) error {
	if len(args) == 0 {
		return usagef("usage: hookflow secrets set NAME [VALUE] | secrets list | secrets delete NAME")
	}
	sub := args[0]
	var s settings
	fs := newFlags("secrets "+sub, &s)
	pos, err := s.parse(fs, args[1:])
	if err != nil {
		return err
	}
	switch {
	case sub == "set" && (len(pos) == 1 || len(pos) == 2):
		if !ui.SecretNameRe.MatchString(pos[0]) {
			return usagef("secrets set: names are letters, digits and underscores, not starting with a digit")
		}
	case sub == "list" && len(pos) == 0, sub == "delete" && len(pos) == 1:
	default:
		return usagef("usage: hookflow secrets set NAME [VALUE] | secrets list | secrets delete NAME")
	}
	var value string
	if sub == "set" {
		if len(pos) == 2 {
			value = pos[1]
		} else {
			b, err := io.ReadAll(io.LimitReader(stdin, 1<<20))
			if err != nil {
				return fmt.Errorf("read secret value: %w", err)
			}
			value = trimLine(string(b))
		}
	}
	st, err := s.openStore(nil)
	if err != nil {
		return err
	}
	defer st.Close()
	v, err := s.openVault(ctx, st)
	if err != nil {
		return err
	}
	switch sub {
	case "set":
		return v.Set(ctx, pos[0], value)
	case "delete":
		return v.Delete(ctx, pos[0])
	}
	names, err := v.Names(ctx)
	if err != nil {
		return err
	}
	for _, n := range names {
		fmt.Fprintln(stdout, n)
	}
	return nil
}
