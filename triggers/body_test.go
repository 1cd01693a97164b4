package triggers

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"mime/multipart"
	"net/textproto"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/hookflow/hookflow/engine"
)

// multipartBody builds a multipart/form-data body: fields, then files.
func multipartBody(t testing.TB, fields [][2]string, files []struct{ field, name, ct, data string }) (string, []byte) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, f := range fields {
		if err := mw.WriteField(f[0], f[1]); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range files {
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", `form-data; name="`+f.field+`"; filename="`+f.name+`"`)
		if f.ct != "" {
			h.Set("Content-Type", f.ct)
		}
		w, err := mw.CreatePart(h)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(f.data))
	}
	mw.Close()
	return mw.FormDataContentType(), buf.Bytes()
}

func sha(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func TestParseBody(t *testing.T) {
	mpCT, mpBody := multipartBody(t, [][2]string{{"name", "Ada"}, {"tag", "a"}, {"tag", "b"}},
		[]struct{ field, name, ct, data string }{{"cv", "cv.pdf", "application/pdf", "%PDF-1.4 data"}, {"pic", "a.png", "", "PNG"}})
	tests := []struct {
		name      string
		ct        string
		raw       string
		want      any
		wantFiles []engine.File
		wantErr   error
		errHas    string
	}{
		{name: "json object", ct: "application/json", raw: `{"a":1,"b":[true,null,"x"],"c":{"d":1.5e2}}`,
			want: map[string]any{"a": 1.0, "b": []any{true, nil, "x"}, "c": map[string]any{"d": 150.0}}},
		{name: "json with charset", ct: "application/json; charset=utf-8", raw: `[1,2]`, want: []any{1.0, 2.0}},
		{name: "json suffix type", ct: "application/cloudevents+json", raw: `{"id":"x"}`, want: map[string]any{"id": "x"}},
		{name: "json with files key stays data", ct: "application/json", raw: `{"files":[{"field":"f","filename":"/etc/passwd","sha256":"x"}]}`,
			want: map[string]any{"files": []any{map[string]any{"field": "f", "filename": "/etc/passwd", "sha256": "x"}}}},
		{name: "json malformed names offset", ct: "application/json", raw: `{"amount": 12, "x": tru}`, wantErr: engine.ErrBadBody, errHas: "malformed JSON at offset 23: invalid character '}'"},
		{name: "json trailing data", ct: "application/json", raw: `{} {}`, wantErr: engine.ErrBadBody, errHas: "after top-level value"},
		{name: "json truncated", ct: "application/json", raw: `{"a":`, wantErr: engine.ErrBadBody, errHas: "unexpected end"},
		{name: "json too deep", ct: "application/json", raw: strings.Repeat("[", 1001) + strings.Repeat("]", 1001), wantErr: engine.ErrBadBody, errHas: "nested deeper"},
		{name: "json blank", ct: "application/json", raw: " \n", want: nil},
		{name: "empty body", ct: "application/json", raw: "", want: nil},
		{name: "form", ct: "application/x-www-form-urlencoded", raw: "name=Ada+L&tag=a&tag=b&empty=&x=%2F",
			want: map[string]any{"name": "Ada L", "tag": []any{"a", "b"}, "empty": "", "x": "/"}},
		{name: "form bad escape", ct: "application/x-www-form-urlencoded", raw: "a=%zz", wantErr: engine.ErrBadBody},
		{name: "multipart", ct: mpCT, raw: string(mpBody),
			want: map[string]any{"name": "Ada", "tag": []any{"a", "b"}},
			wantFiles: []engine.File{
				{Field: "cv", Filename: "cv.pdf", ContentType: "application/pdf", Size: 13, SHA256: sha("%PDF-1.4 data")},
				{Field: "pic", Filename: "a.png", ContentType: "application/octet-stream", Size: 3, SHA256: sha("PNG")},
			}},
		{name: "multipart without boundary", ct: "multipart/form-data", raw: "--x\r\n", wantErr: engine.ErrBadBody, errHas: "boundary"},
		{name: "multipart malformed", ct: "multipart/form-data; boundary=x", raw: "--x\r\nContent-Disposition: form-data; name=a\r\n\r\nunterminated", wantErr: engine.ErrBadBody},
		{name: "xml stays text (SPEC §2)", ct: "application/xml", raw: `<a><b>1</b></a>`, want: `<a><b>1</b></a>`},
		{name: "malformed xml stays text", ct: "text/xml", raw: `<a><b></a>`, want: `<a><b></a>`},
		{name: "text", ct: "text/plain; charset=utf-8", raw: "hello\n", want: "hello\n"},
		{name: "unknown type as string", ct: "application/octet-stream", raw: "\x00\x01", want: "\x00\x01"},
		{name: "no content type", ct: "", raw: `{"a":1}`, want: `{"a":1}`},
		{name: "garbled content type", ct: ";;;", raw: "x", want: "x"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body, files, err := ParseBody(tc.ct, []byte(tc.raw))
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				if !strings.Contains(err.Error(), tc.errHas) {
					t.Errorf("err = %q, want it to contain %q", err, tc.errHas)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseBody: %v", err)
			}
			if !reflect.DeepEqual(body, tc.want) {
				t.Errorf("body = %#v\nwant   %#v", body, tc.want)
			}
			if len(files) != 0 || len(tc.wantFiles) != 0 {
				if !reflect.DeepEqual(files, tc.wantFiles) {
					t.Errorf("files = %#v\nwant    %#v", files, tc.wantFiles)
				}
			}
		})
	}
}

func TestParseBodyKeepFiles(t *testing.T) {
	ct, raw := multipartBody(t, nil, []struct{ field, name, ct, data string }{{"f", "x.bin", "", "\x00\xffdata"}})
	p, err := ParseBodyKeep(ct, raw, true)
	if err != nil {
		t.Fatal(err)
	}
	want := FileContents{sha("\x00\xffdata"): "AP9kYXRh"}
	if !reflect.DeepEqual(p.Contents, want) {
		t.Errorf("contents = %v, want %v", p.Contents, want)
	}
	p, err = ParseBodyKeep(ct, raw, false)
	if err != nil || p.Contents != nil {
		t.Errorf("without keep: contents = %v, err %v", p.Contents, err)
	}
}

func TestParseBodyMultipartPartLimit(t *testing.T) {
	var fields [][2]string
	for range maxMultipartParts + 1 {
		fields = append(fields, [2]string{"f", "v"})
	}
	ct, raw := multipartBody(t, fields, nil)
	if _, _, err := ParseBody(ct, raw); !errors.Is(err, engine.ErrBadBody) || !strings.Contains(err.Error(), "parts") {
		t.Fatalf("err = %v, want too many parts", err)
	}
}

// DecodeJSON must give what encoding/json gives, and fail where it fails.
func TestDecodeJSONMatchesEncodingJSON(t *testing.T) {
	inputs := []string{
		`null`, `true`, `false`, `0`, `-0`, `1`, `-12.5e-3`, `1E400`, `123456789012345678901234567890`,
		`9007199254740993`, `0.1`, `1e-400`, `""`, `"a\"b\\c\/d\b\f\n\r\t"`, `"\u00e9\u20ac"`, `"\ud83d\ude00"`,
		`"\ud83d"`, `"\ud83dx"`, `"\ude00\ud83d"`, `"\ud83d\u0041"`, "\"\xff\xfe\"", "\"caf\xc3\xa9\"", "\"\xed\xa0\x80\"",
		`{"a":1,"a":2}`, `{}`, `[]`, ` [ 1 , { "x" : [ ] } ] `, `{"a":[1,2,{"b":null}]}`,
		`01`, `1.`, `.5`, `-`, `+1`, `1e`, `1e+`, `tru`, `nul`, `"abc`, `"\x"`, `"\u12"`, `"\u12g4"`, "\"a\tb\"",
		`{"a"}`, `{"a":}`, `{a:1}`, `{"a":1,}`, `[1,]`, `[1 2]`, `{"a":1 "b":2}`, `]`, `}`, ``, ` `,
	}
	for _, in := range inputs {
		t.Run(in, func(t *testing.T) { checkJSONAgainstStdlib(t, []byte(in)) })
	}
}

func checkJSONAgainstStdlib(t *testing.T, in []byte) {
	t.Helper()
	var want any
	wantErr := json.Unmarshal(in, &want)
	got, err := DecodeJSON(in)
	if err != nil && !errors.Is(err, engine.ErrBadBody) {
		t.Fatalf("DecodeJSON(%q) error %v does not wrap ErrBadBody", in, err)
	}
	switch {
	case wantErr == nil && err != nil:
		if strings.Contains(err.Error(), "nested deeper") {
			return // our depth bound is tighter than encoding/json's
		}
		t.Fatalf("DecodeJSON(%q) = error %v; encoding/json accepts it", in, err)
	case wantErr != nil && err == nil:
		t.Fatalf("DecodeJSON(%q) = %#v; encoding/json fails: %v", in, got, wantErr)
	case err == nil && !reflect.DeepEqual(got, want):
		t.Fatalf("DecodeJSON(%q) = %#v, encoding/json gives %#v", in, got, want)
	}
}

func gz(t testing.TB, data []byte) []byte {
	var b bytes.Buffer
	w, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
	w.Write(data)
	w.Close()
	return b.Bytes()
}

func TestInflate(t *testing.T) {
	plain := []byte(`{"hello":"world"}`)
	var zl, fl bytes.Buffer
	zw := zlib.NewWriter(&zl)
	zw.Write(plain)
	zw.Close()
	fw, _ := flate.NewWriter(&fl, flate.DefaultCompression)
	fw.Write(plain)
	fw.Close()
	tests := []struct {
		name    string
		enc     string
		body    []byte
		limit   int64
		want    []byte
		wantErr error
	}{
		{name: "identity", enc: "identity", body: plain, limit: 100, want: plain},
		{name: "none", enc: "", body: plain, limit: 100, want: plain},
		{name: "identity over limit", enc: "", body: plain, limit: 5, wantErr: engine.ErrTooLarge},
		{name: "gzip", enc: "gzip", body: gz(t, plain), limit: 100, want: plain},
		{name: "x-gzip upper case", enc: " X-GZIP ", body: gz(t, plain), limit: 100, want: plain},
		{name: "gzip exactly at limit", enc: "gzip", body: gz(t, plain), limit: int64(len(plain)), want: plain},
		{name: "gzip over limit", enc: "gzip", body: gz(t, plain), limit: int64(len(plain)) - 1, wantErr: engine.ErrTooLarge},
		{name: "deflate zlib", enc: "deflate", body: zl.Bytes(), limit: 100, want: plain},
		{name: "deflate raw", enc: "deflate", body: fl.Bytes(), limit: 100, want: plain},
		{name: "not gzip", enc: "gzip", body: []byte("not gzip"), limit: 100, wantErr: engine.ErrBadBody},
		{name: "truncated gzip", enc: "gzip", body: gz(t, plain)[:20], limit: 100, wantErr: engine.ErrBadBody},
		{name: "brotli refused", enc: "br", body: plain, limit: 100, wantErr: engine.ErrUnsupported},
		{name: "stacked refused", enc: "gzip, gzip", body: plain, limit: 100, wantErr: engine.ErrUnsupported},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Inflate(tc.enc, tc.body, tc.limit)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil || !bytes.Equal(got, tc.want) {
				t.Fatalf("got %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

// A gzip bomb and a plain 10 MiB body are refused without allocating much
// more than the limit.
func TestInflateBoundsMemory(t *testing.T) {
	bomb := gz(t, make([]byte, 100<<20)) // 100 MB of zeros
	if len(bomb) > 200<<10 {
		t.Fatalf("bomb is %d bytes", len(bomb))
	}
	plain := bytes.Repeat([]byte("a"), 10<<20)
	tests := []struct {
		name string
		enc  string
		body []byte
	}{
		{name: "gzip bomb", enc: "gzip", body: bomb},
		{name: "plain 10 MiB", enc: "", body: plain},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			_, err := Inflate(tc.enc, tc.body, DefaultBodyLimit)
			runtime.ReadMemStats(&after)
			if !errors.Is(err, engine.ErrTooLarge) {
				t.Fatalf("err = %v, want ErrTooLarge", err)
			}
			allocated := after.TotalAlloc - before.TotalAlloc
			heapGrowth := int64(after.HeapAlloc) - int64(before.HeapAlloc)
			t.Logf("allocated %d KB, heap growth %d KB", allocated>>10, heapGrowth>>10)
			if allocated > 50<<20 || heapGrowth > 50<<20 {
				t.Errorf("allocated %d bytes (heap growth %d), want under 50 MB", allocated, heapGrowth)
			}
		})
	}
}

// Fuzz targets: parsing must never panic, every error must wrap the sentinel
// the HTTP layer maps to a status, and only multipart yields files. Seeds are
// in testdata/fuzz/<name>/.

func FuzzDecodeJSON(f *testing.F) {
	for _, s := range []string{`{"a":[1,2.5e3,"x\u00e9",null,true]}`, `"\ud83d\ude00"`, "\"\xff\"", `[{"a":{}}]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkJSONAgainstStdlib(t, data)
	})
}

// checkParsed holds for every content type.
func checkParsed(t *testing.T, ct string, raw []byte) (any, []engine.File) {
	t.Helper()
	body, files, err := ParseBody(ct, raw)
	if err != nil {
		if !errors.Is(err, engine.ErrBadBody) {
			t.Fatalf("ParseBody(%q) error %v does not wrap ErrBadBody", ct, err)
		}
		if body != nil || files != nil {
			t.Fatalf("ParseBody(%q) returned data with an error", ct)
		}
		return nil, nil
	}
	if len(raw) == 0 && body != nil {
		t.Fatalf("empty body parsed as %#v", body)
	}
	if _, err := json.Marshal(body); err != nil {
		t.Fatalf("body is not plain data: %v", err)
	}
	return body, files
}

func FuzzParseBodyJSON(f *testing.F) {
	f.Add([]byte(`{"files":[{"field":"a","filename":"b","sha256":"c"}]}`))
	f.Add([]byte(`[1, {"x": "\u0000"}]`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		if _, files := checkParsed(t, "application/json", raw); files != nil {
			t.Fatalf("a JSON body produced files: %#v", files)
		}
	})
}

func FuzzParseBodyForm(f *testing.F) {
	f.Add([]byte("a=1&a=2&b=%20x+y&c"))
	f.Add([]byte("%zz=1;x=2&&="))
	f.Fuzz(func(t *testing.T, raw []byte) {
		body, files := checkParsed(t, "application/x-www-form-urlencoded", raw)
		if files != nil {
			t.Fatalf("a form body produced files")
		}
		if m, ok := body.(map[string]any); ok {
			for k, v := range m {
				switch x := v.(type) {
				case string:
				case []any:
					for _, s := range x {
						if _, ok := s.(string); !ok {
							t.Fatalf("field %q holds %T", k, s)
						}
					}
				default:
					t.Fatalf("field %q holds %T", k, v)
				}
			}
		}
	})
}

func FuzzParseBodyMultipart(f *testing.F) {
	ct, raw := multipartBody(f, [][2]string{{"a", "1"}}, []struct{ field, name, ct, data string }{{"f", "x.txt", "text/plain", "hi"}})
	f.Add(strings.TrimPrefix(ct, "multipart/form-data; boundary="), raw)
	f.Add("x", []byte("--x\r\nContent-Disposition: form-data; name=\"a\"; filename=\"\"\r\n\r\nv\r\n--x--\r\n"))
	f.Fuzz(func(t *testing.T, boundary string, raw []byte) {
		ct := "multipart/form-data; boundary=" + strconvQuote(boundary)
		_, files := checkParsed(t, ct, raw)
		for _, fl := range files {
			if fl.Size < 0 || fl.Size > int64(len(raw)) || len(fl.SHA256) != 64 || fl.Field == "" {
				t.Fatalf("bad file %#v", fl)
			}
		}
		if len(files) > maxMultipartParts {
			t.Fatalf("%d files", len(files))
		}
	})
}

func strconvQuote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

func FuzzParseBodyXML(f *testing.F) {
	f.Add([]byte(`<?xml version="1.0"?><a x="1" xmlns:p="u"><p:b>t</p:b><b/>tail<!-- c --></a>`))
	f.Add([]byte(`<!DOCTYPE a [<!ENTITY e "x">]><a>&e;</a>`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		_, files := checkParsed(t, "application/xml", raw)
		if files != nil {
			t.Fatalf("an XML body produced files")
		}
		p, err := ParseBodyKeep("application/xml", raw, false)
		if err != nil || (len(raw) > 0 && p.Body != string(raw)) {
			t.Fatalf("an XML body must stay text: %v", err)
		}
		if m, ok := p.XML.(map[string]any); ok && len(m) != 1 {
			t.Fatalf("parsed XML with %d roots", len(m))
		}
	})
}

func FuzzParseBody(f *testing.F) {
	for _, ct := range []string{"text/plain", "application/json", "application/x-www-form-urlencoded", "multipart/form-data; boundary=b",
		"text/xml", "application/vnd.x+json", "image/png", "", "a/b; c=\"", "multipart/form-data"} {
		f.Add(ct, []byte(`{"a":"b"}`))
	}
	f.Fuzz(func(t *testing.T, ct string, raw []byte) {
		_, files := checkParsed(t, ct, raw)
		if files != nil && !strings.Contains(strings.ToLower(ct), "multipart/form-data") {
			t.Fatalf("content type %q produced files", ct)
		}
	})
}

func FuzzInflate(f *testing.F) {
	f.Add("gzip", gz(f, []byte("hello")))
	f.Add("deflate", []byte{0x78, 0x9c, 0xcb, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x06, 0x2c, 0x02, 0x15})
	f.Add("br", []byte("x"))
	f.Add("", []byte("plain"))
	const limit = 64 << 10
	f.Fuzz(func(t *testing.T, enc string, body []byte) {
		out, err := Inflate(enc, body, limit)
		if err != nil {
			if !errors.Is(err, engine.ErrBadBody) && !errors.Is(err, engine.ErrTooLarge) && !errors.Is(err, engine.ErrUnsupported) {
				t.Fatalf("error %v wraps no sentinel", err)
			}
			return
		}
		if len(out) > limit {
			t.Fatalf("inflated to %d bytes, over the limit", len(out))
		}
	})
}

// TestParseXML: an XML body is also parsed into a map (trigger.xml).
func TestParseXML(t *testing.T) {
	tests := []struct {
		name, ct, raw string
		want          any
		wantErr       error
		errHas        string
	}{
		{name: "xml", ct: "application/xml", raw: `<?xml version="1.0"?><order id="7" xmlns="urn:x"><item>a</item><item>b</item><note> hi </note><empty/></order>`,
			want: map[string]any{"order": map[string]any{"@id": "7", "item": []any{"a", "b"}, "note": " hi ", "empty": ""}}},
		{name: "xml text type and mixed text", ct: "text/xml", raw: `<a x="1">text<b>c</b></a>`,
			want: map[string]any{"a": map[string]any{"@x": "1", "#text": "text", "b": "c"}}},
		{name: "xml entity kept literal", ct: "application/xml", raw: `<a>&lt;&amp;</a>`, want: map[string]any{"a": "<&"}},
		{name: "xml malformed", ct: "application/xml", raw: `<a><b></a>`, wantErr: engine.ErrBadBody, errHas: "malformed XML"},
		{name: "xml two roots", ct: "application/xml", raw: `<a/><b/>`, wantErr: engine.ErrBadBody, errHas: "more than one root"},
		{name: "xml undefined entity", ct: "application/xml", raw: `<!DOCTYPE a [<!ENTITY x "boom">]><a>&x;</a>`, wantErr: engine.ErrBadBody},
		{name: "xml too deep", ct: "application/xml", raw: strings.Repeat("<a>", 300) + strings.Repeat("</a>", 300), wantErr: engine.ErrBadBody, errHas: "nested deeper"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, err := parseXML([]byte(tc.raw))
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) || !strings.Contains(err.Error(), tc.errHas) {
					t.Fatalf("err = %v, want %v containing %q", err, tc.wantErr, tc.errHas)
				}
				p, perr := ParseBodyKeep(tc.ct, []byte(tc.raw), false)
				if perr != nil || p.XML != nil || p.Body != tc.raw {
					t.Errorf("malformed XML: body %#v xml %#v err %v; want the text, no map, no error", p.Body, p.XML, perr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(v, tc.want) {
				t.Errorf("xml = %#v\nwant  %#v", v, tc.want)
			}
			if p, _ := ParseBodyKeep(tc.ct, []byte(tc.raw), false); !reflect.DeepEqual(p.XML, tc.want) || p.Body != tc.raw {
				t.Errorf("ParseBodyKeep: body %#v xml %#v", p.Body, p.XML)
			}
		})
	}
}
