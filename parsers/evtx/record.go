package evtx

import (
	"encoding/binary"
	"errors"
	"math"
	"strconv"
	"strings"
)

// kv is one EventData/UserData value, keyed by its Data Name (or element
// name in UserData, or position for unnamed Data).
type kv struct {
	key, val string
}

// record is one decoded event record.
type record struct {
	id        uint64 // record header identifier
	written   uint64 // record header FILETIME (time written)
	offset    int64  // byte offset of the record in the file
	recovered bool   // found in unused chunk space or a truncated chunk

	created     uint64 // System/TimeCreated/@SystemTime as FILETIME, 0 if absent
	provider    string
	eventID     int
	level       int
	task        int
	opcode      int
	keywords    string
	sysRecord   int64 // System/EventRecordID, when it reads as a number
	sysRecordOK bool
	pid, tid    int64 // -1 when absent
	channel     string
	computer    string
	userSID     string
	rendering   bool // has RenderingInfo (events forwarded in RenderedText format)
	userData    bool // values came from UserData (keys are element names)
	data        []kv
	boxes       []any // data[i].val as an interface value, or nil
	dataUnused  int   // count of unnamed Data elements seen
}

func (rec *record) reset() {
	data, boxes := rec.data[:0], rec.boxes[:0]
	*rec = record{data: data, boxes: boxes, pid: -1, tid: -1}
}

// lookup returns the value of the first Data with this name.
func (rec *record) lookup(name string) (string, bool) {
	for i := range rec.data {
		if rec.data[i].key == name {
			return rec.data[i].val, true
		}
	}
	return "", false
}

func (rec *record) get(name string) string {
	v, _ := rec.lookup(name)
	return v
}

func (rec *record) add(key, val string) { rec.addBoxed(key, val, nil) }

func (rec *record) addBoxed(key, val string, box any) {
	for i := range rec.data {
		if rec.data[i].key == key {
			// Repeated names (array expansions, repeated UserData
			// elements) keep every value under a numbered key.
			for n := 2; ; n++ {
				k := key + "_" + strconv.Itoa(n)
				if _, dup := rec.lookup(k); !dup {
					key = k
					break
				}
			}
			break
		}
	}
	rec.data = append(rec.data, kv{key, val})
	rec.boxes = append(rec.boxes, box)
}

// walker turns decoded items into a record.
type walker struct {
	d     *chunkDecoder
	rec   *record
	in    *interner // System strings repeat from record to record
	err   error
	depth int
	light bool // System only (the first pass)
	steps int  // items visited; bounded because templates may repeat substitutions
}

// maxSteps bounds the work per record: a template that uses a BinXML
// value many times, nested, would otherwise expand exponentially.
const maxSteps = 1 << 17

var errBudget = errors.New("binxml: record expands beyond the work limit")

// step counts work and reports whether the record may continue.
func (w *walker) step(n int) bool {
	w.steps += n
	if w.steps > maxSteps {
		w.fail(errBudget)
		return false
	}
	return true
}

// nested decodes a BinXML-typed value into items and values.
func (w *walker) nested(v value) ([]item, []value, bool) {
	if !w.step(len(v.b)/8 + 16) {
		return nil, nil, false
	}
	if w.depth >= maxDepth {
		w.fail(errDepth)
		return nil, nil, false
	}
	items, err := w.d.fragmentAt(v.off, v.off+len(v.b), w.depth+1)
	if err != nil {
		w.fail(err)
	}
	return items, nil, true
}

func (w *walker) fail(err error) {
	if w.err == nil {
		w.err = err
	}
}

// val returns the value a substitution refers to, and whether it is
// present (optional substitutions of NULL values are absent).
func val(it item, vals []value) (value, bool) {
	if int(it.sub) >= len(vals) {
		return value{}, false
	}
	v := vals[it.sub]
	if v.typ == tNull {
		return v, !it.opt
	}
	return v, true
}

// expand calls fn for every item, replacing template instances and
// BinXML substitutions by their content.
func (w *walker) expand(items []item, vals []value, fn func(it item, vals []value)) {
	for _, it := range items {
		if !w.step(1) {
			return
		}
		switch it.kind {
		case kInst:
			w.depth++
			w.expand(it.inst.items, it.inst.vals, fn)
			w.depth--
		case kSub:
			v, ok := val(it, vals)
			if ok && v.typ == tBinXML {
				if items2, _, ok := w.nested(v); ok {
					w.depth++
					w.expand(items2, nil, fn)
					w.depth--
				}
				continue
			}
			fn(it, vals)
		default:
			fn(it, vals)
		}
	}
}

// text renders element content or an attribute value as a string.
func (w *walker) text(items []item, vals []value) string {
	if len(items) == 1 {
		switch it := &items[0]; it.kind {
		case kText:
			return it.text
		case kSub:
			if v, ok := single(items, vals); ok {
				return render(*v)
			}
			if int(it.sub) >= len(vals) || vals[it.sub].typ == tNull && it.opt {
				// Absent: what appendText does with it is one step and
				// no text.
				w.step(1)
				return ""
			}
		}
	}
	var sb strings.Builder
	w.appendText(&sb, items, vals)
	return sb.String()
}

func (w *walker) appendText(sb *strings.Builder, items []item, vals []value) {
	for _, it := range items {
		if !w.step(1) || sb.Len() > 1<<20 {
			return
		}
		switch it.kind {
		case kText:
			sb.WriteString(it.text)
		case kSub:
			v, ok := val(it, vals)
			if !ok {
				continue
			}
			if v.typ != tBinXML {
				sb.WriteString(render(v))
				continue
			}
			if items2, _, ok := w.nested(v); ok {
				w.depth++
				w.appendXML(sb, items2, nil)
				w.depth--
			}
		case kInst:
			w.depth++
			w.appendXML(sb, it.inst.items, it.inst.vals)
			w.depth--
		case kElem:
			w.appendXML(sb, []item{it}, vals)
		}
	}
}

// appendXML renders nested XML (a BinXML value inside Data, for example)
// as compact XML text.
func (w *walker) appendXML(sb *strings.Builder, items []item, vals []value) {
	for _, it := range items {
		if it.kind != kElem {
			w.appendText(sb, []item{it}, vals)
			continue
		}
		e := it.elem
		sb.WriteByte('<')
		sb.WriteString(e.name)
		for _, a := range e.attrs {
			sb.WriteByte(' ')
			sb.WriteString(a.name)
			sb.WriteString(`="`)
			w.appendText(sb, a.items, vals)
			sb.WriteByte('"')
		}
		if len(e.items) == 0 {
			sb.WriteString("/>")
			continue
		}
		sb.WriteByte('>')
		w.appendText(sb, e.items, vals)
		sb.WriteString("</")
		sb.WriteString(e.name)
		sb.WriteByte('>')
	}
}

// attr returns the items of an element's attribute.
func attrOf(e *elem, name string) ([]item, bool) {
	for i := range e.attrs {
		if e.attrs[i].name == name {
			return e.attrs[i].items, true
		}
	}
	return nil, false
}

func (w *walker) attrText(e *elem, name string, vals []value) string {
	items, ok := attrOf(e, name)
	if !ok {
		return ""
	}
	return w.text(items, vals)
}

// record walks the top-level items of a record.
func (w *walker) top(items []item, vals []value) {
	w.expand(items, vals, func(it item, vals []value) {
		if it.kind != kElem {
			return
		}
		if it.elem.name == "Event" {
			w.event(it.elem.items, vals)
			return
		}
		w.event([]item{it}, vals)
	})
}

func (w *walker) event(items []item, vals []value) {
	w.expand(items, vals, func(it item, vals []value) {
		if it.kind != kElem {
			return
		}
		e := it.elem
		if w.light && e.name != "System" && e.name != "RenderingInfo" {
			return
		}
		switch e.name {
		case "System":
			w.system(e, vals)
		case "EventData":
			w.eventData(e.items, vals)
		case "UserData":
			w.rec.userData = true
			w.flatten(e.items, vals)
		case "RenderingInfo":
			w.rec.rendering = true
		default:
			// ProcessingErrorData, DebugData, BinaryEventData...
			w.flatten([]item{it}, vals)
		}
	})
}

// System values no output uses (Provider Guid and EventSourceName,
// Qualifiers, Version, Correlation ActivityID) are not rendered, but
// their content is still walked by skip, so that a damaged value fails a
// record exactly as rendering it would.
func (w *walker) system(sys *elem, vals []value) {
	if w.systemPlanned(sys, vals) {
		return
	}
	rec := w.rec
	w.expand(sys.items, vals, func(it item, vals []value) {
		if it.kind != kElem {
			return
		}
		e := it.elem
		switch e.name {
		case "Provider":
			rec.provider = w.attrString(e, "Name", vals)
			w.skipAttr(e, "Guid", vals)
			w.skipAttr(e, "EventSourceName", vals)
		case "EventID":
			rec.eventID, _ = w.num(e.items, vals)
			w.skipAttr(e, "Qualifiers", vals)
		case "Version":
			w.skip(e.items, vals)
		case "Level":
			rec.level, _ = w.num(e.items, vals)
		case "Task":
			rec.task, _ = w.num(e.items, vals)
		case "Opcode":
			rec.opcode, _ = w.num(e.items, vals)
		case "Keywords":
			rec.keywords = w.string(e.items, vals)
		case "TimeCreated":
			if items, ok := attrOf(e, "SystemTime"); ok {
				rec.created = w.fileTime(items, vals)
			}
		case "EventRecordID":
			rec.sysRecord, rec.sysRecordOK = w.recordID(e.items, vals)
		case "Correlation":
			w.skipAttr(e, "ActivityID", vals)
		case "Execution":
			if items, ok := attrOf(e, "ProcessID"); ok {
				if n, present := w.num(items, vals); present {
					rec.pid = int64(n)
				}
			}
			if items, ok := attrOf(e, "ThreadID"); ok {
				if n, present := w.num(items, vals); present {
					rec.tid = int64(n)
				}
			}
		case "Channel":
			rec.channel = w.string(e.items, vals)
		case "Computer":
			rec.computer = w.interned(e.items, vals)
		case "Security":
			rec.userSID = w.attrString(e, "UserID", vals)
		}
	})
}

// single returns the value of content that is one substitution of a
// present (as val says), non-BinXML value: the case where text is
// render(value). It hands out a pointer: copies of the 40-byte value
// through temporaries cost more than the rest of the lookup.
func single(items []item, vals []value) (*value, bool) {
	if len(items) != 1 {
		return nil, false
	}
	it := &items[0]
	if it.kind != kSub || int(it.sub) >= len(vals) {
		return nil, false
	}
	v := &vals[it.sub]
	if v.typ == tBinXML || v.typ == tNull && it.opt {
		return nil, false
	}
	return v, true
}

// num is atoi(w.text(items, vals)) and whether that text is not empty,
// read straight from the value for the integer types System uses.
func (w *walker) num(items []item, vals []value) (int, bool) {
	if w.light {
		w.skip(items, vals)
		return 0, false
	}
	if v, ok := single(items, vals); ok {
		b := v.b
		switch {
		case v.typ == tUint8 && len(b) >= 1:
			return int(b[0]), true
		case v.typ == tUint16 && len(b) >= 2:
			return int(binary.LittleEndian.Uint16(b)), true
		case v.typ == tUint32 && len(b) >= 4:
			return int(binary.LittleEndian.Uint32(b)), true
		}
	}
	s := w.text(items, vals)
	return atoi(s), s != ""
}

// recordID is number(w.text(items, vals)), read straight from a UInt64.
func (w *walker) recordID(items []item, vals []value) (int64, bool) {
	if w.light {
		w.skip(items, vals)
		return 0, false
	}
	if v, ok := single(items, vals); ok && v.typ == tUint64 && len(v.b) >= 8 {
		n := binary.LittleEndian.Uint64(v.b)
		if n > math.MaxInt64 {
			return 0, false // as strconv.ParseInt fails on it
		}
		return int64(n), true
	}
	return number(w.text(items, vals))
}

// interned is w.text, with the strings of single values interned.
func (w *walker) interned(items []item, vals []value) string {
	if v, ok := single(items, vals); ok && w.in != nil {
		return w.in.render(*v)
	}
	return w.text(items, vals)
}

// string is the text of a System value. The first pass reads only
// Computer, so there it only skips the others.
func (w *walker) string(items []item, vals []value) string {
	if w.light {
		w.skip(items, vals)
		return ""
	}
	return w.interned(items, vals)
}

func (w *walker) attrString(e *elem, name string, vals []value) string {
	items, ok := attrOf(e, name)
	if !ok {
		return ""
	}
	return w.string(items, vals)
}

// skip has the effects of w.text on the walk (work counted against the
// budget, errors of nested values) without building the string when the
// content is one literal or one plain value, which has none.
func (w *walker) skip(items []item, vals []value) {
	if len(items) == 1 {
		if items[0].kind == kText {
			return
		}
		if _, ok := single(items, vals); ok {
			return
		}
	}
	w.text(items, vals)
}

func (w *walker) skipAttr(e *elem, name string, vals []value) {
	if items, ok := attrOf(e, name); ok {
		w.skip(items, vals)
	}
}

// fileTime returns TimeCreated as a raw FILETIME: from the substitution's
// eight bytes when it is one (the usual case), else parsed from text.
func (w *walker) fileTime(items []item, vals []value) uint64 {
	if w.light {
		w.skip(items, vals)
		return 0
	}
	if len(items) == 1 && items[0].kind == kSub {
		if v, ok := val(items[0], vals); ok && v.typ == tFileTime && len(v.b) == 8 {
			return binary.LittleEndian.Uint64(v.b)
		}
	}
	return parseISOFileTime(w.text(items, vals))
}

func (w *walker) eventData(items []item, vals []value) {
	rec := w.rec
	w.expand(items, vals, func(it item, vals []value) {
		if it.kind != kElem {
			return
		}
		e := it.elem
		switch e.name {
		case "Data":
			name, named := attrOf(e, "Name")
			key := ""
			if named {
				key = w.text(name, vals)
			}
			// An array substitution repeats its element once per entry,
			// as Windows renders it.
			if len(e.items) == 1 && e.items[0].kind == kSub {
				if v, ok := val(e.items[0], vals); ok && v.typ&tArray != 0 {
					for _, s := range renderArray(v) {
						w.data(named, key, s)
					}
					return
				}
			}
			if absent(e.items, vals) {
				return
			}
			if v, ok := single(e.items, vals); ok && w.in != nil {
				// Data values often repeat the previous record's value
				// at the same position (SIDs, names, "-"): the interner
				// gives back its string and boxed form.
				s, box := w.in.data(len(rec.data), *v)
				w.dataBoxed(named, key, s, box)
				return
			}
			w.data(named, key, w.text(e.items, vals))
		case "Binary":
			if absent(e.items, vals) {
				return
			}
			rec.add("Binary", w.text(e.items, vals))
		default:
			w.flatten([]item{it}, vals)
		}
	})
}

func (w *walker) data(named bool, key, v string) { w.dataBoxed(named, key, v, nil) }

func (w *walker) dataBoxed(named bool, key, v string, box any) {
	if named {
		w.rec.addBoxed(key, v, box)
		return
	}
	w.rec.addBoxed(strconv.Itoa(w.rec.dataUnused), v, box)
	w.rec.dataUnused++
}

// flatten adds every leaf element below items as a value keyed by its
// element name (UserData and other non-EventData sections).
func (w *walker) flatten(items []item, vals []value) {
	w.expand(items, vals, func(it item, vals []value) {
		if it.kind != kElem {
			return
		}
		e := it.elem
		for _, a := range e.attrs {
			if a.name == "xmlns" || strings.HasPrefix(a.name, "xmlns:") {
				continue
			}
			w.rec.add(e.name+"."+a.name, w.text(a.items, vals))
		}
		if hasElement(e.items, vals) {
			w.flatten(e.items, vals)
			return
		}
		text := w.text(e.items, vals)
		if len(e.attrs) > 0 && text == "" {
			return // an element carrying only attributes
		}
		w.rec.add(e.name, text)
	})
}

// absent reports an element whose only content is an optional
// substitution of a NULL value: Windows does not create such an element.
func absent(items []item, vals []value) bool {
	if len(items) != 1 || items[0].kind != kSub {
		return false
	}
	_, ok := val(items[0], vals)
	return !ok
}

// hasElement reports whether content holds child elements (directly or
// through a BinXML substitution or instance).
func hasElement(items []item, vals []value) bool {
	for _, it := range items {
		switch it.kind {
		case kElem, kInst:
			return true
		case kSub:
			if v, ok := val(it, vals); ok && v.typ == tBinXML {
				return true
			}
		}
	}
	return false
}

func atoi(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			if i == 0 && len(s) > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') {
				v, err := strconv.ParseUint(s[2:], 16, 63)
				if err != nil {
					return 0
				}
				return int(v)
			}
			return n
		}
		n = n*10 + int(c-'0')
		if n > 1<<40 {
			return n
		}
	}
	return n
}

// parseISOFileTime reads "2006-01-02T15:04:05.1234567Z" (any number of
// fractional digits) into a FILETIME without going through floats.
func parseISOFileTime(s string) uint64 {
	if len(s) < 19 || s[4] != '-' || s[10] != 'T' {
		return 0
	}
	num := func(a, b int) int {
		n := 0
		for i := a; i < b; i++ {
			if s[i] < '0' || s[i] > '9' {
				return -1
			}
			n = n*10 + int(s[i]-'0')
		}
		return n
	}
	y, mo, d, h, mi, sec := num(0, 4), num(5, 7), num(8, 10), num(11, 13), num(14, 16), num(17, 19)
	if y < 1601 || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || mi < 0 || sec < 0 {
		return 0
	}
	days := daysFrom1601(y, mo, d)
	ticks := uint64(days)*86400*10_000_000 + uint64(h*3600+mi*60+sec)*10_000_000
	if len(s) > 20 && s[19] == '.' {
		var frac uint64
		digits := 0
		for i := 20; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
			if digits < 7 {
				frac = frac*10 + uint64(s[i]-'0')
				digits++
			}
		}
		for ; digits < 7; digits++ {
			frac *= 10
		}
		ticks += frac
	}
	return ticks
}

func daysFrom1601(y, m, d int) int {
	// Days from 1601-01-01 using the civil-from-days algorithm's inverse.
	if m <= 2 {
		y--
		m += 12
	}
	era := y / 400
	yoe := y - era*400
	doy := (153*(m-3)+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	days := era*146097 + doe             // days since 0000-03-01
	const to1601 = 1600/400*146097 + 306 // 0000-03-01 .. 1601-01-01
	return days - to1601
}
