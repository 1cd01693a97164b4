package engine_test

import (
	"fmt"

	"github.com/hookflow/hookflow/engine"
)

// eval compiles and runs one expression over a small event, for the examples.
func eval(src string) any {
	e, err := engine.CompileExpr(src, engine.StepScope)
	if err != nil {
		return err
	}
	v, err := e.Eval(map[string]any{"trigger": map[string]any{"body": map[string]any{
		"email": "Ann@Example.com", "amount": 1250.0, "created": "2026-11-22T10:00:00Z",
		"payload": `{"id":7,"tags":["a","b"]}`}}})
	if err != nil {
		return err
	}
	return v
}

func Example_now() {
	fmt.Println(eval(`now().Year() >= 2026`))
	// Output: true
}

func Example_parse_time() {
	fmt.Println(eval(`parse_time(trigger.body.created).Unix()`))
	fmt.Println(eval(`parse_time("22/11/2026", "02/01/2006").Month()`))
	// Output:
	// 1795341600
	// November
}

func Example_format_time() {
	fmt.Println(eval(`format_time(parse_time(trigger.body.created), "Mon 2 Jan 2006")`))
	fmt.Println(eval(`format_time(parse_time(trigger.body.created))`))
	// Output:
	// Sun 22 Nov 2026
	// 2026-11-22T10:00:00Z
}

func Example_json_encode() {
	fmt.Println(eval(`json_encode({"amount": trigger.body.amount / 100})`))
	// Output: {"amount":12.5}
}

func Example_json_decode() {
	fmt.Println(eval(`json_decode(trigger.body.payload).tags[1]`))
	// Output: b
}

func Example_sha256() {
	// The digest matches coreutils: echo -n ann@example.com | sha256sum
	fmt.Println(eval(`sha256(lower(trigger.body.email))`))
	// Output: 71d4f55f72fa128dfb468a1a3901507c804b74316488744d769d7f4b16696476
}

func Example_hmac_sha256() {
	// GitHub's documented test vector: secret "It's a Secret to Everybody", payload "Hello, World!".
	fmt.Println(eval(`hmac_sha256("It's a Secret to Everybody", "Hello, World!")`))
	// Output: 757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17
}

func Example_base64() {
	fmt.Println(eval(`base64("user:pass")`))
	fmt.Println(eval(`base64_decode("dXNlcjpwYXNz")`))
	// Output:
	// dXNlcjpwYXNz
	// user:pass
}

func Example_uuid() {
	fmt.Println(eval(`len(uuid()) == 36 && uuid() != uuid()`))
	// Output: true
}

func Example_template() {
	whole, _ := engine.CompileString("{{ trigger.body.amount / 100 }}", engine.StepScope)
	mixed, _ := engine.CompileString("We received {{ trigger.body.amount / 100 }} USD.", engine.StepScope)
	env := map[string]any{"trigger": map[string]any{"body": map[string]any{"amount": 1250.0}}}
	a, _ := whole.Eval(env)
	b, _ := mixed.Eval(env)
	fmt.Printf("%T %v\n%T %v\n", a, a, b, b)
	// Output:
	// float64 12.5
	// string We received 12.5 USD.
}

func Example_urlquery() {
	fmt.Println(eval(`"https://example.com/thanks?email=" + urlquery(trigger.body.email + " & co")`))
	// Output: https://example.com/thanks?email=Ann%40Example.com+%26+co
}
