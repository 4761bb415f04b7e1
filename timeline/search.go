package timeline

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// SearchError says where a search stops making sense.
type SearchError struct {
	Query string
	Pos   int // byte offset
	Msg   string
}

func (e *SearchError) Error() string {
	return fmt.Sprintf("search %q at %d: %s", e.Query, e.Pos+1, e.Msg)
}

// searchSQL turns a search into a condition on events e. Each word, or
// "quoted phrase", must occur in the message or path as typed (any case):
// the full-text index finds candidates by their tokens and a substring
// check confirms, because the index keeps no positions (detail=none) and
// could not tell "tool.exe" from "tool exe" or find "C$" at all. A
// trailing * matches a prefix ("x_trad*"). OR, NOT and AND (upper case, as
// in FTS5) and parentheses combine terms; adjacent terms are ANDed; a
// leading - excludes, as in the TUI's filter, and a quoted "-enc" is the
// command-line switch itself.
func searchSQL(q string) (string, []any, error) {
	p := &searchParser{q: q}
	if err := p.lex(); err != nil {
		return "", nil, err
	}
	if len(p.toks) == 0 {
		return "", nil, nil
	}
	if len(p.toks) > maxSearchTokens {
		return "", nil, p.fail(p.toks[maxSearchTokens], fmt.Sprintf("more than %d words and operators", maxSearchTokens))
	}
	cond, err := p.or()
	if err != nil {
		return "", nil, err
	}
	if p.i < len(p.toks) {
		return "", nil, p.fail(p.toks[p.i], "unexpected "+p.toks[p.i].text)
	}
	return cond, p.args, nil
}

// maxSearchTokens keeps a search within SQLite's expression depth (1000;
// AND chains nest) and the parser's recursion shallow.
const maxSearchTokens = 200

type searchTok struct {
	text   string
	pos    int
	quoted bool
}

type searchParser struct {
	q    string
	toks []searchTok
	i    int
	args []any
}

func (p *searchParser) fail(t searchTok, msg string) error {
	return &SearchError{Query: p.q, Pos: t.pos, Msg: msg}
}

// lex splits on spaces and parentheses outside double quotes.
func (p *searchParser) lex() error {
	s := p.q
	for i := 0; i < len(s); {
		switch c := s[i]; {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '(' || c == ')':
			p.toks = append(p.toks, searchTok{text: s[i : i+1], pos: i})
			i++
		case c == '"':
			j := strings.IndexByte(s[i+1:], '"')
			if j < 0 {
				return &SearchError{Query: s, Pos: i, Msg: "unterminated quote"}
			}
			p.toks = append(p.toks, searchTok{text: s[i+1 : i+1+j], pos: i, quoted: true})
			i += j + 2
		default:
			j := i
			for j < len(s) && !strings.ContainsRune(" \t\n\r()\"", rune(s[j])) {
				j++
			}
			p.toks = append(p.toks, searchTok{text: s[i:j], pos: i})
			i = j
		}
	}
	return nil
}

func (p *searchParser) peek(op string) bool {
	return p.i < len(p.toks) && !p.toks[p.i].quoted && p.toks[p.i].text == op
}

func (p *searchParser) or() (string, error) {
	left, err := p.and()
	if err != nil {
		return "", err
	}
	parts := []string{left}
	for p.peek("OR") {
		p.i++
		right, err := p.and()
		if err != nil {
			return "", err
		}
		parts = append(parts, right)
	}
	if len(parts) == 1 {
		return left, nil
	}
	return "(" + strings.Join(parts, " OR ") + ")", nil
}

func (p *searchParser) and() (string, error) {
	var parts []string
	for p.i < len(p.toks) && !p.peek("OR") && !p.peek(")") {
		if p.peek("AND") {
			if len(parts) == 0 {
				return "", p.fail(p.toks[p.i], "AND needs a term before it")
			}
			p.i++
		}
		c, err := p.unary()
		if err != nil {
			return "", err
		}
		parts = append(parts, c)
	}
	if len(parts) == 0 {
		at := searchTok{pos: len(p.q)}
		if p.i < len(p.toks) {
			at = p.toks[p.i]
		}
		return "", p.fail(at, "a term is missing here")
	}
	return strings.Join(parts, " AND "), nil
}

func (p *searchParser) unary() (string, error) {
	if p.i >= len(p.toks) {
		return "", p.fail(searchTok{pos: len(p.q)}, "a term is missing at the end")
	}
	t := p.toks[p.i]
	switch {
	case p.peek("NOT"):
		p.i++
		c, err := p.unary()
		if err != nil {
			return "", err
		}
		return "NOT (" + c + ")", nil
	case p.peek("("):
		p.i++
		c, err := p.or()
		if err != nil {
			return "", err
		}
		if !p.peek(")") {
			return "", p.fail(t, "unclosed parenthesis")
		}
		p.i++
		return "(" + c + ")", nil
	case p.peek(")"), p.peek("AND"), p.peek("OR"):
		return "", p.fail(t, t.text+" needs a term before it")
	case !t.quoted && strings.HasPrefix(t.text, "-"):
		// -word, -"phrase" and -( … ) exclude, as in the TUI's filter.
		if t.text == "-" {
			if p.i+1 >= len(p.toks) || p.toks[p.i+1].pos != t.pos+1 {
				return "", p.fail(t, "- needs a term after it")
			}
			p.i++
			c, err := p.unary()
			if err != nil {
				return "", err
			}
			return "NOT (" + c + ")", nil
		}
		p.i++
		return "NOT (" + p.term(searchTok{text: t.text[1:], pos: t.pos + 1}) + ")", nil
	}
	p.i++
	return p.term(t), nil
}

// term is one word or phrase: its tokens through the index, then the text
// itself as a substring of the message or path.
func (p *searchParser) term(t searchTok) string {
	text, prefix := t.text, false
	if !t.quoted && len(text) > 1 && strings.HasSuffix(text, "*") {
		text, prefix = strings.TrimSuffix(text, "*"), true
	}
	if text == "" {
		return "1"
	}
	var conds []string
	if match := ftsTokens(text, prefix); match != "" {
		conds = append(conds, "e.id IN (SELECT rowid FROM events_fts WHERE events_fts MATCH ?)")
		p.args = append(p.args, match)
	}
	// lower() folds ASCII only, like Windows paths in practice.
	conds = append(conds, "(instr(lower(e.message), lower(?)) > 0 OR instr(lower(e.path), lower(?)) > 0)")
	p.args = append(p.args, text, text)
	return "(" + strings.Join(conds, " AND ") + ")"
}

// ftsTokens is the FTS5 query for text's tokens (letters and digits, as
// the unicode61 tokenizer splits them), ANDed; with prefix the last token
// matches as a prefix. It is "" when text has no tokens or when the
// tokenizer and Go may split it differently (see indexable): the caller's
// substring check then finds it alone.
func ftsTokens(text string, prefix bool) string {
	if !indexable(text) {
		return ""
	}
	toks := strings.FieldsFunc(text, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
	if len(toks) == 0 {
		return ""
	}
	quoted := make([]string, len(toks))
	for i, tok := range toks {
		quoted[i] = `"` + tok + `"`
	}
	if r, _ := utf8.DecodeLastRuneInString(text); prefix && (unicode.IsLetter(r) || unicode.IsDigit(r)) {
		quoted[len(quoted)-1] += "*"
	}
	return strings.Join(quoted, " AND ")
}

// indexable reports whether Go's letters and digits split text into the
// same tokens as SQLite's unicode61 tokenizer, whose tables are Unicode 6.1
// with its own treatment of marks: checked rune by rune below U+0500
// (TestTokensAgreeWithFTS5). Past that they part: Go has letters SQLite
// splits at (New Tai Lue vowels, reclassified since), SQLite keeps
// later-assigned symbols, superscripts and some marks inside tokens, and a
// run of CJK is one token to it. A phrase query on a position-less index
// is an error, and a missed token a missed match, so such text is found by
// the substring check alone.
func indexable(text string) bool {
	for _, r := range text {
		if r >= 0x80 && (r >= 0x500 || !unicode.IsLetter(r)) {
			return false
		}
	}
	return true
}
