package jsbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"
	"unsafe"

	lib "modernc.org/libquickjs"
	"modernc.org/quickjs"
)

// MaxSource bounds the source of one code step.
const MaxSource = 64 << 10

// Options tune a QuickJS sandbox. Zero values take the defaults.
type Options struct {
	// Pool is how many fresh engine instances are kept ready (default 2):
	// a run takes one, and a replacement is made after the run, off its path.
	// A negative Pool keeps none ready: each run starts its engine.
	Pool int
	// Concurrency bounds the runs at the same time (default 2), so that the
	// memory all runs may hold is Concurrency × the memory limit (128 MiB by
	// default). A run waits for a slot within its context.
	Concurrency int
}

// QuickJS is the Sandbox on QuickJS. It is safe for concurrent use.
type QuickJS struct {
	ready   chan *instance
	slots   chan struct{}
	filling atomic.Int32 // instances being made for ready
}

var _ Sandbox = (*QuickJS)(nil)

// NewQuickJS returns a sandbox with its own pool.
func NewQuickJS(o Options) *QuickJS {
	switch {
	case o.Pool == 0:
		o.Pool = 2
	case o.Pool < 0:
		o.Pool = 0
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 2
	}
	return &QuickJS{ready: make(chan *instance, o.Pool), slots: make(chan struct{}, o.Concurrency)}
}

var defaultBox = sync.OnceValue(func() *QuickJS { return NewQuickJS(Options{}) })

// Default returns the process-wide sandbox.
func Default() *QuickJS { return defaultBox() }

// Warm fills the pool, so the first runs do not pay for starting engines.
func (q *QuickJS) Warm() {
	for len(q.ready) < cap(q.ready) {
		if !q.fill() {
			return
		}
	}
}

// instance is one engine used for one run (or check) and then closed.
type instance struct {
	vm      *quickjs.VM
	logs    []string
	bytes   int
	dropped int
}

// prelude runs once per instance, before any user code: it keeps the log
// function and JSON in closures, defines console and the harness that calls
// the user function and turns its result into JSON text.
var prelude = fmt.Sprintf(`(function () {
  var log = globalThis.__hookflow_log;
  delete globalThis.__hookflow_log;
  var stringify = JSON.stringify, parse = JSON.parse, IE = InternalError;
  function show(v) {
    if (typeof v === 'string') return v;
    if (v instanceof Error) return String(v);
    if (v === undefined || typeof v === 'function' || typeof v === 'symbol' || typeof v === 'bigint') return String(v);
    try { var s = stringify(v); return s === undefined ? String(v) : s; } catch (e) { return String(v); }
  }
  function writer(prefix) {
    return function () {
      var parts = [];
      for (var i = 0; i < arguments.length; i++) parts.push(show(arguments[i]));
      var line = prefix + parts.join(' ');
      if (line.length > %[1]d) line = line.slice(0, %[1]d) + '…';
      log(line);
    };
  }
  globalThis.console = {log: writer(''), info: writer(''), debug: writer(''), warn: writer('warn: '), error: writer('error: ')};
  function outputError(msg) { var e = new Error(msg); e.name = 'HookflowOutputError'; return e; }
  Object.defineProperty(globalThis, '__hookflow_run', {value: function __hookflow_run(input, max) {
    var d = parse(input);
    var r = globalThis.__hookflow_fn(d.trigger, d.steps, d.vars, d.run, d.flow, d.item, d.index);
    if (r !== null && typeof r === 'object' && typeof r.then === 'function')
      throw outputError('the code returned a Promise: code steps are synchronous, return a value');
    var s;
    try { s = stringify(r); } catch (e) {
      if (e instanceof IE) throw e;
      throw outputError('the returned value is not JSON: ' + e.message);
    }
    if (s === undefined) s = 'null';
    if (s.length > max) throw outputError('the returned value is larger than ' + max + ' bytes as JSON');
    return s;
  }});
})();`, MaxLogLine)

// header puts the user's first line on line 1 of the evaluated text, so the
// engine's line numbers are the source's.
var header = "globalThis.__hookflow_fn = function (" + strings.Join(Params, ", ") + ") {"

func wrap(source string) string { return header + source + "\n};" }

func newInstance() (*instance, error) {
	vm, err := quickjs.NewVM()
	if err != nil {
		return nil, fmt.Errorf("start the JavaScript engine: %w", err)
	}
	in := &instance{vm: vm}
	if err := vm.RegisterHostFunc("__hookflow_log", func(args []any) (any, error) {
		if len(args) > 0 {
			s, _ := args[0].(string)
			in.log(s)
		}
		return nil, nil
	}); err != nil {
		vm.Close()
		return nil, fmt.Errorf("start the JavaScript engine: %w", err)
	}
	vm.SetMemoryLimit(DefaultMemory)
	vm.SetEvalTimeout(time.Second)
	if _, err := vm.Eval(prelude, quickjs.EvalGlobal); err != nil {
		vm.Close()
		return nil, fmt.Errorf("start the JavaScript engine: %w", err)
	}
	return in, nil
}

// log keeps a console line within MaxLogLines and MaxLogBytes.
func (in *instance) log(s string) {
	if len(in.logs) >= MaxLogLines || in.bytes+len(s) > MaxLogBytes {
		in.dropped++
		return
	}
	in.logs = append(in.logs, s)
	in.bytes += len(s)
}

func (in *instance) lines() []string {
	if in.dropped == 0 {
		return in.logs
	}
	return append(in.logs, fmt.Sprintf("… %d more console lines not kept (at most %d lines, %d KiB)", in.dropped, MaxLogLines, MaxLogBytes>>10))
}

// get returns a fresh instance, from the pool when one is ready.
func (q *QuickJS) get() (*instance, error) {
	select {
	case in := <-q.ready:
		return in, nil
	default:
		return newInstance()
	}
}

// done closes a used instance and makes a fresh one for the pool, off the
// caller's path.
func (q *QuickJS) done(in *instance) {
	go func() {
		in.vm.Close()
		q.fill()
	}()
}

// fill adds one fresh instance to the pool unless it is full, counting the
// instances being made, so that no more are made than the pool can take.
func (q *QuickJS) fill() bool {
	if int(q.filling.Add(1))+len(q.ready) > cap(q.ready) {
		q.filling.Add(-1)
		return false
	}
	defer q.filling.Add(-1)
	in, err := newInstance()
	if err != nil {
		return false
	}
	select {
	case q.ready <- in:
		return true
	default:
		in.vm.Close()
		return false
	}
}

func checkSize(source string) error {
	if len(source) > MaxSource {
		return &Error{Kind: KindSyntax, Message: fmt.Sprintf("the source is longer than %d KiB", MaxSource>>10)}
	}
	if !utf8.ValidString(source) {
		return &Error{Kind: KindSyntax, Message: "the source is not valid UTF-8"}
	}
	return nil
}

// Check parses source as a function body.
func (q *QuickJS) Check(source string) error {
	if err := checkSize(source); err != nil {
		return err
	}
	in, err := q.get()
	if err != nil {
		return err
	}
	in.vm.SetEvalTimeout(time.Second)
	_, err = in.vm.Compile(wrap(source), quickjs.EvalGlobal)
	if err != nil && !isSyntax(err) {
		q.done(in) // something other than the parse failed: do not reuse
		return syntaxError(err, source)
	}
	// Compiling runs none of the source and defines nothing, so the
	// instance is still fresh: back to the pool.
	select {
	case q.ready <- in:
	default:
		q.done(in)
	}
	if err != nil {
		return syntaxError(err, source)
	}
	return nil
}

// Run calls source as a function body; see Sandbox.
func (q *QuickJS) Run(ctx context.Context, source string, data map[string]any, lim Limits) (*Result, error) {
	lim = lim.withDefaults()
	if err := checkSize(source); err != nil {
		return nil, err
	}
	args := make(map[string]any, len(Params))
	for _, p := range Params {
		args[p] = data[p] // only these names: never secrets, whatever data holds
	}
	input, err := json.Marshal(args)
	if err != nil {
		return nil, &Error{Kind: KindInput, Message: "the run's data cannot be handed to the code: " + err.Error()}
	}
	select {
	case q.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-q.slots }()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	in, err := q.get()
	if err != nil {
		return nil, err
	}
	start := time.Now()
	stop := in.watch(ctx, lim.Timeout)
	defer func() {
		stop() // the watchdog is gone before the engine is closed
		q.done(in)
	}()
	in.vm.SetMemoryLimit(uintptr(lim.Memory))
	in.vm.SetEvalTimeout(lim.Timeout)
	var out any
	if _, err = in.vm.Eval(wrap(source), quickjs.EvalGlobal); err != nil {
		if isSyntax(err) {
			return &Result{Logs: in.lines()}, syntaxError(err, source)
		}
	} else {
		rest := lim.Timeout - time.Since(start)
		if rest <= 0 {
			rest = time.Nanosecond
		}
		in.vm.SetEvalTimeout(rest)
		out, err = in.vm.Call("__hookflow_run", string(input), MaxOutput)
	}
	res := &Result{Logs: in.lines()}
	if err != nil {
		return res, runError(ctx, err, lim, time.Since(start))
	}
	s, ok := out.(string)
	if !ok {
		return res, &Error{Kind: KindOutput, Message: fmt.Sprintf("the code's result could not be read (%T)", out)}
	}
	if len(s) > MaxOutput {
		return res, &Error{Kind: KindOutput, Message: fmt.Sprintf("the returned value is larger than %d bytes as JSON", MaxOutput)}
	}
	if err := json.Unmarshal([]byte(s), &res.Output); err != nil {
		return res, &Error{Kind: KindOutput, Message: "the returned value is not JSON: " + err.Error()}
	}
	return res, nil
}

// watch stops the run when ctx ends or the time limit passes, until the
// returned stop is called (which waits for the watchdog to end).
//
// The engine checks its interrupt handler (time limit, Interrupt) only when a
// countdown of calls and backward jumps reaches zero, every 10,000 of them. A
// loop of a few slow built-in calls (a search through a 20 MB string, say)
// would pass that many checks only after minutes, so past the deadline the
// watchdog also zeroes the countdown every few milliseconds: the run then
// stops at its next call or loop iteration. What it cannot cut short is one
// built-in call already running; the memory cap bounds how long that takes.
func (in *instance) watch(ctx context.Context, limit time.Duration) (stop func()) {
	finished := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		timer := time.NewTimer(limit)
		defer timer.Stop()
		select {
		case <-ctx.Done():
		case <-timer.C:
		case <-finished:
			return
		}
		counter := interruptCounter(in.vm)
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			in.vm.Interrupt()
			if counter != nil {
				atomic.StoreInt32(counter, 0)
			}
			select {
			case <-finished:
				return
			case <-t.C:
			}
		}
	}()
	return func() {
		close(finished)
		wg.Wait()
	}
}

// interruptCounter finds the engine context's interrupt countdown. The
// context pointer is an unexported field of quickjs.VM, read with reflect;
// nil when a newer version of the package moved it (the watchdog then only
// calls Interrupt, and TestTimeLimit's slow-built-ins case fails).
func interruptCounter(vm *quickjs.VM) *int32 {
	f := reflect.ValueOf(vm).Elem().FieldByName("cContext")
	if !f.IsValid() || f.Kind() != reflect.Uintptr || f.Uint() == 0 {
		return nil
	}
	p := uintptr(f.Uint())
	// The context lives in the engine's own (non-Go) memory and stays put
	// until the VM is closed, which happens only after the watchdog ends.
	c := *(**lib.TJSContext)(unsafe.Pointer(&p))
	return &c.Finterrupt_counter
}

func isSyntax(err error) bool {
	var qe *quickjs.Error
	return errors.As(err, &qe) && qe.Name == "SyntaxError"
}

// syntaxError turns a parse failure into a KindSyntax error with its line.
func syntaxError(err error, source string) error {
	var qe *quickjs.Error
	if !errors.As(err, &qe) {
		return &Error{Kind: KindSyntax, Message: err.Error()}
	}
	line := qe.LineNumber
	if n := strings.Count(source, "\n") + 1; line > n {
		line = n // the end of the source, seen at the wrapper's closing brace
	}
	return &Error{Kind: KindSyntax, Message: errText(qe), Line: line}
}

// runError says why a run failed: the time or memory limit, or what the code threw.
func runError(ctx context.Context, err error, lim Limits, took time.Duration) error {
	var qe *quickjs.Error
	if !errors.As(err, &qe) {
		if strings.Contains(err.Error(), "OOM") {
			return memoryError(lim.Memory)
		}
		return &Error{Kind: KindThrow, Message: err.Error()}
	}
	switch {
	case qe.Name == "InternalError" && qe.Message == "interrupted" && (ctx.Err() != nil || took >= lim.Timeout*9/10):
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return timeoutError(lim.Timeout)
	case qe.Name == "InternalError" && (qe.Message == "out of memory" || qe.Message == "" && qe.Stack == ""):
		// (An InternalError with no message and no stack is one made while
		// memory ran out.)
		return memoryError(lim.Memory)
	case qe.Name == "" && qe.Stack == "" && qe.Error() == "null":
		// Out of memory while making the exception itself: the engine throws
		// null, which a `throw null` in the code cannot be told apart from.
		e := memoryError(lim.Memory)
		e.Message += " (or threw null)"
		return e
	case qe.Name == "HookflowOutputError":
		return &Error{Kind: KindOutput, Message: qe.Message}
	}
	return &Error{Kind: KindThrow, Message: errText(qe), Line: userLine(qe.Stack)}
}

// errText is "Name: message", or what was thrown when it was not an Error.
func errText(qe *quickjs.Error) string {
	if qe.Name != "" {
		if qe.Message == "" {
			return qe.Name
		}
		return qe.Name + ": " + qe.Message
	}
	return "uncaught " + qe.Error()
}

var frameRE = regexp.MustCompile(`^\s*at (.*) \(<eval>:(\d+):\d+\)$`)

// userLine is the line of the innermost stack frame in the user's code.
func userLine(stack string) int {
	for _, l := range strings.Split(stack, "\n") {
		m := frameRE.FindStringSubmatch(l)
		if m == nil || m[1] == "__hookflow_run" {
			continue
		}
		n, _ := strconv.Atoi(m[2])
		return n
	}
	return 0
}
