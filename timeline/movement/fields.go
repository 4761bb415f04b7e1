package movement

import (
	"bytes"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// fields are an event's field values as the analysis reads them: text,
// numbers in decimal, booleans as true/false, null as "". Values live in
// one string shared by a batch of events; refs say where.
type fields struct {
	vals string
	refs []fieldRef
}

type fieldRef struct {
	key        string // interned
	start, end uint32
}

// get returns the value of k ("" when absent); the last one wins when a
// key repeats, as with encoding/json.
func (f *fields) get(k string) string {
	for i := len(f.refs) - 1; i >= 0; i-- {
		if r := f.refs[i]; r.key == k {
			return f.vals[r.start:r.end]
		}
	}
	return ""
}

// F iterates over the event's kept fields: for k, v := range e.F.
func (e *ev) F(yield func(k, v string) bool) {
	for _, r := range e.f.refs {
		if !yield(r.key, e.f.vals[r.start:r.end]) {
			return
		}
	}
}

// decoder turns the JSON fields column into fields. It keeps only the
// keys in keep unless keepAll, which is the memory that matters: a
// Security 4624 stores ~40 fields, the analysis reads ~10 of them.
type decoder struct {
	keys map[string]string // interned key strings
	vals []byte            // batch arena
	refs []fieldRef
	tmp  []byte
}

// decode appends the kept fields of one JSON object to the arena and
// returns their refs' range; ok is false when js is not a JSON object
// (json.Unmarshal into a map would fail), and then nothing is appended.
func (d *decoder) decode(js string, keep map[string]bool, keepAll bool) (from, to int, ok bool) {
	from = len(d.refs)
	mark := len(d.vals)
	fail := func() (int, int, bool) {
		d.refs, d.vals = d.refs[:from], d.vals[:mark]
		return from, from, false
	}
	i := skipWS(js, 0)
	if strings.HasPrefix(js[i:], "null") {
		if skipWS(js, i+4) != len(js) {
			return fail()
		}
		return from, from, true
	}
	if i >= len(js) || js[i] != '{' {
		return fail()
	}
	i = skipWS(js, i+1)
	if i < len(js) && js[i] == '}' {
		if skipWS(js, i+1) != len(js) {
			return fail()
		}
		return from, from, true
	}
	for {
		if i >= len(js) || js[i] != '"' {
			return fail()
		}
		var key string
		var ok bool
		if j := plainString(js, i); j > 0 {
			key, i, ok = js[i+1:j], j+1, true
		} else {
			d.tmp, i, ok = scanString(js, i, d.tmp[:0])
			key = string(d.tmp) // rare: a key with escapes
		}
		if !ok {
			return fail()
		}
		i = skipWS(js, i)
		if i >= len(js) || js[i] != ':' {
			return fail()
		}
		i = skipWS(js, i+1)
		kept := keepAll || keep[key]
		start := len(d.vals)
		if i >= len(js) {
			return fail()
		}
		switch c := js[i]; {
		case c == '"':
			if kept {
				d.vals, i, ok = scanString(js, i, d.vals)
				if ok {
					// Trimmed, as the readers always did.
					v := d.vals[start:]
					t := bytes.TrimSpace(v)
					if len(t) != len(v) {
						n := copy(d.vals[start:], t)
						d.vals = d.vals[:start+n]
					}
				}
			} else {
				i, ok = skipString(js, i)
			}
		case c == '-' || (c >= '0' && c <= '9'):
			j := i + 1
			for j < len(js) && strings.IndexByte("0123456789+-.eE", js[j]) >= 0 {
				j++
			}
			var n string
			n, ok = number(js[i:j])
			if kept {
				d.vals = append(d.vals, n...)
			}
			i = j
		case strings.HasPrefix(js[i:], "true"):
			if kept {
				d.vals = append(d.vals, "true"...)
			}
			i, ok = i+4, true
		case strings.HasPrefix(js[i:], "false"):
			if kept {
				d.vals = append(d.vals, "false"...)
			}
			i, ok = i+5, true
		case strings.HasPrefix(js[i:], "null"):
			i, ok = i+4, true
		case c == '[' || c == '{':
			// Lists and objects: kept as their JSON text.
			j, good := skipComposite(js, i)
			if kept && good {
				d.vals = append(d.vals, js[i:j]...)
			}
			i, ok = j, good
		default:
			ok = false
		}
		if !ok {
			return fail()
		}
		if kept {
			d.refs = append(d.refs, fieldRef{key: d.intern(key), start: uint32(start), end: uint32(len(d.vals))})
		}
		i = skipWS(js, i)
		if i < len(js) && js[i] == ',' {
			i = skipWS(js, i+1)
			continue
		}
		if i < len(js) && js[i] == '}' && skipWS(js, i+1) == len(js) {
			return from, len(d.refs), true
		}
		return fail()
	}
}

func (d *decoder) intern(k string) string {
	if s, ok := d.keys[k]; ok {
		return s
	}
	s := strings.Clone(k)
	d.keys[s] = s
	return s
}

func skipWS(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
		i++
	}
	return i
}

// number renders a JSON number the way the readers did: the integer part
// in decimal. Integers are taken exactly; others through float64 (a
// number beyond float64 is an error, as for encoding/json).
func number(s string) (string, bool) {
	if !validNumber(s) {
		return "", false
	}
	if v, err := strconv.ParseInt(s, 10, 64); err == nil {
		return strconv.FormatInt(v, 10), true
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return "", false
	}
	return strconv.FormatInt(int64(f), 10), true
}

// validNumber is JSON's number grammar.
func validNumber(s string) bool {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && s[i] >= '1' && s[i] <= '9':
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	default:
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if i >= len(s) || s[i] < '0' || s[i] > '9' {
			return false
		}
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if i >= len(s) || s[i] < '0' || s[i] > '9' {
			return false
		}
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	}
	return i == len(s)
}

// plainString returns the index of the closing quote of the JSON string
// at s[i] when it needs no decoding (printable ASCII, no escapes), else 0.
func plainString(s string, i int) int {
	for j := i + 1; j < len(s); j++ {
		c := s[j]
		if c == '"' {
			return j
		}
		if c < 0x20 || c == '\\' || c >= utf8.RuneSelf {
			return 0
		}
	}
	return 0
}

// scanString decodes the JSON string at s[i] (a quote) onto buf and
// returns buf and the index after the closing quote. Invalid UTF-8 and
// lone surrogates become U+FFFD, as encoding/json does.
func scanString(s string, i int, buf []byte) ([]byte, int, bool) {
	i++
	for i < len(s) {
		c := s[i]
		switch {
		case c == '"':
			return buf, i + 1, true
		case c < 0x20:
			return buf, i, false
		case c == '\\':
			if i+1 >= len(s) {
				return buf, i, false
			}
			i++
			switch s[i] {
			case '"', '\\', '/':
				buf = append(buf, s[i])
			case 'b':
				buf = append(buf, '\b')
			case 'f':
				buf = append(buf, '\f')
			case 'n':
				buf = append(buf, '\n')
			case 'r':
				buf = append(buf, '\r')
			case 't':
				buf = append(buf, '\t')
			case 'u':
				r, ok := hex4(s, i+1)
				if !ok {
					return buf, i, false
				}
				i += 4
				if utf16.IsSurrogate(r) {
					r2, ok2 := rune(-1), false
					if i+6 < len(s) && s[i+1] == '\\' && s[i+2] == 'u' {
						r2, ok2 = hex4(s, i+3)
					}
					if dec := utf16.DecodeRune(r, r2); ok2 && dec != utf8.RuneError {
						r = dec
						i += 6
					} else {
						r = utf8.RuneError
					}
				}
				buf = utf8.AppendRune(buf, r)
			default:
				return buf, i, false
			}
			i++
		case c < utf8.RuneSelf:
			buf = append(buf, c)
			i++
		default:
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				buf = utf8.AppendRune(buf, utf8.RuneError)
			} else {
				buf = append(buf, s[i:i+size]...)
			}
			i += size
		}
	}
	return buf, i, false
}

func hex4(s string, i int) (rune, bool) {
	if i+4 > len(s) {
		return 0, false
	}
	v, err := strconv.ParseUint(s[i:i+4], 16, 16)
	if err != nil || strings.ContainsAny(s[i:i+4], "+-_") {
		return 0, false
	}
	return rune(v), true
}

// skipString returns the index after the JSON string at s[i], checking
// it is well formed.
func skipString(s string, i int) (int, bool) {
	i++
	for i < len(s) {
		c := s[i]
		switch {
		case c == '"':
			return i + 1, true
		case c < 0x20:
			return i, false
		case c == '\\':
			if i+1 >= len(s) {
				return i, false
			}
			switch s[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if _, ok := hex4(s, i+2); !ok {
					return i, false
				}
				i += 6
			default:
				return i, false
			}
		default:
			i++
		}
	}
	return i, false
}

// skipKey returns the index after an object member's key and its colon
// at s[i].
func skipKey(s string, i int) (int, bool) {
	if i >= len(s) || s[i] != '"' {
		return i, false
	}
	i, ok := skipString(s, i)
	if !ok {
		return i, false
	}
	i = skipWS(s, i)
	if i >= len(s) || s[i] != ':' {
		return i, false
	}
	return i + 1, true
}

// skipComposite returns the index after the JSON list or object at s[i],
// checking its grammar.
func skipComposite(s string, i int) (int, bool) {
	var stack []byte
	expectValue := true
	for i < len(s) {
		i = skipWS(s, i)
		if i >= len(s) {
			return i, false
		}
		c := s[i]
		if expectValue {
			switch {
			case c == '[' || c == '{':
				stack = append(stack, c)
				i = skipWS(s, i+1)
				if i < len(s) && (c == '[' && s[i] == ']' || c == '{' && s[i] == '}') {
					stack = stack[:len(stack)-1]
					i++
					expectValue = false
					if len(stack) == 0 {
						return i, true
					}
					continue
				}
				if c == '{' {
					var ok bool
					if i, ok = skipKey(s, i); !ok {
						return i, false
					}
				}
				continue
			case c == '"':
				var ok bool
				if i, ok = skipString(s, i); !ok {
					return i, false
				}
			case c == '-' || (c >= '0' && c <= '9'):
				j := i + 1
				for j < len(s) && strings.IndexByte("0123456789+-.eE", s[j]) >= 0 {
					j++
				}
				if _, ok := number(s[i:j]); !ok {
					return j, false
				}
				i = j
			case strings.HasPrefix(s[i:], "true"):
				i += 4
			case strings.HasPrefix(s[i:], "false"):
				i += 5
			case strings.HasPrefix(s[i:], "null"):
				i += 4
			default:
				return i, false
			}
			expectValue = false
			continue
		}
		top := stack[len(stack)-1]
		switch {
		case c == ',':
			i = skipWS(s, i+1)
			if top == '{' {
				var ok bool
				if i, ok = skipKey(s, i); !ok {
					return i, false
				}
			}
			expectValue = true
		case c == ']' && top == '[' || c == '}' && top == '{':
			stack = stack[:len(stack)-1]
			i++
			if len(stack) == 0 {
				return i, true
			}
		default:
			return i, false
		}
	}
	return i, false
}
